import path from 'node:path';
import t from 'tap';
import { ControlApi } from '../../cli/client.js';
import { FleetSim } from '../../bench/fleet-sim.js';
import { hookBundle, push } from '../../bench/lib.js';
import { ferry, startCoordinator, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

/**
 * The simulated fleet of `npm run bench -- fleet` (bench/fleet-sim.ts) against a real coordinator,
 * with a few hundred hosts: it proves the simulator speaks the protocol (registered, commands acked,
 * results acknowledged, nothing re-sent) and that no host whose agent kept heartbeating is declared
 * lost while the coordinator is busy with them all at once. Not timed (bench/README.md has the figures).
 */
const HOSTS = 300;
const TIMEOUT_MS = 8000;

t.test(`${HOSTS} simulated hosts: AllAtOnce and HalfAtATime succeed on every host, none falsely lost`, async t => {
  const dir = await tempDir(t);
  // Heartbeats every second: five times the default traffic (not stretched: no --max-heartbeat-rate), with the timeout at 8 missed beats.
  const coordinator = await startCoordinator(t, path.join(dir, 'data'), ['--log-level', 'info', '--heartbeat-interval', '1s', '--agent-timeout', `${TIMEOUT_MS}ms`, '--max-heartbeat-rate', '0']);
  const api = new ControlApi(coordinator.address, 60_000);
  t.teardown(() => api.close());
  const sim = new FleetSim({ address: coordinator.address, agents: HOSTS, channels: 3, tags: { role: 'sim' } });
  t.teardown(() => sim.close());
  await sim.start();
  t.equal(sim.stats.registered, HOSTS, 'every simulated host registered');
  const listed = await ferry(coordinator.address, ['hosts', 'list', '--json']);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.json.summary, { total: HOSTS, connected: HOSTS, lost: 0, matched: HOSTS }, 'ferry hosts list counts them all connected');
  t.equal(listed.json.hosts.length, 100, 'a page of 100 hosts by default');
  // Paged by id: every page after the previous one's last id, every host once.
  const seen: string[] = [];
  for (let after = ''; ;) {
    const page = await ferry(coordinator.address, ['hosts', 'list', '--json', '--limit', '128', '--state', 'connected', '--tag', 'role=sim', ...(after ? ['--after', after] : [])]);
    t.equal(page.code, 0, page.stderr);
    seen.push(...page.json.hosts.map((h: { id: string }) => h.id));
    after = page.json.nextAfter;
    if (!after) break;
  }
  t.same(seen, [...seen].sort(), 'pages in id order');
  t.equal(new Set(seen).size, HOSTS, 'the pages cover every host once');
  const none = await ferry(coordinator.address, ['hosts', 'list', '--state', 'lost']);
  t.match(none.stdout, `${HOSTS} hosts: ${HOSTS} connected, 0 reconnecting, 0 lost, 0 revoked; 0 of 0 matching shown`, 'the summary line');

  await api.createApplication({ name: 'sim' });
  const revision = await push(api, 'sim', await hookBundle(path.join(dir, 'bundle'), { ApplicationStart: 'exit 0' }));
  for (const config of ['AllAtOnce', 'HalfAtATime']) {
    await api.createDeploymentGroup({ application: 'sim', name: config, configName: config, tagSets: [{ filters: [{ key: 'role', value: 'sim', hasKey: true, hasValue: true }] }] });
    const before = sim.stats.results;
    const r = await ferry(coordinator.address, ['deploy', 'create', '--app', 'sim', '--group', config, '--revision', revision, '--wait', '--json'], { timeoutMs: 120_000 });
    t.equal(r.code, 0, `${config}: ${r.stderr.slice(-400)}`);
    const d = r.json;
    t.equal(d.deployment.status, 'Succeeded', `${config} succeeded`);
    t.equal(d.hosts.length, HOSTS, `${config}: every host targeted`);
    const lost = d.hosts.filter((h: { errorCode?: string }) => h.errorCode === 'AGENT_LOST');
    t.same(lost, [], `${config}: no host declared lost`);
    t.ok(d.hosts.every((h: { status: string }) => h.status === 'Succeeded'), `${config}: every host succeeded`);
    t.equal(sim.stats.results - before, HOSTS, `${config}: one result per host`);
    // Every result acknowledged (the simulator re-sends an unacknowledged one when it reconnects).
    await waitFor(`${config}: every result acknowledged`, () => sim.stats.resultAcks === sim.stats.results, 30_000);
  }
  t.equal(sim.stats.drops, 0, 'no stream dropped');
  t.equal(sim.stats.repeatedCommands, 0, 'every command acknowledged the first time (none re-sent)');
  t.equal(sim.stats.fetches, 1, 'the revision fetched once (the simulator\'s shared cache)');
  t.ok(sim.stats.maxHeartbeatGapMs < TIMEOUT_MS, `the simulator itself kept beating (longest gap ${Math.round(sim.stats.maxHeartbeatGapMs)} ms)`);
  t.notMatch(coordinator.output(), /agent lost/, 'the coordinator logged no agent lost');
});

t.test(`${HOSTS} simulated hosts past --max-heartbeat-rate: told a longer interval, none lost, a deployment succeeds`, async t => {
  const dir = await tempDir(t);
  // 200 a second at most, 500 ms apart at the least: 300 hosts beat every 1.5 s, lost after 4.5 s.
  const coordinator = await startCoordinator(t, path.join(dir, 'data'), ['--log-level', 'info', '--heartbeat-interval', '500ms', '--agent-timeout', '1500ms', '--max-heartbeat-rate', '200']);
  const api = new ControlApi(coordinator.address, 60_000);
  t.teardown(() => api.close());
  const sim = new FleetSim({ address: coordinator.address, agents: HOSTS, channels: 3, tags: { role: 'sim' } });
  t.teardown(() => sim.close());
  await sim.start();
  await waitFor('the pace stretched to 1.5 s', () => /heartbeat pace stretched.*hosts=201 .*heartbeat_interval_ms=1500 agent_timeout_ms=4500/.test(coordinator.output()));
  await waitFor('the hosts connected when it stretched to be told', () => sim.stats.paced >= 201);
  // Twice the stretched timeout, nine times the configured one.
  const before = sim.stats.heartbeats;
  await new Promise(r => setTimeout(r, 9000));
  const sent = sim.stats.heartbeats - before;
  t.ok(sent <= 1.5 * 200 * 9, `the fleet beat under the rate (${sent} heartbeats in 9 s; at 500 ms it would be ${HOSTS * 18})`);
  t.notMatch(coordinator.output(), /agent lost/, 'no host declared lost');

  await api.createApplication({ name: 'sim' });
  const revision = await push(api, 'sim', await hookBundle(path.join(dir, 'bundle'), { ApplicationStart: 'exit 0' }));
  await api.createDeploymentGroup({ application: 'sim', name: 'all', configName: 'AllAtOnce', tagSets: [{ filters: [{ key: 'role', value: 'sim', hasKey: true, hasValue: true }] }] });
  const r = await ferry(coordinator.address, ['deploy', 'create', '--app', 'sim', '--group', 'all', '--revision', revision, '--wait', '--json'], { timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr.slice(-400));
  t.equal(r.json.deployment.status, 'Succeeded', 'succeeded');
  t.same(r.json.hosts.filter((h: { errorCode?: string }) => h.errorCode === 'AGENT_LOST'), [], 'no host lost');
  t.equal(sim.stats.drops, 0, 'no stream dropped');
});
