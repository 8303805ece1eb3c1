/**
 * Failover (docs/high-availability.md): PostgreSQL, three real coordinator replicas on it and five real agents
 * given every replica's address. One replica is active (it holds the `coordinator` lease and listens); the
 * other two wait, not listening. During a OneAtATime rollout the active replica is SIGKILLed: a standby takes
 * the lease, listens, and carries the rollout on from the database; the agents and `ferry deploy create
 * --wait` (given every address) move to it on their own. Every host ran the revision's hooks exactly once,
 * holds its files, and the verdict is Succeeded. The takeover time is printed. Then the same with the active
 * replica paused (SIGSTOP) instead of killed: once resumed it finds its lease lapsed and exits without acting.
 */
import net from 'node:net';
import t from 'tap';
import { type Coordinator, waitFor } from '../helpers/fleet.js';
import { replicaFleet } from '../helpers/replica-fleet.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5'];

/** True when something accepts connections on the port. */
const listening = (port: number): Promise<boolean> => new Promise(resolve => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

t.test('SIGKILL of the active replica mid-rollout: a standby takes over, every host runs the revision once, --wait follows', async t => {
  const f = await replicaFleet(t, { replicas: 3, hosts: HOSTS, afterInstallSleep: '1.5' });
  t.match(f.first.output(), /active replica: holding the coordinator lease/);
  t.notOk(await listening(f.ports[1]!), 'standby 1 does not listen');
  t.notOk(await listening(f.ports[2]!), 'standby 2 does not listen');

  const wait = f.deploy();
  await waitFor('two hosts deployed', async () => (await f.done()) >= 2, 120_000);
  t.ok((await f.done()) < 5, 'the rollout is still in progress');
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
  const f = await replicaFleet(t, { replicas: 2, hosts: HOSTS.slice(0, 3), afterInstallSleep: '2' });
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
