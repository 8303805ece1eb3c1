/**
 * PostgreSQL transactions follow their async context (store/pg-db.ts `withTransaction`): work that is
 * merely *started* inside one must not use its connection. Found by the failover e2e: a change
 * notification or scheduler kick made inside an agent report's transaction woke watchers whose store
 * reads went to the transaction's connection, after it had committed ("SAVEPOINT can only be used in
 * transaction blocks") or interleaved with it ("savepoint does not exist"), and agent streams were
 * rejected. Real PostgreSQL.
 */
import t from 'tap';
import { detached } from '../../coordinator/async.js';
import { createPool, one, withTransaction } from '../../coordinator/store/pg-db.js';
import { startPostgres } from '../helpers/postgres.js';

const server = await startPostgres(t);
const pool = createPool({ connectionString: server.url(await server.createDatabase()), max: 4 });
t.teardown(() => pool.end());
const backend = async (): Promise<number> => (await one<{ pid: number }>(pool, 'SELECT pg_backend_pid() AS pid'))!.pid;

t.test('a timer started inside a transaction and firing after it ended uses the pool, not the ended transaction', async t => {
  let later: Promise<number> | undefined;
  const inside = await withTransaction(pool, async () => {
    later = new Promise<number>((resolve, reject) => setTimeout(() => backend().then(resolve, reject), 100));
    return backend();
  });
  const after = await later!;
  t.type(after, 'number', 'the late query ran (before the fix: "SAVEPOINT can only be used in transaction blocks")');
  t.ok(inside > 0);
});

t.test('work started detached inside a transaction runs outside it, on its own connection, while the transaction is open', async t => {
  const result = await withTransaction(pool, async () => {
    const txPid = await backend();
    const other = await new Promise<number>((resolve, reject) => detached(() => setImmediate(() => backend().then(resolve, reject))));
    const again = await backend();
    return { txPid, other, again };
  });
  t.equal(result.again, result.txPid, 'the transaction\'s own statements stay on its connection');
  t.not(result.other, result.txPid, 'the detached work used another connection');
});
