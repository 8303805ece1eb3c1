/**
 * Failover (docs/high-availability.md): PostgreSQL, three real coordinator replicas on it and five real agents
 * given every replica's address. One replica is active (it holds the `coordinator` lease and listens); the
 * other two wait, not listening. During a OneAtATime rollout the active replica is SIGKILLed: a standby takes
 * the lease, listens, and carries the rollout on from the database; the agents and `ferry deploy create
 * --wait` (given every address) move to it on their own. Every host ran the revision's hooks exactly once,
 * holds its files, and the verdict is Succeeded. The takeover time is printed. Then the same with the active
 * replica paused (SIGSTOP) instead of killed: once resumed it finds its lease lapsed and exits without acting.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { hooksFor, pack, writeBundle } from '../helpers/bundle.js';
import { freePort } from '../helpers/fleet-fixture.js';
import { type Coordinator, ferry, startAgent, startCoordinator, waitFor } from '../helpers/fleet.js';
import { startPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';

const HOOKS = ['BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];
const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5'];

/** True when something accepts connections on the port. */
const listening = (port: number): Promise<boolean> => new Promise(resolve => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

/** PostgreSQL, `replicas` coordinators on it (the first active, the others standbys), agents on `hosts`, app shop, group web (OneAtATime), a pushed revision. */
async function replicaFleet(t: Test, replicas: number, hosts: string[], afterInstallSleep: string) {
  const server = await startPostgres(t);
  const database = await server.createDatabase();
  const dir = await tempDir(t, 'ferry-failover-');
  const passwordFile = path.join(dir, 'pg-password');
  await fs.writeFile(passwordFile, `${server.password}\n`, { mode: 0o600 });
  const storeArgs = ['--store', `postgres://${server.user}@127.0.0.1:${server.port}/${database}`, '--store-password-file', passwordFile];
  const ports: number[] = [];
  for (let i = 0; i < replicas; i++) ports.push(await freePort());
  const all = ports.map(p => `127.0.0.1:${p}`).join(',');
  const first = await startCoordinator(t, path.join(dir, 'replica-0'), storeArgs, `127.0.0.1:${ports[0]}`);
  // The others wait for the lease: they resolve only once they listen, i.e. once one is active.
  const standbys = ports.slice(1).map((port, i) => startCoordinator(t, path.join(dir, `replica-${i + 1}`), storeArgs, `127.0.0.1:${port}`, { listenTimeoutMs: 300_000 })
    .then(c => ({ c, at: performance.now() })));
  for (const s of standbys) s.catch(() => undefined);

  const proofDir = path.join(dir, 'proof');
  const appDir = path.join(dir, 'app');
  await fs.mkdir(proofDir, { mode: 0o777 });
  for (const h of hosts) {
    await startAgent(t, { coordinator: all, rootDir: path.join(dir, 'agents', h), hostId: h, tags: { role: 'web' }, env: { HOST_LABEL: h }, privateDirs: [appDir] });
  }
  const cli = (args: string[], timeoutMs = 60_000) => ferry(all, args, { timeoutMs });
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
  const deploy = () => cli(['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', pushed.json.revision.digest as string, '--wait', '--json'], 300_000);
  /** Each host ran each hook exactly once. */
  const ranOnce = async (): Promise<void> => {
    for (const h of hosts) {
      const lines = await proof(h);
      for (const e of HOOKS) t.equal(lines.filter(l => l === `v1:${e}`).length, 1, `${h} ran ${e} exactly once`);
      t.equal(lines.filter(l => l === 'v1:installed:v1').length, 1, `${h} installed v1 once`);
    }
  };
  return { ports, first, standbys, cli, proof, deploy, ranOnce };
}

t.test('SIGKILL of the active replica mid-rollout: a standby takes over, every host runs the revision once, --wait follows', async t => {
  const f = await replicaFleet(t, 3, HOSTS, '1.5');
  t.match(f.first.output(), /active replica: holding the coordinator lease/);
  t.notOk(await listening(f.ports[1]!), 'standby 1 does not listen');
  t.notOk(await listening(f.ports[2]!), 'standby 2 does not listen');

  const done = async () => (await Promise.all(HOSTS.map(f.proof))).filter(p => p.includes('v1:installed:v1')).length;
  const wait = f.deploy();
  await waitFor('two hosts deployed', async () => (await done()) >= 2, 120_000);
  t.ok((await done()) < 5, 'the rollout is still in progress');
  const killedAt = performance.now();
  await f.first.kill('SIGKILL');

  const next = await Promise.race(f.standbys);
  const takeoverMs = next.at - killedAt;
  t.comment(`takeover: a standby listened ${Math.round(takeoverMs)} ms after the active replica was killed (lease TTL 10 s)`);
  t.match(next.c.output(), /active replica: holding the coordinator lease/, 'a standby became active');
  t.ok(takeoverMs < 60_000, 'within a minute even on a loaded machine');

  const result = await wait;
  t.equal(result.code, 0, `deploy create --wait followed the rollout to its verdict on the new replica: ${result.stderr}`);
  t.equal(result.json?.deployment?.status, 'Succeeded', 'the verdict is Succeeded');
  await f.ranOnce();
  const status = await f.cli(['deploy', 'status', result.json.deployment.id as string, '--json']);
  t.same((status.json.hosts as { hostId: string; status: string }[]).map(h => [h.hostId, h.status]).sort(), HOSTS.map(h => [h, 'Succeeded']), 'every host Succeeded in the store');
  const survivor: Coordinator = next.c;
  t.notMatch(survivor.output(), /AGENT_LOST/, 'no host was declared lost');
});

t.test('the active replica paused (SIGSTOP) mid-rollout: a standby takes over; resumed, the old one stops without acting and exits 75', async t => {
  const f = await replicaFleet(t, 2, HOSTS.slice(0, 3), '2');
  const wait = f.deploy();
  await waitFor('the first host deployed', async () => (await f.proof('h1')).includes('v1:installed:v1'), 120_000);
  f.first.child.kill('SIGSTOP');
  const next = await f.standbys[0]!;
  t.match(next.c.output(), /active replica: holding the coordinator lease/, 'the standby took over while the active one was paused');
  const result = await wait;
  t.equal(result.code, 0, result.stderr);
  t.equal(result.json?.deployment?.status, 'Succeeded', 'the rollout finished on the new replica');
  f.first.child.kill('SIGCONT');
  t.equal(await f.first.exited, 75, 'resumed, the old replica found its lease lapsed and exited 75');
  t.match(f.first.output(), /no longer the active replica/, 'saying why');
  await f.ranOnce();
});
