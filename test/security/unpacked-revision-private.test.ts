// Attack (docs/security.md, "Secrets at rest"): a local user reads a deployed revision (its config and secrets) and its hook
// output from the agent's deployment root. The unpacked revision must be private to the agent, yet
// a `runas` script must still read itself.
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { deployLocal } from '../helpers/agent-cli.js';
import { writeBundle } from '../helpers/bundle.js';
import { isRoot, tempDir } from '../helpers/temp.js';

const readAs = (user: string, file: string) => spawnSync('runuser', ['-u', user, '--', 'cat', file], { encoding: 'utf8' });

t.test('another local user cannot read an unpacked revision or its hook output; the runas user reads its scripts (root)', { skip: !isRoot && 'needs root: runas and other users' }, async t => {
  const dir = await tempDir(t);
  const out = path.join(dir, 'out');
  await fs.mkdir(out, { mode: 0o777 });
  await fs.chmod(out, 0o777);
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: {
      version: 0.0, os: 'linux',
      hooks: { AfterInstall: [{ location: 'scripts/as-nobody.sh', runas: 'nobody' }], ApplicationStart: [{ location: 'scripts/as-root.sh' }] },
    },
    files: { 'config/secret.env': 'DB_PASSWORD=hunter2\n' },
    scripts: {
      'scripts/as-nobody.sh': `cat "$(dirname "$0")/../config/secret.env" > ${out}/nobody-read; id -un >> ${out}/nobody-read`,
      'scripts/as-root.sh': 'echo "hook output with a token: tok-123"',
    },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.equal(await fs.readFile(path.join(out, 'nobody-read'), 'utf8'), 'DB_PASSWORD=hunter2\nnobody\n', 'the runas script read its revision');

  const deploymentDir = path.join(dir, 'root', 'default-local-deployment-group', r.json.deploymentId);
  t.equal((await fs.stat(deploymentDir)).mode & 0o777, 0o750, 'the deployment dir is private to root');
  t.match(spawnSync('getfacl', ['-p', deploymentDir], { encoding: 'utf8' }).stdout, /user:nobody:--x/, 'the runas user may only pass through');
  const secret = path.join(deploymentDir, 'deployment-archive', 'config', 'secret.env');
  t.not(readAs('daemon', secret).status, 0, 'another local user cannot read the revision');
  t.notOk(readAs('daemon', path.join(deploymentDir, 'logs', 'scripts.log')).stdout.includes('tok-123'), 'nor its hook output');
  t.equal(readAs('nobody', secret).stdout, 'DB_PASSWORD=hunter2\n', 'the runas user reads it');
});
