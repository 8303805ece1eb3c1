/**
 * Health alarms as data: the one shape shared by the coordinator (which parses the text form,
 * coordinator/domain/alarms.ts), the wire (AlarmSpec in agent.proto) and the agent's evaluator.
 * Pure: no I/O.
 */
export const ALARM_KINDS = ['cpu', 'memory', 'disk', 'http', 'tcp', 'command'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

export interface AlarmSpec {
  name: string;
  kind: AlarmKind;
  /** cpu, memory, disk: the alarm condition is "above this", 0–100. */
  thresholdPercent?: number;
  /** disk: a path on the filesystem to watch. */
  path?: string;
  /** http: an http:// or https:// URL that must answer GET with a 2xx. */
  url?: string;
  /** tcp: `HOST:PORT` or `[v6]:PORT`. */
  address?: string;
  /** command: program and arguments, run without a shell; must exit 0. */
  argv?: string[];
  /** How long one probe may take. */
  timeoutMs: number;
  /** How long the condition must hold continuously before ALARM; 0: one failing sample. */
  forMs: number;
}

/** Per kind: the probe timeout when the expression names none. cpu/memory/disk bound the system call. */
export const DEFAULT_TIMEOUT_MS: Readonly<Record<AlarmKind, number>> = Object.freeze({
  cpu: 5000, memory: 5000, disk: 5000, http: 2000, tcp: 2000, command: 10_000,
});

export const MAX_TIMEOUT_MS = 3_600_000;
export const MAX_FOR_MS = 86_400_000;

/** Explicit alarm names: what `name:` accepts. */
export const ALARM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function isAlarmKind(s: string): s is AlarmKind {
  return (ALARM_KINDS as readonly string[]).includes(s);
}

/** `HOST:PORT` or `[v6]:PORT`; a problem (for people) when it is neither. */
export function splitHostPort(address: string): { host: string; port: number } | { problem: string } {
  const m = /^\[([^\]\s]+)\](?::(\S*))?$/.exec(address) ?? /^([^:\s[\]]+)(?::(\S*))?$/.exec(address);
  if (!m) return { problem: `tcp address '${address}' is not HOST:PORT (an IPv6 host in brackets: [::1]:5432)` };
  if (m[2] === undefined || m[2] === '') return { problem: `tcp address '${address}' has no port: write HOST:PORT` };
  const port = /^\d+$/.test(m[2]) ? Number(m[2]) : NaN;
  if (!(port >= 1 && port <= 65535)) return { problem: `tcp port '${m[2]}' is not a port number (1-65535)` };
  return { host: m[1]!, port };
}

/** A URL's problem for an http alarm, or undefined. */
export function httpUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `'${url}' is not a URL (e.g. http://127.0.0.1:8080/health)`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `'${url}' is not an http:// or https:// URL`;
  return undefined;
}

/** The grammar's duration form: `0s`, `500ms`, `30s`, `2m`, `1h` (whole units only, so it parses back). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Every problem of a spec (docs/design/style.md §8), e.g. one that came over the wire. The text parser reports the
 * same problems with the offending text; this checks the data.
 */
export function alarmSpecProblems(s: AlarmSpec): string[] {
  const problems: string[] = [];
  if (!s.name) problems.push('the alarm has no name');
  const pct = s.thresholdPercent;
  switch (s.kind) {
    case 'cpu':
    case 'memory':
    case 'disk':
      if (pct === undefined || !Number.isFinite(pct) || pct < 0 || pct > 100) problems.push(`threshold ${pct}% is out of range (0-100%)`);
      if (s.kind === 'disk' && !s.path?.startsWith('/')) problems.push(`disk path '${s.path ?? ''}' is not absolute`);
      break;
    case 'http': {
      const p = httpUrlProblem(s.url ?? '');
      if (p) problems.push(p);
      break;
    }
    case 'tcp': {
      const hp = splitHostPort(s.address ?? '');
      if ('problem' in hp) problems.push(hp.problem);
      break;
    }
    case 'command':
      if (!s.argv?.length || !s.argv[0]) problems.push('command alarm has no program to run');
      break;
    default:
      problems.push(`unknown alarm kind '${String(s.kind)}' (known: ${ALARM_KINDS.join(', ')})`);
  }
  if (!Number.isInteger(s.timeoutMs) || s.timeoutMs <= 0 || s.timeoutMs > MAX_TIMEOUT_MS) {
    problems.push(`timeout ${s.timeoutMs} ms is out of range (1 ms to 1h)`);
  }
  if (!Number.isInteger(s.forMs) || s.forMs < 0 || s.forMs > MAX_FOR_MS) problems.push(`for ${s.forMs} ms is out of range (0 to 24h)`);
  return problems;
}

/** Same alarm, same evaluation: a SetAlarms that repeats it keeps its state. */
export function sameAlarm(a: AlarmSpec, b: AlarmSpec): boolean {
  return a.name === b.name && a.kind === b.kind && a.thresholdPercent === b.thresholdPercent && a.path === b.path
    && a.url === b.url && a.address === b.address && a.timeoutMs === b.timeoutMs && a.forMs === b.forMs
    && sameList(a.argv ?? [], b.argv ?? []);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
