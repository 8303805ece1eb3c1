import { setTimeout as sleep } from 'node:timers/promises';
import { detached } from '../async.js';
import { FerryError, describeError } from '../../common/errors.js';
import type { Context } from '../context.js';
import { isStoreUnavailable } from '../store/unavailable.js';

/** Backoff between attempts to write reports while the store is unreachable (PostgreSQL down). */
export const RETRY_FIRST_MS = 250;
export const RETRY_MAX_MS = 5000;
/** Reports that may wait for an unreachable store, at most; past this a new one fails its stream at once. */
export const MAX_WAITING = 20_000;

/** One agent report to write: resolves to what to do once it is committed (an ack), if anything. */
export type Report = () => Promise<(() => void) | void>;

interface Queued {
  report: Report;
  fail: (err: unknown) => void;
  alone: boolean;
}

/**
 * The agents' reports (event updates, log batches, host results) of one event-loop tick, written
 * to the store in arrival order, runs of them in one transaction: at 10,000 hosts a deployment brings
 * ~100,000 reports, and one transaction (and one commit) each was most of the coordinator's time. What
 * a report owes the agent (a ResultAck) is sent only after the commit. A report that throws is passed
 * to its `fail` (the stream is failed, as before) and the others are still written.
 *
 * A report pushed `alone` (a host result: it takes its deployment group's lock, services/agents.ts)
 * is written outside any transaction, between the runs before and after it: a transaction's calls
 * wait on nothing but the store, or a scheduler pass holding that lock and waiting for the store would
 * wait for the transaction, which would wait for the lock (docs/design/style.md §4). One tick's writes
 * end before the next tick's begin.
 *
 * While the store cannot be reached (PostgreSQL stopped, restarting or cut off: store/unavailable.ts), a
 * write is retried with a backoff (0.25 s doubling to 5 s) for as long as it takes, the reports after it
 * waiting behind it in order, and the agents' streams are kept: nothing is lost, and an agent's ResultAck
 * comes once its result is in the store. Any other failure goes to the report's `fail`, as before.
 * What waits is bounded (`maxWaiting` reports, hook output included): past it, while the store is still
 * unreachable, a new report fails its stream at once (UNAVAILABLE), and the agent keeps its result in
 * its outbox and sends it again after it reconnects.
 */
export class AgentInbox {
  private queue: Queued[] = [];
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();
  /** Reports pushed and not yet written or failed. */
  private waiting = 0;
  /** The last write found the store unreachable (and retries). */
  private unreachable = false;

  constructor(private readonly ctx: Context, private readonly maxWaiting = MAX_WAITING) {}

  push(report: Report, fail: (err: unknown) => void, options: { alone?: boolean } = {}): void {
    if (this.unreachable && this.waiting >= this.maxWaiting) {
      fail(new FerryError('UNAVAILABLE', `the coordinator's database cannot be reached and ${this.waiting} agent reports already wait for it; reconnect and send again later`));
      return;
    }
    this.waiting++;
    this.queue.push({ report, fail, alone: options.alone ?? false });
    if (this.scheduled) return;
    this.scheduled = true;
    detached(() => setImmediate(() => void this.flush()));
  }

  /** Writes everything queued now, after the writes already under way; resolves once written. */
  flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    this.writing = this.writing.then(() => this.write(batch));
    return this.writing;
  }

  private async write(batch: readonly Queued[]): Promise<void> {
    let run: Queued[] = [];
    for (const item of batch) {
      if (!item.alone) {
        run.push(item);
        continue;
      }
      await this.together(run);
      run = [];
      await this.retrying(1, async () => (await item.report())?.(), err => item.fail(err));
      this.waiting--;
    }
    await this.together(run);
  }

  /** Writes `run` in one transaction, then sends what its reports owe. Never rejects. */
  private async together(run: readonly Queued[]): Promise<void> {
    if (run.length === 0) return;
    let after: (() => void)[] = [];
    let failed: { fail: (err: unknown) => void; err: unknown }[] = [];
    await this.retrying(run.length, async () => {
      after = [];
      failed = [];
      await this.ctx.store.transaction(async () => {
        for (const { report, fail } of run) {
          try {
            const then = await report();
            if (then) after.push(then);
          } catch (err) {
            // The store is gone: the whole run is written again once it is back.
            if (isStoreUnavailable(err)) throw err;
            failed.push({ fail, err });
          }
        }
      });
    }, err => {
      // The commit itself failed (a full disk): nothing was written; every sender hears of it and
      // re-sends (results are kept in the agents' outboxes until acknowledged).
      this.ctx.log.error('agent reports not recorded', { component: 'agents', reports: run.length, error: describeError(err) });
      after = [];
      failed = [];
      for (const { fail } of run) fail(err);
    });
    this.waiting -= run.length;
    for (const { fail, err } of failed) fail(err);
    for (const then of after) then();
  }

  /** Runs `attempt` until it succeeds or fails for another reason than an unreachable store (then `otherwise`). */
  private async retrying(reports: number, attempt: () => Promise<void>, otherwise: (err: unknown) => void): Promise<void> {
    let waitedMs = 0;
    for (let delay = RETRY_FIRST_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        await attempt();
        this.unreachable = false;
        if (waitedMs > 0) this.ctx.log.info('agent reports recorded: the store answers again', { component: 'agents', reports, waited_ms: waitedMs });
        return;
      } catch (err) {
        if (!isStoreUnavailable(err)) {
          otherwise(err);
          return;
        }
        this.unreachable = true;
        if (waitedMs === 0) this.ctx.log.warn('agent reports wait for the store, which cannot be reached; retrying (agents keep their streams)', { component: 'agents', reports, error: describeError(err) });
        await sleep(delay);
        waitedMs += delay;
      }
    }
  }
}
