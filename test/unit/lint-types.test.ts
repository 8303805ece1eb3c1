import path from 'node:path';
import t from 'tap';
import { expectClean, filesWithTypeAwareRules, root, typedLinter } from '../helpers/lint.js';

// The other half of `eslint .` in npm test (test/helpers/lint.ts): the type-aware rules, on the
// files eslint.config.js turns them on for (the coordinator: its asynchronous store).
const eslint = typedLinter();

t.test('the linter passes: the type-aware rules (eslint.config.js; the others run in boundaries.test.ts)', async t => {
  const files = await filesWithTypeAwareRules(eslint);
  t.ok(files.some(f => path.relative(root, f) === 'coordinator/main.ts'), 'the coordinator has type-aware rules (the config says so)');
  await expectClean(t, eslint, await eslint.lintFiles(files));
});

t.test('a type-aware rule refuses a store call not awaited in the coordinator', async t => {
  const [result] = await eslint.lintText('export async function f(p: Promise<void>): Promise<void> {\n  p;\n}\n', { filePath: path.join(root, 'coordinator/main.ts') });
  t.same(result!.messages.map(m => m.ruleId), ['@typescript-eslint/no-floating-promises']);
});
