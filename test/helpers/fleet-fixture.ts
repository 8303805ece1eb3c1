import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type BundleFile, hooksFor, pack, writeBundle } from './bundle.js';
import { type Coordinator, type Proc, ferry, startAgent, startCoordinator, waitForHosts } from './fleet.js';
import { tempDir } from './temp.js';

import type { Test } from 'tap';

type T = Test;

export const HOOKS = ['ApplicationStop', 'BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];

export interface Fleet {
  dir: string;
  coordinator: Coordinator;
  agents: Map<string, Proc>;
  /** Where hooks append `<event>` lines, one file per host (HOST_LABEL). */
  proofDir: string;
  /** The app's install dir: private to each agent (its own tmpfs). */
  appDir: string;
  addAgent(hostId: string, tags?: Record<string, string>, zone?: string, args?: string[], extra?: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] }): Promise<Proc>;
  /** Packs a bundle whose hooks log to the proof dir; `extra` adds lines to a hook. */
  bundle(version: string, extra?: Record<string, string>, files?: Record<string, string | BundleFile>): Promise<string>;
  push(bundlePath: string, app?: string): Promise<string>;
  proof(hostId: string): Promise<string[]>;
  /** What ValidateService last saw installed on the host: file names and a hash of their bytes. */
  files(hostId: string): Promise<string>;
  /** SIGKILLs the coordinator and starts a new one on the same data dir and address. */
  restartCoordinator(): Promise<void>;
}

/** A free loopback port (for a coordinator that must come back on the same address). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A real coordinator and N real agents (each with a private app dir), an app `shop`, group `web`. */
export async function startFleet(
  t: T, hostIds: string[],
  opts: { config?: string; coordinatorArgs?: string[]; fixedPort?: boolean; /** The coordinator's extra environment (a fake clock's). */ coordinatorEnv?: NodeJS.ProcessEnv } = {},
): Promise<Fleet> {
  const dir = await tempDir(t, 'ferry-fleet-');
  const proofDir = path.join(dir, 'proof');
  const appDir = path.join(dir, 'app');
  await fs.mkdir(proofDir, { mode: 0o777 });
  const listen = opts.fixedPort ? `127.0.0.1:${await freePort()}` : '127.0.0.1:0';
  const env = opts.coordinatorEnv ? { env: opts.coordinatorEnv } : {};
  const coordinator = await startCoordinator(t, path.join(dir, 'data'), opts.coordinatorArgs ?? [], listen, env);
  const agents = new Map<string, Proc>();
  const fleet: Fleet = {
    dir, coordinator, agents, proofDir, appDir,
    addAgent: async (hostId, tags = { role: 'web' }, zone, args = [], extra = {}) => {
      const a = await startAgent(t, {
        coordinator: coordinator.address, rootDir: path.join(dir, 'agents', hostId), hostId, tags,
        ...(zone && { zone }), env: { HOST_LABEL: hostId, ...extra.env }, privateDirs: [appDir], args,
        ...(extra.nodeArgs && { nodeArgs: extra.nodeArgs }),
      });
      agents.set(hostId, a);
      return a;
    },
    bundle: async (version, extra = {}, files = {}) => {
      const src = path.join(dir, 'bundles', version);
      await writeBundle(src, {
        appspec: { version: 0.0, os: 'linux', files: [{ source: 'www', destination: path.join(appDir, 'www') }], hooks: hooksFor(HOOKS) },
        files: { 'www/version.txt': version, [`www/only-${version}.txt`]: version, ...files },
        scripts: Object.fromEntries(HOOKS.map(e => [`scripts/${e}.sh`,
          `echo "${version}:$LIFECYCLE_EVENT" >> ${proofDir}/$HOST_LABEL\n${e === 'ValidateService' ? `echo "${version}:installed:$(cat ${appDir}/www/version.txt)" >> ${proofDir}/$HOST_LABEL\n(cd ${appDir}/www && echo "$(ls | sort | tr '\\n' ' ')$(cat $(ls | sort) | sha256sum | cut -c1-16)") > ${proofDir}/$HOST_LABEL.files\n` : ''}${extra[e] ?? ''}`])),
      });
      return pack(src, path.join(dir, 'bundles', `${version}.tgz`), 'tgz');
    },
    push: async (bundlePath, app = 'shop') => {
      const r = await ferry(coordinator.address, ['revision', 'push', bundlePath, '--app', app, '--json']);
      t.equal(r.code, 0, `revision push: ${r.stderr}`);
      return r.json.revision.digest as string;
    },
    restartCoordinator: async () => {
      await fleet.coordinator.kill('SIGKILL');
      fleet.coordinator = await startCoordinator(t, path.join(dir, 'data'), opts.coordinatorArgs ?? [], fleet.coordinator.address, env);
    },
    files: async hostId => (await fs.readFile(path.join(proofDir, `${hostId}.files`), 'utf8').catch(() => '')).trim(),
    proof: async hostId => (await fs.readFile(path.join(proofDir, hostId), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean),
  };
  for (const id of hostIds) await fleet.addAgent(id);
  await waitForHosts(coordinator.address, hostIds);
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web', '--config', opts.config ?? 'OneAtATime']]) {
    const r = await ferry(coordinator.address, args);
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  return fleet;
}
