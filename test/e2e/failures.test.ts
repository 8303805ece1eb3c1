import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { gate } from '../helpers/bundle.js';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';

const FAST = ['--heartbeat-interval', '1s', '--agent-timeout', '3s'];

const status = async (address: string, id: string) => (await ferry(address, ['deploy', 'status', id, '--json'])).json;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function create(address: string, revision: string, extra: string[] = []): Promise<string> {
  const r = await ferry(address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', revision, '--json', ...extra]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.json.deployment.id;
}

/** Waits until a host is in `event` of deployment `id`. */
const inEvent = (address: string, id: string, hostId: string, event: string) =>
  waitFor(`${hostId} to be in ${event}`, async () => {
    const d = await status(address, id);
    return d?.hosts.find((h: any) => h.hostId === hostId && h.status === 'InProgress' && h.currentEvent === event);
  }, 30_000);

t.test('ferry deploy stop: no new host starts, the running hook is killed, the deployment is Stopped (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2']);
  const pidFile = path.join(f.dir, 'hook.pid');
  const digest = await f.push(await f.bundle('slow', { ApplicationStart: `echo $$ > ${pidFile}; sleep 60` }));
  const waiting = ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--wait', '--json'], { timeoutMs: 60_000 });
  const id = await waitFor('the deployment', async () => (await ferry(f.coordinator.address, ['deploy', 'list', '--json'])).json?.deployments[0]?.id);
  await inEvent(f.coordinator.address, id, 'h1', 'ApplicationStart');
  const hookPid = Number(await waitFor('the hook pid', () => fs.readFile(pidFile, 'utf8').catch(() => '')));
  const stop = await ferry(f.coordinator.address, ['deploy', 'stop', id, '--reason', 'bad config', '--json']);
  t.equal(stop.code, 0, stop.stderr);
  t.equal(stop.json.deployment.status, 'Stopped');
  t.equal(stop.json.deployment.errorCode, 'MANUAL_STOP');
  t.match(stop.json.deployment.errorMessage, /stopped by insecure-local: bad config/);
  const waited = await waiting;
  t.equal(waited.code, 3, 'ferry deploy create --wait exits 3 for a stopped deployment');
  t.match(waited.json, { exitCode: 3, outcome: 'stopped', deployment: { id, status: 'Stopped' } }, 'the --json document says how the wait ended');
  await waitFor('the hook to be killed', () => !alive(hookPid), 15_000);
  const d = await waitFor('h1 to report', async () => {
    const s = await status(f.coordinator.address, id);
    return s?.hosts.find((h: any) => h.hostId === 'h1').status !== 'InProgress' && s;
  }, 20_000);
  const byId = Object.fromEntries(d.hosts.map((h: any) => [h.hostId, h]));
  t.equal(byId.h1.status, 'Failed', 'the cancelled host is Failed');
  t.equal(byId.h2.status, 'Skipped', 'the next host never started');
  t.same(await f.proof('h2'), []);
  const again = await ferry(f.coordinator.address, ['deploy', 'stop', id]);
  t.equal(again.code, 1);
  t.match(again.stderr, /already ended: Stopped/);
});

t.test('an agent that stops heartbeating is lost: its host is Unknown (AGENT_LOST); when it comes back its result is kept too (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2'], { coordinatorArgs: FAST });
  const release = path.join(f.dir, 'release');
  const digest = await f.push(await f.bundle('v1', { ApplicationStart: gate(release) }));
  const id = await create(f.coordinator.address, digest);
  await inEvent(f.coordinator.address, id, 'h1', 'ApplicationStart');
  const agent = f.agents.get('h1')!;
  const stoppedAt = Date.now();
  process.kill(agent.child.pid!, 'SIGSTOP');
  t.teardown(() => {
    try { process.kill(agent.child.pid!, 'SIGCONT'); } catch { /* gone */ }
  });
  const lost = await waitFor('h1 to be Unknown', async () => {
    const d = await status(f.coordinator.address, id);
    return d?.hosts.find((h: any) => h.hostId === 'h1' && h.status === 'Unknown') && d;
  }, 20_000);
  const h1 = lost.hosts.find((h: any) => h.hostId === 'h1');
  t.equal(h1.errorCode, 'AGENT_LOST', 'a lost agent is AGENT_LOST, never a hook failure');
  t.match(h1.errorMessage, /no heartbeat/);
  // The judgement runs on the monotonic clock; the record's time is the wall clock's (it was 1970).
  t.ok(Date.parse(h1.completedAt) >= stoppedAt - 1000 && Date.parse(h1.completedAt) <= Date.now() + 1000,
    `the lost host's completedAt (${h1.completedAt}) is when it was declared lost`);
  t.equal(lost.deployment.status, 'Failed', 'Unknown counts as failed: OneAtATime cannot go on');
  const hosts = (await ferry(f.coordinator.address, ['hosts', 'list'])).stdout;
  t.match(hosts, /h1\s.*lost/, 'ferry hosts list shows the host lost');
  await fs.writeFile(release, ''); // the hook ends while the agent is still stopped
  process.kill(agent.child.pid!, 'SIGCONT');
  const back = await waitFor('h1 to report what it reached', async () => {
    const d = await status(f.coordinator.address, id);
    return d?.hosts.find((h: any) => h.hostId === 'h1' && h.status === 'Succeeded');
  }, 30_000);
  t.equal(back.errorCode, 'AGENT_LOST', 'the record keeps that the agent was lost');
  t.match(back.errorMessage, /came back .* reported Succeeded/);
  await waitForHosts(f.coordinator.address, ['h1']);
});

t.test('an agent killed mid-hook and restarted reports that event FailedAfterRestart (mount namespace)', async t => {
  // The default agent timeout (3 heartbeats of 5 s): the restarted agent must not race being declared lost.
  const f = await startFleet(t, ['h1']);
  const digest = await f.push(await f.bundle('v1', { ApplicationStart: 'sleep 30' }));
  const id = await create(f.coordinator.address, digest);
  await inEvent(f.coordinator.address, id, 'h1', 'ApplicationStart');
  await f.agents.get('h1')!.kill('SIGKILL');
  await f.addAgent('h1');
  const d = await waitFor('the deployment to end', async () => {
    const s = await status(f.coordinator.address, id);
    return s && ['Failed', 'Succeeded'].includes(s.deployment.status) && s.hosts[0].status !== 'InProgress' && s;
  }, 30_000);
  t.equal(d.deployment.status, 'Failed');
  t.equal(d.hosts[0].status, 'Failed');
  t.equal(d.hosts[0].errorCode, 'FailedAfterRestart');
  t.equal(d.hosts[0].events.find((e: any) => e.name === 'ApplicationStart').errorCode, 'FailedAfterRestart');
});

t.test('a deployment created right after a coordinator restart waits for the group\'s agents to reconnect, then deploys to all of them (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2'], { fixedPort: true });
  const digest = await f.push(await f.bundle('v1'));
  await f.restartCoordinator();
  // Created before the agents are back (their reconnect backoff has started): it must not fail NO_INSTANCES or deploy to only one.
  const id = await create(f.coordinator.address, digest);
  const early = await status(f.coordinator.address, id);
  if (early.deployment.status === 'Queued') t.match(early.deployment.waitReason, /waiting for \d agents? to reconnect after the coordinator restarted/, 'status says why it waits');
  const d = await waitFor('the deployment to finish', async () => {
    const s = await status(f.coordinator.address, id);
    return s && ['Succeeded', 'Failed'].includes(s.deployment.status) && s;
  }, 60_000);
  t.equal(d.deployment.status, 'Succeeded', d.deployment.errorMessage);
  t.same(d.hosts.map((h: any) => h.hostId).sort(), ['h1', 'h2'], 'both hosts are in the deployment');
});

t.test('the coordinator killed with SIGKILL mid-rollout continues from SQLite: every host once, every deployment terminal (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2', 'h3'], { fixedPort: true });
  const release = path.join(f.dir, 'release');
  const digest = await f.push(await f.bundle('v1', { ApplicationStart: `if [ "$HOST_LABEL" = h2 ]; then ${gate(release)}; fi` }));
  const id = await create(f.coordinator.address, digest);
  await inEvent(f.coordinator.address, id, 'h2', 'ApplicationStart');
  await f.restartCoordinator();
  await fs.writeFile(release, ''); // h2's hook ends once the new coordinator is up
  const d = await waitFor('the deployment to finish after the restart', async () => {
    const s = await status(f.coordinator.address, id);
    return s?.deployment.status === 'Succeeded' && s;
  }, 60_000);
  t.ok(d.hosts.every((h: any) => h.status === 'Succeeded'), 'every host succeeded');
  for (const h of ['h1', 'h2', 'h3']) {
    const starts = (await f.proof(h)).filter(l => l === 'v1:ApplicationStart');
    t.equal(starts.length, 1, `${h} was deployed exactly once`);
  }
  const list = (await ferry(f.coordinator.address, ['deploy', 'list', '--json'])).json.deployments;
  t.ok(list.every((x: any) => ['Succeeded', 'Failed', 'Stopped'].includes(x.status)), 'no deployment is left in flight');
});
