import path from 'node:path';
import t from 'tap';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, startCoordinator, waitFor, waitForHosts } from '../helpers/fleet.js';

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

t.test('scheduled deployments survive a coordinator restart, and one that came due while it was down runs once at start (mount namespace)', async t => {
  const f = await startFleet(t, ['h1'], { fixedPort: true });
  const address = f.coordinator.address;
  await f.push(await f.bundle('v1'));

  const human = await ferry(address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--at', inSeconds(3600), '--description', 'later']);
  t.equal(human.code, 0, human.stderr);
  const [laterId] = human.stdout.split('\n');
  t.match(human.stdout, /scheduled shop\/web ← revision latest: at .*; next run /);

  // Comes due while the coordinator is down: the last call before the kill, so a slow machine
  // cannot let it come due first.
  const missedAt = inSeconds(8);
  const missed = await ferry(address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--at', missedAt, '--json']);
  t.equal(missed.code, 0, missed.stderr);
  t.equal(missed.json.state, 'Active');
  t.equal(missed.json.revision, 'latest');
  const missedId = missed.json.id as string;

  await f.coordinator.kill('SIGKILL');
  t.ok(Date.now() < Date.parse(missedAt), 'killed before it came due');
  // Past the first schedule's time, with nobody to run it.
  await new Promise(r => setTimeout(r, Date.parse(missedAt) + 1000 - Date.now()));
  f.coordinator = await startCoordinator(t, path.join(f.dir, 'data'), [], address);
  const listed = await ferry(address, ['schedule', 'list', '--all', '--json']);
  t.same(listed.json.schedules.map((s: any) => s.id).sort(), [missedId, laterId].sort(), 'both schedules survived the kill');
  // Due after the restart: read from the store, not from memory (10 s ahead: the CLI may take seconds to start on a loaded machine).
  const after = await ferry(address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--at', inSeconds(10), '--json']);
  t.equal(after.code, 0, after.stderr);
  // The agent's reconnect backoff grew while the coordinator was down (it caps at 30 s).
  await waitForHosts(address, ['h1'], 45_000);

  const ran = (id: string) => waitFor(`schedule ${id} to run and its deployment to succeed`, async () => {
    const s = (await ferry(address, ['schedule', 'list', '--all', '--json'])).json.schedules.find((x: any) => x.id === id);
    if (!s?.lastDeploymentId) return false;
    const d = (await ferry(address, ['deploy', 'status', s.lastDeploymentId, '--json'])).json;
    return d.deployment.status === 'Succeeded' && { s, d };
  }, 60_000);
  for (const id of [missedId, after.json.id]) {
    const { s, d } = await ran(id);
    t.equal(s.state, 'Done', 'a one-shot runs once');
    t.equal(d.deployment.creator, 'schedule');
    t.equal(d.deployment.scheduleId, id);
    t.ok(d.hosts.every((h: any) => h.status === 'Succeeded'), 'on the real agent');
  }
  const fromSchedules = (await ferry(address, ['deploy', 'list', '--json'])).json.deployments.filter((d: any) => d.creator === 'schedule');
  t.equal(fromSchedules.length, 2, 'no run twice: the missed one caught up once');
  t.ok((await f.proof('h1')).includes('v1:ValidateService'));

  const cancel = await ferry(address, ['schedule', 'cancel', laterId!, '--json']);
  t.equal(cancel.code, 0, cancel.stderr);
  t.equal(cancel.json.state, 'Cancelled');
  t.equal((await ferry(address, ['schedule', 'cancel', laterId!])).code, 1, 'cancelling twice is refused');
  t.same((await ferry(address, ['schedule', 'list', '--json'])).json.schedules, [], 'nothing Active left');
});

t.test('ferry schedule create --cron repeats; bad times and expressions are usage errors naming the flag (mount namespace)', async t => {
  const f = await startFleet(t, ['h1']);
  const address = f.coordinator.address;
  await f.push(await f.bundle('v1'));
  const nightly = await ferry(address, ['schedule', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest',
    '--cron', '0 2 * * *', '--timezone', 'Europe/Paris', '--ignore-window', '--json']);
  t.equal(nightly.code, 0, nightly.stderr);
  t.match(nightly.json, { cron: '0 2 * * *', timezone: 'Europe/Paris', state: 'Active', deployment: { ignoreWindow: true } });
  t.match(nightly.json.nextRunAt, /T0[01]:00:00.000Z$/, '02:00 in Paris is 01:00Z or 00:00Z');
  const table = await ferry(address, ['schedule', 'list', '--app', 'shop']);
  t.match(table.stdout, /cron 0 2 \* \* \* \(Europe\/Paris\)\s+Active/);

  const past = await ferry(address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--at', '2020-01-01T00:00Z']);
  t.equal(past.code, 2);
  t.match(past.stderr, /--at: 2020-01-01T00:00:00.000Z is in the past/);
  const local = await ferry(address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--at', '2030-01-01 02:00']);
  t.equal(local.code, 2);
  t.match(local.stderr, /--at: '2030-01-01 02:00' is not an ISO 8601 time with a timezone/);
  const badCron = await ferry(address, ['schedule', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--cron', '0 2 * *', '--timezone', 'Nowhere/Land']);
  t.equal(badCron.code, 2);
  t.match(badCron.stderr, /--cron: '0 2 \* \*' has 4 field\(s\).*--timezone: 'Nowhere\/Land' is not a known IANA timezone/);
  const noGroup = await ferry(address, ['schedule', 'create', '--app', 'shop', '--group', 'nope', '--revision', 'latest', '--cron', '0 2 * * *']);
  t.equal(noGroup.code, 1, 'refused by the coordinator up front');
  t.match(noGroup.stderr, /no deployment group nope/);
});
