import http from 'node:http';
import t from 'tap';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor } from '../helpers/fleet.js';

const status = async (address: string, id: string) => (await ferry(address, ['deploy', 'status', id, '--json'])).json;

t.test('an HTTP health alarm going bad during the bake stops the deployment and rolls it back (mount namespace)', async t => {
  let healthy = true;
  const server = http.createServer((_req, res) => {
    res.statusCode = healthy ? 200 : 503;
    res.end(healthy ? 'ok' : 'down');
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise(r => server.close(r)));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health`;

  const f = await startFleet(t, ['h1', 'h2'], { coordinatorArgs: ['--heartbeat-interval', '1s'] });
  const update = await ferry(f.coordinator.address, ['group', 'update', '--app', 'shop', '--name', 'web',
    '--alarm', `health: http GET ${url} timeout 1s for 1s`, '--auto-rollback', 'failure,alarm']);
  t.equal(update.code, 0, update.stderr);
  t.match(update.stdout, /alarms: health: http GET/);
  const v1 = await f.push(await f.bundle('v1'));
  const first = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(first.code, 0, first.stderr.slice(-300));
  const v1Files = await f.files('h1');

  const v2 = await f.push(await f.bundle('v2'));
  const created = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2,
    '--min-healthy-time', '20s', '--json']);
  const id = created.json.deployment.id;
  await waitFor('h1 to succeed and bake', async () =>
    (await status(f.coordinator.address, id))?.hosts.find((h: any) => h.hostId === 'h1')?.status === 'Succeeded', 30_000);
  t.equal((await status(f.coordinator.address, id)).deployment.status, 'InProgress', 'the bake holds the next host back');
  healthy = false;
  const stopped = await waitFor('the alarm to stop the deployment', async () => {
    const d = await status(f.coordinator.address, id);
    return d?.deployment.status === 'Stopped' && d;
  }, 20_000);
  t.equal(stopped.deployment.errorCode, 'DEPLOYMENT_STOP_ON_ALARM');
  t.match(stopped.deployment.errorMessage, /alarm health is in ALARM on host h\d/);
  // Operators see it on the hosts too: state and since when, in text and --json.
  const hosts = await waitFor('hosts list to show the alarm', async () => {
    const r = await ferry(f.coordinator.address, ['hosts', 'list', '--json']);
    return r.json?.hosts.every((h: any) => h.alarms.some((a: any) => a.name === 'health' && a.state === 'ALARM')) && r.json.hosts;
  }, 20_000);
  t.match(hosts[0].alarms, [{ name: 'health', state: 'ALARM', since: /Z$/, reason: /.+/ }]);
  const listed = await ferry(f.coordinator.address, ['hosts', 'list']);
  t.match(listed.stdout, /ALARMS\n/);
  t.match(listed.stdout, /h1 .* health ALARM since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
  const shown = await ferry(f.coordinator.address, ['hosts', 'show', 'h1']);
  t.match(shown.stdout, /Alarms:\n\s+ALARM\s+STATE\s+SINCE\s+REASON\n\s+health\s+ALARM\s+\d{4}-/);
  t.equal(stopped.hosts.find((h: any) => h.hostId === 'h2').status, 'Skipped');
  const rbId = stopped.deployment.rolledBackBy;
  t.match(rbId, /^d-/, 'the alarm triggered the rollback policy');
  const rb = await waitFor('the rollback', async () => {
    const d = await status(f.coordinator.address, rbId);
    return d?.deployment.status === 'Succeeded' && d;
  }, 30_000);
  t.same(rb.hosts.map((h: any) => h.hostId), ['h1']);
  t.equal(await f.files('h1'), v1Files, 'h1 is back on v1, byte for byte');

  const emergency = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2,
    '--ignore-alarms', '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(emergency.code, 0, '--ignore-alarms deploys although the alarm is still in ALARM');
});
