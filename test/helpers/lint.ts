import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

/**
 * ESLint over the repository (eslint.config.js) in `npm test`, run as two halves that tap runs in
 * parallel, together every rule on every file: test/unit/boundaries.test.ts runs every rule that
 * needs no type information on every file, parsed without types (the import rules, which parse
 * and resolve the whole import graph); test/unit/lint-types.test.ts runs the type-aware rules
 * (typescript-eslint's requiresTypeChecking) on the files where the config turns one on, which
 * alone need TypeScript's program. `npm run lint` runs the whole config in one process.
 */
export const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/dist\/$/, '/');

const PREFIX = '@typescript-eslint/';

/** A rule that needs type information (the parser's program): typescript-eslint says so in its docs metadata. */
export function isTypeAware(ruleId: string): boolean {
  if (!ruleId.startsWith(PREFIX)) return false;
  const { rules } = tseslint.plugin as unknown as { rules: Record<string, { meta?: { docs?: { requiresTypeChecking?: boolean } } } | undefined> };
  const rule = rules[ruleId.slice(PREFIX.length)];
  return rule?.meta?.docs?.requiresTypeChecking === true;
}

/** Every rule but the type-aware ones, on sources parsed without type information. */
export function untypedLinter(): ESLint {
  return new ESLint({
    cwd: root,
    ruleFilter: ({ ruleId }) => !isTypeAware(ruleId),
    overrideConfig: { files: ['**/*.ts', '**/*.tsx'], languageOptions: { parserOptions: { projectService: false, project: null } } },
  });
}

/** The type-aware rules alone. */
export function typedLinter(): ESLint {
  return new ESLint({ cwd: root, ruleFilter: ({ ruleId }) => isTypeAware(ruleId) });
}

/** The .ts and .tsx files ESLint lints (`eslint .`: what its ignores leave) where the config turns a type-aware rule on. */
export async function filesWithTypeAwareRules(eslint: ESLint): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) await walk(file);
      else if (/\.tsx?$/.test(entry.name) && !(await eslint.isPathIgnored(file))) {
        const config = (await eslint.calculateConfigForFile(file)) as { rules?: Record<string, unknown> } | undefined;
        const on = Object.entries(config?.rules ?? {}).some(([id, setting]) => isTypeAware(id) && severity(setting) > 0);
        if (on) out.push(file);
      }
    }
  };
  await walk(root);
  return out.sort();
}

function severity(setting: unknown): number {
  const level = Array.isArray(setting) ? setting[0] : setting;
  return ({ off: 0, warn: 1, error: 2 } as Record<string, number>)[String(level)] ?? Number(level);
}

/** Fails the test with ESLint's own report when a result holds a problem. */
export async function expectClean(t: { same(a: unknown, b: unknown, msg: string): void }, eslint: ESLint, results: ESLint.LintResult[]): Promise<void> {
  const problems = results.filter(r => r.errorCount + r.warningCount > 0);
  const text = problems.length === 0 ? '' : await (await eslint.loadFormatter('stylish')).format(problems);
  t.same(problems.map(r => path.relative(root, r.filePath)), [], `eslint found problems:\n${text}`);
}
