import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlApi } from '../cli/client.js';
import { fileChunks, sha256File } from '../cli/bundle.js';
import { type Coordinator, type Proc, startAgent, startCoordinator, waitFor } from '../test/helpers/fleet.js';

/** Collects cleanups like a test's teardown, for the bench's real processes. */
export class Cleanup {
  private readonly fns: (() => unknown)[] = [];
  teardown(fn: () => unknown): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.fns.reverse()) await fn();
  }
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms < 1000 ? ms.toFixed(1) : ms.toFixed(0));

export interface Env {
  dir: string;
  cleanup: Cleanup;
  coordinator: Coordinator;
  api: ControlApi;
}

/** `nodeArgs`: node's own flags for the coordinator process (e.g. --cpu-prof). */
export async function startEnv(name: string, coordinatorArgs: string[] = [], nodeArgs: string[] = []): Promise<Env> {
  const cleanup = new Cleanup();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ferry-bench-${name}-`));
  cleanup.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const coordinator = await startCoordinator(cleanup, path.join(dir, 'data'), ['--log-level', 'warn', ...coordinatorArgs], '127.0.0.1:0', { nodeArgs });
  const api = new ControlApi(coordinator.address, 60_000);
  cleanup.teardown(() => api.close());
  return { dir, cleanup, coordinator, api };
}

/** A bench failure with what the coordinator said (its exit and the end of its output), for the report. */
export function withCoordinatorOutput(env: Env, err: unknown): Error {
  const c = env.coordinator.child;
  const state = c.exitCode !== null || c.signalCode !== null ? `exited (code ${c.exitCode}, signal ${c.signalCode})` : 'still running';
  const tail = env.coordinator.output().split('\n').slice(-40).join('\n');
  return new Error(`${err instanceof Error ? err.message : String(err)}\ncoordinator ${state}; its last output:\n${tail}`);
}

export async function startAgents(env: Env, n: number, tags: Record<string, string>, extra: string[] = []): Promise<Proc[]> {
  const agents: Proc[] = [];
  for (let i = 0; i < n; i++) {
    agents.push(await startAgent(env.cleanup, {
      coordinator: env.coordinator.address, rootDir: path.join(env.dir, 'agents', `b${i}`), hostId: `b${i}`, tags,
      args: ['--log-level', 'warn', ...extra],
    }));
  }
  await waitFor(`${n} agents to connect`, async () => {
    const hosts = (await env.api.listHosts()).hosts;
    return hosts.filter(h => h.connected).length >= n;
  }, 180_000);
  return agents;
}

/** Writes a bundle dir of no-op bash hooks (each `true`, or the given bodies) and packs it as a tgz. */
export async function hookBundle(dir: string, hooks: Record<string, string>, files: Record<string, Buffer | string> = {}): Promise<string> {
  await fs.mkdir(path.join(dir, 'scripts'), { recursive: true });
  let spec = 'version: 0.0\nos: linux\nhooks:\n';
  for (const [event, body] of Object.entries(hooks)) {
    const file = path.join(dir, 'scripts', `${event}.sh`);
    await fs.writeFile(file, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    spec += `  ${event}:\n    - location: scripts/${event}.sh\n`;
  }
  await fs.writeFile(path.join(dir, 'appspec.yml'), spec);
  for (const [rel, content] of Object.entries(files)) await fs.writeFile(path.join(dir, rel), content);
  const out = `${dir}.tgz`;
  execFileSync('tar', ['-czf', out, '-C', dir, '.']);
  return out;
}

export async function push(api: ControlApi, application: string, archive: string, bundleType: 'tgz' | 'tar' = 'tgz'): Promise<string> {
  const { digest } = await sha256File(archive);
  const res = await api.uploadRevision({ application, bundleType, description: 'bench', expectedDigest: digest }, fileChunks(archive, 1024 * 1024));
  return res.revision!.digest;
}

/** Creates a deployment and resolves when it is terminal, with its final detail. */
export async function deployAndWait(api: ControlApi, req: { application: string; group: string; revision: string; configName?: string }) {
  const created = await api.createDeployment({ ...req, fileExistsBehavior: 'OVERWRITE' });
  let last = created;
  for await (const d of api.watchDeployment(created.deployment!.id)) last = d;
  return last;
}

/** Runs `n` workers in parallel, each running `scripts` once per item, with bash; returns ms. */
export async function runDirect(scripts: string[], items: number, parallel: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < items) {
      next += 1;
      for (const s of scripts) {
        await new Promise<void>((resolve, reject) => {
          const c = spawn('/bin/bash', [s], { stdio: 'ignore' });
          c.on('exit', code => (code === 0 ? resolve() : reject(new Error(`${s} exited ${code}`))));
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items) }, worker));
  return performance.now() - started;
}
