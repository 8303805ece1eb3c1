/**
 * PostgreSQL stopped for 10 s in the middle of a rollout (high availability:
 * docs/high-availability.md "What happens on each failure"): three coordinator replicas and five agents on
 * it, a OneAtATime rollout whose AfterInstall hook takes 3 s. While a host is inside its hooks, PostgreSQL
 * is stopped the way a crash or a restart stops it (`pg_ctl stop -m immediate`: every connection of every
 * replica, the pools', the leases' and the LISTEN one, drops with an error, and new ones are refused) and
 * started again 10 s later on the same port and data dir. The host's reports (its events, its result) reach
 * a replica during the outage.
 *
 * What must hold: the replicas keep running and keep their agents' streams (an agent is not pushed off by a
 * store that does not answer), they retry, and the rollout continues: Succeeded, `deploy create --wait` and
 * `deploy wait` follow it to that verdict, every host ran each hook exactly once (its file in the proof dir),
 * the store has every host Succeeded with all its lifecycle events (no lost result), and no host was
 * declared lost (AGENT_LOST).
 */
import t from 'tap';
import { waitFor } from '../helpers/fleet.js';
import { startPostgres } from '../helpers/postgres.js';
import { REPLICA_HOOKS, replicaFleet } from '../helpers/replica-fleet.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5'];
/** Hooks of the previously installed revision: Skipped on a first install. */
const FIRST_INSTALL_SKIPPED = ['ApplicationStop', 'BeforeBlockTraffic', 'AfterBlockTraffic'];
const OUTAGE_MS = 10_000;
/** What an agent logs when its stream ends (agent/link/session.ts). */
const DROPPED = /disconnected from the coordinator; reconnecting/g;

t.test('PostgreSQL stopped for 10 s mid-rollout: replicas keep agent streams, retry, and finish with no lost result', async t => {
  // Durable commits (PostgreSQL's default; the test servers turn them off for speed): a crash-stop must
  // not lose what the server said it had committed.
  const server = await startPostgres(t, { durableCommits: true });
  const f = await replicaFleet(t, { replicas: 3, hosts: HOSTS, afterInstallSleep: '3', server });
  const replicas = [f.first, ...(await Promise.all(f.standbys.map(s => Promise.race([s.then(r => r.c), new Promise<undefined>(r => setTimeout(r, 2000, undefined))]))))];
  const wait = f.deploy();
  const created = await waitFor('the deployment to be listed', async () => {
    const listed = await f.cli(['deploy', 'list', '--app', 'shop', '--json']);
    return (listed.json?.deployments as { id: string }[] | undefined)?.[0]?.id;
  }, 60_000);
  const waitById = f.cli(['deploy', 'wait', created, '--json'], 300_000);

  // A host inside AfterInstall (3 s), after the first host finished: its reports come during the outage.
  const inHooks = await waitFor('a second host inside its hooks', async () => {
    if ((await f.done()) < 1) return undefined;
    for (const h of HOSTS) {
      const lines = await f.proof(h);
      if (lines.includes('v1:AfterInstall') && !lines.includes('v1:installed:v1')) return h;
    }
    return undefined;
  }, 120_000);
  const droppedBefore = [...f.agents.values()].map(a => a.output().match(DROPPED)?.length ?? 0);
  const before = await f.done();
  f.server.halt();
  t.comment(`PostgreSQL stopped with ${before} host(s) done and ${inHooks} inside its hooks`);
  await new Promise(r => setTimeout(r, OUTAGE_MS));
  f.server.resume();
  t.comment('PostgreSQL started again');

  const result = await wait;
  t.equal(result.code, 0, `deploy create --wait followed the rollout to its verdict: ${result.stderr}`);
  t.equal(result.json?.deployment?.status, 'Succeeded', 'the verdict is Succeeded');
  const byId = await waitById;
  t.equal(byId.code, 0, `deploy wait followed it too: ${byId.stderr}`);
  await f.ranOnce();

  const status = await f.cli(['deploy', 'status', created, '--json']);
  const hosts = status.json?.hosts as { hostId: string; status: string; errorCode: string; events: { name: string; status: string }[] }[];
  t.same(hosts.map(h => [h.hostId, h.status]).sort(), HOSTS.map(h => [h, 'Succeeded']), 'every host\'s result is recorded: Succeeded in the store');
  for (const h of hosts) {
    const hooks = h.events.filter(e => REPLICA_HOOKS.includes(e.name));
    t.same(hooks.map(e => [e.name, e.status]), REPLICA_HOOKS.map(e => [e, 'Succeeded']), `${h.hostId}: every hook's event recorded Succeeded, in lifecycle order`);
    // The previous revision's hooks are Skipped on a first install; nothing else may be.
    const left = h.events.filter(e => e.status !== 'Succeeded' && !(e.status === 'Skipped' && FIRST_INSTALL_SKIPPED.includes(e.name)));
    t.same(left.map(e => `${e.name}=${e.status}`), [], `${h.hostId}: every other event Succeeded`);
  }
  t.notOk(hosts.some(h => h.errorCode === 'AGENT_LOST'), 'no host deployment is Unknown/AGENT_LOST');
  for (const [i, r] of replicas.entries()) {
    if (!r) continue;
    t.notMatch(r.output(), /AGENT_LOST|agent lost/, `replica ${i} declared no agent lost`);
    // Reports that reached a replica during the outage waited for the store (agent-inbox.ts), not refused.
    t.notMatch(r.output(), /agent stream rejected|agent reports not recorded/, `replica ${i} refused no agent report`);
  }

  // The issue's promise: replicas keep their agents' streams through the outage (the lease holder steps
  // down and keeps serving; an active/standby build, whose active replica exited, failed here).
  const running = replicas.map((r, i) => r === undefined || r.child.exitCode === null ? i : `replica ${i} exited ${r.child.exitCode}`);
  if (!t.same(running, replicas.map((_, i) => i), 'every replica still runs after the outage')) {
    for (const [i, r] of replicas.entries()) if (r && r.child.exitCode !== null) t.comment(`replica ${i}'s last lines:\n${r.output().split('\n').slice(-25).join('\n')}`);
  }
  const droppedAfter = [...f.agents.values()].map(a => a.output().match(DROPPED)?.length ?? 0);
  t.same(droppedAfter, droppedBefore, 'no agent\'s stream was dropped during the outage (each agent\'s count of "disconnected from the coordinator" unchanged)');
});
