import t from 'tap';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';

const status = async (address: string, id: string) => (await ferry(address, ['deploy', 'status', id, '--json'])).json;

t.test('a zonal rollout goes zone by zone with monitor times, and first-zone approval pauses after zone a (mount namespace)', async t => {
  const f = await startFleet(t, []);
  for (const [host, zone] of [['c1', 'c'], ['a1', 'a'], ['b1', 'b']] as const) await f.addAgent(host, { role: 'web' }, zone);
  await waitForHosts(f.coordinator.address, ['a1', 'b1', 'c1']);
  const config = await ferry(f.coordinator.address, [
    'config', 'create', 'ByZone', '--min-healthy', '2', '--zonal', '--zone-monitor', '2s', '--first-zone-monitor', '3s',
  ]);
  t.equal(config.code, 0, config.stderr);
  t.match(config.stdout, /zonal, monitor 2s \(first zone 3s\)/);
  const v1 = await f.push(await f.bundle('v1'));
  const created = await ferry(f.coordinator.address, [
    'deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--config', 'ByZone', '--approve-after', 'first-zone', '--json',
  ]);
  t.equal(created.code, 0, created.stderr);
  const id = created.json.deployment.id;
  t.equal(created.json.deployment.approveAfterZones, 1);

  const paused = await waitFor('the first-zone gate', async () => {
    const d = await status(f.coordinator.address, id);
    return d?.deployment.status === 'Paused' && d;
  }, 20_000);
  const host = (d: any, id: string) => d.hosts.find((h: any) => h.hostId === id);
  t.equal(paused.deployment.awaitingApproval, true);
  t.match(paused.deployment.pauseReason, /awaiting approval: zone a finished and its monitor time of 3s passed.*first-zone.*ferry deploy approve/);
  t.equal(host(paused, 'a1').status, 'Succeeded');
  t.strictSame([host(paused, 'b1').status, host(paused, 'c1').status], ['Pending', 'Pending'], 'zone b waits for approval');
  t.ok(Date.now() - Date.parse(host(paused, 'a1').completedAt) >= 3000, 'the gate came after the first zone\'s monitor time');
  const resume = await ferry(f.coordinator.address, ['deploy', 'resume', id]);
  t.equal(resume.code, 1);
  t.match(resume.stderr, /waiting for approval/);
  t.equal((await ferry(f.coordinator.address, ['deploy', 'approve', id])).code, 0);

  const done = await waitFor('the deployment to finish', async () => {
    const d = await status(f.coordinator.address, id);
    return d?.deployment.status === 'Succeeded' && d;
  }, 20_000);
  const [a, b, c] = ['a1', 'b1', 'c1'].map(h => host(done, h));
  t.strictSame([a.zone, b.zone, c.zone], ['a', 'b', 'c']);
  t.ok(Date.parse(b.startedAt) >= Date.parse(a.completedAt) + 3000, `zone b started ≥ 3 s after zone a completed (${a.completedAt} → ${b.startedAt})`);
  t.ok(Date.parse(c.startedAt) >= Date.parse(b.completedAt) + 2000, `zone c started ≥ 2 s after zone b completed (${b.completedAt} → ${c.startedAt})`);
  t.ok(Date.parse(c.startedAt) < Date.parse(b.completedAt) + 5000, 'and not much later (the scheduler ticks every second)');
});
