/**
 * Which replica schedules, when several coordinators share one PostgreSQL database. Every replica serves the
 * API, the console and agents' streams (docs/high-availability.md, "Every replica serves"); the one holding
 * the `coordinator` lease (replicas/leases.ts) also plans and drives rollouts, judges hosts whose streams
 * are on other replicas, runs schedules, webhook deliveries and audit retention. The others try for the
 * lease every `pollMs`, and one takes it within its TTL of the holder dying, pausing or losing the database.
 *
 * A holder whose lease lapses (it could not renew in time: paused, cut off from PostgreSQL) steps down at its
 * deadline, which falls before the database lets another replica in: its scheduler stops at the next group,
 * and a group's pass already under way holds that group's lock in a transaction (replicas/group-lock.ts), so
 * the next holder reads what it wrote, or PostgreSQL ends it (and none of it lands). It keeps serving its
 * agents and tries for the lease again.
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
  /** How often the lease is renewed, or tried by a replica without it. Default ttl / 4. */
  pollMs?: number;
  /** This replica's id (logs, the lease's holder). Default replicaId(). */
  id?: string;
  /** Called when this replica starts or stops scheduling. */
  onChange?: (scheduling: boolean) => void;
}

export class Leadership {
  readonly #leases: PgLeases;
  readonly #pollMs: number;
  readonly #log: Logger;
  readonly #onChange: (scheduling: boolean) => void;
  #lease: HeldLease | undefined;
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #stopped = false;
  #announcedStandby = false;

  constructor(pool: pg.Pool, log: Logger, opts: LeadershipOptions = {}) {
    const timing = opts.timing ?? leaseTiming();
    this.#leases = new PgLeases(pool, opts.id ?? replicaId(), timing);
    this.#pollMs = opts.pollMs ?? Math.max(250, Math.floor(timing.ttlMs / 4));
    this.#log = log;
    this.#onChange = opts.onChange ?? (() => undefined);
  }

  get holder(): string {
    return this.#leases.holder;
  }

  get epoch(): number | undefined {
    return this.#lease?.epoch;
  }

  /** True while this replica holds the lease: it schedules. */
  valid(): boolean {
    return this.#lease?.valid() ?? false;
  }

  /** Tries for the lease now (resolves after the first try), then renews or tries every pollMs; a watchdog steps down at the deadline. */
  async start(): Promise<void> {
    this.#watchdog = setInterval(() => {
      if (this.#lease !== undefined && !this.#lease.valid()) this.#stepDown('the coordinator lease ran out before it could be renewed (paused, or cut off from PostgreSQL)');
    }, 100);
    this.#watchdog.unref();
    await this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      if (this.#lease === undefined) await this.#tryAcquire();
      else if ((await this.#leases.renew([this.#lease])).length === 0) this.#stepDown('the coordinator lease was not renewed (it lapsed, or another replica holds it)');
    } catch (err) {
      this.#log.warn(this.#lease ? 'could not renew the coordinator lease; retrying' : 'could not reach PostgreSQL for the coordinator lease; retrying', {
        component: 'replicas', error: err instanceof Error ? err.message : String(err), ...(this.#lease && { remaining_ms: Math.round(this.#lease.remainingMs()) }),
      });
    }
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#pollMs);
    this.#timer.unref();
  }

  async #tryAcquire(): Promise<void> {
    const lease = await this.#leases.acquire(COORDINATOR_LEASE);
    if (this.#stopped) {
      if (lease !== undefined) await this.#leases.release(lease);
      return;
    }
    if (lease !== undefined) {
      this.#lease = lease;
      this.#announcedStandby = false;
      this.#log.info('scheduling replica: holding the coordinator lease', { component: 'replicas', replica: this.holder, epoch: lease.epoch, ttl_ms: this.#leases.timing.ttlMs });
      this.#onChange(true);
      return;
    }
    if (!this.#announcedStandby) {
      this.#announcedStandby = true;
      const scheduling = await this.#leases.currentHolder(COORDINATOR_LEASE).catch(() => undefined);
      this.#log.info('serving replica: another replica schedules; taking over when its lease runs out', { component: 'replicas', replica: this.holder, scheduling: scheduling ?? 'unknown' });
    }
  }

  #stepDown(reason: string): void {
    const lease = this.#lease;
    if (lease === undefined) return;
    this.#lease = undefined;
    lease.setDeadline(0);
    this.#log.error(`no longer the scheduling replica: ${reason}; serving agents and the API, trying for the lease again`, { component: 'replicas', replica: this.holder, epoch: lease.epoch });
    this.#onChange(false);
  }

  /** Stops trying and gives the lease up (shutdown): another replica takes over without waiting for it to expire. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease === undefined) return;
    try {
      await this.#leases.release(lease);
    } catch (err) {
      this.#log.warn('could not release the coordinator lease; it expires on its own', { component: 'replicas', error: err instanceof Error ? err.message : String(err) });
    }
  }
}
