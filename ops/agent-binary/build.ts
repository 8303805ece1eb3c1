import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleAgent, bundleProblems } from './bundle.js';
import { ARCHES } from './package.js';
import { buildSea, pruneCache } from './sea.js';

/**
 * `npm run build:agent`: the agent as one executable for this machine's architecture, in
 * dist/agent-binary/ (never committed):
 *   ferry-agent-linux-<arch>          the binary (a hard link to the cached build)
 *   ferry-agent-linux-<arch>.sha256   its digest, as `sha256sum` prints it
 *   cache/<key>/                      the build, keyed by a hash of its inputs
 */

export interface AgentBinary {
  file: string;
  arch: string;
  version: string;
  sha256: string;
  size: number;
  cached: boolean;
  /** Input modules in the bundle, and its size in bytes. */
  modules: number;
  bundleBytes: number;
}

export function distDir(repo: string): string {
  return path.join(repo, 'dist', 'agent-binary');
}

export function ferryVersion(repo: string): string {
  return (JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const fh = await fs.open(file);
  try {
    for await (const chunk of fh.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/** Bundles, checks the bundle, wraps it; fails naming every module that may not be in the binary. */
export async function buildAgentBinary(repo: string, say: (line: string) => void = () => undefined): Promise<AgentBinary> {
  const arch = process.arch;
  if (process.platform !== 'linux' || ARCHES[arch] === undefined) {
    throw new Error(`build:agent makes Linux binaries from a Linux node of the same architecture (x64 or arm64); this is ${process.platform}-${arch}`);
  }
  const version = ferryVersion(repo);
  const out = distDir(repo);
  await fs.mkdir(path.join(out, 'cache'), { recursive: true });
  say(`bundle: ops/ferry-agent.ts (esbuild), version ${version}`);
  const bundle = await bundleAgent(repo, version);
  const problems = bundleProblems(bundle.metafile);
  if (problems.length > 0) {
    throw new Error(`the agent bundle holds what may not run on hosts (see test/unit/boundaries.test.ts):\n  ${problems.join('\n  ')}`);
  }
  const sea = await buildSea({ code: bundle.code, nodeBinary: process.execPath, cacheDir: path.join(out, 'cache'), say });
  await pruneCache(path.join(out, 'cache'), sea.key);
  const file = path.join(out, `ferry-agent-linux-${arch}`);
  // Linked and written beside, then renamed over: builds running at once (test files) never see the file missing.
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  await fs.link(sea.file, tmp);
  await fs.rename(tmp, file);
  const sha256 = await sha256File(sea.file);
  await fs.writeFile(`${tmp}.sha256`, `${sha256}  ${path.basename(file)}\n`);
  await fs.rename(`${tmp}.sha256`, `${file}.sha256`);
  const size = (await fs.stat(sea.file)).size;
  return { file, arch, version, sha256, size, cached: sea.cached, modules: Object.keys(bundle.metafile.inputs).length, bundleBytes: Buffer.byteLength(bundle.code) };
}
