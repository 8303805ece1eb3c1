import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { REPO } from '../helpers/agent-cli.js';

// What `npm pack` puts in the package (`npm install -g ./ferry-*.tgz`); the slow real install is
// `npm run check:pack` (scripts/check-pack.mjs). Needs a build (dist/), as the e2e tests do.
t.test('npm pack ships the launchers, the built programs and the .proto files, and no tests or maps', async t => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
  for (const f of [
    'bin/ferry', 'bin/ferry-agent', 'bin/ferry-coordinator', 'package.json', 'README.md', 'docs/configuration.md',
    'dist/ops/ferry-agent.js', 'dist/ops/ferry-coordinator.js', 'dist/agent/main.js', 'dist/coordinator/main.js', 'dist/cli/main.js', 'dist/common/errors.js', 'dist/ops/install/plan.js', 'dist/proto/load.js',
    'proto/ferry/v1/agent.proto', 'proto/ferry/v1/control.proto', 'hooks-examples/sample-app/appspec.yml',
  ]) t.ok(files.includes(f), f);
  const junk = files.filter(f => /^(test|dist\/test|dist\/bench|bench|scripts|node_modules|proto\/gen)\//.test(f) || f.endsWith('.map') || /^(agent|coordinator|ops)\/.*\.ts$/.test(f));
  t.same(junk, [], 'no tests, benches, sources or source maps');
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  for (const [name, file] of Object.entries(pkg.bin as Record<string, string>)) t.ok(files.includes(file), `bin ${name} → ${file} is packed`);
  t.equal(pkg.scripts.prepack, 'npm run build', 'npm pack builds first');
});
