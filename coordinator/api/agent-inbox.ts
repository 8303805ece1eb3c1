import { detached } from '../async.js';
import { describeError } from '../../common/errors.js';
import type { Context } from '../context.js';

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
 */
export class AgentInbox {
  private queue: Queued[] = [];
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: Context) {}

  push(report: Report, fail: (err: unknown) => void, options: { alone?: boolean } = {}): void {
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
      try {
        (await item.report())?.();
      } catch (err) {
        item.fail(err);
      }
    }
    await this.together(run);
  }

  /** Writes `run` in one transaction, then sends what its reports owe. Never rejects. */
  private async together(run: readonly Queued[]): Promise<void> {
    if (run.length === 0) return;
    const after: (() => void)[] = [];
    const failed: { fail: (err: unknown) => void; err: unknown }[] = [];
    try {
      await this.ctx.store.transaction(async () => {
        for (const { report, fail } of run) {
          try {
            const then = await report();
            if (then) after.push(then);
          } catch (err) {
            failed.push({ fail, err });
          }
        }
      });
    } catch (err) {
      // The commit itself failed (a full disk): nothing was written; every sender hears of it and
      // re-sends (results are kept in the agents' outboxes until acknowledged).
      this.ctx.log.error('agent reports not recorded', { component: 'agents', reports: run.length, error: describeError(err) });
      for (const { fail } of run) fail(err);
      return;
    }
    for (const { fail, err } of failed) fail(err);
    for (const then of after) then();
  }
}
