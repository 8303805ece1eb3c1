import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { expectClean, root, untypedLinter } from '../helpers/lint.js';

/**
 * The layout's promises, checked on what ships (dist/): every module a program can load, static
 * imports and dynamic ones, followed from its entry. The agent never loads coordinator code or
 * SQLite (no native module on hosts); the CLI loads no coordinator or agent code.
 */
const dist = path.join(root, 'dist');

/** Relative files and bare packages reachable from `entry` (a file under dist/). */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [path.join(dist, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g)) {
      const spec = m[2]!;
      if (spec.startsWith('.')) queue.push(path.resolve(path.dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return { files: new Set([...files].map(f => path.relative(dist, f))), packages };
}

t.test('the agent program loads no coordinator, CLI or SQLite module', async t => {
  const { files, packages } = closure('ops/ferry-agent.js');
  t.ok(files.has('agent/main.js') && files.has('ops/install/command.js'), 'the closure is followed (agent and its install command are in it)');
  t.same([...files].filter(f => f.startsWith('coordinator/') || f.startsWith('cli/')), []);
  t.notOk(packages.has('better-sqlite3'), 'no SQLite on hosts');
});

t.test('the CLI loads no coordinator or agent module, and no SQLite', async t => {
  const { files, packages } = closure('cli/main.js');
  t.ok(files.has('cli/program.js'), 'the closure is followed');
  t.same([...files].filter(f => !f.startsWith('cli/') && !f.startsWith('common/') && !f.startsWith('proto/')), []);
  t.notOk(packages.has('better-sqlite3'));
});

t.test('the coordinator program loads no agent or CLI module', async t => {
  const { files } = closure('ops/ferry-coordinator.js');
  t.ok(files.has('coordinator/main.js'), 'the closure is followed');
  t.same([...files].filter(f => f.startsWith('agent/') || f.startsWith('cli/')), []);
});

// One ESLint in this process for all tests (its config, parser and resolver load once): every rule
// but the type-aware ones, which test/unit/lint-types.test.ts runs in parallel (test/helpers/lint.ts).
const eslint = untypedLinter();

t.test('the linter passes: boundaries, no import cycles (eslint.config.js, all but its type-aware rules)', async t => {
  await expectClean(t, eslint, await eslint.lintFiles(['.']));
});

t.test('the linter refuses an import across the boundary and SQLite outside the coordinator', async t => {
  const rules = async (file: string, text: string) =>
    (await eslint.lintText(text, { filePath: path.join(root, file) }))[0]!.messages.map(m => m.ruleId);
  t.same(await rules('agent/x.ts', "import { runCoordinator } from '../coordinator/main.js';\nexport const x = runCoordinator;\n"), ['import-x/no-restricted-paths']);
  t.same(await rules('cli/x.ts', "import { FerryError } from '../agent/main.js';\nexport const x = FerryError;\n"), ['import-x/no-restricted-paths']);
  t.same(await rules('common/x.ts', "import { runAgent } from '../agent/main.js';\nexport const x = runAgent;\n"), ['import-x/no-restricted-paths']);
  t.same(await rules('agent/x.ts', "import Database from 'better-sqlite3';\nexport const x = Database;\n"), ['no-restricted-imports']);
  t.same(await rules('ops/x.ts', "import { runAgent } from '../agent/main.js';\nexport const x = runAgent;\n"), [], 'ops/ may import the program it installs');
});

t.test('the console front end (.tsx) is linted: its own folder, Preact and browser-safe common/ modules only', async t => {
  const rules = async (file: string, text: string) =>
    (await eslint.lintText(text, { filePath: path.join(root, file) }))[0]!.messages.map(m => m.ruleId);
  const app = 'coordinator/ui/app/x.tsx';
  t.same(await rules(app, "import { call } from './api';\nimport { describeError } from '../../../common/errors';\nexport const X = () => <p>{String(call)}{describeError(1)}</p>;\n"), [], 'its own folder and a browser-safe common/ module');
  t.same(await rules(app, "import { CSP } from '../http';\nexport const X = () => <p>{CSP}</p>;\n"), ['import-x/no-restricted-paths'], 'no coordinator (server) module');
  t.same(await rules(app, "import { GRPC_STATUS } from '../../../common/grpc-status';\nexport const X = () => <p>{String(GRPC_STATUS)}</p>;\n"), ['import-x/no-restricted-paths'], 'no common/ module not listed as browser-safe');
  t.same(await rules(app, "import { readFileSync } from 'node:fs';\nexport const X = () => <p>{String(readFileSync)}</p>;\n"), ['no-restricted-imports'], 'no Node.js built-in');
  // A file of the coordinator's project (its type-aware rules need one, eslint.config.js), with other text.
  t.same(await rules('coordinator/ui/sessions.ts', "import { call } from './app/api';\nexport const x = call;\n"), ['import-x/no-restricted-paths'], 'the server does not import the front end\'s sources');
});
