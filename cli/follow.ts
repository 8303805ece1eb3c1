import { FerryError } from '../common/errors.js';
import type { DeploymentDetail__Output } from '../proto/gen/ferry/v1/DeploymentDetail.js';
import { EXIT, type ExitCode, exitCodeForDeployment, outcomeOf } from './exit-codes.js';
import { formatDuration } from './format.js';
import { changeLines, progressLine, verdictLines } from './progress.js';
import { COLORS } from './output.js';
import type { Session } from './session.js';
import { resumable } from './resume.js';

/**
 * `deploy create --wait`: follows WatchDeployment until the deployment is terminal or the
 * timeout passes, showing progress, and returns the exit code (0 Succeeded, 1 Failed,
 * 3 Stopped, 4 rolled back, 5 timed out). Progress: one redrawn line on a TTY; otherwise a plain
 * line per change (stderr with --json, stdout otherwise). With --json, stdout gets one document:
 * the last DeploymentDetail seen, with `exitCode` and `outcome` (and `extra`, e.g. promote's source).
 */
export interface FollowOptions {
  timeoutMs?: number;
  /** Added to the --json document (e.g. promote's `promotedFrom`). */
  extra?: Record<string, unknown>;
  /** Also end (exit 0, outcome `awaiting-approval`) once the deployment waits at its approval gate. */
  untilApproval?: boolean;
  /**
   * When the deployment ends rolled back, follow the rollback too (the same --timeout covers both)
   * and report both: exit 4 once the rollback succeeded, 1 when it failed or was stopped. The
   * --json document gets `rollback`: the rollback's last DeploymentDetail with its own exitCode and outcome.
   */
  followRollback?: boolean;
}

interface Watched {
  last?: DeploymentDetail__Output;
  timedOut: boolean;
}

/** Follows WatchDeployment until the deployment ends (or waits for approval, if asked), or `deadline`. */
async function watch(s: Session, id: string, deadline: number | undefined, untilApproval: boolean, shown?: DeploymentDetail__Output): Promise<Watched> {
  const abort = new AbortController();
  let timedOut = false;
  const timer = deadline === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, Math.max(0, deadline - s.now));
  let last: DeploymentDetail__Output | undefined;
  let prev = shown;
  // On a TTY the line is redrawn each second too: the time taken and a bake or window countdown move without a message.
  const ticker = s.config.liveProgress ? setInterval(() => {
    if (last) s.out.live(progressLine(last, s.config.columns, s.out.c, s.now, s.config.zone));
  }, 1000) : undefined;
  ticker?.unref();
  try {
    // A lost coordinator (restarted, or a replica gone: the next call goes to another) is
    // reconnected to, as `events --follow` does; WatchDeployment sends the whole detail again.
    const details = resumable(s, {
      what: `deployment ${id}`, open: () => s.api().watchDeployment(id, abort.signal), after: 0, endIsBreak: false, signal: abort.signal,
    });
    for await (const detail of details) {
      showProgress(s, prev, detail);
      prev = last = detail;
      if (exitCodeForDeployment(detail) !== undefined) break;
      if (untilApproval && detail.deployment?.awaitingApproval) break;
    }
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    s.out.endLive();
  }
  return { ...(last && { last }), timedOut };
}

export async function followDeployment(s: Session, id: string, o: FollowOptions = {}): Promise<number> {
  const { timeoutMs, extra = {} } = o;
  const deadline = timeoutMs === undefined ? undefined : s.now + timeoutMs;
  const { last, timedOut } = await watch(s, id, deadline, o.untilApproval === true);
  const code = last ? exitCodeForDeployment(last) : undefined;
  if (code === undefined && o.untilApproval && last?.deployment?.awaitingApproval) {
    if (s.out.json) s.out.document({ ...last, ...extra, exitCode: EXIT.ok, outcome: 'awaiting-approval' });
    else s.out.line(`deployment ${id} awaits approval: ferry deploy approve ${id} (or ferry deploy reject ${id})`);
    return EXIT.ok;
  }
  if (code === undefined) return unfinished(s, id, last, timedOut, timeoutMs, extra);
  const rollbackId = last!.deployment?.rolledBackBy ?? '';
  if (o.followRollback && code === EXIT.rolledBack && rollbackId !== '') {
    return followTheRollback(s, last!, rollbackId, deadline, timeoutMs, extra);
  }
  if (s.out.json) s.out.document(finalDocument(last!, code, extra));
  else s.out.lines(verdictLines(last!, s.now, s.out.c));
  return code;
}

/** The watch ended before the deployment did: timed out (exit 5) or the stream broke off (6). */
function unfinished(
  s: Session, id: string, last: DeploymentDetail__Output | undefined, timedOut: boolean, timeoutMs: number | undefined,
  extra: Record<string, unknown>, what = 'deployment',
): number {
  if (last && s.out.json && timedOut) s.out.document(finalDocument(last, EXIT.timedOut, extra));
  const status = last?.deployment?.status ?? 'unknown';
  if (timedOut) {
    s.out.error(`ferry: gave up waiting after ${formatDuration(timeoutMs)}: ${what} ${id} is still ${status} and goes on; follow it with ferry deploy status ${id}`);
    return EXIT.timedOut;
  }
  throw new FerryError('UNAVAILABLE', `the coordinator stopped sending progress of ${what} ${id} before it finished (last status ${status}); follow it with ferry deploy status ${id}`);
}

/** --follow-rollback: the deployment was rolled back; follow the rollback to its end and report both. */
async function followTheRollback(
  s: Session, failed: DeploymentDetail__Output, rollbackId: string, deadline: number | undefined, timeoutMs: number | undefined,
  extra: Record<string, unknown>,
): Promise<number> {
  const id = failed.deployment?.id ?? '';
  if (!s.out.json) s.out.lines(verdictLines(failed, s.now, s.out.c));
  s.out.note(`following rollback ${rollbackId} of ${id}`);
  const rb = await watch(s, rollbackId, deadline, false);
  const rbCode = rb.last ? exitCodeForDeployment(rb.last) : undefined;
  if (rbCode === undefined) {
    if (!rb.timedOut) return unfinished(s, rollbackId, rb.last, false, timeoutMs, extra, 'rollback');
    if (s.out.json) s.out.document({ ...finalDocument(failed, EXIT.timedOut, extra), rollback: rb.last ? finalDocument(rb.last, EXIT.timedOut) : null });
    s.out.error(`ferry: gave up waiting after ${formatDuration(timeoutMs)}: deployment ${id} was rolled back and its rollback ${rollbackId} is still ${rb.last?.deployment?.status ?? 'unknown'}; follow it with ferry deploy status ${rollbackId}`);
    return EXIT.timedOut;
  }
  // The deployment failed either way; 4 says the way back worked, 1 that it did not.
  const code = rbCode === EXIT.ok ? EXIT.rolledBack : EXIT.failed;
  if (s.out.json) {
    s.out.document({ ...finalDocument(failed, code, extra), rollback: finalDocument(rb.last!, rbCode) });
    return code;
  }
  s.out.lines(verdictLines(rb.last!, s.now, s.out.c));
  s.out.line(code === EXIT.rolledBack
    ? `Deployment ${id} failed and was rolled back: rollback ${rollbackId} Succeeded (exit 4)`
    : s.out.c(COLORS.red, `Deployment ${id} failed and its rollback ${rollbackId} ${rb.last!.deployment?.status ?? 'failed'} too (exit 1): the hosts may run either revision; see ferry deploy status ${rollbackId}`));
  return code;
}

/** The one --json document of a --wait: the deployment as last seen, and how the wait ended. */
export function finalDocument(detail: DeploymentDetail__Output, code: ExitCode, extra: Record<string, unknown> = {}) {
  return { ...detail, ...extra, exitCode: code, outcome: outcomeOf(code) };
}

function showProgress(s: Session, prev: DeploymentDetail__Output | undefined, next: DeploymentDetail__Output): void {
  if (s.config.liveProgress) {
    s.out.live(progressLine(next, s.config.columns, s.out.c, s.now, s.config.zone));
    return;
  }
  for (const line of changeLines(prev, next)) s.out.note(line);
}
