import t from 'tap';
import { T0, detail, hostDeployment, runFerry, startFakeControl } from '../helpers/fake-control.js';

/** `--coordinator a,b,c` (FERRY_COORDINATOR too): the replicas of an HA coordinator (docs/high-availability.md). */

t.test('a replica that cannot be connected to is skipped: the call goes to the next', async t => {
  const fake = await startFakeControl(t);
  fake.hosts = [];
  for (const how of [['--coordinator', `127.0.0.1:1,${fake.address}`], []]) {
    const r = await runFerry([...how, 'hosts', 'list', '--json'], how.length ? {} : { env: { FERRY_COORDINATOR: `127.0.0.1:1, ${fake.address}` } });
    t.equal(r.code, 0, r.stderr);
    t.same(r.json?.hosts, []);
  }
  t.equal(fake.calls.filter(c => c.method === 'ListHosts').length, 2, 'each call reached the live replica once');
});

t.test('every replica unreachable: exit 6 naming the last one tried', async t => {
  const r = await runFerry(['--coordinator', '127.0.0.1:1,127.0.0.1:2', 'hosts', 'list']);
  t.equal(r.code, 6);
  t.match(r.stderr, 'cannot reach the coordinator at 127.0.0.1:2');
});

t.test('a bad address in the list is named (exit 2)', async t => {
  const r = await runFerry(['--coordinator', '127.0.0.1:7420,nohost', 'hosts', 'list']);
  t.equal(r.code, 2);
  t.match(r.stderr, "--coordinator: 'nohost' is not HOST:PORT");
});

t.test('deploy create --wait: when the replica it watches dies, it goes on watching on the next one', async t => {
  const a = await startFakeControl(t);
  const b = await startFakeControl(t);
  const host = (o = {}) => hostDeployment({ hostId: 'h-1', hostname: 'web-1', ...o });
  a.watch = [{ detail: detail({ status: 'InProgress', startedAt: T0 }, [host({ status: 'InProgress', currentEvent: 'Install' })]) }];
  a.watchHold = true;
  b.watch = [{ detail: detail({ status: 'Succeeded', startedAt: T0, completedAt: '2025-01-01T12:00:42.000Z' }, [host({ status: 'Succeeded' })]) }];
  const run = runFerry(['--coordinator', `${a.address},${b.address}`, 'deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait']);
  while (!a.calls.some(c => c.method === 'WatchDeployment')) await new Promise(r => setTimeout(r, 50));
  await new Promise(r => setTimeout(r, 300));
  a.close();
  const r = await run;
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stderr, 'ferry: lost the coordinator while following deployment d-TEST1; reconnecting');
  t.match(r.stdout, /Succeeded/);
  t.ok(b.calls.some(c => c.method === 'WatchDeployment'), 'the watch went on at the next replica');
});
