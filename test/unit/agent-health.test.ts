import t, { type Test } from 'tap';
import {
  ALARM_STATES, ALARM_TRANSITIONS, AlarmEvaluator, type AlarmStateName, type AlarmStatus, type ProbeResult, canTransition, judge, nextStatus,
} from '../../common/health/evaluate.js';
import { HealthMonitor, type Timers } from '../../agent/health/monitor.js';
import type { Probe } from '../../agent/health/probes.js';
import { type AlarmSpec, alarmSpecProblems } from '../../common/health/spec.js';
import { alarmsFromWire, specToWire, stateToWire } from '../../common/health/wire.js';

// ---------------------------------------------------------------------------------------------
// Builders and fakes

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);
const S = 1000;

const cpu = (over: Partial<AlarmSpec> = {}): AlarmSpec => ({ name: 'cpu', kind: 'cpu', thresholdPercent: 80, timeoutMs: 5000, forMs: 30 * S, ...over });
const value = (v: number, detail?: string): ProbeResult => ({ kind: 'measured', value: v, ...(detail && { detail }) });
const failed = (reason: string): ProbeResult => ({ kind: 'failed', reason });

/** A clock and timers that move only when the test says (docs/design/style.md §11). */
class FakeTime implements Timers {
  nowMs = T0;
  private seq = 0;
  private queue: { at: number; id: number; fn: () => void }[] = [];

  readonly clock = { now: () => this.nowMs };

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.queue.push({ at: this.nowMs + ms, id, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter(q => q.id !== handle);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Runs every timer due within `ms`, in order, letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    for (;;) {
      await settle();
      const next = this.queue.filter(q => q.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.queue = this.queue.filter(q => q !== next);
      this.nowMs = next.at;
      next.fn();
    }
    this.nowMs = end;
    await settle();
  }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise(r => setImmediate(r));
};

/** Answers each alarm with its current scripted result; records calls and how many run at once. */
class FakeProbe implements Probe {
  readonly results = new Map<string, ProbeResult>();
  readonly calls: { name: string; at: number }[] = [];
  running = 0;
  maxRunning = 0;
  /** When set, measurements wait for this before answering. */
  gate: Promise<void> | undefined;
  readonly signals: AbortSignal[] = [];

  constructor(private readonly time: FakeTime) {}

  async measure(spec: AlarmSpec, signal: AbortSignal): Promise<ProbeResult> {
    this.calls.push({ name: spec.name, at: this.time.nowMs });
    this.signals.push(signal);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.gate) await Promise.race([this.gate, new Promise(r => signal.addEventListener('abort', r, { once: true }))]);
      if (signal.aborted) return failed('cancelled');
      return this.results.get(spec.name) ?? failed('no scripted result');
    } finally {
      this.running -= 1;
    }
  }
}

function monitorFor(t: Test, intervalMs = 5 * S) {
  const time = new FakeTime();
  const probe = new FakeProbe(time);
  const changes: AlarmStatus[][] = [];
  const monitor = new HealthMonitor({ probe, clock: time.clock, timers: time, intervalMs, onChange: s => changes.push([...s]) });
  t.teardown(() => monitor.stop());
  return { time, probe, changes, monitor };
}

// ---------------------------------------------------------------------------------------------
// The state machine (pure)

t.test('the transition table: every (from, to) pair', async t => {
  for (const from of ALARM_STATES) {
    for (const to of ALARM_STATES) {
      const allowed = from === to || ALARM_TRANSITIONS[from].includes(to);
      t.equal(canTransition(from, to), allowed, `${from} → ${to}: ${allowed ? 'allowed' : 'refused'}`);
    }
  }
  // Every state can leave to every other: a probe that cannot run always gives INSUFFICIENT_DATA,
  // a healthy sample always gives OK, and a breach with for 0 always gives ALARM.
  const results: Record<AlarmStateName, ProbeResult> = { INSUFFICIENT_DATA: failed('x'), OK: value(10), ALARM: value(95) };
  for (const from of ALARM_STATES) {
    const prev: AlarmStatus = { name: 'cpu', state: from, value: 0, reason: '', sinceMs: T0 };
    for (const to of ALARM_STATES) {
      t.equal(nextStatus(cpu({ forMs: 0 }), prev, results[to], T0 + S).state, to, `${from} → ${to} is reachable`);
    }
  }
});

interface Step {
  at: number;
  result: ProbeResult;
  state: AlarmStateName;
  reason?: string;
  since?: number;
}

function walk(t: Test, spec: AlarmSpec, steps: Step[]): void {
  const ev = new AlarmEvaluator(spec, T0);
  t.match(ev.status, { state: 'INSUFFICIENT_DATA', reason: 'no sample yet', sinceMs: T0 }, 'before the first sample');
  for (const s of steps) {
    const got = ev.sample(s.result, T0 + s.at);
    const label = `at ${s.at / S}s`;
    t.equal(got.state, s.state, `${label}: ${s.state}`);
    if (s.reason !== undefined) t.equal(got.reason, s.reason, `${label}: reason`);
    if (s.since !== undefined) t.equal(got.sinceMs, T0 + s.since, `${label}: since`);
  }
}

t.test('a spike shorter than the for window stays OK', async t => {
  walk(t, cpu(), [
    { at: 0, result: value(12), state: 'OK', reason: 'cpu 12% <= 80%', since: 0 },
    { at: 5 * S, result: value(95), state: 'OK', reason: 'cpu 95% > 80% for 0s (ALARM after 30s)', since: 0 },
    { at: 10 * S, result: value(97.25), state: 'OK', reason: 'cpu 97.3% > 80% for 5s (ALARM after 30s)', since: 0 },
    { at: 15 * S, result: value(40), state: 'OK', reason: 'cpu 40% <= 80%', since: 0 },
    { at: 20 * S, result: value(95), state: 'OK', reason: 'cpu 95% > 80% for 0s (ALARM after 30s)' },
  ]);
});

t.test('a sustained breach is ALARM at exactly the for window, and one healthy sample is OK again', async t => {
  walk(t, cpu(), [
    { at: 0, result: value(10), state: 'OK' },
    { at: 5 * S, result: value(93), state: 'OK' },
    { at: 34_999, result: value(93), state: 'OK', reason: 'cpu 93% > 80% for 29s (ALARM after 30s)' },
    { at: 35 * S, result: value(93), state: 'ALARM', reason: 'cpu 93% > 80% for 30s', since: 35 * S },
    { at: 36_500, result: value(99), state: 'ALARM', reason: 'cpu 99% > 80% for 31s', since: 35 * S },
    { at: 40 * S, result: value(80), state: 'OK', reason: 'cpu 80% <= 80%', since: 40 * S },
    { at: 45 * S, result: value(81), state: 'OK', reason: 'cpu 81% > 80% for 0s (ALARM after 30s)', since: 40 * S },
  ]);
});

t.test('for 0: one breaching sample is enough', async t => {
  walk(t, cpu({ forMs: 0 }), [
    { at: 0, result: value(81), state: 'ALARM', reason: 'cpu 81% > 80%', since: 0 },
    { at: 5 * S, result: value(1), state: 'OK', since: 5 * S },
  ]);
});

t.test('a probe that cannot run is INSUFFICIENT_DATA and breaks the breach', async t => {
  walk(t, cpu({ forMs: 10 * S }), [
    { at: 0, result: value(90), state: 'OK' },
    { at: 5 * S, result: failed('systeminformation failed'), state: 'INSUFFICIENT_DATA', reason: 'cannot sample: systeminformation failed', since: 5 * S },
    { at: 10 * S, result: value(90), state: 'OK', reason: 'cpu 90% > 80% for 0s (ALARM after 10s)', since: 10 * S },
    { at: 15 * S, result: value(90), state: 'OK' },
    { at: 20 * S, result: value(90), state: 'ALARM', reason: 'cpu 90% > 80% for 10s', since: 20 * S },
    { at: 25 * S, result: failed('timed out'), state: 'INSUFFICIENT_DATA', since: 25 * S },
  ]);
});

t.test('what each kind counts as breaching, and how it is said', async t => {
  const cases: { spec: AlarmSpec; value: number; detail?: string; breaching: boolean; text: string }[] = [
    { spec: cpu(), value: 80, breaching: false, text: 'cpu 80% <= 80%' },
    { spec: { ...cpu(), name: 'memory', kind: 'memory', thresholdPercent: 90 }, value: 90.04, breaching: true, text: 'memory 90% > 90%' },
    { spec: { ...cpu(), name: 'd', kind: 'disk', path: '/var', thresholdPercent: 85 }, value: 86, breaching: true, text: 'disk /var 86% > 85%' },
    { spec: { name: 'h', kind: 'http', url: 'http://a/', timeoutMs: 2000, forMs: 0 }, value: 204, breaching: false, text: 'GET http://a/ answered 204' },
    { spec: { name: 'h', kind: 'http', url: 'http://a/', timeoutMs: 2000, forMs: 0 }, value: 301, breaching: true, text: 'GET http://a/ answered 301' },
    { spec: { name: 'h', kind: 'http', url: 'http://a/', timeoutMs: 2000, forMs: 0 }, value: 0, detail: 'connect ECONNREFUSED', breaching: true, text: 'GET http://a/ failed: connect ECONNREFUSED' },
    { spec: { name: 't', kind: 'tcp', address: 'a:1', timeoutMs: 2000, forMs: 0 }, value: 1, breaching: false, text: 'tcp a:1 is open' },
    { spec: { name: 't', kind: 'tcp', address: 'a:1', timeoutMs: 2000, forMs: 0 }, value: 0, detail: 'no connection within 2s', breaching: true, text: 'tcp a:1 is not open: no connection within 2s' },
    { spec: { name: 'c', kind: 'command', argv: ['/bin/check'], timeoutMs: 2000, forMs: 0 }, value: 0, breaching: false, text: '/bin/check exited 0' },
    { spec: { name: 'c', kind: 'command', argv: ['/bin/check'], timeoutMs: 2000, forMs: 0 }, value: 2, detail: 'last output: db down', breaching: true, text: '/bin/check exited 2 (last output: db down)' },
    { spec: { name: 'c', kind: 'command', argv: ['/bin/check'], timeoutMs: 2000, forMs: 0 }, value: -1, detail: 'did not exit within 2s; stopped (TERM)', breaching: true, text: '/bin/check did not exit within 2s; stopped (TERM)' },
  ];
  for (const c of cases) t.same(judge(c.spec, c.value, c.detail), { breaching: c.breaching, text: c.text }, c.text);
});

t.test('specs received over the wire are checked; states go out with ISO times', async t => {
  const wire = { intervalMs: 250, alarms: [specToWire(cpu()), { ...specToWire(cpu()), name: 'bad', kind: 'load' }] };
  const { alarms, intervalMs } = alarmsFromWire(wire);
  t.equal(intervalMs, 250);
  t.same(alarms[0], cpu(), 'a spec survives the round trip');
  t.same(alarmSpecProblems(alarms[1]!), ["unknown alarm kind 'load' (known: cpu, memory, disk, http, tcp, command)"]);
  t.same(alarmSpecProblems({ name: '', kind: 'http', url: 'ftp://x', timeoutMs: 0, forMs: -1 }), [
    'the alarm has no name', "'ftp://x' is not an http:// or https:// URL", 'timeout 0 ms is out of range (1 ms to 1h)', 'for -1 ms is out of range (0 to 24h)',
  ]);
  t.same(stateToWire({ name: 'cpu', state: 'ALARM', value: 93, reason: 'r', sinceMs: T0 }),
    { name: 'cpu', state: 'ALARM', value: 93, reason: 'r', since: '2025-01-02T03:04:05.000Z' });
});

// ---------------------------------------------------------------------------------------------
// The monitor (fake clock, timers and probe)

t.test('with no alarms nothing is sampled', async t => {
  const { time, probe, monitor } = monitorFor(t);
  monitor.set([]);
  await time.advance(60 * S);
  t.equal(probe.calls.length, 0);
  t.equal(time.pending, 0, 'no timer is armed');
  t.same(monitor.states(), []);
  t.notOk(monitor.active);
});

t.test('alarms are sampled at once, then every interval; changes are reported once, coalesced', async t => {
  const { time, probe, changes, monitor } = monitorFor(t);
  probe.results.set('cpu', value(10));
  probe.results.set('mem', value(20));
  monitor.set([cpu(), cpu({ name: 'mem', kind: 'memory' })]);
  t.match(monitor.states(), [{ state: 'INSUFFICIENT_DATA' }, { state: 'INSUFFICIENT_DATA' }], 'INSUFFICIENT_DATA before the first sample');
  await time.advance(0);
  t.same(probe.calls.map(c => `${c.name}@${c.at - T0}`), ['cpu@0', 'mem@0']);
  t.match(monitor.states(), [{ name: 'cpu', state: 'OK', reason: 'cpu 10% <= 80%' }, { name: 'mem', state: 'OK' }]);
  await time.advance(100);
  t.equal(changes.length, 1, 'the new list and both first samples: one notification');
  t.match(changes[0], [{ state: 'OK' }, { state: 'OK' }]);
  await time.advance(20 * S);
  t.same(probe.calls.filter(c => c.name === 'cpu').map(c => (c.at - T0) / S), [0, 5, 10, 15, 20], 'every 5 s');
  t.equal(changes.length, 1, 'no notification without a state change');
});

t.test('the for window works with any interval: a pending breach is re-sampled when its window ends', async t => {
  const { time, probe, changes, monitor } = monitorFor(t, 60 * S);
  probe.results.set('cpu', value(10));
  monitor.set([cpu({ forMs: 2 * S })]);
  await time.advance(1 * S);
  t.equal(monitor.states()[0]!.state, 'OK');
  probe.results.set('cpu', value(95));
  await time.advance(59 * S); // the next regular sample, at 60 s, sees the breach start
  t.match(monitor.states()[0], { state: 'OK', breachStartMs: T0 + 60 * S });
  await time.advance(2 * S - 1);
  t.equal(monitor.states()[0]!.state, 'OK', 'not before the window ends');
  await time.advance(1);
  t.match(monitor.states()[0], { state: 'ALARM', reason: 'cpu 95% > 80% for 2s', sinceMs: T0 + 62 * S }, 'ALARM when the window ends, not a minute later');
  await time.advance(20);
  t.match(changes.at(-1), [{ state: 'ALARM' }], 'and reported at once');
  probe.results.set('cpu', value(5));
  await time.advance(60 * S);
  t.equal(monitor.states()[0]!.state, 'OK', 'one healthy sample: OK');
});

t.test('never more than one probe of an alarm in flight', async t => {
  const { time, probe, monitor } = monitorFor(t, 1 * S);
  let open!: () => void;
  probe.gate = new Promise<void>(r => (open = r));
  probe.results.set('cpu', value(10));
  monitor.set([cpu()]);
  await time.advance(10 * S);
  t.equal(probe.calls.length, 1, 'a slow probe is not started again while it runs');
  t.equal(probe.maxRunning, 1);
  probe.gate = undefined;
  open();
  await time.advance(0);
  t.equal(monitor.states()[0]!.state, 'OK');
  t.equal(probe.calls.length, 2, 'overdue: the next sample starts right after');
  await time.advance(3 * S);
  t.equal(probe.calls.length, 5);
  t.equal(probe.maxRunning, 1);
});

t.test('set replaces the list: unchanged alarms keep their state, changed ones start over, invalid ones are reported', async t => {
  const { time, probe, changes, monitor } = monitorFor(t);
  probe.results.set('cpu', value(95));
  probe.results.set('tcp', value(1));
  const tcp: AlarmSpec = { name: 'tcp', kind: 'tcp', address: '127.0.0.1:5432', timeoutMs: 2000, forMs: 0 };
  monitor.set([cpu({ forMs: 0 }), tcp]);
  await time.advance(1 * S);
  const alarmSince = monitor.states()[0]!.sinceMs;
  t.match(monitor.states(), [{ state: 'ALARM' }, { state: 'OK' }]);
  const before = changes.length;

  monitor.set([cpu({ forMs: 0 }), tcp]);
  await time.advance(100);
  t.match(monitor.states(), [{ state: 'ALARM', sinceMs: alarmSince }, { state: 'OK' }], 'the same list keeps every state');
  t.equal(changes.length, before, 'and is no change');
  t.equal(probe.calls.length, 2, 'nor an extra sample');

  const bad = { name: 'bad', kind: 'disk', path: 'var', thresholdPercent: 101, timeoutMs: 5000, forMs: 0 } as AlarmSpec;
  monitor.set([cpu({ forMs: 0, thresholdPercent: 99 }), bad, { ...tcp, address: 'x:1' }]);
  t.match(monitor.states(), [
    { name: 'cpu', state: 'INSUFFICIENT_DATA', reason: 'no sample yet' },
    { name: 'bad', state: 'INSUFFICIENT_DATA', reason: "invalid alarm, not evaluated: threshold 101% is out of range (0-100%); disk path 'var' is not absolute" },
    { name: 'tcp', state: 'INSUFFICIENT_DATA' },
  ], 'a changed spec starts over');
  await time.advance(100);
  t.match(monitor.states(), [{ name: 'cpu', state: 'OK' }, { state: 'INSUFFICIENT_DATA' }, { state: 'OK' }]);
  t.equal(probe.calls.filter(c => c.name === 'bad').length, 0, 'an invalid alarm is never probed');
  t.ok(changes.length > before, 'the new list is reported');

  monitor.set([tcp, { ...tcp, address: 'y:2' }], 200);
  t.same(monitor.states().map(s => s.name), ['tcp'], 'a repeated name is ignored; removed alarms are gone');
  const n = probe.calls.length;
  await time.advance(1 * S);
  t.equal(probe.calls.length - n, 6, 'the interval SetAlarms gives applies (200 ms: at 0, 200 … 1000)');
  monitor.set([]);
  t.same(monitor.states(), []);
  await time.advance(10 * S);
  t.equal(time.pending, 0, 'an empty list clears everything');
});

t.test('stop cancels the probes in flight and arms nothing more', async t => {
  const { time, probe, monitor } = monitorFor(t);
  probe.gate = new Promise<void>(() => {});
  monitor.set([cpu()]);
  await time.advance(0);
  t.equal(probe.running, 1);
  await monitor.stop();
  t.ok(probe.signals[0]!.aborted, 'the running probe is cancelled');
  t.equal(probe.running, 0, 'and awaited');
  t.equal(time.pending, 0);
  monitor.set([cpu()]);
  await time.advance(10 * S);
  t.equal(probe.calls.length, 1, 'a stopped monitor samples nothing');
});
