/**
 * Several coordinator replicas on one PostgreSQL database with real agents (docs/high-availability.md), for the
 * e2e tests of replicas: PostgreSQL, `replicas` coordinators on it (the first started takes the coordinator
 * lease and schedules), agents each trying the replicas from a different one (their streams spread over all),
 * app shop, group web (OneAtATime), a revision whose hooks write proof lines per host.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Test } from 'tap';
import { hooksFor, pack, writeBundle } from './bundle.js';
import { freePort } from './fleet-fixture.js';
import { type Coordinator, ferry, startAgent, startCoordinator, waitFor } from './fleet.js';
import { startPostgres, storeFlags } from './postgres.js';
import { tempDir } from './temp.js';

export const HOOKS = ['BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];
export const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5'];

/** True when something accepts connections on the port. */
export const listening = (port: number): Promise<boolean> => new Promise(resolve => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

/** PostgreSQL, `replicas` coordinators on it (the first schedules), agents on `hosts` spread over them, app shop, group web (OneAtATime), a pushed revision. */
export async function replicaFleet(t: Test, replicas: number, hosts: string[], afterInstallSleep: string) {
  const server = await startPostgres(t);
  const dir = await tempDir(t, 'ferry-failover-');
  const storeArgs = await storeFlags(server, dir);
  const ports: number[] = [];
  for (let i = 0; i < replicas; i++) ports.push(await freePort());
  const all = ports.map(p => `127.0.0.1:${p}`).join(',');
  const first = await startCoordinator(t, path.join(dir, 'replica-0'), storeArgs, `127.0.0.1:${ports[0]}`);
  // The first took the lease (it had no competitor); the others serve too, and wait for the lease.
  const others: Coordinator[] = [];
  for (const [i, port] of ports.slice(1).entries()) others.push(await startCoordinator(t, path.join(dir, `replica-${i + 1}`), storeArgs, `127.0.0.1:${port}`));
  const replicaList = [first, ...others];

  const proofDir = path.join(dir, 'proof');
  const appDir = path.join(dir, 'app');
  await fs.mkdir(proofDir, { mode: 0o777 });
  for (const [i, h] of hosts.entries()) {
    // Agents start at a random replica of their list (agent/link/endpoints.ts): every other one is not given
    // the first replica's address (the one that schedules), so some streams are surely on replicas that do not.
    const order = ports.filter((_, k) => i % 2 === 0 || k > 0 || ports.length === 1).map(p => `127.0.0.1:${p}`).join(',');
    await startAgent(t, { coordinator: order, rootDir: path.join(dir, 'agents', h), hostId: h, tags: { role: 'web' }, env: { HOST_LABEL: h }, privateDirs: [appDir] });
  }
  const cli = (args: string[], timeoutMs = 60_000, via = all) => ferry(via, args, { timeoutMs });
  await waitFor('the agents connected', async () => {
    const listed = (await cli(['hosts', 'list', '--json'])).json?.hosts as { state: string }[] | undefined;
    return listed?.length === hosts.length && listed.every(h => h.state === 'connected');
  }, 60_000);
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web', '--config', 'OneAtATime']]) {
    const r = await cli(args);
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const src = path.join(dir, 'bundle');
  await writeBundle(src, {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'www', destination: path.join(appDir, 'www') }], hooks: hooksFor(HOOKS) },
    files: { 'www/version.txt': 'v1' },
    scripts: Object.fromEntries(HOOKS.map(e => [`scripts/${e}.sh`,
      `echo "v1:$LIFECYCLE_EVENT" >> ${proofDir}/$HOST_LABEL\n${e === 'AfterInstall' ? `sleep ${afterInstallSleep}\n` : ''}${e === 'ValidateService' ? `echo "v1:installed:$(cat ${appDir}/www/version.txt)" >> ${proofDir}/$HOST_LABEL\n` : ''}`])),
  });
  const pushed = await cli(['revision', 'push', pack(src, path.join(dir, 'v1.tgz'), 'tgz'), '--app', 'shop', '--json']);
  t.equal(pushed.code, 0, pushed.stderr);
  const proof = async (h: string) => (await fs.readFile(path.join(proofDir, h), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  /** Created through `via` (default: every address), followed with --wait. */
  const deploy = (via = all) => cli(['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', pushed.json.revision.digest as string, '--wait', '--json'], 300_000, via);
  /** Each host ran each hook exactly once. */
  const ranOnce = async (): Promise<void> => {
    for (const h of hosts) {
      const lines = await proof(h);
      for (const e of HOOKS) t.equal(lines.filter(l => l === `v1:${e}`).length, 1, `${h} ran ${e} exactly once`);
      t.equal(lines.filter(l => l === 'v1:installed:v1').length, 1, `${h} installed v1 once`);
    }
  };
  return { ports, first, others, replicaList, cli, proof, deploy, ranOnce, digest: pushed.json.revision.digest as string };
}

/** The hosts whose agents registered on this replica (its log's "agent connected" lines). */
export const hostsOn = (c: Coordinator): Set<string> => new Set([...c.output().matchAll(/agent connected.*?host_id[=:"\s]+([\w.-]+)/g)].map(m => m[1]!));

/** The replica that logged taking the coordinator lease last, among `replicas`. */
export const scheduling = (replicas: readonly Coordinator[]): Coordinator | undefined => replicas.find(c => /scheduling replica: holding the coordinator lease/.test(c.output()));

