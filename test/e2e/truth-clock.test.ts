import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { type Fleet, startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Truthful rollouts, rule 8: clocks. The coordinator's wall clock (alone: libfaketime preloaded into
 * it, agents and this test keep the real one; the monotonic clock is not faked) jumps +10 min while
 * hosts are mid-hook, then -1 h between two queued deployments. Liveness must not declare the
 * healthy agents lost (it runs on the monotonic clock), the queue must run in creation order and a
 * new host must get the group's true target (both by sequence, not by wall-clock time).
 */

const TERMINAL = ['Succeeded', 'Failed', 'Stopped'];

async function create(f: Fleet, revision: string): Promise<{ id: string; createdAt: string }> {
  const r = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', revision, '--file-exists-behavior', 'OVERWRITE', '--json']);
  if (r.code !== 0) throw new Error(`deploy create: ${r.stderr}`);
  return r.json.deployment;
}
const detail = async (f: Fleet, id: string) => (await ferry(f.coordinator.address, ['deploy', 'status', id, '--json'])).json;
const ended = (f: Fleet, id: string) => waitFor(`${id} to end`, async () => {
  const d = await detail(f, id);
  return TERMINAL.includes(d?.deployment?.status) && d;
}, 40_000);
/** The revisions a host ran, in the order it first ran them (its own proof file). */
const runOrder = async (f: Fleet, host: string) => [...new Set((await f.proof(host)).map(l => l.split(':')[0]!))];
const installed = async (f: Fleet, host: string) => (await f.proof(host)).filter(l => l.includes(':installed:')).at(-1)?.split(':installed:')[1];

t.test('coordinator wall clock +10 min mid-hook, then -1 h between queued deployments: no host lost, queue in creation order, a new host gets the true target (mount namespace)', async t => {
  const clock = await FakeClock.create(await tempDir(t, 'ferry-clock-'));
  const f = await startFleet(t, ['h1', 'h2'], {
    config: 'AllAtOnce', coordinatorArgs: ['--heartbeat-interval', '1s', '--agent-timeout', '3s'], coordinatorEnv: clock.env(),
  });
  // v1 and v2 hold in ApplicationStart until this test releases them: no race with the load.
  const release = (v: string) => fs.writeFile(path.join(f.proofDir, `release-${v}`), '');
  const held = (v: string) => ({ ApplicationStart: `while [ ! -e ${f.proofDir}/release-${v} ]; do sleep 0.2; done` });
  const v1 = await f.push(await f.bundle('v1', held('v1')));
  const v2 = await f.push(await f.bundle('v2', held('v2')));
  const v3 = await f.push(await f.bundle('v3'));
  const v4 = await f.push(await f.bundle('v4'));

  // +10 min while both hosts are in v1's ApplicationStart (the agents keep heartbeating on time).
  const a = await create(f, v1);
  await waitFor('both hosts in v1 ApplicationStart', async () =>
    (await f.proof('h1')).includes('v1:ApplicationStart') && (await f.proof('h2')).includes('v1:ApplicationStart'), 30_000);
  await clock.jump(600);
  const b = await create(f, v2);
  const skew = Date.parse(b.createdAt) - Date.now();
  t.ok(skew > 590_000 && skew < 610_000, `the coordinator's wall clock jumped +10 min (its createdAt is ${Math.round(skew / 1000)} s ahead)`);
  // Liveness is judged every 250 ms: on the wall clock every agent would be 10 min silent now.
  await new Promise(r => setTimeout(r, 3000));
  const hosts = (await ferry(f.coordinator.address, ['hosts', 'list', '--json'])).json.hosts as any[];
  t.same(hosts.map(h => [h.id, h.connected]).sort(), [['h1', true], ['h2', true]], 'both agents are still connected after the jump');
  t.same((await detail(f, a.id)).hosts.map((h: any) => h.status), ['InProgress', 'InProgress'], 'both hosts still in flight, none lost');
  await release('v1');
  const first = await ended(f, a.id);
  t.equal(first.deployment.status, 'Succeeded', `v1 succeeded through the jump: ${first.deployment.errorMessage ?? ''}`);
  t.same(first.hosts.map((h: any) => [h.hostId, h.status, h.errorCode ?? '']), [['h1', 'Succeeded', ''], ['h2', 'Succeeded', '']], 'no host was lost (AGENT_LOST)');

  // v2 runs (held); c then d queue behind it, with the clock put back 1 h between them: d's createdAt is before c's.
  await waitFor('v2 in flight', async () => (await detail(f, b.id))?.deployment?.status === 'InProgress', 30_000);
  const c = await create(f, v3);
  await clock.jump(-3600);
  const d = await create(f, v4);
  t.ok(Date.parse(d.createdAt) < Date.parse(c.createdAt) - 3_000_000, 'the later deployment carries the earlier wall-clock time');
  t.same([(await detail(f, c.id)).deployment.status, (await detail(f, d.id)).deployment.status], ['Queued', 'Queued'], 'both wait behind v2');
  await release('v2');
  for (const x of [b, c, d]) t.equal((await ended(f, x.id)).deployment.status, 'Succeeded', `${x.id} succeeded`);
  for (const h of ['h1', 'h2']) {
    t.same(await runOrder(f, h), ['v1', 'v2', 'v3', 'v4'], `${h} ran the deployments in the order they were created (its own files)`);
  }

  // A new host: v1's deployment ended latest on the wall clock (before the -1 h jump), but the target is v4.
  await f.addAgent('h3');
  await waitForHosts(f.coordinator.address, ['h1', 'h2', 'h3']);
  await waitFor('h3 caught up', async () => (await installed(f, 'h3')) !== undefined, 30_000);
  t.equal(await installed(f, 'h3'), 'v4', 'the new host got the group\'s target revision v4 (its own files)');
  const all = (await ferry(f.coordinator.address, ['deploy', 'list', '--app', 'shop', '--json'])).json.deployments as any[];
  const catchUps = all.filter(x => x.creator === 'autoscaling');
  t.same(catchUps.map(x => x.revision), [v4], 'one catch-up, of v4');
  for (const h of ['h1', 'h2']) t.equal(await installed(f, h), 'v4', `${h} runs v4`);
});
