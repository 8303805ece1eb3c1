import { createTask, validateDetailed } from 'node-cron';

/**
 * Cron expressions in an IANA timezone, minute by minute (pure: no clock, `now` comes in).
 * node-cron parses and matches (its semantics: all five fields must match, so a day of month and
 * a day of week restrict together); this module only walks time forward, skipping hours and days
 * that cannot match, and never further than the caller's limit.
 */
const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** How far ahead any search looks. */
export const HORIZON_MS = 366 * DAY;

export interface CronSpec {
  cron: string;
  timezone: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', hour: 'numeric', minute: 'numeric' });
    formatters.set(timezone, f);
  }
  return f;
}

/** A problem with the timezone name, or undefined when Intl knows it (IANA names such as Europe/Paris, or UTC). */
export function timezoneProblem(timezone: string): string | undefined {
  if (!timezone.trim()) return 'is empty; give an IANA name such as UTC or Europe/Paris';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return undefined;
  } catch {
    return `'${timezone}' is not a known IANA timezone (e.g. UTC, Europe/Paris, America/New_York)`;
  }
}

/** A problem with a five-field cron expression, or undefined. */
export function cronProblem(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    return `'${cron}' has ${fields.length} field(s); use five: minute hour day-of-month month day-of-week (e.g. "0 9 * * 1-5")`;
  }
  try {
    const v = validateDetailed(cron);
    if (!v.valid) return `'${cron}' is not a valid cron expression: ${v.errors.map(e => `${e.field}: ${e.message}`).join('; ')}`;
  } catch (err) {
    return `'${cron}' is not a valid cron expression: ${(err as Error).message}`;
  }
  return undefined;
}

interface Compiled {
  match(at: number): boolean;
  hours: number[];
  minutes: number[];
  local(at: number): { hour: number; minute: number };
}

/** Compiled expressions, memoized (a bounded cache: same input, same matcher; no behaviour hides here). */
const compiled = new Map<string, Compiled>();

function compile(spec: CronSpec): Compiled {
  const key = `${spec.timezone}\u0000${spec.cron}`;
  let c = compiled.get(key);
  if (!c) {
    if (compiled.size >= 256) compiled.delete(compiled.keys().next().value!);
    c = build(spec);
    compiled.set(key, c);
  }
  return c;
}

function build(spec: CronSpec): Compiled {
  // createTask parses and builds node-cron's TimeMatcher; the task is never started, and destroying
  // it at once removes it from node-cron's registry (match keeps working: it only reads the pattern).
  const task = createTask(spec.cron, () => undefined, { timezone: spec.timezone });
  void task.destroy();
  const v = validateDetailed(spec.cron);
  const fields = v.fields!;
  const f = formatter(spec.timezone);
  return {
    match: at => task.match(new Date(at)),
    hours: [...fields.hour].sort((a, b) => a - b),
    minutes: [...fields.minute].sort((a, b) => a - b),
    local: at => {
      const parts = f.formatToParts(new Date(at));
      const get = (type: string) => Number(parts.find(p => p.type === type)?.value ?? 0);
      return { hour: get('hour') % 24, minute: get('minute') };
    },
  };
}

/** Minutes to step when nothing at `at` can match: never past a local time that could. */
function skip(c: Compiled, at: number): number {
  const { hour, minute } = c.local(at);
  // Quarter hours: every timezone offset and DST change falls on one, so no local minute is skipped.
  const toQuarter = 15 - (minute % 15);
  if (!c.hours.includes(hour)) {
    const later = c.hours.find(h => h > hour);
    const minutes = later !== undefined ? (later - hour) * 60 - minute : (24 - hour + c.hours[0]!) * 60 - minute;
    return minutes > 60 ? minutes - 60 : toQuarter;
  }
  const nextMinute = c.minutes.find(m => m > minute);
  if (!c.minutes.includes(minute)) return nextMinute !== undefined ? nextMinute - minute : toQuarter;
  // Hour and minute match, the day does not: go to the next day's first candidate. Local and real
  // minutes differ by at most an hour around a DST change: aim an hour early.
  const tomorrow = (24 - hour + c.hours[0]!) * 60 - minute + c.minutes[0]!;
  return tomorrow > 60 ? tomorrow - 60 : 1;
}

/** The first minute in [from, until] at which the expression matches, or undefined. */
export function nextMatch(spec: CronSpec, from: number, until: number = from + HORIZON_MS): number | undefined {
  return next(compile(spec), from, until);
}

function next(c: Compiled, from: number, until: number): number | undefined {
  let at = Math.ceil(from / MINUTE) * MINUTE;
  for (let steps = 0; at <= until && steps < 500_000; steps++) {
    if (c.match(at)) return at;
    at += skip(c, at) * MINUTE;
  }
  return undefined;
}

/** Every match in [from, until], oldest first (at most `max`). */
export function matchesBetween(spec: CronSpec, from: number, until: number, max = 100_000): number[] {
  const c = compile(spec);
  const out: number[] = [];
  let at: number | undefined = from;
  while (out.length < max && (at = next(c, at, until)) !== undefined) {
    out.push(at);
    at += MINUTE;
  }
  return out;
}
