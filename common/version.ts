import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set by esbuild's `define` when the agent binary is bundled (ops/agent-binary/bundle.ts): it has no package.json beside it. */
declare const FERRY_BUNDLED_VERSION: string | undefined;

/**
 * Ferry's one version string, read from package.json (the nearest one named `ferry` above this
 * module: the checkout's from common/ and from dist/common/, the package's once installed), or the
 * one the agent binary was bundled with. Sent in Register and printed by every program's `--version`.
 */
export const FERRY_VERSION: string = typeof FERRY_BUNDLED_VERSION === 'string'
  ? FERRY_BUNDLED_VERSION
  : readVersion(path.dirname(fileURLToPath(import.meta.url)));

function readVersion(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ferry' && typeof pkg.version === 'string') return pkg.version;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json of ferry above ${from}`);
  }
}

/**
 * What the agent binary carries before its version, in a comment at the top of its bundle
 * (`ferry-agent-version:0.1.0;`): the coordinator reads the version of the binary it serves from
 * the file (coordinator/agent-downloads/releases.ts) without running it, for any architecture.
 */
export const AGENT_VERSION_MARK = 'ferry-agent-version:';
