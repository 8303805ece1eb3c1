import { FerryError } from '../common/errors.js';
import { cronProblem, timezoneProblem } from '../common/cron.js';
import type { DeploymentGroup__Output } from '../proto/gen/ferry/v1/DeploymentGroup.js';
import type { DeploymentWindow } from '../proto/gen/ferry/v1/DeploymentWindow.js';
import { parseDuration } from './args.js';
import { NONE, formatTime , type Zone, UTC } from './format.js';

/**
 * `--window EXPR` (repeatable), `--window-duration D`, `--window-timezone TZ` → DeploymentWindow[].
 * Pure; every problem at once, each naming its flag (exit 2). The coordinator checks again.
 */
export function parseWindowFlags(opts: { window?: unknown; windowDuration?: unknown; windowTimezone?: unknown }): DeploymentWindow[] | undefined {
  const exprs = Array.isArray(opts.window) ? (opts.window as string[]) : [];
  const problems: string[] = [];
  if (exprs.length === 0) {
    if (opts.windowDuration !== undefined) problems.push('--window-duration: only with --window');
    if (opts.windowTimezone !== undefined) problems.push('--window-timezone: only with --window');
    if (problems.length > 0) throw new FerryError('INVALID_ARGUMENT', problems.join('; '));
    return undefined;
  }
  let durationMs = 0;
  if (opts.windowDuration === undefined) {
    problems.push('--window-duration: required with --window: how long each window stays open (e.g. 8h)');
  } else {
    try {
      durationMs = parseDuration(String(opts.windowDuration), '--window-duration');
      if (durationMs < 60_000) problems.push('--window-duration: must be at least 1m (e.g. 8h)');
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  const timezone = opts.windowTimezone === undefined ? 'UTC' : String(opts.windowTimezone).trim();
  const tz = timezoneProblem(timezone);
  if (tz) problems.push(`--window-timezone: ${tz}`);
  for (const e of exprs) {
    const p = cronProblem(e);
    if (p) problems.push(`--window: ${p}`);
  }
  if (problems.length > 0) throw new FerryError('INVALID_ARGUMENT', problems.join('; '));
  return exprs.map(cron => ({ cron: cron.trim(), durationMs, timezone }));
}

/** `0 9 * * 1-5 for 8h (Europe/Paris)`. */
export function formatWindow(w: { cron: string; durationMs: number; timezone: string }): string {
  const ms = Number(w.durationMs);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  return `${w.cron} for ${h > 0 ? `${h}h` : ''}${m > 0 || h === 0 ? `${m}m` : ''} (${w.timezone})`;
}

/** The group's windows as `label: value` pairs for `group show`. */
export function windowPairs(g: DeploymentGroup__Output, zone: Zone = UTC): [string, string][] {
  if (g.windows.length === 0) return [['Windows', `${NONE} (deployments start at any time)`]];
  return [
    ['Windows', g.windows.map(formatWindow).join('; ')],
    ['Window now', windowNow(g, zone)],
  ];
}

/** `open until 2026-…`, `closed, opens 2026-…`, or `-` without windows (`group list`). */
export function windowNow(g: DeploymentGroup__Output, zone: Zone = UTC): string {
  if (g.windows.length === 0) return NONE;
  if (g.windowOpen) return g.windowClosesAt ? `open until ${formatTime(g.windowClosesAt, zone)}` : 'open';
  return g.nextWindowAt ? `closed, opens ${formatTime(g.nextWindowAt, zone)}` : 'closed (none opens within a year)';
}
