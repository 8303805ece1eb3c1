import path from 'node:path';
import { type AgentBinary, buildAgentBinary } from '../../ops/agent-binary/build.js';
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
