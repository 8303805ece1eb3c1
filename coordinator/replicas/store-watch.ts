/**
 * A replica cut off from PostgreSQL while other replicas are not (a partition) must not keep its agents: it
 * can record none of their reports, send none of the commands the scheduling replica decides for them (its
 * change bus is cut too), and the scheduling replica, seeing their last-seen times age, would soon declare them
 * lost. So once this replica has not reached the database for `lostMs` (default: the agent timeout), it closes
 * its agents' streams: they reconnect to another replica (agents are given every replica's address), and
 * resend there whatever their results were. Its watchers (`--wait`, `--follow`, the console), which its cut
 * change bus no longer wakes, are woken once: their re-read fails (UNAVAILABLE) and the clients move to another
 * replica too. A shorter outage of the database itself (every replica cut off,
 * e.g. a PostgreSQL restart or failover) keeps the streams: nothing would be gained by moving them.
 *
 * The same check keeps this replica's **presence** (a lease `replica:<id>`, table `leases`, renewed each check,
 * lapsing PRESENCE_TTL_MS after the last) and reads which replicas are present: the scheduling replica gives a
 * host whose stream is on a replica that is gone (dead, paused, cut off) the time its agent needs to notice and
 * move (agents/registry.ts), instead of declaring it lost while it is only talking to a replica that stopped.
 */
import type pg from 'pg';
import { describeError } from '../../common/errors.js';
import type { Context } from '../context.js';
import { PgLeases, leaseTiming } from './leases.js';

export interface StoreWatch {
  stop(): void;
}

/** A replica's presence lasts this long after its last check. */
export const PRESENCE_TTL_MS = 10_000;

/** Names of the presence leases: `replica:<replica id>`. */
const PRESENCE = 'replica:';
/** Presence leases lapsed this long (replica processes gone: each start has a new id) are deleted, checked about this often. */
export const PRESENCE_PRUNE_AFTER_MS = 3_600_000;
const PRUNE_EVERY_CHECKS = 300;

export function watchStore(ctx: Context, pool: pg.Pool, lostMs: number, replica?: string, everyMs = 1000): StoreWatch {
  const presence = replica === undefined ? undefined : new PgLeases(pool, replica, leaseTiming(PRESENCE_TTL_MS));
  let lastOk = ctx.monotonic();
  let checking = false;
  let closedFor: number | undefined;
  // The first check prunes, then every PRUNE_EVERY_CHECKS (any replica may: the delete is the same for all).
  let checks = 0;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    const check = async (): Promise<void> => {
      if (presence === undefined) {
        await pool.query({ text: 'SELECT 1', query_timeout: Math.max(500, everyMs * 2) } as pg.QueryConfig);
        return;
      }
      // The presence is a lease of its own (replicas/leases.ts): taken again each check, it lapses PRESENCE_TTL_MS after the last.
      await presence.acquire(`${PRESENCE}${presence.holder}`);
      ctx.registry.setLiveReplicas(await presence.holdersOf(PRESENCE));
      if (checks++ % PRUNE_EVERY_CHECKS === 0) {
        const pruned = await presence.pruneLapsed(PRESENCE, PRESENCE_PRUNE_AFTER_MS);
        if (pruned > 0) ctx.log.info('presence of replicas gone for over an hour deleted', { component: 'replicas', replicas: pruned });
      }
    };
    void check().then(() => {
      lastOk = ctx.monotonic();
      if (closedFor !== undefined) ctx.log.info('PostgreSQL reachable again: agents may connect here again', { component: 'replicas', unreachable_s: Math.round(closedFor / 1000) });
      closedFor = undefined;
    }, (err: unknown) => {
      const down = ctx.monotonic() - lastOk;
      if (down < lostMs) return;
      if (closedFor === undefined) {
        ctx.log.error('cannot reach PostgreSQL: ending this replica\'s watches so their clients move to a replica that can', { component: 'replicas', unreachable_s: Math.round(down / 1000), error: describeError(err) });
        ctx.changes.resync();
      }
      closedFor = down;
      const here = ctx.registry.localHostIds();
      if (here.length === 0) return;
      ctx.log.error('cannot reach PostgreSQL: closing this replica\'s agent streams so they move to a replica that can', {
        component: 'replicas', unreachable_s: Math.round(down / 1000), agents: here.length, error: describeError(err),
      });
      for (const hostId of here) {
        const session = ctx.registry.local(hostId);
        if (session && ctx.registry.remove(session)) session.close('this coordinator replica cannot reach its database');
      }
    }).finally(() => {
      checking = false;
    });
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
