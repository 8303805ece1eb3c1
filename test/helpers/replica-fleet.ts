/**
 * Coordinator replicas on one PostgreSQL database, with real agents: the failover, replica, PostgreSQL-outage
 * and partition e2e tests (docs/high-availability.md). Replica 0 starts first and takes the `coordinator`
 * lease (it schedules); the others start once it listens, and listen at once (every replica serves).
 * Agents start at a random replica of their list (agent/link/endpoints.ts): every other agent is not given
 * replica 0's address, so some streams are surely on replicas that do not schedule.
 * App shop, group web (OneAtATime), one revision pushed whose hooks append `v1:<event>` to the host's file
 * in the proof dir (AfterInstall sleeps, so a rollout takes a while).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { hooksFor, pack, writeBundle } from './bundle.js';
import { freePort } from './fleet-fixture.js';
import { type Coordinator, type Proc, ferry, startAgent, startCoordinator, waitFor } from './fleet.js';
import { type PostgresServer, startPostgres } from './postgres.js';
import net from 'node:net';
import { tempDir } from './temp.js';

export const REPLICA_HOOKS = ['BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];
export const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5'];

/** True when something accepts connections on the port. */
export const listening = (port: number): Promise<boolean> => new Promise(resolve => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

/** The hosts whose agents registered on this replica (its log's "agent connected" lines). */
export const hostsOn = (c: Coordinator): Set<string> => new Set([...c.output().matchAll(/agent connected.*?host_id[=:"\s]+([\w.-]+)/g)].map(m => m[1]!));

/** The replica among `replicas` that logged taking the coordinator lease. */
export const scheduling = (replicas: readonly Coordinator[]): Coordinator | undefined => replicas.find(c => /scheduling replica: holding the coordinator lease/.test(c.output()));

export interface ReplicaFleetOptions {
  replicas: number;
  hosts: string[];
  /** `sleep` argument of the AfterInstall hook. */
  afterInstallSleep: string;
  /** A server started by the caller (e.g. listening on more addresses); default a new one. */
  server?: PostgresServer;
  /** The address replica i reaches PostgreSQL at (default the server's, 127.0.0.1). */
  storeHost?: (i: number) => string;
  /** The replicas' ports (default free loopback ports). */
  ports?: number[];
  /** The address agents and the CLI reach replica i at, given its port (default 127.0.0.1:port, where it listens). */
  address?: (i: number, port: number) => string;
  /** The network namespace replica i runs in (default none). */
  netns?: (i: number) => string | undefined;
  /** More arguments for replica i (e.g. `--store-sslmode disable` for a non-loopback test server). */
  args?: (i: number) => string[];
}

export interface StartedReplica {
  c: Coordinator;
  /** performance.now() when it was seen listening. */
  at: number;
}

export interface ReplicaFleet {
  server: PostgresServer;
  ports: number[];
  /** Every replica's listen address, comma-separated (the agents' and the CLI's `--coordinator`). */
  all: string;
  /** Replica 0, listening. */
  first: Coordinator;
  /** Replicas 1…n-1: each resolves once it listens. */
  standbys: Promise<StartedReplica>[];
  /** Replicas 1…n-1, listening. */
  others: Coordinator[];
  /** Every replica, replica 0 first. */
  replicaList: Coordinator[];
  /** The pushed revision's digest. */
  digest: string;
  agents: Map<string, Proc>;
  /** `ferry ARGS` against every replica's address (or `via`). */
  cli(args: string[], timeoutMs?: number, via?: string): ReturnType<typeof ferry>;
  /** The lines the host's hooks appended. */
  proof(host: string): Promise<string[]>;
  /** `ferry deploy create … --wait --json` of the pushed revision, through every replica's address (or `via`). */
  deploy(via?: string): ReturnType<typeof ferry>;
  /** Each host ran each hook exactly once and installed v1 once. */
  ranOnce(): Promise<void>;
  /** How many hosts have installed v1. */
  done(): Promise<number>;
}

export async function replicaFleet(t: Test, o: ReplicaFleetOptions): Promise<ReplicaFleet> {
  const server = o.server ?? await startPostgres(t);
  const database = await server.createDatabase();
  const dir = await tempDir(t, 'ferry-replicas-');
  const passwordFile = path.join(dir, 'pg-password');
  await fs.writeFile(passwordFile, `${server.password}\n`, { mode: 0o600 });
  const storeArgs = (i: number) => ['--store', `postgres://${server.user}@${o.storeHost?.(i) ?? server.host}:${server.port}/${database}`, '--store-password-file', passwordFile, ...(o.args?.(i) ?? [])];
  const ports = o.ports ?? [];
  for (let i = ports.length; i < o.replicas; i++) ports.push(await freePort());
  const all = ports.map((port, i) => o.address?.(i, port) ?? `127.0.0.1:${port}`).join(',');
  const start = (i: number, listenTimeoutMs?: number) => {
    const netns = o.netns?.(i);
    return startCoordinator(t, path.join(dir, `replica-${i}`), storeArgs(i), `127.0.0.1:${ports[i]}`, { ...(netns && { netns }), ...(listenTimeoutMs && { listenTimeoutMs }) });
  };
  const first = await start(0);
  const standbys = ports.slice(1).map((_, i) => start(i + 1, 300_000).then(c => ({ c, at: performance.now() })));
  for (const s of standbys) s.catch(() => undefined);
  const others = (await Promise.all(standbys)).map(s => s.c);

  const proofDir = path.join(dir, 'proof');
  const appDir = path.join(dir, 'app');
  await fs.mkdir(proofDir, { mode: 0o777 });
  const agents = new Map<string, Proc>();
  const addresses = all.split(',');
  for (const [i, h] of o.hosts.entries()) {
    const order = addresses.filter((_, k) => i % 2 === 0 || k > 0 || addresses.length === 1).join(',');
    agents.set(h, await startAgent(t, { coordinator: order, rootDir: path.join(dir, 'agents', h), hostId: h, tags: { role: 'web' }, env: { HOST_LABEL: h }, privateDirs: [appDir] }));
  }
  const cli = (args: string[], timeoutMs = 60_000, via = all) => ferry(via, args, { timeoutMs });
  await waitFor('the agents connected', async () => {
    const listed = (await cli(['hosts', 'list', '--json'])).json?.hosts as { state: string }[] | undefined;
    return listed?.length === o.hosts.length && listed.every(h => h.state === 'connected');
  }, 120_000);
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web', '--config', 'OneAtATime']]) {
    const r = await cli(args);
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const src = path.join(dir, 'bundle');
  await writeBundle(src, {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'www', destination: path.join(appDir, 'www') }], hooks: hooksFor(REPLICA_HOOKS) },
    files: { 'www/version.txt': 'v1' },
    scripts: Object.fromEntries(REPLICA_HOOKS.map(e => [`scripts/${e}.sh`,
      `echo "v1:$LIFECYCLE_EVENT" >> ${proofDir}/$HOST_LABEL\n${e === 'AfterInstall' ? `sleep ${o.afterInstallSleep}\n` : ''}${e === 'ValidateService' ? `echo "v1:installed:$(cat ${appDir}/www/version.txt)" >> ${proofDir}/$HOST_LABEL\n` : ''}`])),
  });
  const pushed = await cli(['revision', 'push', pack(src, path.join(dir, 'v1.tgz'), 'tgz'), '--app', 'shop', '--json']);
  t.equal(pushed.code, 0, pushed.stderr);
  const proof = async (h: string) => (await fs.readFile(path.join(proofDir, h), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  const deploy = (via = all) => cli(['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', pushed.json.revision.digest as string, '--wait', '--json'], 300_000, via);
  const ranOnce = async (): Promise<void> => {
    for (const h of o.hosts) {
      const lines = await proof(h);
      for (const e of REPLICA_HOOKS) t.equal(lines.filter(l => l === `v1:${e}`).length, 1, `${h} ran ${e} exactly once`);
      t.equal(lines.filter(l => l === 'v1:installed:v1').length, 1, `${h} installed v1 once`);
    }
  };
  const done = async () => (await Promise.all(o.hosts.map(proof))).filter(p => p.includes('v1:installed:v1')).length;
  return { server, ports, all, first, standbys, others, replicaList: [first, ...others], digest: pushed.json.revision.digest as string, agents, cli, proof, deploy, ranOnce, done };
}
