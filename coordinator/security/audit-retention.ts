/**
 * Audit retention (`audit-retention`, default 365d; 0 keeps records forever): deletes audit records
 * whose last occurrence is older than the retention, once at start and then every hour. Deletes in
 * batches and yields to the event loop between them, so a large first prune (an upgrade, a lowered
 * retention) never holds up a call; a failure is logged, never thrown. It writes nothing else: no
 * audit record, no event.
 */
import { describeError } from '../../common/errors.js';
import type { Clock } from '../context.js';
import { auditCutoff } from '../domain/audit.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';

export const AUDIT_PRUNE_EVERY_MS = 3_600_000;
/** Records deleted per statement; a batch takes a few milliseconds. */
const BATCH = 2000;

export interface AuditRetentionDeps {
  /** Several replicas: true while this one is the one that does this work (replicas/leadership.ts). Absent: always. */
  active?: () => boolean;
  store: Pick<Store, 'pruneAudit'>;
  clock: Clock;
  log: Logger;
  retentionMs: number;
  /** Tests shorten these. */
  everyMs?: number;
  batch?: number;
}

export class AuditRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(private readonly deps: AuditRetentionDeps) {}

  /** Prunes now, then every hour; does nothing when the retention is 0. */
  start(): void {
    if (this.deps.retentionMs <= 0) return;
    this.tick();
  }

  /** Stops the timer and waits for a pass in progress to end (it stops at its next batch). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.prune().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      this.timer = setTimeout(() => this.tick(), this.deps.everyMs ?? AUDIT_PRUNE_EVERY_MS);
      this.timer.unref();
    });
  }

  /** One pass: deletes every record older than the cutoff, a batch at a time; returns how many. Never throws. */
  async prune(): Promise<number> {
    if (this.deps.active?.() === false) return 0; // another replica prunes
    const before = auditCutoff(this.deps.clock.now(), this.deps.retentionMs);
    if (before === undefined) return 0;
    const batch = this.deps.batch ?? BATCH;
    let removed = 0;
    try {
      for (;;) {
        const n = await this.deps.store.pruneAudit(before, batch);
        removed += n;
        if (n < batch) break;
        await new Promise<void>(resolve => setImmediate(resolve));
        if (this.stopped) break;
      }
    } catch (err) {
      this.deps.log.error('cannot prune the audit log', { component: 'security', older_than: before, removed, error: describeError(err) });
      return removed;
    }
    if (removed > 0) this.deps.log.info('old audit records removed', { component: 'security', removed, older_than: before });
    return removed;
  }
}
