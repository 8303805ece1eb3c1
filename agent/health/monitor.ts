import { describeError } from '../../common/errors.js';
import type { Clock } from '../lifecycle/types.js';
import type { Logger } from '../log.js';
import { AlarmEvaluator, type AlarmStatus, type ProbeResult } from '../../common/health/evaluate.js';
import type { Probe } from './probes.js';
import { type AlarmSpec, alarmSpecProblems, sameAlarm } from '../../common/health/spec.js';

/** setTimeout/clearTimeout, injected so tests drive time (docs/design/style.md §11). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: h => clearTimeout(h as NodeJS.Timeout),
};

export const DEFAULT_SAMPLE_INTERVAL_MS = 5000;
export const MIN_SAMPLE_INTERVAL_MS = 100;

export interface HealthMonitorOptions {
  probe: Probe;
  clock: Clock;
  timers?: Timers;
  /** Used when `set` names no interval (default 5 s). */
  intervalMs?: number;
  /** An alarm changed state, or the list changed; calls within `notifyDelayMs` are coalesced. */
  onChange?: (states: readonly AlarmStatus[]) => void;
  notifyDelayMs?: number;
  logger?: Logger;
}

class Slot {
  readonly evaluator: AlarmEvaluator;
  readonly abort = new AbortController();
  timer: unknown;
  running = false;
  retired = false;
  lastStartMs: number | undefined;

  constructor(readonly spec: AlarmSpec, nowMs: number, readonly invalid?: string) {
    this.evaluator = new AlarmEvaluator(spec, nowMs, invalid ? `invalid alarm, not evaluated: ${invalid}` : undefined);
  }
}

/**
 * Samples each alarm every interval, one probe per alarm in flight at most, and keeps their
 * states. A pending breach is re-sampled when its `for` window ends, so ALARM comes on time
 * whatever the interval. With no alarms nothing is sampled. The only place alarm transitions are
 * logged (docs/design/style.md §12).
 */
export class HealthMonitor {
  private slots: Slot[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly timers: Timers;
  private intervalMs: number;
  private notifyTimer: unknown;
  private stopped = false;

  constructor(private readonly o: HealthMonitorOptions) {
    this.timers = o.timers ?? realTimers;
    this.intervalMs = o.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
  }

  /**
   * Replaces the list. An alarm with the same name and spec as before keeps its state and
   * schedule; new or changed ones start as INSUFFICIENT_DATA and are sampled at once; invalid
   * ones stay INSUFFICIENT_DATA with the problem as reason; a repeated name is ignored.
   */
  set(alarms: readonly AlarmSpec[], intervalMs?: number): void {
    if (this.stopped) return;
    const interval = intervalMs ? Math.max(MIN_SAMPLE_INTERVAL_MS, intervalMs) : (this.o.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS);
    const intervalChanged = interval !== this.intervalMs;
    this.intervalMs = interval;
    const now = this.o.clock.now();
    const previous = new Map(this.slots.map(s => [s.spec.name, s]));
    const next: Slot[] = [];
    let changed = false;
    for (const spec of alarms) {
      if (next.some(s => s.spec.name === spec.name)) {
        this.o.logger?.warn('an alarm name is repeated; only the first is evaluated', { alarm: spec.name });
        continue;
      }
      const prev = previous.get(spec.name);
      if (prev && !prev.invalid && sameAlarm(prev.spec, spec)) {
        previous.delete(spec.name);
        next.push(prev);
        if (intervalChanged) this.schedule(prev);
        continue;
      }
      const problems = alarmSpecProblems(spec);
      const slot = new Slot(spec, now, problems.length > 0 ? problems.join('; ') : undefined);
      if (slot.invalid) this.o.logger?.error('an alarm is invalid; it is not evaluated', { alarm: spec.name, reason: slot.invalid });
      next.push(slot);
      this.schedule(slot);
      changed = true;
    }
    for (const s of previous.values()) this.retire(s);
    changed ||= previous.size > 0 || next.some((s, i) => this.slots[i] !== s);
    this.slots = next;
    this.o.logger?.info('health alarms set', { alarms: next.map(s => s.spec.name).join(', '), interval_ms: interval });
    if (changed) this.notify();
  }

  /** The current status of every alarm, in the order given. */
  states(): AlarmStatus[] {
    return this.slots.map(s => s.evaluator.status);
  }

  /** Whether anything is being sampled. */
  get active(): boolean {
    return this.slots.some(s => !s.invalid);
  }

  /** Stops sampling: no more timers, running probes cancelled and awaited. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.notifyTimer !== undefined) this.timers.clearTimeout(this.notifyTimer);
    this.notifyTimer = undefined;
    for (const s of this.slots) this.retire(s);
    await Promise.allSettled([...this.inflight]);
  }

  private retire(s: Slot): void {
    s.retired = true;
    if (s.timer !== undefined) this.timers.clearTimeout(s.timer);
    s.timer = undefined;
    s.abort.abort();
  }

  /** Next sample: an interval after the last one started, or sooner when a breach's window ends. */
  private schedule(s: Slot): void {
    if (s.timer !== undefined) this.timers.clearTimeout(s.timer);
    s.timer = undefined;
    if (this.stopped || s.retired || s.invalid || s.running) return;
    const now = this.o.clock.now();
    let due = s.lastStartMs === undefined ? now : s.lastStartMs + this.intervalMs;
    const alarmDue = s.evaluator.alarmDueMs();
    if (alarmDue !== undefined) due = Math.min(due, alarmDue);
    s.timer = this.timers.setTimeout(() => this.sample(s), Math.max(0, due - now));
  }

  private sample(s: Slot): void {
    s.timer = undefined;
    if (this.stopped || s.retired) return;
    s.running = true;
    s.lastStartMs = this.o.clock.now();
    const run = this.o.probe.measure(s.spec, s.abort.signal)
      .catch((err): ProbeResult => ({ kind: 'failed', reason: describeError(err) }))
      .then(result => {
        s.running = false;
        if (this.stopped || s.retired) return;
        this.record(s, result);
        this.schedule(s);
      })
      .finally(() => this.inflight.delete(run));
    this.inflight.add(run);
  }

  private record(s: Slot, result: ProbeResult): void {
    const from = s.evaluator.status.state;
    let to: AlarmStatus;
    try {
      to = s.evaluator.sample(result, this.o.clock.now());
    } catch (err) {
      this.o.logger?.error('evaluating an alarm failed', { alarm: s.spec.name, reason: describeError(err) });
      return;
    }
    if (to.state === from) return;
    const fields = { alarm: s.spec.name, from, to: to.state, reason: to.reason, value: to.value };
    if (to.state === 'OK') this.o.logger?.info('alarm state changed', fields);
    else this.o.logger?.warn('alarm state changed', fields);
    this.notify();
  }

  private notify(): void {
    const onChange = this.o.onChange;
    if (!onChange || this.notifyTimer !== undefined || this.stopped) return;
    this.notifyTimer = this.timers.setTimeout(() => {
      this.notifyTimer = undefined;
      onChange(this.states());
    }, this.o.notifyDelayMs ?? 20);
  }
}
