import { describeError } from '../../common/errors.js';
import type { Context } from '../context.js';

/** One agent report to write: returns what to do once it is committed (an ack), if anything. */
export type Report = () => (() => void) | void;

/**
 * The agents' reports (event updates, log batches, host results) of one event-loop tick, written
 * to the store in one transaction, in arrival order: at 10,000 hosts a deployment brings ~100,000
 * reports, and one transaction (and one commit) each was most of the coordinator's time. What a
 * report owes the agent (a ResultAck) is sent only after the commit. A report that throws is
 * passed to its `fail` (the stream is failed, as before) and the others are still written.
 */
export class AgentInbox {
  private queue: { report: Report; fail: (err: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly ctx: Context) {}

  push(report: Report, fail: (err: unknown) => void): void {
    this.queue.push({ report, fail });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes everything queued now (also called directly by tests). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const after: (() => void)[] = [];
    const failed: { fail: (err: unknown) => void; err: unknown }[] = [];
    try {
      this.ctx.store.transaction(() => {
        for (const { report, fail } of batch) {
          try {
            const then = report();
            if (then) after.push(then);
          } catch (err) {
            failed.push({ fail, err });
          }
        }
      });
    } catch (err) {
      // The commit itself failed (a full disk): nothing was written; every sender hears of it and
      // re-sends (results are kept in the agents' outboxes until acknowledged).
      this.ctx.log.error('agent reports not recorded', { component: 'agents', reports: batch.length, error: describeError(err) });
      for (const { fail } of batch) fail(err);
      return;
    }
    for (const { fail, err } of failed) fail(err);
    for (const then of after) then();
  }
}
