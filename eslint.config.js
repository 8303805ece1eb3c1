// The linter run by `npm test` (test/unit/boundaries.test.ts; `npm run lint` alone). Its main job is the layout: three programs
// (agent/, coordinator/, cli/) over one shared core (common/) and the wire contract (proto/), with no
// import cycles. See CONTRIBUTING.md, "Boundaries".
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import tseslint from 'typescript-eslint';

const PROGRAMS = ['agent', 'coordinator', 'cli'];

/** Each program imports only common/, proto/ and itself; common/ and proto/ import no program; ops/ may import what it installs. */
const zones = [
  ...PROGRAMS.map(p => ({
    target: `./${p}`,
    from: ['./agent', './coordinator', './cli', './ops', './test', './bench'].filter(f => f !== `./${p}`),
    message: `${p}/ imports only common/, proto/ and its own folder (move what two programs share to common/)`,
  })),
  { target: './common', from: ['./agent', './coordinator', './cli', './ops', './test', './bench'], message: 'common/ is shared by every program and imports none of them' },
  { target: './proto', from: ['./agent', './coordinator', './cli', './ops', './test', './bench'], message: 'proto/ is the wire contract and imports no program' },
  { target: './ops', from: ['./cli', './test', './bench'], message: 'ops/ installs the agent and the coordinator; it imports those, common/ and proto/' },
];

/** Modules that must never reach a host's agent or an operator's CLI. */
const serverOnly = {
  paths: [{ name: 'better-sqlite3', message: 'SQLite is the coordinator\'s; the agent and the CLI never load it' }],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'proto/gen/**', '.tap/**', 'coordinator/ui/dist/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { 'import-x': importX, '@typescript-eslint': tseslint.plugin },
    settings: { 'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] }, 'import-x/extensions': ['.ts', '.js'], 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-duplicates': 'error',
      'no-debugger': 'error',
      'no-dupe-keys': 'error',
      'no-unreachable': 'error',
      'no-constant-binary-expression': 'error',
      'no-self-compare': 'error',
      '@typescript-eslint/no-unused-vars': 'off', // tsc's noUnusedLocals/noUnusedParameters hold this
    },
  },
  { files: ['agent/**/*.ts', 'cli/**/*.ts', 'common/**/*.ts'], rules: { 'no-restricted-imports': ['error', serverOnly] } },
);
