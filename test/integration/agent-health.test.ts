import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { specToWire } from '../../common/health/wire.js';
import { parseAlarm } from '../../coordinator/domain/alarms.js';
import type { AlarmState__Output as AlarmState } from '../../proto/gen/ferry/v1/AlarmState.js';
import { FakeCoordinator, startDaemon } from '../helpers/fake-coordinator.js';
import { tempDir } from '../helpers/temp.js';

// The real `ferry-agent start` against the fake coordinator: SetAlarms in, alarm states out with
// the heartbeats, and an extra heartbeat as soon as an alarm changes state.

async function fake(t: Test): Promise<FakeCoordinator> {
  const f = await FakeCoordinator.start();
  t.teardown(() => f.stop());
  return f;
}

/** An HTTP service whose health the test switches. */
async function service(t: Test): Promise<{ url: string; setStatus(code: number): void; hits(): number }> {
  let status = 200;
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits += 1;
    res.writeHead(status).end();
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>(r => { server.closeAllConnections(); server.close(() => r()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`, setStatus: c => (status = c), hits: () => hits };
}

/** The first heartbeat after `since` (ms) whose alarm `name` is in `state`. */
function beatWith(c: FakeCoordinator, name: string, state: string, since: number): { at: number; alarm: AlarmState } | undefined {
  for (const { at, msg } of c.timed('heartbeat')) {
    const alarm = msg.alarms.find(a => a.name === name);
    if (at >= since && alarm?.state === state) return { at, alarm };
  }
  return undefined;
}

t.test('alarm states travel with the heartbeats; a change is reported at once', async t => {
  const coordinator = await fake(t);
  coordinator.heartbeatIntervalMs = 30_000; // regular beats are far apart: what arrives sooner was sent on a change
  const web = await service(t);
  const root = path.join(await tempDir(t), 'root');
  const daemon = startDaemon(t, coordinator, root);
  await coordinator.waitFor('Register', () => coordinator.of('register')[0]);

  const spec = parseAlarm(`web: http GET ${web.url} timeout 500ms for 1s`);
  const setAt = Date.now();
  coordinator.setAlarms({ alarms: [specToWire(spec)], intervalMs: 200 });
  const ok = await coordinator.waitFor('a heartbeat with web OK', () => beatWith(coordinator, 'web', 'OK', setAt), 5000);
  t.ok(ok.at - setAt < 1500, `OK reported ${ok.at - setAt} ms after SetAlarms, without waiting for a regular beat`);
  t.match(ok.alarm, { name: 'web', state: 'OK', value: 200, reason: `GET ${web.url} answered 200` });
  t.ok(Math.abs(Date.parse(ok.alarm.since) - ok.at) < 1000, `since is the time of the change (${ok.alarm.since})`);

  // A spike shorter than the for window is not an alarm.
  const spikeAt = Date.now();
  web.setStatus(500);
  await new Promise(r => setTimeout(r, 300));
  web.setStatus(200);
  await new Promise(r => setTimeout(r, 1500));
  t.notOk(beatWith(coordinator, 'web', 'ALARM', spikeAt), 'a 300 ms spike under a 1 s window stays OK');

  // A sustained failure is ALARM once the for window has passed, in an immediate heartbeat.
  const failAt = Date.now();
  web.setStatus(500);
  const alarm = await coordinator.waitFor('a heartbeat with web ALARM', () => beatWith(coordinator, 'web', 'ALARM', failAt), 10_000);
  const after = alarm.at - failAt;
  t.ok(after >= 1000 && after < 1000 + 2000, `ALARM reported ${after} ms after the service failed (for 1s)`);
  t.match(alarm.alarm, { state: 'ALARM', value: 500, reason: new RegExp(`^GET ${web.url} answered 500 for 1s$`) });

  const healthyAt = Date.now();
  web.setStatus(200);
  const back = await coordinator.waitFor('a heartbeat with web OK again', () => beatWith(coordinator, 'web', 'OK', healthyAt), 5000);
  t.ok(back.at - healthyAt < 1500, `OK again ${back.at - healthyAt} ms after the service recovered`);
  t.ok(web.hits() > 10, `sampled every 200 ms (${web.hits()} requests)`);

  // After a reconnect, the alarm states come right after the registration, not a beat later.
  const beforeDrop = Date.now();
  coordinator.dropStreams();
  await coordinator.waitFor('the second Register', () => coordinator.of('register')[1], 10_000);
  const again = await coordinator.waitFor('alarm states after re-registering', () => beatWith(coordinator, 'web', 'OK', beforeDrop), 5000);
  t.ok(again.at - beforeDrop < 5000, 'reported after the reconnect');

  // An empty list clears the alarms; the next heartbeat says so at once.
  const clearAt = Date.now();
  coordinator.setAlarms({ alarms: [], intervalMs: 0 });
  await coordinator.waitFor('a heartbeat without alarms', () => coordinator.timed('heartbeat').find(h => h.at >= clearAt && h.msg.alarms.length === 0), 3000);
  const hits = web.hits();
  await new Promise(r => setTimeout(r, 600));
  t.equal(web.hits(), hits, 'nothing is sampled any more');

  daemon.kill('SIGTERM');
  t.same(await daemon.exited, { code: 0, signal: null }, 'SIGTERM still stops the daemon cleanly');
  const log = (await fs.readFile(path.join(root, 'logs', 'ferry-agent.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l));
  t.ok(log.some(l => l.component === 'health' && l.message === 'alarm state changed' && l.alarm === 'web' && l.from === 'OK' && l.to === 'ALARM'),
    'the transition is logged with alarm, from and to');
});

t.test('without alarms the daemon samples nothing and its heartbeats carry an empty list', async t => {
  const coordinator = await fake(t);
  coordinator.heartbeatIntervalMs = 150;
  const root = path.join(await tempDir(t), 'root');
  const daemon = startDaemon(t, coordinator, root);
  await coordinator.waitFor('Register', () => coordinator.of('register')[0]);
  await coordinator.waitFor('3 heartbeats', () => coordinator.of('heartbeat').length >= 3, 5000);
  t.ok(coordinator.of('heartbeat').every(h => h.alarms.length === 0));
  daemon.kill('SIGTERM');
  t.equal((await daemon.exited).code, 0);
  t.notMatch(daemon.stderr(), /\[health\]/, 'the health monitor logged nothing');
});

t.test('an invalid alarm is reported INSUFFICIENT_DATA with its problem; the others are evaluated', async t => {
  const coordinator = await fake(t);
  const web = await service(t);
  const root = path.join(await tempDir(t), 'root');
  coordinator.alarms = {
    intervalMs: 200,
    alarms: [
      { name: 'bad', kind: 'tcp', address: 'no-port', timeoutMs: 2000, forMs: 0 },
      specToWire(parseAlarm(`http GET ${web.url}`)),
      specToWire(parseAlarm('disk(/) > 100%')),
      specToWire(parseAlarm('probe: command /bin/false')),
    ],
  };
  startDaemon(t, coordinator, root);
  const beat = await coordinator.waitFor('every alarm evaluated', () => coordinator.of('heartbeat').find(h =>
    h.alarms.length === 4 && h.alarms.slice(1).every(a => a.state !== 'INSUFFICIENT_DATA')), 10_000);
  t.match(beat.alarms, [
    { name: 'bad', state: 'INSUFFICIENT_DATA', reason: "invalid alarm, not evaluated: tcp address 'no-port' has no port: write HOST:PORT" },
    { name: `http:${web.url}`, state: 'OK', value: 200 },
    { name: 'disk:/', state: 'OK', reason: /^disk \/ [\d.]+% <= 100%$/ },
    { name: 'probe', state: 'ALARM', value: 1, reason: '/bin/false exited 1' },
  ]);
});
