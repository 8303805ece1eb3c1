import { type CronSpec, HORIZON_MS, cronProblem, nextMatch, timezoneProblem } from '../../common/cron.js';

/**
 * Deployment windows (pure; `now` comes in). A window opens at each minute its cron expression
 * matches, in its IANA timezone, and stays open `durationMs` (half-open: [opening, opening + duration)).
 * A group with no windows is always open. Overlapping or adjacent openings chain into one window.
 */
export interface DeploymentWindow extends CronSpec {
  durationMs: number;
}

export interface WindowProblem {
  /** The flag or field at fault: --window, --window-duration, --window-timezone. */
  path: string;
  message: string;
}

const MINUTE = 60_000;

/** Every problem with a group's windows (docs/design/style.md §8); the paths are the CLI's flags. */
export function validateWindows(windows: readonly DeploymentWindow[]): WindowProblem[] {
  const problems: WindowProblem[] = [];
  const seen = new Set<string>();
  for (const w of windows) {
    const tz = timezoneProblem(w.timezone);
    if (tz && !seen.has(`tz:${w.timezone}`)) problems.push({ path: '--window-timezone', message: tz });
    seen.add(`tz:${w.timezone}`);
    if ((!Number.isInteger(w.durationMs) || w.durationMs < MINUTE) && !seen.has(`d:${w.durationMs}`)) {
      problems.push({ path: '--window-duration', message: `must be at least 1m (e.g. 8h), not ${w.durationMs} ms` });
      seen.add(`d:${w.durationMs}`);
    } else if (w.durationMs > 7 * 24 * 60 * MINUTE && !seen.has(`d:${w.durationMs}`)) {
      problems.push({ path: '--window-duration', message: 'must be at most 7d' });
      seen.add(`d:${w.durationMs}`);
    }
    const cron = cronProblem(w.cron);
    if (cron) problems.push({ path: '--window', message: cron });
    else if (!tz && nextMatch(w, Date.UTC(2024, 0, 1), Date.UTC(2029, 0, 1)) === undefined) {
      problems.push({ path: '--window', message: `'${w.cron}' never matches; such a window would never open` });
    }
  }
  return problems;
}

/** The latest opening of `w` with opening ≤ at < opening + duration, or undefined. */
function openingCovering(w: DeploymentWindow, at: number): number | undefined {
  let last: number | undefined;
  let from = at - w.durationMs + 1;
  for (let o = nextMatch(w, from, at); o !== undefined; o = nextMatch(w, from, at)) {
    last = o;
    from = o + MINUTE;
  }
  return last;
}

/** True when some window is open at `now` (always with no windows). */
export function isOpen(windows: readonly DeploymentWindow[], now: number): boolean {
  if (windows.length === 0) return true;
  return windows.some(w => nextMatch(w, now - w.durationMs + 1, now) !== undefined);
}

/** `now` when open, else the earliest next opening within a year (undefined if none). */
export function nextOpening(windows: readonly DeploymentWindow[], now: number): number | undefined {
  if (isOpen(windows, now)) return now;
  let best: number | undefined;
  for (const w of windows) {
    const o = nextMatch(w, now, best ?? now + HORIZON_MS);
    if (o !== undefined && (best === undefined || o < best)) best = o;
  }
  return best;
}

/**
 * When the window open at `now` closes (following overlapping and adjacent openings of every
 * window), or undefined when closed now. Capped at a year ahead: a window that never closes reports that.
 */
export function currentWindowEnd(windows: readonly DeploymentWindow[], now: number): number | undefined {
  if (windows.length === 0 || !isOpen(windows, now)) return undefined;
  const cap = now + HORIZON_MS;
  let end = now;
  for (let rounds = 0; rounds < 10_000 && end < cap; rounds++) {
    let extended = end;
    for (const w of windows) {
      const o = openingCovering(w, end);
      if (o !== undefined) extended = Math.max(extended, o + w.durationMs);
    }
    if (extended === end) return end;
    end = extended;
  }
  return Math.min(end, cap);
}

/** Why a deployment waits for its window, with when the next one opens. */
export function waitingForWindow(opensAt: number | undefined): string {
  return opensAt === undefined ? 'waiting for window: none opens within a year (check the group\'s --window)' : `waiting for window, opens ${new Date(opensAt).toISOString()}`;
}
