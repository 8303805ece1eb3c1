import t from 'tap';
import type { HostDeploymentStatus } from '../../coordinator/domain/status.js';
import type { MinimumHealthy, ZonalConfig } from '../../coordinator/domain/types.js';
import { type PlanSnapshot, plan } from '../../coordinator/planner/plan.js';
import { type PlanAction, type PlanTarget } from '../../coordinator/planner/rules.js';
import { zonesInOrder } from '../../coordinator/planner/plan-zonal.js';

const count = (value: number): MinimumHealthy => ({ type: 'HOST_COUNT', value });
const percent = (value: number): MinimumHealthy => ({ type: 'FLEET_PERCENT', value });
const SECOND = 1000;

const zonal = (over: Partial<ZonalConfig> = {}): ZonalConfig => ({
  monitorMs: 10 * SECOND, firstZoneMonitorMs: 30 * SECOND, minimumHealthyPerZone: count(0), ...over,
});

/** Hosts `a1 a2 b1 b2 c1 c2` in zones a, b, c; positions interleave zones so order must come from zones. */
const fleet = (zones: (string | undefined)[], perZone = 2): PlanTarget[] =>
  zones.flatMap((z, i) => Array.from({ length: perZone }, (_, k) => ({
    hostId: `${z ?? 'x'}${k + 1}`, status: 'Pending' as const, connected: true, revisionHealth: 'old' as const,
    position: k * zones.length + i + 1, ...(z !== undefined && { zone: z }),
  })));

const snapshot = (minimumHealthy: MinimumHealthy, targets: PlanTarget[], config = zonal()): PlanSnapshot => ({
  deploymentId: 'd-1', minimumHealthy, zonal: config, targets,
});

interface Run {
  final: PlanAction;
  /** Host → when it started / completed (fake ms). */
  startedAt: Record<string, number>;
  completedAt: Record<string, number>;
  starts: string[][];
  zoneCompletes: string[];
  waits: string[];
  maxInFlight: number;
  statuses: Record<string, HostDeploymentStatus>;
}

/**
 * A whole zonal rollout on a fake clock: plan at `now`, apply, then finish the oldest host in
 * flight (each host takes 1 s) or, when nothing is in flight, let 1 s pass.
 */
function simulate(first: PlanSnapshot, failing: string[] = []): Run {
  let targets = first.targets.map(x => ({ ...x }));
  let now = 1_000_000;
  const r: Run = { final: { type: 'wait', reason: '' }, startedAt: {}, completedAt: {}, starts: [], zoneCompletes: [], waits: [], maxInFlight: 0, statuses: {} };
  const inFlight: string[] = [];
  const set = (ids: string[], patch: Partial<PlanTarget>) => {
    targets = targets.map(x => (ids.includes(x.hostId) ? { ...x, ...patch } : x));
  };
  for (let step = 0; step < 1000; step++) {
    const actions = plan({ ...first, targets }, now);
    if (JSON.stringify(plan({ ...first, targets }, now)) !== JSON.stringify(actions)) throw new Error('the same snapshot planned differently');
    for (const a of actions) {
      if (a.type === 'start') {
        set(a.hostIds, { status: 'InProgress' });
        inFlight.push(...a.hostIds);
        r.starts.push(a.hostIds);
        for (const id of a.hostIds) r.startedAt[id] = now;
      } else if (a.type === 'zone-complete') r.zoneCompletes.push(a.zone);
      else if (a.type === 'wait') r.waits.push(a.reason);
      else if (a.type === 'skip') set(a.hostIds, { status: 'Skipped' });
      else if (a.type === 'succeed' || a.type === 'fail') {
        r.final = a;
        r.statuses = Object.fromEntries(targets.map(x => [x.hostId, x.status]));
        return r;
      }
    }
    r.maxInFlight = Math.max(r.maxInFlight, inFlight.length);
    now += SECOND;
    const done = inFlight.shift();
    if (done !== undefined) {
      set([done], { status: failing.includes(done) ? 'Failed' : 'Succeeded', completedAt: now });
      r.completedAt[done] = now;
    }
  }
  throw new Error('rollout did not finish in 1000 steps');
}

const zoneOf = (id: string) => id.slice(0, 1);

t.test('zones are ordered by name, hosts without a zone last', async t => {
  const zones = zonesInOrder([{ zone: 'b' }, {}, { zone: 'a' }, { zone: 'c' }, { zone: 'a' }]);
  t.strictSame(zones.map(z => [z.name, z.targets.length]), [['a', 2], ['b', 1], ['c', 1], [undefined, 1]]);
});

t.test('a zonal rollout goes zone by zone, waiting each zone\'s monitor time', async t => {
  const r = simulate(snapshot(count(5), fleet(['c', 'a', 'b'])));
  t.equal(r.final.type, 'succeed');
  t.strictSame(r.starts, [['a1'], ['a2'], ['b1'], ['b2'], ['c1'], ['c2']], 'one at a time, zone a, then b, then c');
  t.strictSame(r.zoneCompletes, ['a', 'b'], 'zone-complete once per finished zone with zones left');
  t.ok(r.startedAt.b1! - r.completedAt.a2! >= 30 * SECOND, 'zone b waits the first zone\'s monitor time after a');
  t.ok(r.startedAt.b1! - r.completedAt.a2! < 31 * SECOND, '…and not much longer');
  t.ok(r.startedAt.c1! - r.completedAt.b2! >= 10 * SECOND, 'zone c waits the monitor time after b');
  t.ok(r.startedAt.c1! - r.completedAt.b2! < 11 * SECOND);
  t.match(r.waits.find(w => /monitoring/.test(w)), /^zone a finished; monitoring it for \d+s more \(of 30s\) before zone b starts/);
});

t.test('the wait names the time left, from the last host of the zone', async t => {
  const targets = fleet(['a', 'b']).map(x => (x.zone === 'a' ? { ...x, status: 'Succeeded' as const, completedAt: x.hostId === 'a1' ? 1000 : 5000 } : x));
  const config = zonal({ firstZoneMonitorMs: 20 * SECOND });
  t.strictSame(plan(snapshot(count(3), targets, config), 15_000), [
    { type: 'wait', reason: 'zone a finished; monitoring it for 10s more (of 20s) before zone b starts' },
  ]);
  const next = plan(snapshot(count(3), targets, config), 25_000);
  t.equal(next[0]?.type, 'zone-complete');
  t.match(next[0], { zone: 'a', zonesDone: 1, reason: /zone a finished and its monitor time of 20s passed: zone b is next \(2 of 2\)/ });
  t.match(next[1], { type: 'start', hostIds: ['b1'] });
});

t.test('hosts without a zone go last, as their own zone', async t => {
  const r = simulate(snapshot(count(5), fleet([undefined, 'b', 'a'])));
  t.equal(r.final.type, 'succeed');
  t.strictSame(r.starts.flat().map(zoneOf), ['a', 'a', 'b', 'b', 'x', 'x']);
  t.strictSame(r.zoneCompletes, ['a', 'b'], 'the last zone completes without a zone-complete');
});

t.test('the global minimum still limits concurrency within a zone', async t => {
  const r = simulate(snapshot(count(0), fleet(['a', 'b', 'c'], 3)));
  t.equal(r.final.type, 'succeed');
  t.strictSame(r.starts[0], ['a1', 'a2', 'a3'], 'AllAtOnce starts a whole zone, and only that zone');
  t.ok(r.starts.every(s => new Set(s.map(zoneOf)).size === 1), 'never two zones at once');
  const limited = simulate(snapshot(count(7), fleet(['a', 'b', 'c'], 3)));
  t.equal(limited.maxInFlight, 2, '9 hosts, minimum 7: two at a time');
});

t.test('the per-zone minimum limits concurrency within a zone', async t => {
  const cases: { name: string; perZone: MinimumHealthy; maxInFlight: number }[] = [
    { name: 'no per-zone minimum: the whole zone at once', perZone: count(0), maxInFlight: 4 },
    { name: 'per-zone 1 of 4: three at a time', perZone: count(1), maxInFlight: 3 },
    { name: 'per-zone 50% of 4: two at a time', perZone: percent(50), maxInFlight: 2 },
    { name: 'per-zone 60% of 4 rounds up to 3: one at a time', perZone: percent(60), maxInFlight: 1 },
  ];
  for (const c of cases) {
    const r = simulate(snapshot(count(0), fleet(['a', 'b', 'c'], 4), zonal({ minimumHealthyPerZone: c.perZone })));
    t.equal(r.final.type, 'succeed', c.name);
    t.equal(r.maxInFlight, c.maxInFlight, c.name);
  }
});

t.test('a failure in zone a fails the deployment before zone b starts', async t => {
  const r = simulate(snapshot(count(5), fleet(['a', 'b', 'c'])), ['a1']);
  t.match(r.final, { type: 'fail', errorCode: 'HEALTH_CONSTRAINTS' });
  t.strictSame(r.starts, [['a1']]);
  t.strictSame(r.zoneCompletes, []);
  t.strictSame(Object.entries(r.statuses).filter(([, s]) => s === 'Skipped').map(([id]) => id).sort(), ['a2', 'b1', 'b2', 'c1', 'c2']);
});

t.test('fail rules stay global: the last host failing still ends by the global minimum', async t => {
  const ok = simulate(snapshot(count(4), fleet(['a', 'b', 'c'])), ['c2']);
  t.equal(ok.final.type, 'succeed', '5 of 6 succeeded, minimum 4');
  const bad = simulate(snapshot(count(4), fleet(['a', 'b', 'c'])), ['a1', 'b1']);
  t.match(bad.final, { type: 'fail' }, 'two failures leave fewer than 4 healthy hosts possible');
  t.notOk(bad.startedAt.c1, 'zone c never started');
});

t.test('a per-zone minimum no zone can meet fails instead of waiting forever', async t => {
  const actions = plan(snapshot(count(0), fleet(['a', 'b'], 1), zonal({ minimumHealthyPerZone: count(1) })), 0);
  t.match(actions.at(-1), { type: 'fail', errorCode: 'HEALTH_CONSTRAINTS', reason: /zone a: 1 of 1 healthy, minimum 1/ });
});

t.test('a plan without a zonal config ignores zones', async t => {
  const actions = plan({ deploymentId: 'd-1', minimumHealthy: count(0), targets: fleet(['a', 'b']) }, 0);
  t.match(actions, [{ type: 'start', hostIds: ['a1', 'b1', 'a2', 'b2'] }]);
});
