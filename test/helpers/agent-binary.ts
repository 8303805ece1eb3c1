import path from 'node:path';
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { type AgentBinary, buildAgentBinary, distDir, sha256File } from '../../ops/agent-binary/build.js';
import { bundleAgent } from '../../ops/agent-binary/bundle.js';
import { buildSea, pruneCache } from '../../ops/agent-binary/sea.js';
import { type Packages, buildPackages } from '../../ops/agent-binary/packages.js';
import { REPO } from './agent-cli.js';

let built: Promise<AgentBinary> | undefined;

/**
 * The agent binary (`npm run build:agent`), built once per test process and cached under
 * dist/agent-binary by a hash of its inputs, so a later run with unchanged code only re-bundles (~3 s).
 */
export function agentBinary(): Promise<AgentBinary> {
  built ??= buildAgentBinary(REPO);
  return built;
}

let packages: Promise<Packages> | undefined;

/** Its .deb and .rpm (as `npm run build:agent` makes them; cached beside the binary). */
export function agentPackages(bin: AgentBinary): Promise<Packages> {
  packages ??= buildPackages({ binary: bin.file, version: bin.version, arch: bin.arch, outDir: path.dirname(bin.file) }, bin.sha256);
  return packages;
}

/** An environment with no Node.js reachable: no PATH entry holding node, no NODE_OPTIONS. */
export const NO_NODE_ENV: NodeJS.ProcessEnv = { PATH: '/nonexistent', NODE_OPTIONS: '', NO_COLOR: '1' };

/**
 * The same agent bundled with another version (`npm run build:agent` as a later release would
 * make it): what `ferry hosts upgrade` rolls out in the tests. Cached in dist/agent-binary/test-cache/.
 */
export async function agentBinaryWithVersion(version: string): Promise<{ file: string; version: string; sha256: string }> {
  const cacheDir = path.join(distDir(REPO), 'test-cache');
  await fs.mkdir(cacheDir, { recursive: true });
  const bundle = await bundleAgent(REPO, version);
  const sea = await buildSea({ code: bundle.code, nodeBinary: process.execPath, cacheDir });
  await pruneCache(cacheDir, sea.key);
  return { file: sea.file, version, sha256: await sha256File(sea.file) };
}

/** `sh -c 'while :; do PROGRAM start …; sleep 1; done'` in its own process group (killed whole at teardown). */
export function supervised(t: { teardown(fn: () => unknown): void }, program: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn('/bin/sh', ['-c', 'while :; do "$@"; echo "supervisor: agent exited $?"; sleep 1; done', 'sh', program, ...args], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...NO_NODE_ENV, PATH: '/usr/bin:/bin', FERRY_AGENT_SUPERVISED: '1' },
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  return { child, output: () => out };
}
