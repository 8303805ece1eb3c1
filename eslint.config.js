// The linter run by `npm test` (test/unit/boundaries.test.ts; `npm run lint` alone). Its main job is the layout: three programs
// (agent/, coordinator/, cli/) over one shared core (common/) and the wire contract (proto/), with no
// import cycles. See CONTRIBUTING.md, "Boundaries".
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import tseslint from 'typescript-eslint';

const PROGRAMS = ['agent', 'coordinator', 'cli'];

/**
 * The console's front end (coordinator/ui/app/, .tsx, bundled by esbuild for the browser) is a
 * program of its own: it talks to the coordinator over HTTP only, so it imports its own folder,
 * its npm packages (Preact) and, from common/, only these modules, which need no Node.js (no
 * built-in, no server package, nor do their imports). A module joins the list once it is so.
 */
const BROWSER_SAFE_COMMON = ['audit.ts', 'errors.ts', 'parse.ts', 'text.ts', 'triggers.ts'];
const CONSOLE_APP = './coordinator/ui/app';

/** Each program imports only common/, proto/ and itself; common/ and proto/ import no program; ops/ may import what it installs. */
const zones = [
  { target: CONSOLE_APP, from: './coordinator', except: ['./ui/app'], message: 'the console front end runs in the browser: it reaches the coordinator over /ui/api/, never by import' },
  { target: CONSOLE_APP, from: ['./agent', './cli', './ops', './test', './bench', './proto'], message: 'the console front end imports only its own folder and browser-safe common/ modules' },
  { target: CONSOLE_APP, from: './common', except: BROWSER_SAFE_COMMON.map(f => `./${f}`), message: `the console front end imports from common/ only ${BROWSER_SAFE_COMMON.join(', ')} (no Node.js in them); see eslint.config.js` },
  { target: ['./coordinator/!(ui)/**', './coordinator/*.ts', './coordinator/ui/*.ts'], from: CONSOLE_APP, message: 'the coordinator serves the console\'s built files (dist/coordinator/ui/assets); it does not import its sources' },
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
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module', parserOptions: { ecmaFeatures: { jsx: true } } },
    plugins: { 'import-x': importX, '@typescript-eslint': tseslint.plugin },
    settings: {
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] }, 'import-x/extensions': ['.ts', '.tsx', '.js'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: ['./tsconfig.json', './coordinator/ui/app/tsconfig.json'], noWarnOnMultipleProjects: true })],
    },
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
  // The agent runs on every host for its whole life: its first collation (localeCompare,
  // Intl.Collator) loads ICU's collation data, ~3 MiB of resident memory it then keeps
  // (bench/README.md, "idle footprint"). Order text with common/text.ts compareText.
  {
    files: ['agent/**/*.ts', 'common/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error',
        { selector: "CallExpression[callee.property.name='localeCompare']", message: 'localeCompare loads ICU collation data into the agent for good: use compareText (common/text.ts)' },
        { selector: "MemberExpression[object.name='Intl'][property.name='Collator']", message: 'Intl.Collator loads ICU collation data into the agent for good: use compareText (common/text.ts)' },
      ],
    },
  },
  // The coordinator's store is asynchronous (coordinator/store/store.ts): a store call not awaited
  // is a write that may land after what follows, or an error nobody sees. Type-aware, so only here.
  {
    files: ['coordinator/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `return promise` inside try/catch skips the catch (a refused console call went unaudited).
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
    },
  },
  {
    files: ['coordinator/ui/app/**/*.ts', 'coordinator/ui/app/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'the console front end runs in the browser: no Node.js built-ins' }], paths: serverOnly.paths }],
      // What a browser bundle must not leave in: the page's own debugging aids.
      'no-alert': 'error',
      'no-console': 'error',
    },
  },
);
