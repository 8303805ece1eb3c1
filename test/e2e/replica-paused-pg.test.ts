/**
 * A replica that holds agents' streams, paused (docs/high-availability.md "Every replica serves"): three
 * coordinator replicas on PostgreSQL, a host whose stream is on a replica that does not schedule, an AllAtOnce
 * rollout whose AfterInstall takes a while. The host's replica is SIGSTOPped while the host is in its hooks:
 * its presence lapses, and the scheduling replica gives the host the time its agent needs to notice (gRPC
 * keepalive) and move to the third replica, where it reports its result. The host is never declared lost and
 * the rollout Succeeds. Without the presence rule this is a race (the agent notices within 10–30 s; the
 * scheduling replica would judge it 20–25 s after its last heartbeat reached the database), so this test
 * may pass without it; the rule itself is test/unit/registry-replicas.test.ts's.
 */
import t from 'tap';
import { waitFor } from '../helpers/fleet.js';
import { hostsOn, replicaFleet } from '../helpers/replica-fleet.js';

t.test('a paused replica\'s agents move to another and are not declared lost meanwhile', async t => {
  // h2 is not given replica 0's address (replica-fleet.ts): its stream is on replica 1 or 2.
  const started = performance.now();
  const f = await replicaFleet(t, { replicas: 3, hosts: ['h1', 'h2'], afterInstallSleep: '25' });
  // Past the replicas' restart grace (45 s from their start: no host is judged lost before it), where a
  // lost verdict would really be given.
  const grace = 50_000 - (performance.now() - started);
  if (grace > 0) await new Promise(resolve => setTimeout(resolve, grace));
  const holder = f.others.find(c => hostsOn(c).has('h2'))!;
  const other = f.others.find(c => c !== holder)!;
  t.ok(holder, 'h2\'s stream is on a replica that does not schedule');
  const created = await f.cli(['deploy', 'create', '--app', 'shop', '--group', 'web', '--config', 'AllAtOnce', '--revision', f.digest, '--json']);
  t.equal(created.code, 0, created.stderr);
  const id = created.json.deployment.id as string;
  await waitFor('h2 in its AfterInstall', async () => (await f.proof('h2')).includes('v1:AfterInstall'), 120_000);
  holder.child.kill('SIGSTOP');
  t.teardown(() => void holder.child.kill('SIGCONT'));
  t.comment('h2\'s replica paused while h2 runs its hooks');
  const status = await waitFor('the deployment ended', async () => {
    const s = await f.cli(['deploy', 'status', id, '--json'], 60_000, `127.0.0.1:${f.ports[0]}`);
    return ['Succeeded', 'Failed', 'Stopped'].includes(s.json?.deployment?.status as string) ? s : undefined;
  }, 180_000);
  t.equal(status.json.deployment.status, 'Succeeded', 'the rollout Succeeded');
  const hosts = status.json.hosts as { hostId: string; status: string; errorCode?: string }[];
  t.same(hosts.map(h => [h.hostId, h.status]).sort(), [['h1', 'Succeeded'], ['h2', 'Succeeded']], 'both hosts Succeeded');
  t.notOk(hosts.some(h => h.errorCode === 'AGENT_LOST'), 'no host was declared lost');
  t.notMatch(f.first.output(), /agent lost/, 'the scheduling replica declared no agent lost');
  t.ok(hostsOn(other).has('h2'), 'h2\'s agent moved to the third replica');
  await f.ranOnce();
});
