import t from 'tap';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';

/**
 * Truthful rollouts, rule 3: a stop holds. The coordinator keeps what it wants of each host
 * deployment (desired: run | stop) apart from what the agent reports, and sends what the desired
 * state says on every registration: a cancel written to a dead stream is sent again.
 */

t.test('agent SIGSTOPped mid-hook, deployment stopped, SIGCONT: the host does not finish the stopped revision (mount namespace)', async t => {
  const f = await startFleet(t, ['h1'], { config: 'AllAtOnce', coordinatorArgs: ['--agent-timeout', '120s'] });
  const v1 = await f.push(await f.bundle('v1'));
  t.equal((await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--wait'], { timeoutMs: 60_000 })).code, 0);
  const v2 = await f.push(await f.bundle('v2', { ApplicationStart: 'sleep 90' }));
  const id = (await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2, '--json'])).json.deployment.id as string;
  await waitFor('h1 in ApplicationStart of v2', async () => (await f.proof('h1')).includes('v2:ApplicationStart'), 30_000);
  const agent = f.agents.get('h1')!;
  agent.child.kill('SIGSTOP');
  t.teardown(() => void agent.child.kill('SIGCONT'));
  // The coordinator drops the frozen agent's stream after 30 s without a heartbeat (3 intervals, at
  // least 30 s: services/liveness.ts dropSilentStreams; its own keepalive pings, every 60 s, would
  // take 60-90 s) but does not declare it lost yet. The hook's sleep (not frozen: only the agent is)
  // outlasts that wait.
  await waitFor('the coordinator to see h1 disconnected', async () => {
    const hosts = (await ferry(f.coordinator.address, ['hosts', 'list', '--json'])).json?.hosts ?? [];
    return hosts.find((h: any) => h.id === 'h1')?.connected === false;
  }, 45_000);
  t.match(f.coordinator.output(), /agent disconnected: silent .*host_id=h1/, 'dropped for its silence, not by the transport');
  const stop = await ferry(f.coordinator.address, ['deploy', 'stop', id, '--json']);
  t.equal(stop.code, 0, stop.stderr);
  agent.child.kill('SIGCONT');
  await waitForHosts(f.coordinator.address, ['h1'], 60_000);
  const host = await waitFor('h1 to report its stopped run', async () => {
    const hosts = (await ferry(f.coordinator.address, ['deploy', 'status', id, '--json'])).json?.hosts ?? [];
    return hosts.find((h: any) => h.hostId === 'h1' && h.status !== 'InProgress');
  }, 30_000);
  t.equal(host.status, 'Failed', 'the run was cancelled, not finished');
  const proof = await f.proof('h1');
  t.notOk(proof.includes('v2:ValidateService'), 'ValidateService of v2 never ran on the host');
  t.notOk(proof.some(l => l === 'v2:installed:v2'), 'the host never reported v2 installed and validated');
  t.equal((await ferry(f.coordinator.address, ['deploy', 'status', id, '--json'])).json.deployment.status, 'Stopped');
});
