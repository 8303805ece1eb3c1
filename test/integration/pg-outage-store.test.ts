/**
 * The coordinator's side of a PostgreSQL outage (docs/high-availability.md "What happens on each failure"),
 * found by test/e2e/pg-outage.test.ts (PostgreSQL stopped for 10 s mid-rollout): real PostgreSQL, stopped
 * with `pg_ctl stop -m immediate` and started again.
 * - A transaction whose connection drops rejects; before the fix the checked-out client's 'error' event had
 *   no listener and took the whole coordinator down ("Unhandled 'error' event … Connection terminated
 *   unexpectedly").
 * - The errors of a stopped server are recognised as "the store cannot be reached" (store/unavailable.ts).
 * - A replica cut off from the database in the middle of a transaction does not keep its row locks for
 *   ever: the server ends its session after IDLE_IN_TRANSACTION_MS, and another replica's write to those
 *   rows goes through (found by test/e2e/pg-partition.test.ts: the partitioned replica's transaction on a
 *   host's rows kept the replica that took over from recording that host's result, and the rollout hung).
 * - The agents' reports written during the outage are retried until the store is back, in order, none
 *   lost, none failed (before the fix each failed its agent's stream and an event update was lost).
 */
import t from 'tap';
import { AgentInbox } from '../../coordinator/api/agent-inbox.js';
import type { Context } from '../../coordinator/context.js';
import { createLogger } from '../../coordinator/log.js';
import { IDLE_IN_TRANSACTION_MS, createPool, rows, transaction, withTransaction } from '../../coordinator/store/pg-db.js';
import { isStoreUnavailable } from '../../coordinator/store/unavailable.js';
import { startPostgres } from '../helpers/postgres.js';
import { tcpRelay } from '../helpers/tcp-relay.js';

// Durable commits: a crash-stop must not lose what the server said it committed (as in production).
const server = await startPostgres(t, { durableCommits: true });
const database = await server.createDatabase();
const pool = createPool({ connectionString: server.url(database), max: 4, connectionTimeoutMillis: 2000 });
t.teardown(() => pool.end());
await pool.query('CREATE TABLE reports (n int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');

t.test('a transaction whose server goes away rejects as unavailable, and the process survives', async t => {
  let uncaught: unknown;
  const onUncaught = (err: unknown) => { uncaught = err; };
  process.on('uncaughtException', onUncaught);
  t.teardown(() => { process.off('uncaughtException', onUncaught); });
  const failed = await transaction(pool, async client => {
    await client.query('SELECT 1');
    server.halt();
    // The server's end reaches the idle, checked-out client as an 'error' event before any query.
    await new Promise(r => setTimeout(r, 300));
    await client.query('SELECT 1');
  }).then(() => undefined, (err: unknown) => err);
  t.ok(failed instanceof Error, 'the transaction rejected');
  t.ok(isStoreUnavailable(failed), `as unavailable: ${String(failed)}`);
  const refused = await pool.query('SELECT 1').then(() => undefined, (err: unknown) => err);
  t.ok(isStoreUnavailable(refused), `a new call while stopped is unavailable too: ${String(refused)}`);
  server.resume();
  t.equal(uncaught, undefined, 'no uncaught error (the dropped client\'s error event is handled)');
  t.same((await pool.query<{ one: number }>('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool works again');
});

t.test('agent reports written while PostgreSQL is down are retried until it is back: in order, none lost, none failed', async t => {
  const log = createLogger({ level: 'error', console: false });
  const ctx = { store: { transaction: <T>(fn: () => Promise<T>) => withTransaction(pool, fn) }, log } as unknown as Context;
  const inbox = new AgentInbox(ctx);
  const failures: unknown[] = [];
  const acked: number[] = [];
  const report = (n: number) => async () => {
    await rows(pool, 'INSERT INTO reports (n) VALUES (@n)', { n });
    return () => { acked.push(n); };
  };
  inbox.push(report(1), err => failures.push(err));
  await inbox.flush();
  server.halt();
  for (let n = 2; n <= 4; n++) inbox.push(report(n), err => failures.push(err));
  inbox.push(report(5), err => failures.push(err), { alone: true });
  inbox.push(report(6), err => failures.push(err));
  const written = inbox.flush();
  await new Promise(r => setTimeout(r, 2000));
  t.same(acked, [1], 'nothing acknowledged while the store is down');
  server.resume();
  await written;
  t.same(failures, [], 'no report failed (each would have failed its agent\'s stream)');
  t.same(acked, [1, 2, 3, 4, 5, 6], 'every report acknowledged once written, in order');
  const stored = await rows<{ n: number }>(pool, 'SELECT n FROM reports ORDER BY at, n');
  t.same(stored.map(r => r.n), [1, 2, 3, 4, 5, 6], 'every report written, in arrival order');
});

t.test('while the store is unreachable, reports past the bound fail at once (the agent re-sends its result later)', async t => {
  await pool.query('DELETE FROM reports');
  const log = createLogger({ level: 'error', console: false });
  const ctx = { store: { transaction: <T>(fn: () => Promise<T>) => withTransaction(pool, fn) }, log } as unknown as Context;
  const inbox = new AgentInbox(ctx, 2);
  const failures: [number, unknown][] = [];
  const report = (n: number) => async () => { await rows(pool, 'INSERT INTO reports (n) VALUES (@n)', { n }); };
  server.halt();
  inbox.push(report(1), err => failures.push([1, err]));
  const written = inbox.flush();
  await new Promise(r => setTimeout(r, 500)); // the first attempt found the store unreachable
  inbox.push(report(2), err => failures.push([2, err]));
  inbox.push(report(3), err => failures.push([3, err]));
  t.same(failures.map(([n]) => n), [3], 'the report past the bound failed at once');
  t.match(String(failures[0]?.[1]), /cannot be reached and 2 agent reports already wait/);
  server.resume();
  await written;
  await inbox.flush();
  t.same((await rows<{ n: number }>(pool, 'SELECT n FROM reports ORDER BY n')).map(r => r.n), [1, 2], 'the waiting ones were written');
  inbox.push(report(4), err => failures.push([4, err]));
  await inbox.flush();
  t.same(failures.map(([n]) => n), [3], 'once the store answers, reports are taken again');
});

t.test('a report refused for another reason still fails at once', async t => {
  const log = createLogger({ level: 'error', console: false });
  const ctx = { store: { transaction: <T>(fn: () => Promise<T>) => withTransaction(pool, fn) }, log } as unknown as Context;
  const inbox = new AgentInbox(ctx);
  const failures: unknown[] = [];
  inbox.push(async () => { await rows(pool, 'INSERT INTO reports (n) VALUES (@n)', { n: 1 }); }, err => failures.push(err));
  await inbox.flush();
  t.equal(failures.length, 1, 'a duplicate key fails its sender');
  t.notOk(isStoreUnavailable(failures[0]), 'and is not taken for an outage');
});

t.test('a transaction cut off from the server loses its row locks after the idle-in-transaction timeout', async t => {
  await pool.query('INSERT INTO reports (n) VALUES (100)');
  const relay = await tcpRelay(server.url(database));
  t.teardown(() => relay.close());
  const cutOff = createPool({ connectionString: relay.url, max: 1 });
  t.teardown(() => { void cutOff.end().catch(() => undefined); });
  let locked!: () => void;
  const holding = new Promise<void>(resolve => { locked = resolve; });
  const stranded = transaction(cutOff, async client => {
    await client.query('UPDATE reports SET at = clock_timestamp() WHERE n = 100');
    relay.cut();
    locked();
    await client.query('SELECT 1'); // never answered: the link is cut
  }).catch(() => undefined);
  await holding;
  const started = performance.now();
  const other = await Promise.race([
    pool.query('UPDATE reports SET at = clock_timestamp() WHERE n = 100').then(() => 'written'),
    new Promise<string>(resolve => setTimeout(resolve, IDLE_IN_TRANSACTION_MS * 4, 'still waiting for the lock')),
  ]);
  t.equal(other, 'written', 'another session\'s write to the locked row went through');
  t.comment(`it waited ${Math.round(performance.now() - started)} ms (idle-in-transaction timeout ${IDLE_IN_TRANSACTION_MS} ms)`);
  relay.close();
  await stranded;
});
