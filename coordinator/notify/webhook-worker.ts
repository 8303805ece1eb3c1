import { describeError } from '../../common/errors.js';
import type { Changes } from '../changes.js';
import type { Clock } from '../context.js';
import { type DeliveryJob, redactUrl } from '../domain/events.js';
import { type Logger, RepeatedFailure } from '../log.js';
import type { EventLogStore } from '../store/event-store.js';
import { type RetrySettings, afterAttempt, deliveryRequest } from './payload.js';

export interface WebhookSettings extends RetrySettings {
  /** Per-request timeout. */
  timeoutMs: number;
  /** Events kept in the log (the newest; pending deliveries keep theirs too). */
  eventsRetained: number;
}

export interface WebhookWorkerDeps {
  store: EventLogStore;
  changes: Changes;
  clock: Clock;
  log: Logger;
  settings: WebhookSettings;
  fetch?: typeof fetch;
  random?: () => number;
  /** The coordinator's public URL: chat messages link to the console under it. */
  publicUrl?: string;
}

const BATCH = 20;
/** Even with nothing due, look again this often (a wake-up may come from another path). */
const IDLE_POLL_MS = 1000;
/**
 * Old events are removed on every pass, at most this many at a time: a deployment to 10,000 hosts
 * appends ~100,000 events, so what is past `eventsRetained` goes while they come in, not as one
 * burst of the coordinator's CPU after the verdict (it was the busiest thing in the 10 s after one,
 * every minute, when it was all removed at once: bench/README.md). Logged at most once a minute.
 */
const PRUNE_BATCH = 20_000;
const PRUNE_LOG_EVERY_MS = 60_000;
/** A claimed delivery is another replica's to try once this long has passed beyond its request's time limit (its claimer died). */
const CLAIM_MARGIN_MS = 30_000;

/**
 * Delivers the outbox (`deliveries`): POSTs each due delivery, records the outcome, schedules the
 * retry. Woken by `Changes.events()` and by a timer for the next due retry. The outbox is in the
 * store, so a restart resumes where the last run stopped; a request cut short by `stop()` or a crash is
 * not counted and is sent again (receivers dedupe by X-Ferry-Delivery): at once after a restart on SQLite
 * (`releaseClaimsOfDeadRun`), once its claim has expired on PostgreSQL.
 * With several coordinator replicas every one runs a worker: each delivery is claimed by one
 * (Store.claimDeliveries, FOR UPDATE SKIP LOCKED on PostgreSQL) and tried by that one only.
 */
export class WebhookWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private wakeQueued = false;
  private stopped = false;
  private prunedLoggedAt = 0;
  private prunedSinceLog = 0;
  private readonly abort = new AbortController();
  /** A database down for a minute fails every pass: logged once, then once a minute (log.ts). */
  private readonly failures: RepeatedFailure;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: WebhookWorkerDeps) {
    this.failures = new RepeatedFailure(deps.log, 'webhook delivery pass failed', 'notify');
  }

  start(): void {
    this.unsubscribe = this.deps.changes.onEvents(() => this.wake());
    this.wake();
  }

  /**
   * Runs a pass soon (or right after the current one). A burst of changes (a hundred hosts'
   * lifecycle events read in one go) makes one pass, not one outbox query per change.
   */
  wake(): void {
    if (this.stopped || this.wakeQueued) return;
    this.wakeQueued = true;
    setImmediate(() => {
      this.wakeQueued = false;
      this.wakeNow();
    });
  }

  private wakeNow(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.pass().finally(async () => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wakeNow();
      } else {
        await this.schedule();
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
  }

  private async schedule(): Promise<void> {
    if (this.stopped) return;
    let next: number | undefined;
    try {
      next = await this.deps.store.nextDeliveryAt();
    } catch (err) {
      this.failures.failed(describeError(err));
    }
    if (this.stopped) return;
    const wait = next === undefined ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, Math.max(0, next - this.deps.clock.now()));
    this.timer = setTimeout(() => this.wake(), wait);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    try {
      await this.prune();
      for (;;) {
        if (this.stopped) return;
        const jobs = await this.deps.store.claimDeliveries(this.deps.clock.now(), BATCH, this.deps.settings.timeoutMs + CLAIM_MARGIN_MS);
        if (jobs.length === 0) break;
        await Promise.all(jobs.map(job => this.deliver(job)));
      }
      this.failures.succeeded();
    } catch (err) {
      this.failures.failed(describeError(err));
    }
  }

  private async prune(): Promise<void> {
    this.prunedSinceLog += await this.deps.store.pruneEvents(this.deps.settings.eventsRetained, PRUNE_BATCH);
    const now = this.deps.clock.now();
    if (this.prunedSinceLog === 0 || now - this.prunedLoggedAt < PRUNE_LOG_EVERY_MS) return;
    this.deps.log.info('old events removed', { component: 'notify', removed: this.prunedSinceLog, kept: this.deps.settings.eventsRetained });
    this.prunedLoggedAt = now;
    this.prunedSinceLog = 0;
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    const { body, headers } = deliveryRequest(job, this.deps.publicUrl);
    const doFetch = this.deps.fetch ?? fetch;
    let result: { status?: number; error?: string };
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.deps.settings.timeoutMs)]);
      const res = await doFetch(job.url, { method: 'POST', headers, body, signal, redirect: 'manual' });
      await res.arrayBuffer().catch(() => undefined);
      result = { status: res.status, ...(res.status < 200 || res.status >= 300 ? { error: `HTTP ${res.status}` } : {}) };
    } catch (err) {
      if (this.stopped) return; // cut short by shutdown: not an attempt; the next run sends it again
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      // A fetch error may quote the URL, query (a token) and all: stored and logged without it (docs/security.md).
      result = { error: timedOut ? `no answer within ${this.deps.settings.timeoutMs} ms` : describeFetchError(err).split(job.url).join(redactUrl(job.url, job.format)) };
    }
    const outcome = afterAttempt(job, result, this.deps.clock.now(), this.deps.settings, (this.deps.random ?? Math.random)());
    await this.deps.store.recordDelivery(job.id, outcome);
    const fields = {
      component: 'notify', trigger: job.triggerName, format: job.format, delivery_id: job.id, seq: job.event.seq, kind: job.event.kind,
      attempt: job.attempts + 1, ...(outcome.status !== undefined && { status: outcome.status }),
    };
    if (outcome.delivered) this.deps.log.debug('webhook delivered', fields);
    else if (outcome.gaveUp) this.deps.log.warn('webhook delivery given up', { ...fields, error: outcome.error });
    else this.deps.log.info('webhook delivery failed; will retry', { ...fields, error: outcome.error, next_attempt_at: new Date(outcome.nextAttemptAt ?? 0).toISOString() });
  }
}

/**
 * Releases the claims a previous run of the only coordinator on this store left (Store.releaseDeliveryClaims),
 * so the deliveries it was trying when it died or stopped are tried again now, not once their claims lapse
 * (the request time limit + 30 s). Only where no other process can hold a live claim: SQLite, whose data-dir
 * lock makes this the only coordinator. Never on PostgreSQL: other replicas' claims are deliveries they are
 * trying right now.
 */
export async function releaseClaimsOfDeadRun(store: EventLogStore, log: Logger): Promise<number> {
  const released = await store.releaseDeliveryClaims();
  if (released > 0) log.info('webhook deliveries the previous run was trying are due again', { component: 'notify', released });
  return released;
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND …). */
function describeFetchError(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  return describeError(err);
}
