import path from 'node:path';
import t from 'tap';
import { ControlApi } from '../../cli/client.js';
import { hookBundle, push } from '../../bench/lib.js';
import { ferry, startAgent, startCoordinator, waitFor, waitForHosts } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

/**
 * The heartbeat pace (coordinator/agents/pace.ts) with real agents: a coordinator whose fleet may
 * send 2 heartbeats a second, 300 ms apart at the least and lost after 1 s of silence, stretches both
 * as agents register (1 host: 600 ms; 2: 1.2 s; 3: 1.5 s, lost after 5 s) and tells the connected
 * agents, which beat at the new interval. Had it told them without stretching the timeout it judges
 * them by, they would all be lost (1.5 s between beats against 1 s); had they not been told, they
 * would beat faster than the rate. Then a deployment runs on the paced fleet.
 */
t.test('a fleet past --max-heartbeat-rate beats at the stretched interval, judged by the stretched timeout', async t => {
  const dir = await tempDir(t);
  const coordinator = await startCoordinator(t, path.join(dir, 'data'), ['--heartbeat-interval', '300ms', '--agent-timeout', '1s', '--max-heartbeat-rate', '2']);
  const hosts = ['pace-1', 'pace-2', 'pace-3'];
  const agents = [];
  for (const id of hosts) {
    agents.push(await startAgent(t, { coordinator: coordinator.address, rootDir: path.join(dir, id), hostId: id, tags: { role: 'pace' } }));
    await waitForHosts(coordinator.address, [id]);
  }
  await waitFor('the coordinator to stretch the pace to 1.5 s', () => /heartbeat pace stretched.*heartbeat_interval_ms=1500/.test(coordinator.output()));
  t.match(coordinator.output(), /heartbeat pace stretched.*hosts=3.*agent_timeout_ms=5000/, 'three hosts at 2 a second: every 1.5 s, lost after 5 s (the configured 300 ms and 1 s, times 5)');
  for (const [i, agent] of agents.entries()) {
    await waitFor(`${hosts[i]} to be told 1.5 s`, () => /heartbeat interval changed by the coordinator.*heartbeat_interval_ms=1500/.test(agent.output()));
  }
  t.pass('every connected agent was told the new interval');

  // Longer than the stretched timeout, several times the configured one: nobody is lost.
  await new Promise(r => setTimeout(r, 7000));
  const listed = await ferry(coordinator.address, ['hosts', 'list', '--json']);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.json.summary, { total: 3, connected: 3, lost: 0 }, 'all three connected, none lost');
  t.notMatch(coordinator.output(), /agent lost|no heartbeat for/, 'the coordinator declared no agent lost');

  const api = new ControlApi(coordinator.address, 30_000);
  t.teardown(() => api.close());
  await api.createApplication({ name: 'pace' });
  const revision = await push(api, 'pace', await hookBundle(path.join(dir, 'bundle'), { ApplicationStart: 'exit 0' }));
  await api.createDeploymentGroup({ application: 'pace', name: 'all', configName: 'AllAtOnce', tagSets: [{ filters: [{ key: 'role', value: 'pace', hasKey: true, hasValue: true }] }] });
  const r = await ferry(coordinator.address, ['deploy', 'create', '--app', 'pace', '--group', 'all', '--revision', revision, '--wait', '--json'], { timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr.slice(-400));
  t.equal(r.json.deployment.status, 'Succeeded', 'a deployment on the paced fleet succeeds');
  t.ok(r.json.hosts.every((h: { status: string }) => h.status === 'Succeeded'), 'on every host');
});
