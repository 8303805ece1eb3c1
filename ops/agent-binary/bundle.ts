import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { PROTO_FILES, PROTO_OPTIONS, protoDir } from '../../proto/load.js';
import { AGENT_VERSION_MARK } from '../../common/version.js';

/**
 * The agent's code in one CommonJS file (esbuild), ready to be the main script of a Node single
 * executable application (sea.ts). Entry: ops/ferry-agent.ts, the same program `bin/ferry-agent`
 * runs. What the checkout reads from disk at run time is put in at bundle time: the version
 * (package.json) and the .proto files (as protobuf.js JSON), through esbuild's `define`.
 */

export interface AgentBundle {
  /** The bundled JavaScript. */
  code: string;
  /** esbuild's metafile: every input module and every import left outside the bundle. */
  metafile: esbuild.Metafile;
}

/** The one place import.meta.url is given a value in the binary: the executable itself. */
const BANNER_URL = "const __ferry_binary_url = require('node:url').pathToFileURL(process.execPath).href;";

/** The bundle's first lines: its version where the coordinator finds it in the binary (AGENT_VERSION_MARK), then the url shim. */
export function banner(version: string): string {
  return `/* ${AGENT_VERSION_MARK}${version}; */\n${BANNER_URL}`;
}

/** The .proto files parsed as proto/load.ts would, as protobuf.js JSON (the same protobufjs copy proto-loader uses). */
export function protoJson(): Record<string, unknown> {
  const req = createRequire(import.meta.url);
  const util = req('@grpc/proto-loader/build/src/util.js') as {
    loadProtosWithOptionsSync(files: string[], options: object): { toJSON(): Record<string, unknown> };
  };
  return util.loadProtosWithOptionsSync(PROTO_FILES, { ...PROTO_OPTIONS, includeDirs: [protoDir()] }).toJSON();
}

/** Bundles `entry` (a .ts file of the checkout) for Node 20; esbuild warnings fail the build. */
export async function bundleAgent(repo: string, version: string, entry = 'ops/ferry-agent.ts'): Promise<AgentBundle> {
  const result = await esbuild.build({
    absWorkingDir: repo,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    metafile: true,
    minifySyntax: true,
    legalComments: 'inline',
    logLevel: 'silent',
    banner: { js: banner(version) },
    define: {
      'import.meta.url': '__ferry_binary_url',
      FERRY_BUNDLED_VERSION: JSON.stringify(version),
      FERRY_PROTO_JSON: JSON.stringify(protoJson()),
    },
  });
  if (result.warnings.length > 0) {
    const text = await esbuild.formatMessages(result.warnings, { kind: 'warning' });
    throw new Error(`esbuild warned while bundling ${entry} (the binary must not depend on what it warns about):\n${text.join('')}`);
  }
  return { code: latin1Source(result.outputFiles![0]!.text), metafile: result.metafile! };
}

/**
 * `code` with every character above U+00FF written as a `\uXXXX` escape. A single executable
 * hands its main script to V8 as one string that stays in the heap for the process's life, and
 * one character outside Latin-1 anywhere in it (a dash in a dependency's comment) makes V8 store
 * all of it at two bytes a character: 5.4 MiB instead of 2.7 for the agent (a heap snapshot of the
 * idle binary; bench/README.md, "idle footprint"). esbuild already writes strings and identifiers
 * in ASCII, so what is left is in comments kept inside class bodies or in a regular expression,
 * where the escape stands for the same character.
 */
export function latin1Source(code: string): string {
  return code.replace(/[^\u0000-\u00ff]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const BUILTINS = new Set([...builtinModules, ...builtinModules.map(m => `node:${m}`), 'node:sea']);

/**
 * Requires the bundle leaves in place that never run on Linux: systeminformation asks for these
 * macOS sensor packages inside try/catch when it reads a Mac's temperatures.
 */
export const ELSEWHERE_ONLY: Readonly<Record<string, string>> = {
  'osx-temperature-sensor': 'macOS only (systeminformation, inside try/catch)',
  'macos-temperature-sensor': 'macOS only (systeminformation, inside try/catch)',
};

/**
 * What may not be in the agent binary, from esbuild's metafile: coordinator or CLI code, SQLite,
 * a native addon (.node) or its loader, and any import the bundle leaves for run time but a Node
 * built-in (a single executable's `require` loads only built-ins). Returns every problem, each
 * naming the module.
 */
export function bundleProblems(metafile: esbuild.Metafile): string[] {
  const problems: string[] = [];
  for (const input of Object.keys(metafile.inputs)) {
    const file = input.split(path.sep).join('/');
    if (/^(coordinator|cli)\//.test(file)) problems.push(`${file}: coordinator/CLI code in the agent binary`);
    if (/(^|\/)node_modules\/(better-sqlite3|bindings|node-gyp-build|prebuild-install)\//.test(file)) problems.push(`${file}: SQLite or a native-addon loader in the agent binary`);
    if (file.endsWith('.node')) problems.push(`${file}: a native module in the agent binary`);
  }
  for (const [out, info] of Object.entries(metafile.outputs)) {
    const left = new Set(info.imports.filter(i => i.external && !BUILTINS.has(i.path) && ELSEWHERE_ONLY[i.path] === undefined).map(i => i.path));
    for (const spec of left) problems.push(`${out}: requires ${spec} at run time, which is not bundled and not a Node built-in`);
  }
  return problems;
}
