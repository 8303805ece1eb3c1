import { FerryError } from '../common/errors.js';
import type { DeploymentDetail__Output } from '../proto/gen/ferry/v1/DeploymentDetail.js';
import { EXIT, type ExitCode, exitCodeForDeployment, outcomeOf } from './exit-codes.js';
import { formatDuration } from './format.js';
import { changeLines, progressLine, verdictLines } from './progress.js';
import type { Session } from './session.js';

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
}

export async function followDeployment(s: Session, id: string, o: FollowOptions = {}): Promise<number> {
  const { timeoutMs, extra = {} } = o;
  const abort = new AbortController();
  let timedOut = false;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  let last: DeploymentDetail__Output | undefined;
  try {
    for await (const detail of s.api().watchDeployment(id, abort.signal)) {
      showProgress(s, last, detail);
      last = detail;
      if (exitCodeForDeployment(detail) !== undefined) break;
      if (o.untilApproval && detail.deployment?.awaitingApproval) break;
    }
  } finally {
    clearTimeout(timer);
    s.out.endLive();
  }
  const code = last ? exitCodeForDeployment(last) : undefined;
  if (code === undefined && o.untilApproval && last?.deployment?.awaitingApproval) {
    if (s.out.json) s.out.document({ ...last, ...extra, exitCode: EXIT.ok, outcome: 'awaiting-approval' });
    else s.out.line(`deployment ${id} awaits approval: ferry deploy approve ${id} (or ferry deploy reject ${id})`);
    return EXIT.ok;
  }
  if (code === undefined) {
    if (last && s.out.json && timedOut) s.out.document(finalDocument(last, EXIT.timedOut, extra));
    const status = last?.deployment?.status ?? 'unknown';
    if (timedOut) {
      s.out.error(`ferry: gave up waiting after ${formatDuration(timeoutMs)}: deployment ${id} is still ${status} and goes on; follow it with ferry deploy status ${id}`);
      return EXIT.timedOut;
    }
    throw new FerryError('UNAVAILABLE', `the coordinator stopped sending progress of deployment ${id} before it finished (last status ${status}); follow it with ferry deploy status ${id}`);
  }
  if (s.out.json) s.out.document(finalDocument(last!, code, extra));
  else s.out.lines(verdictLines(last!, s.now, s.out.c));
  return code;
}

/** The one --json document of a --wait: the deployment as last seen, and how the wait ended. */
export function finalDocument(detail: DeploymentDetail__Output, code: ExitCode, extra: Record<string, unknown> = {}) {
  return { ...detail, ...extra, exitCode: code, outcome: outcomeOf(code) };
}

function showProgress(s: Session, prev: DeploymentDetail__Output | undefined, next: DeploymentDetail__Output): void {
  if (s.config.liveProgress) {
    s.out.live(progressLine(next, s.config.columns, s.out.c, s.now));
    return;
  }
  for (const line of changeLines(prev, next)) s.out.note(line);
}
