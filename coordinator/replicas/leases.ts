/**
 * Leases in PostgreSQL (migration p04): exactly one coordinator replica at a time does a named piece of work
 * (a deployment group's scheduling, a cron job), and a replica that is paused (SIGSTOP, a long GC, a
 * saturated machine) or cut off from the database stops before another takes over.
 *
 * - A lease expires on the **database's** clock (clock_timestamp()); replicas' wall clocks never count.
 * - The holder's own deadline is measured on its **monotonic** clock from the moment it *sent* the acquire or
 *   renewal, minus a safety margin: the database's expiry is at least TTL after the statement ran, which is
 *   after it was sent, so the holder's deadline always falls before the database lets anyone else in, however
 *   long the reply took to arrive. A holder that cannot renew (partitioned, paused) sees `valid()` turn false
 *   first, and stops.
 * - The epoch rises each time the lease changes hands, or its holder takes it again after it lapsed. A write
 *   that must not be applied by a stale holder runs in a transaction that first calls `fence()`: it locks the
 *   lease row FOR SHARE and checks holder, epoch and expiry, so a takeover waits for that transaction to end
 *   and a stale holder's write is refused (FAILED_PRECONDITION) instead of interleaving with the new holder's.
 */
import type pg from 'pg';
import { FerryError } from '../../common/errors.js';
import type { Queryable } from '../store/pg-db.js';

/** Lease timing; defaults give a takeover in at most ttl + the keeper's interval after a holder dies. */
export interface LeaseTiming {
  /** How long a lease lasts after each acquire or renewal, on the database's clock. Default 10 s. */
  ttlMs: number;
  /**
   * How much earlier than the database the holder considers its lease gone: covers clock-rate drift between
   * the holder and the database and the time to stop work in progress. Default max(2 s, ttl / 3).
   */
  marginMs: number;
}

export const DEFAULT_LEASE_TTL_MS = 10_000;

export function leaseTiming(ttlMs = DEFAULT_LEASE_TTL_MS, marginMs?: number): LeaseTiming {
  if (!Number.isInteger(ttlMs) || ttlMs < 1000) throw new FerryError('INVALID_ARGUMENT', `lease TTL must be a whole number of milliseconds, at least 1000 (got ${ttlMs})`);
  const margin = marginMs ?? Math.max(2000, Math.floor(ttlMs / 3));
  if (!Number.isInteger(margin) || margin <= 0 || margin >= ttlMs) throw new FerryError('INVALID_ARGUMENT', `lease margin must be between 1 and ${ttlMs - 1} ms (got ${margin})`);
  return { ttlMs, marginMs: margin };
}

const monotonicMs = (): number => performance.now();

/** A lease this replica holds, until `valid()` says otherwise. */
export class HeldLease {
  #deadline: number;

  constructor(readonly name: string, readonly holder: string, readonly epoch: number, deadline: number) {
    this.#deadline = deadline;
  }

  /** True while this replica may act under the lease (its monotonic deadline has not passed). */
  valid(): boolean {
    return monotonicMs() < this.#deadline;
  }

  /** Milliseconds left before this replica must stop acting under the lease (0 when lapsed). */
  remainingMs(): number {
    return Math.max(0, this.#deadline - monotonicMs());
  }

  /** @internal set by PgLeases on renewal (later deadline) or loss (0). */
  setDeadline(deadline: number): void {
    this.#deadline = deadline;
  }
}

export class PgLeases {
  readonly timing: LeaseTiming;

  constructor(private readonly pool: pg.Pool, readonly holder: string, timing: LeaseTiming = leaseTiming()) {
    if (holder.length === 0 || holder.length > 200) throw new FerryError('INVALID_ARGUMENT', 'lease holder must be 1 to 200 characters');
    this.timing = timing;
  }

  /**
   * One statement with a time limit (half the TTL): a database that stopped answering (a partition, a hung
   * server) fails the call instead of stalling the keeper; the lease itself lapses on its deadline anyway.
   */
  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const config: pg.QueryConfig & { query_timeout: number } = { text, values, query_timeout: Math.max(500, Math.floor(this.timing.ttlMs / 2)) };
    return this.pool.query<R>(config);
  }

  #deadlineFrom(sentAt: number): number {
    return sentAt + this.timing.ttlMs - this.timing.marginMs;
  }

  /**
   * Takes the lease `name` if it is free, expired, or already this replica's (then it is renewed, same epoch).
   * Resolves to the held lease, or undefined while another replica holds it.
   *
   * The row may be locked by the holder's fenced transaction: the statement then waits for it, and past the
   * time limit the call fails while the statement may still run on the server once the lock is free. That is
   * safe: the lease is then this replica's in the database without it knowing, so nobody acts under it, and
   * this replica's next acquire takes it (same epoch) or it expires. The expiry is computed when the row is
   * written (after any wait), the local deadline from when the call was sent, so the local one is earlier.
   */
  async acquire(name: string): Promise<HeldLease | undefined> {
    const sentAt = monotonicMs();
    const { rows } = await this.#query<{ epoch: number | string }>(
      `INSERT INTO leases (name, holder, epoch, expires_at, acquired_at)
       VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond', clock_timestamp())
       ON CONFLICT (name) DO UPDATE SET
         holder = EXCLUDED.holder,
         epoch = CASE WHEN leases.holder = EXCLUDED.holder AND leases.expires_at > clock_timestamp() THEN leases.epoch ELSE leases.epoch + 1 END,
         acquired_at = CASE WHEN leases.holder = EXCLUDED.holder AND leases.expires_at > clock_timestamp() THEN leases.acquired_at ELSE EXCLUDED.acquired_at END,
         expires_at = clock_timestamp() + $3 * interval '1 millisecond'
       WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= clock_timestamp()
       RETURNING epoch`,
      [name, this.holder, this.timing.ttlMs],
    );
    const row = rows[0];
    return row === undefined ? undefined : new HeldLease(name, this.holder, Number(row.epoch), this.#deadlineFrom(sentAt));
  }

  /**
   * Renews many leases in one statement. A lease that lapsed (in the database, or locally) or changed hands
   * is not renewed: its `valid()` becomes false at once. Resolves to the leases still held.
   */
  async renew(leases: readonly HeldLease[]): Promise<HeldLease[]> {
    const live = leases.filter(l => l.valid());
    for (const l of leases) if (!l.valid()) l.setDeadline(0);
    if (live.length === 0) return [];
    const sentAt = monotonicMs();
    const { rows } = await this.#query<{ name: string }>(
      `UPDATE leases SET expires_at = clock_timestamp() + $2 * interval '1 millisecond'
       FROM unnest($3::text[], $4::bigint[]) AS mine (name, epoch)
       WHERE leases.name = mine.name AND leases.epoch = mine.epoch AND leases.holder = $1
         AND leases.expires_at > clock_timestamp()
       RETURNING leases.name`,
      [this.holder, this.timing.ttlMs, live.map(l => l.name), live.map(l => l.epoch)],
    );
    const renewed = new Set(rows.map(r => r.name));
    const deadline = this.#deadlineFrom(sentAt);
    const held: HeldLease[] = [];
    for (const l of live) {
      if (renewed.has(l.name)) {
        l.setDeadline(deadline);
        held.push(l);
      } else {
        l.setDeadline(0);
      }
    }
    return held;
  }

  /**
   * Gives the lease up at once: it expires now, so another replica can take it without waiting. The row stays
   * (not deleted) so that the next holder's epoch is higher than every earlier one.
   */
  async release(lease: HeldLease): Promise<void> {
    lease.setDeadline(0);
    await this.#query(
      'UPDATE leases SET expires_at = clock_timestamp() WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()',
      [lease.name, lease.holder, lease.epoch],
    );
  }

  /** Who holds `name` now in the database, if anyone (for logs). */
  async currentHolder(name: string): Promise<string | undefined> {
    const { rows } = await this.#query<{ holder: string }>('SELECT holder FROM leases WHERE name = $1 AND expires_at > clock_timestamp()', [name]);
    return rows[0]?.holder;
  }

  /** The holders of the unexpired leases whose names start with `prefix` (e.g. every replica's presence). */
  async holdersOf(prefix: string): Promise<Set<string>> {
    const { rows } = await this.#query<{ holder: string }>(
      "SELECT holder FROM leases WHERE starts_with(name, $1) AND expires_at > clock_timestamp()", [prefix]);
    return new Set(rows.map(r => r.holder));
  }

  /**
   * Deletes the leases named `prefix…` that lapsed more than `afterMs` ago, whoever held them: the
   * presence of replica processes long gone (a new id each start) would otherwise stay forever.
   * How many went.
   */
  async pruneLapsed(prefix: string, afterMs: number): Promise<number> {
    const { rowCount } = await this.#query(
      "DELETE FROM leases WHERE starts_with(name, $1) AND expires_at < clock_timestamp() - $2 * interval '1 millisecond'", [prefix, afterMs]);
    return rowCount ?? 0;
  }

  /** Every lease this replica holds in the database (for `ferry-coordinator` status and tests). */
  async held(): Promise<{ name: string; epoch: number }[]> {
    const { rows } = await this.#query<{ name: string; epoch: number | string }>(
      'SELECT name, epoch FROM leases WHERE holder = $1 AND expires_at > clock_timestamp() ORDER BY name', [this.holder]);
    return rows.map(r => ({ name: r.name, epoch: Number(r.epoch) }));
  }
}

/**
 * Inside a transaction on `q`: proves `lease` still holds and keeps it from changing hands until the
 * transaction ends (the row is locked FOR SHARE; a takeover's UPDATE waits). Throws FAILED_PRECONDITION
 * when the lease lapsed locally, expired in the database, or belongs to a newer epoch: the caller rolls back.
 */
export async function fence(q: Queryable, lease: HeldLease): Promise<void> {
  if (!lease.valid()) throw new FerryError('FAILED_PRECONDITION', `lease ${lease.name} (epoch ${lease.epoch}) lapsed on this replica`);
  const { rows } = await q.query<{ ok: number }>(
    `SELECT 1 AS ok FROM leases
     WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()
     FOR SHARE`,
    [lease.name, lease.holder, lease.epoch],
  );
  if (rows.length === 0) throw new FerryError('FAILED_PRECONDITION', `lease ${lease.name} (epoch ${lease.epoch}) is no longer held by ${lease.holder}`);
}

export interface LeaseKeeperOptions {
  /** How often held leases are renewed and missing ones tried. Default ttl / 4. */
  intervalMs?: number;
  /** Called once a lease is taken (a new epoch, or this replica's again after it lapsed). */
  onAcquired?: (lease: HeldLease) => void;
  /** Called once a held lease is gone: lapsed, lost to another replica, or released. Stop its work. */
  onLost?: (lease: HeldLease) => void;
  /** A tick that could not reach the database (leases then lapse on their own deadline). */
  onError?: (err: unknown) => void;
}

/**
 * Holds a set of leases for this replica: renews the ones it holds in one statement per tick and tries the
 * ones it wants but lacks. `get(name)` answers whether this replica may act for `name` right now.
 */
export class LeaseKeeper {
  readonly #leases: PgLeases;
  readonly #opts: LeaseKeeperOptions;
  readonly #intervalMs: number;
  readonly #wanted = new Set<string>();
  readonly #held = new Map<string, HeldLease>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;

  constructor(leases: PgLeases, opts: LeaseKeeperOptions = {}) {
    this.#leases = leases;
    this.#opts = opts;
    this.#intervalMs = opts.intervalMs ?? Math.max(250, Math.floor(leases.timing.ttlMs / 4));
  }

  /** The names this replica should hold from now on; leases it holds outside them are released next tick. */
  want(names: Iterable<string>): void {
    this.#wanted.clear();
    for (const n of names) this.#wanted.add(n);
  }

  /** The lease for `name` if this replica holds it and may act under it now. */
  get(name: string): HeldLease | undefined {
    const lease = this.#held.get(name);
    if (lease === undefined) return undefined;
    if (lease.valid()) return lease;
    this.#lose(lease);
    return undefined;
  }

  heldNames(): string[] {
    return [...this.#held.values()].filter(l => l.valid()).map(l => l.name).sort();
  }

  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const loop = (): void => {
      this.#ticking = this.tick().finally(() => {
        this.#ticking = undefined;
        if (!this.#stopped) this.#timer = setTimeout(loop, this.#intervalMs);
      });
    };
    loop();
  }

  /** Stops ticking and releases every lease held (so another replica takes over at once). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#ticking;
    const held = [...this.#held.values()];
    this.#held.clear();
    for (const lease of held) {
      const wasValid = lease.valid();
      try {
        await this.#leases.release(lease);
      } catch (err) {
        this.#opts.onError?.(err);
      }
      if (wasValid) this.#opts.onLost?.(lease);
    }
  }

  /** One round: release unwanted, renew held, try the rest. Errors go to onError; nothing throws. */
  async tick(): Promise<void> {
    try {
      for (const lease of [...this.#held.values()]) {
        if (!this.#wanted.has(lease.name)) {
          this.#held.delete(lease.name);
          await this.#leases.release(lease);
          this.#opts.onLost?.(lease);
        }
      }
      const held = [...this.#held.values()];
      if (held.length > 0) {
        const kept = new Set(await this.#leases.renew(held));
        for (const lease of held) if (!kept.has(lease)) this.#lose(lease);
      }
      for (const name of this.#wanted) {
        if (this.#stopped) return;
        if (this.#held.has(name)) continue;
        // One name's failure (its row locked by another replica's fenced transaction past the time limit)
        // does not keep the keeper from the others.
        let lease: HeldLease | undefined;
        try {
          lease = await this.#leases.acquire(name);
        } catch (err) {
          this.#opts.onError?.(err);
          continue;
        }
        if (lease !== undefined) {
          this.#held.set(name, lease);
          this.#opts.onAcquired?.(lease);
        }
      }
    } catch (err) {
      // Unreachable database: held leases run out on their own deadline; `get` reports them lost then.
      for (const lease of [...this.#held.values()]) if (!lease.valid()) this.#lose(lease);
      this.#opts.onError?.(err);
    }
  }

  #lose(lease: HeldLease): void {
    if (this.#held.get(lease.name) !== lease) return;
    this.#held.delete(lease.name);
    lease.setDeadline(0);
    this.#opts.onLost?.(lease);
  }
}
