import { FerryError } from '../errors.js';
import { type AlarmSpec, formatDuration } from './spec.js';

/**
 * The alarm state machine (docs/design/style.md §2: one table, pure). One sample at a time, with the time it was
 * taken; no clock, no I/O, no logs.
 *
 *   INSUFFICIENT_DATA ── healthy sample ──▶ OK ── breaching continuously ≥ forMs ──▶ ALARM
 *          ▲                                 ▲                                        │
 *          └── probe cannot run (any state)  └────────── one healthy sample ──────────┘
 *
 * A breach shorter than `forMs` leaves the alarm OK (one spike is not an alarm); a sample that
 * cannot be taken breaks the breach's continuity.
 */
export const ALARM_STATES = ['INSUFFICIENT_DATA', 'OK', 'ALARM'] as const;
export type AlarmStateName = (typeof ALARM_STATES)[number];

export const ALARM_TRANSITIONS: Readonly<Record<AlarmStateName, readonly AlarmStateName[]>> = Object.freeze({
  INSUFFICIENT_DATA: ['OK', 'ALARM'],
  OK: ['ALARM', 'INSUFFICIENT_DATA'],
  ALARM: ['OK', 'INSUFFICIENT_DATA'],
});

export function canTransition(from: AlarmStateName, to: AlarmStateName): boolean {
  return from === to || ALARM_TRANSITIONS[from].includes(to);
}

/**
 * What one probe saw. `measured`: a value (cpu/memory/disk %, HTTP status or 0, tcp 1/0, the
 * command's exit code or -1) with an optional detail for people. `failed`: the probe could not
 * run at all (e.g. systeminformation failed), so nothing is known.
 */
export type ProbeResult =
  | { kind: 'measured'; value: number; detail?: string }
  | { kind: 'failed'; reason: string };

export interface AlarmStatus {
  name: string;
  state: AlarmStateName;
  value: number;
  reason: string;
  /** When the state last changed (ms since the epoch). */
  sinceMs: number;
  /** The first sample of the current unbroken breach; undefined when not breaching. */
  breachStartMs?: number;
}

const pct = (v: number) => `${Number(v.toFixed(1))}%`;

/** Whether a measurement breaches the alarm's condition, and a phrase saying what was seen. */
export function judge(spec: AlarmSpec, value: number, detail?: string): { breaching: boolean; text: string } {
  const limit = spec.thresholdPercent ?? 0;
  const against = (what: string) => value > limit ? `${what} ${pct(value)} > ${pct(limit)}` : `${what} ${pct(value)} <= ${pct(limit)}`;
  const more = detail ? `: ${detail}` : '';
  switch (spec.kind) {
    case 'cpu': return { breaching: value > limit, text: against('cpu') };
    case 'memory': return { breaching: value > limit, text: against('memory') };
    case 'disk': return { breaching: value > limit, text: against(`disk ${spec.path ?? ''}`) };
    case 'http': {
      const breaching = !(value >= 200 && value <= 299);
      return { breaching, text: value > 0 ? `GET ${spec.url} answered ${value}${more}` : `GET ${spec.url} failed${more}` };
    }
    case 'tcp': return { breaching: value !== 1, text: value === 1 ? `tcp ${spec.address} is open` : `tcp ${spec.address} is not open${more}` };
    case 'command': {
      const program = spec.argv?.[0] ?? '';
      const text = value >= 0 ? `${program} exited ${value}${detail ? ` (${detail})` : ''}` : `${program} ${detail ?? 'did not exit normally'}`;
      return { breaching: value !== 0, text };
    }
  }
}

export function initialStatus(spec: AlarmSpec, nowMs: number, reason = 'no sample yet'): AlarmStatus {
  return { name: spec.name, state: 'INSUFFICIENT_DATA', value: 0, reason, sinceMs: nowMs };
}

/** Held time for people: whole seconds from 1 s on. */
const held = (ms: number) => formatDuration(ms >= 1000 ? Math.floor(ms / 1000) * 1000 : Math.max(0, Math.round(ms)));

/** The next status after one sample taken at `nowMs`. */
export function nextStatus(spec: AlarmSpec, prev: AlarmStatus, result: ProbeResult, nowMs: number): AlarmStatus {
  let next: Omit<AlarmStatus, 'sinceMs' | 'name'>;
  if (result.kind === 'failed') {
    next = { state: 'INSUFFICIENT_DATA', value: 0, reason: `cannot sample: ${result.reason}` };
  } else {
    const { breaching, text } = judge(spec, result.value, result.detail);
    if (!breaching) {
      next = { state: 'OK', value: result.value, reason: text };
    } else {
      const start = prev.breachStartMs ?? nowMs;
      const lasted = nowMs - start;
      const during = spec.forMs > 0 ? ` for ${held(lasted)}` : '';
      next = lasted >= spec.forMs
        ? { state: 'ALARM', value: result.value, reason: `${text}${during}`, breachStartMs: start }
        : { state: 'OK', value: result.value, reason: `${text}${during} (ALARM after ${formatDuration(spec.forMs)})`, breachStartMs: start };
    }
  }
  if (!canTransition(prev.state, next.state)) {
    throw new FerryError('ILLEGAL_TRANSITION', `alarm ${spec.name}: ${prev.state} → ${next.state} is not allowed`);
  }
  return { name: spec.name, ...next, sinceMs: next.state === prev.state ? prev.sinceMs : nowMs };
}

/** One alarm's state machine: `sample(result, nowMs) → status`. */
export class AlarmEvaluator {
  private current: AlarmStatus;

  constructor(readonly spec: AlarmSpec, nowMs: number, reason?: string) {
    this.current = initialStatus(spec, nowMs, reason);
  }

  get status(): AlarmStatus {
    return this.current;
  }

  sample(result: ProbeResult, nowMs: number): AlarmStatus {
    this.current = nextStatus(this.spec, this.current, result, nowMs);
    return this.current;
  }

  /** When the pending breach would become ALARM if it keeps up; undefined when none is pending. */
  alarmDueMs(): number | undefined {
    const s = this.current;
    return s.breachStartMs !== undefined && s.state !== 'ALARM' ? s.breachStartMs + this.spec.forMs : undefined;
  }
}
