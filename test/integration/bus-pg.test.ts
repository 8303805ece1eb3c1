/**
 * Change notifications between replicas over PostgreSQL LISTEN/NOTIFY (coordinator/replicas/bus.ts behind
 * coordinator/changes.ts): a change on one replica wakes the other's watchers once; a host's command reaches
 * every replica's host-command listener; thousands of names are split under the payload limit and all
 * arrive; after PostgreSQL was down (crash-stopped and started again) or the listener's network was cut
 * (no error, only silence), the replica reconnects and wakes every watcher once. Real PostgreSQL.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Changes } from '../../coordinator/changes.js';
import { payloads, PgBus } from '../../coordinator/replicas/bus.js';
import { createPool } from '../../coordinator/store/pg-db.js';
import { startPostgres } from '../helpers/postgres.js';
import { tcpRelay } from '../helpers/tcp-relay.js';

const server = await startPostgres(t);
const url = server.url(await server.createDatabase());
const pool = createPool({ connectionString: url, max: 4 });
t.teardown(() => pool.end().catch(() => undefined));

/** A replica's side: its bus and its Changes joined to it. */
async function replica(id: string, listenUrl = url, pingMs = 5000): Promise<{ bus: PgBus; changes: Changes; errors: unknown[] }> {
  const errors: unknown[] = [];
  const bus = new PgBus(pool, { connectionString: listenUrl }, { replicaId: id, pingMs, reconnectMs: 100, maxReconnectMs: 400, onError: e => errors.push(e) });
  await bus.start();
  const changes = new Changes();
  changes.connect(bus);
  t.teardown(() => bus.close());
  return { bus, changes, errors };
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

t.test('payloads stay under PostgreSQL\'s limit and keep every name', async t => {
  const names = Array.from({ length: 3000 }, (_, i) => `deployment:d-${String(i).padStart(6, '0')}-0123456789abcdef`);
  const out = payloads('replica-a', names);
  t.ok(out.length > 1, `split into ${out.length} notifications`);
  t.ok(out.every(p => Buffer.byteLength(p) < 8000), 'each under 8,000 bytes');
  t.same(out.flatMap(p => (JSON.parse(p) as { n: string[] }).n), names, 'every name, in order');
});

t.test('a change on one replica wakes the other\'s watchers once, and its own once', async t => {
  const a = await replica('replica-a');
  const b = await replica('replica-b');
  let onA = 0;
  let onB = 0;
  let eventsOnB = 0;
  let logsOnB = 0;
  let auditOnB = 0;
  a.changes.onDeployment('d-1', () => onA++);
  b.changes.onDeployment('d-1', () => onB++);
  b.changes.onEvents(() => eventsOnB++);
  b.changes.onLogs('d-1', () => logsOnB++);
  b.changes.onAudit(() => auditOnB++);
  a.changes.deployment('d-1');
  a.changes.deployment('d-1'); // the same tick: one wake-up
  a.changes.logs('d-1');
  a.changes.audit();
  await until('b woken', () => onB > 0 && eventsOnB > 0 && logsOnB > 0 && auditOnB > 0);
  await sleep(300);
  t.equal(onA, 1, 'a\'s own watcher woke once (its own notification is not delivered back)');
  t.equal(onB, 1, 'b\'s watcher woke once');
  t.equal(eventsOnB, 1, 'the event log watcher on b woke');
  t.equal(logsOnB, 1, 'a log follower on b woke');
  t.equal(auditOnB, 1, 'an audit follower on b woke');
  t.same(a.errors, []);
  t.same(b.errors, []);
});

t.test('a host\'s command reaches every replica\'s host-command listener; thousands of names all arrive', async t => {
  const a = await replica('replica-a');
  const b = await replica('replica-b');
  const seenOnB = new Set<string>();
  const seenOnA = new Set<string>();
  b.changes.onHostCommand(h => { if (h !== undefined) seenOnB.add(h); });
  a.changes.onHostCommand(h => { if (h !== undefined) seenOnA.add(h); });
  const hosts = Array.from({ length: 2500 }, (_, i) => `host-${String(i).padStart(5, '0')}.example.internal`);
  for (const h of hosts) a.changes.hostCommand(h);
  await until('every host on b', () => seenOnB.size === hosts.length);
  t.equal(seenOnB.size, 2500, 'b heard every host');
  t.equal(seenOnA.size, 2500, 'a\'s own listener too (the replica holding the stream may be the one that decided)');
});

t.test('after PostgreSQL was down, a replica reconnects and wakes every watcher once', async t => {
  const a = await replica('replica-a');
  const b = await replica('replica-b');
  let watched = 0;
  const resyncHosts: (string | undefined)[] = [];
  b.changes.onDeployment('d-2', () => watched++);
  b.changes.onHostCommand(h => resyncHosts.push(h));
  server.halt();
  await until('b lost its listener', () => b.errors.length > 0);
  a.changes.deployment('d-2'); // made while the database is down: nobody can hear it
  await sleep(500);
  server.resume();
  await until('b resynced', () => watched >= 1 && resyncHosts.includes(undefined), 20_000);
  t.equal(watched, 1, 'b\'s watcher woke once for the resync');
  t.ok(resyncHosts.includes(undefined), 'b\'s host-command listener was asked to check every connected host');
  // And notifications flow again.
  const before = watched;
  await until('a reconnected', () => a.errors.length > 0);
  await sleep(1000);
  a.changes.deployment('d-2');
  await until('b woken after the restart', () => watched > before, 10_000);
  t.pass('a change after the restart reaches b');
});

t.test('a listener whose network is cut (silence, no error) notices by its check, and resyncs once healed', async t => {
  const link = await tcpRelay(url);
  t.teardown(link.close);
  const a = await replica('replica-a');
  const b = await replica('replica-b', link.url, 500);
  let watched = 0;
  b.changes.onDeployment('d-3', () => watched++);
  a.changes.deployment('d-3');
  await until('b woken', () => watched === 1);
  link.cut();
  await until('b noticed the silence', () => b.errors.length > 0, 5000);
  a.changes.deployment('d-3'); // lost: b cannot hear it
  await sleep(800);
  t.equal(watched, 1, 'nothing reached b through the cut');
  link.heal();
  await until('b resynced', () => watched >= 2, 10_000);
  t.equal(watched, 2, 'b\'s watcher woke once when it was back');
});
