import { promises as fs } from 'node:fs';
import path from 'node:path';
import { hooksFor, pack, writeBundle } from './bundle.js';
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
  addAgent(hostId: string, tags?: Record<string, string>, zone?: string, args?: string[]): Promise<Proc>;
  /** Packs a bundle whose hooks log to the proof dir; `extra` adds lines to a hook. */
  bundle(version: string, extra?: Record<string, string>, files?: Record<string, string>): Promise<string>;
  push(bundlePath: string, app?: string): Promise<string>;
  proof(hostId: string): Promise<string[]>;
}

/** A real coordinator and N real agents (each with a private app dir), an app `shop`, group `web`. */
export async function startFleet(t: T, hostIds: string[], opts: { config?: string } = {}): Promise<Fleet> {
  const dir = await tempDir(t, 'ferry-fleet-');
  const proofDir = path.join(dir, 'proof');
  const appDir = path.join(dir, 'app');
  await fs.mkdir(proofDir, { mode: 0o777 });
  const coordinator = await startCoordinator(t, path.join(dir, 'data'));
  const agents = new Map<string, Proc>();
  const fleet: Fleet = {
    dir, coordinator, agents, proofDir, appDir,
    addAgent: async (hostId, tags = { role: 'web' }, zone, args = []) => {
      const a = await startAgent(t, {
        coordinator: coordinator.address, rootDir: path.join(dir, 'agents', hostId), hostId, tags,
        ...(zone && { zone }), env: { HOST_LABEL: hostId }, privateDirs: [appDir], args,
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
          `echo "${version}:$LIFECYCLE_EVENT" >> ${proofDir}/$HOST_LABEL\n${e === 'ValidateService' ? `echo "${version}:installed:$(cat ${appDir}/www/version.txt)" >> ${proofDir}/$HOST_LABEL\n` : ''}${extra[e] ?? ''}`])),
      });
      return pack(src, path.join(dir, 'bundles', `${version}.tgz`), 'tgz');
    },
    push: async (bundlePath, app = 'shop') => {
      const r = await ferry(coordinator.address, ['revision', 'push', bundlePath, '--app', app, '--json']);
      t.equal(r.code, 0, `revision push: ${r.stderr}`);
      return r.json.revision.digest as string;
    },
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
