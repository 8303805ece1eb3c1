/**
 * Active and standby replicas on one PostgreSQL database. The active replica holds the `coordinator` lease
 * (replicas/leases.ts) and is the only one that listens, schedules and talks to agents; the others wait for
 * the lease. When the active one dies (or is paused, or cut off from the database), its lease runs out and a
 * standby takes it, starts listening and carries every rollout on from the store: agents and the CLI, given
 * every replica's address, move to it on their own (docs/high-availability.md).
 *
 * A replica that loses the lease while active stops at once (the process exits): it cannot know what it was
 * in the middle of, and the replica that took over owns every decision from then on. Its supervisor
 * (systemd) starts it again, as a standby.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../log.js';
import { type HeldLease, type LeaseTiming, leaseTiming, PgLeases } from './leases.js';

export const COORDINATOR_LEASE = 'coordinator';

/** A replica id: host name, process id and a random suffix (unique even for two replicas on one machine). */
export function replicaId(): string {
  return `${os.hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
}

export interface LeadershipOptions {
  timing?: LeaseTiming;
  /** How often a standby tries the lease. Default ttl / 4. */
  pollMs?: number;
  /** Called once when the active replica's lease lapsed or was lost. Default: log and exit the process (code 75). */
  onLost?: () => void;
  /** Stops waiting (a standby asked to shut down). */
  signal?: AbortSignal;
}

export class Leadership {
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #lost = false;

  constructor(private readonly leases: PgLeases, private lease: HeldLease, private readonly log: Logger, private readonly onLost: () => void, private readonly pollMs: number) {}

  get holder(): string {
    return this.leases.holder;
  }

  get epoch(): number {
    return this.lease.epoch;
  }

  valid(): boolean {
    return !this.#lost && this.lease.valid();
  }

  /** Renews every `pollMs`; a watchdog checks the deadline every 100 ms and calls onLost once it passed. */
  keep(): void {
    const renew = async (): Promise<void> => {
      try {
        const kept = await this.leases.renew([this.lease]);
        if (kept.length === 0) this.#lose('the coordinator lease was not renewed (it lapsed or another replica holds it)');
      } catch (err) {
        this.log.warn('could not renew the coordinator lease; retrying', { component: 'replicas', error: err instanceof Error ? err.message : String(err), remaining_ms: Math.round(this.lease.remainingMs()) });
      }
      if (!this.#lost) this.#timer = setTimeout(() => void renew(), this.pollMs);
    };
    this.#timer = setTimeout(() => void renew(), this.pollMs);
    this.#watchdog = setInterval(() => {
      if (!this.lease.valid()) this.#lose('the coordinator lease ran out before it could be renewed (paused, or cut off from PostgreSQL)');
    }, 100);
  }

  /** Gives the lease up (shutdown): a standby takes over without waiting for it to expire. */
  async release(): Promise<void> {
    this.#stopTimers();
    this.#lost = true;
    try {
      await this.leases.release(this.lease);
    } catch (err) {
      this.log.warn('could not release the coordinator lease; it expires on its own', { component: 'replicas', error: err instanceof Error ? err.message : String(err) });
    }
  }

  #stopTimers(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
  }

  #lose(reason: string): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#stopTimers();
    this.log.error(`no longer the active replica: ${reason}; stopping`, { component: 'replicas', replica: this.leases.holder, epoch: this.lease.epoch });
    this.onLost();
  }
}

/**
 * Waits until this replica holds the `coordinator` lease (logging once that it is a standby and who is
 * active), then returns its Leadership, already renewing.
 */
export async function becomeActive(pool: pg.Pool, log: Logger, opts: LeadershipOptions = {}): Promise<Leadership> {
  const timing = opts.timing ?? leaseTiming();
  const leases = new PgLeases(pool, replicaId(), timing);
  const pollMs = opts.pollMs ?? Math.max(250, Math.floor(timing.ttlMs / 4));
  const onLost = opts.onLost ?? (() => process.exit(75));
  let announced = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    let lease: HeldLease | undefined;
    try {
      lease = await leases.acquire(COORDINATOR_LEASE);
    } catch (err) {
      log.warn('could not reach PostgreSQL for the coordinator lease; retrying', { component: 'replicas', error: err instanceof Error ? err.message : String(err) });
    }
    if (lease !== undefined) {
      log.info('active replica: holding the coordinator lease', { component: 'replicas', replica: leases.holder, epoch: lease.epoch, ttl_ms: timing.ttlMs });
      const leadership = new Leadership(leases, lease, log, onLost, pollMs);
      leadership.keep();
      return leadership;
    }
    if (!announced) {
      announced = true;
      const { rows } = await pool.query<{ holder: string }>('SELECT holder FROM leases WHERE name = $1', [COORDINATOR_LEASE]).catch(() => ({ rows: [] as { holder: string }[] }));
      log.info('standby replica: another replica is active; taking over when its lease runs out', { component: 'replicas', replica: leases.holder, active: rows[0]?.holder ?? 'unknown' });
    }
    await new Promise(resolve => setTimeout(resolve, pollMs));
  }
}
