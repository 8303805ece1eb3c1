/**
 * Failover of the scheduling replica (docs/high-availability.md): PostgreSQL, real coordinator replicas on it,
 * every one listening and serving, and real agents given every replica's address, their streams spread over
 * the replicas. The replica holding the `coordinator` lease schedules. During a OneAtATime rollout it is
 * SIGKILLed: another takes the lease and carries the rollout on from the database, its agents reconnect to
 * the others, `ferry deploy create --wait` (given every address) follows. Every host ran the revision's hooks
 * exactly once and the verdict is Succeeded; the takeover time is printed. Then the same with the scheduling
 * replica paused (SIGSTOP): resumed, it finds its lease lapsed, steps down without acting, and keeps serving.
 */
import t from 'tap';
import { waitFor } from '../helpers/fleet.js';
import { HOSTS, hostsOn, listening, replicaFleet, scheduling } from '../helpers/replica-fleet.js';

t.test('every replica serves; SIGKILL of the scheduling one mid-rollout: another takes over, every host runs the revision once, --wait follows', async t => {
  const f = await replicaFleet(t, { replicas: 3, hosts: HOSTS, afterInstallSleep: '1.5' });
  t.match(f.first.output(), /scheduling replica: holding the coordinator lease/, 'the first replica schedules');
  for (const c of f.others) t.match(c.output(), /serving replica: another replica schedules/, 'the others serve and wait for the lease');
  for (const [i, port] of f.ports.entries()) {
    t.ok(await listening(port), `replica ${i} listens`);
    const listed = await f.cli(['hosts', 'list', '--json'], 60_000, `127.0.0.1:${port}`);
    t.same((listed.json?.hosts as { id: string; state: string }[]).map(h => [h.id, h.state]).sort(), HOSTS.map(h => [h, 'connected']), `replica ${i} lists every host connected, wherever its stream is`);
  }
  const spread = f.replicaList.map(hostsOn);
  t.ok(spread.slice(1).some(s => s.size > 0), `some agents' streams are on replicas that do not schedule: ${spread.map(s => [...s].join(' ')).join(' | ')}`);

  const done = async () => (await Promise.all(HOSTS.map(f.proof))).filter(p => p.includes('v1:installed:v1')).length;
  // Created through a replica that does not schedule: the scheduling one starts it, and its commands reach hosts on every replica.
  const wait = f.deploy(`127.0.0.1:${f.ports[1]},${f.ports.filter((_, k) => k !== 1).map(p => `127.0.0.1:${p}`).join(',')}`);
  await waitFor('two hosts deployed', async () => (await done()) >= 2, 120_000);
  t.ok((await done()) < 5, 'the rollout is still in progress');
  const killedAt = performance.now();
  await f.first.kill('SIGKILL');

  const next = await waitFor('another replica took the coordinator lease', async () => scheduling(f.others), 120_000);
  const takeoverMs = performance.now() - killedAt;
  t.comment(`takeover: another replica held the coordinator lease ${Math.round(takeoverMs)} ms after the scheduling replica was killed (lease TTL 10 s; polled every 250 ms)`);
  t.ok(takeoverMs < 60_000, 'within a minute even on a loaded machine');

  const result = await wait;
  t.equal(result.code, 0, `deploy create --wait followed the rollout to its verdict: ${result.stderr}`);
  t.equal(result.json?.deployment?.status, 'Succeeded', 'the verdict is Succeeded');
  await f.ranOnce();
  const status = await f.cli(['deploy', 'status', result.json.deployment.id as string, '--json']);
  t.same((status.json.hosts as { hostId: string; status: string }[]).map(h => [h.hostId, h.status]).sort(), HOSTS.map(h => [h, 'Succeeded']), 'every host Succeeded in the store');
  for (const c of f.others) t.notMatch(c.output(), /AGENT_LOST/, 'no host was declared lost');
  t.ok(next, 'a surviving replica schedules');
});

t.test('the scheduling replica paused (SIGSTOP) mid-rollout: another takes over; resumed, the old one steps down without acting and keeps serving', async t => {
  const f = await replicaFleet(t, { replicas: 2, hosts: HOSTS.slice(0, 3), afterInstallSleep: '2' });
  const wait = f.deploy();
  await waitFor('the first host deployed', async () => (await f.proof('h1')).includes('v1:installed:v1'), 120_000);
  f.first.child.kill('SIGSTOP');
  await waitFor('the other replica took the coordinator lease', async () => scheduling(f.others), 120_000);
  const result = await wait;
  t.equal(result.code, 0, result.stderr);
  t.equal(result.json?.deployment?.status, 'Succeeded', 'the rollout finished under the other replica');
  f.first.child.kill('SIGCONT');
  await waitFor('the resumed replica stepped down', async () => /no longer the scheduling replica/.test(f.first.output()), 60_000);
  t.equal(f.first.child.exitCode, null, 'it keeps running');
  const listed = await f.cli(['hosts', 'list', '--json'], 60_000, `127.0.0.1:${f.ports[0]}`);
  t.equal((listed.json?.hosts as unknown[]).length, 3, 'and serves the API');
  await f.ranOnce();
});

