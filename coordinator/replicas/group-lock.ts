/**
 * A deployment group's lock across coordinator replicas on one PostgreSQL database (docs/high-availability.md,
 * "Every replica serves"). Every read-modify-write of a group's deployments (a scheduler pass, an agent's
 * result, a stop, an approval; see Context.groups) runs in **one transaction that first takes a
 * transaction-scoped advisory lock** named after the group:
 *
 * - two replicas never interleave their awaited reads and writes of one group: the second waits for the
 *   first's COMMIT, and then reads what it wrote;
 * - the lock ends with the transaction, so it cannot outlive its holder's connection: a replica that dies
 *   or is cut off loses it with its connection, and one that is paused (SIGSTOP, a GC stall) while holding
 *   it is cut by PostgreSQL after `idleMs` idle in the transaction (idle_in_transaction_session_timeout):
 *   its transaction rolls back, so what it had not committed never lands, and it cannot write after
 *   waking (its connection is gone).
 *
 * Advisory rather than a row lock: groups are created and deleted, and a lock must exist before its row.
 * The key is a 64-bit hash of the group id (hashtextextended): a collision only makes two groups share a lock.
 */
import type pg from 'pg';
import { run, withTransaction } from '../store/pg-db.js';

/** How long a group's transaction may sit idle before PostgreSQL ends it: the coordinator lease's TTL. */
export const GROUP_LOCK_IDLE_MS = 10_000;

export function pgGroupLock(pool: pg.Pool, idleMs = GROUP_LOCK_IDLE_MS): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(idleMs) || idleMs < 1000) throw new Error(`group lock idle timeout must be a whole number of ms, at least 1000 (got ${idleMs})`);
  return (key, fn) => withTransaction(pool, async () => {
    await run(pool, `SET LOCAL idle_in_transaction_session_timeout = ${idleMs}`);
    await run(pool, 'SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))', { key: `ferry-group:${key}` });
    return fn();
  });
}
