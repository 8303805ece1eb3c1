import t from 'tap';
import { HOST_DEPLOYMENT_STATUSES, type HostDeploymentCounts, type HostDeploymentStatus } from '../../coordinator/domain/status.js';
import type { MinimumHealthy, PauseKind, ZonalConfig } from '../../coordinator/domain/types.js';
import type { PlanGates } from '../../coordinator/planner/gates.js';
import { type CountsSnapshot, planFromCounts } from '../../coordinator/planner/plan-counts.js';
import { type PlanSnapshot, plan } from '../../coordinator/planner/plan.js';
import type { PlanTarget, RevisionHealth } from '../../coordinator/planner/rules.js';

/**
 * The planner's decision from counts alone (plan-counts.ts) against the full planner: on many random
 * snapshots (statuses, connectivity, minimums, zonal or not, every gate), whenever it decides, it
 * decides what plan() plans from the rows, reason included.
 */

const NOW = Date.UTC(2026, 11, 7, 12);

/** A small deterministic generator (mulberry32): the same snapshots on every run. */
function generator(seed: number): (n: number) => number {
  let a = seed;
  return n => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return Math.floor((((x ^ (x >>> 14)) >>> 0) / 4294967296) * n);
  };
}

function countsOf(targets: readonly PlanTarget[]): HostDeploymentCounts {
  const counts = Object.fromEntries(HOST_DEPLOYMENT_STATUSES.map(s => [s, 0])) as HostDeploymentCounts;
  for (const x of targets) counts[x.status] += 1;
  return counts;
}

/** A random snapshot, as the scheduler would load it from the rows, and the counts the store keeps of the same rows. */
function randomSnapshot(random: (n: number) => number): { full: PlanSnapshot; counts: CountsSnapshot } {
  const n = 1 + random(random(4) === 0 ? 200 : 12);
  // Half of them with no host Pending (the case the counts decide), the others anything.
  const statuses: readonly HostDeploymentStatus[] = random(2) === 0
    ? ['InProgress', 'InProgress', 'Succeeded', 'Succeeded', 'Failed', 'Skipped', 'Unknown']
    : HOST_DEPLOYMENT_STATUSES;
  const healths: readonly RevisionHealth[] = ['unhealthy', 'unknown', 'old', 'current'];
  const targets: PlanTarget[] = Array.from({ length: n }, (_, i) => {
    const status = statuses[random(statuses.length)]!;
    const done = status !== 'Pending' && status !== 'InProgress';
    return {
      hostId: `h${random(1000)}-${i}`, status, connected: random(8) !== 0, revisionHealth: healths[random(4)]!, position: random(n),
      ...(random(3) > 0 && { zone: `zone-${random(3)}` }),
      ...(done && random(4) > 0 && { completedAt: NOW - random(120_000) }),
    };
  });
  const minimums: MinimumHealthy[] = [
    { type: 'ONE_AT_A_TIME' }, { type: 'FLEET_PERCENT', value: 50 }, { type: 'HOST_COUNT', value: 0 },
    { type: 'FLEET_PERCENT', value: random(101) }, { type: 'HOST_COUNT', value: random(n + 3) },
  ];
  const minimumHealthy = minimums[random(minimums.length)]!;
  const zonal: ZonalConfig | undefined = random(5) === 0
    ? { monitorMs: random(60_000), firstZoneMonitorMs: random(60_000), minimumHealthyPerZone: { type: 'FLEET_PERCENT', value: random(101) } }
    : undefined;
  const pauses: (PauseKind | undefined)[] = [undefined, undefined, undefined, 'operator', 'window', 'approval'];
  const paused = pauses[random(pauses.length)];
  const gates: PlanGates = {
    ...(random(3) === 0 && { bakeMs: random(2) * random(90_000) }),
    ...(random(3) === 0 && {
      approval: {
        approved: random(2) === 0,
        ...(random(2) === 0 && { afterHosts: random(n + 2) }),
        ...(random(3) === 0 && { afterZones: 1 + random(2) }),
      },
    }),
    ...(random(3) === 0 && { window: random(2) === 0 ? { open: true } : { open: false, opensAt: NOW + random(3_600_000) } }),
    alarms: random(4) === 0
      ? [{ hostId: targets[random(n)]!.hostId, hostLabel: 'web-1 (h)', name: 'cpu', reason: 'cpu > 90' }]
      : [],
    ...(paused && { paused }),
  };
  const requireAllHosts = random(4) === 0;
  return {
    full: { deploymentId: 'd-1', minimumHealthy, ...(zonal && { zonal }), targets, ...(requireAllHosts && { requireAllHosts: true }), gates },
    counts: { deploymentId: 'd-1', minimumHealthy, zonal: zonal !== undefined, counts: countsOf(targets), gates },
  };
}

t.test('whenever the counts decide, they decide what plan() plans from the rows, on 30,000 random snapshots', async t => {
  const random = generator(20261207);
  let decided = 0;
  let differ = 0;
  const decidedBy = new Map<string, number>();
  for (let i = 0; i < 30_000; i += 1) {
    const { full, counts } = randomSnapshot(random);
    const fast = planFromCounts(counts);
    if (fast === undefined) continue;
    decided += 1;
    decidedBy.set(full.minimumHealthy.type, (decidedBy.get(full.minimumHealthy.type) ?? 0) + 1);
    const expected = plan(full, NOW);
    if (JSON.stringify(fast) !== JSON.stringify(expected)) {
      differ += 1;
      if (differ <= 3) t.strictSame(fast, expected, `snapshot ${i}: ${JSON.stringify(full)}`);
    }
  }
  t.equal(differ, 0, 'no decision differs from plan()');
  t.ok(decided > 2000, `the counts decided ${decided} of them`);
  for (const type of ['ONE_AT_A_TIME', 'FLEET_PERCENT', 'HOST_COUNT']) t.ok((decidedBy.get(type) ?? 0) > 100, `${type}: ${decidedBy.get(type) ?? 0} decided`);
});

t.test('the counts decide an AllAtOnce or HalfAtATime in flight with none pending: wait, as plan() says', async t => {
  const counts = { Pending: 0, InProgress: 6000, Succeeded: 3990, Failed: 10, Skipped: 0, Unknown: 0 };
  t.strictSame(planFromCounts({ deploymentId: 'd-1', minimumHealthy: { type: 'HOST_COUNT', value: 0 }, zonal: false, counts }), [{
    type: 'wait', reason: '6000 hosts in flight, none pending: 3990 healthy (0 pending + 3990 succeeded), 6000 in flight, 10 failed; minimum 0 healthy',
  }]);
  t.strictSame(planFromCounts({ deploymentId: 'd-1', minimumHealthy: { type: 'FLEET_PERCENT', value: 50 }, zonal: false, counts })?.map(a => a.type), ['wait']);
});

t.test('the counts leave every other case to plan(): pending hosts, none in flight, the minimum out of reach, zonal, a window pause that resumes, alarms, baking', async t => {
  const base = { deploymentId: 'd-1', minimumHealthy: { type: 'HOST_COUNT', value: 0 } as MinimumHealthy, zonal: false };
  const counts = { Pending: 0, InProgress: 2, Succeeded: 3, Failed: 1, Skipped: 0, Unknown: 0 };
  t.ok(planFromCounts({ ...base, counts }), 'the case it decides');
  t.equal(planFromCounts({ ...base, counts: { ...counts, Pending: 1 } }), undefined, 'a host pending (connected or lost: only the rows tell)');
  t.equal(planFromCounts({ ...base, counts: { ...counts, InProgress: 0 } }), undefined, 'none in flight: a verdict');
  t.equal(planFromCounts({ ...base, minimumHealthy: { type: 'HOST_COUNT', value: 6 }, counts }), undefined, 'the minimum out of reach: a failure naming hosts');
  t.equal(planFromCounts({ ...base, minimumHealthy: { type: 'ONE_AT_A_TIME' }, counts: { ...counts, Failed: 2 } }), undefined, 'OneAtATime with two failures');
  t.equal(planFromCounts({ ...base, zonal: true, counts }), undefined, 'zonal');
  t.equal(planFromCounts({ ...base, counts, gates: { paused: 'window', window: { open: true } } }), undefined, 'paused for a window open again: it resumes');
  t.equal(planFromCounts({ ...base, counts, gates: { paused: 'operator', alarms: [{ hostId: 'h1', hostLabel: 'h1', name: 'cpu', reason: 'high' }] } }), undefined, 'paused, an alarm firing');
  t.equal(planFromCounts({ ...base, counts, gates: { alarms: [{ hostId: 'h1', hostLabel: 'h1', name: 'cpu', reason: 'high' }] } }), undefined, 'an alarm firing');
  t.equal(planFromCounts({ ...base, counts, gates: { bakeMs: 60_000 } }), undefined, 'bake time with hosts succeeded');
  t.ok(planFromCounts({ ...base, counts: { ...counts, Succeeded: 0 }, gates: { bakeMs: 60_000 } }), 'bake time with none succeeded changes nothing');
});

t.test('a pause that holds is decided from the counts whatever they are, as plan() says', async t => {
  const counts = { Pending: 5, InProgress: 0, Succeeded: 1, Failed: 2, Skipped: 0, Unknown: 0 };
  const base = { deploymentId: 'd-1', minimumHealthy: { type: 'ONE_AT_A_TIME' } as MinimumHealthy, zonal: true, counts };
  t.strictSame(planFromCounts({ ...base, gates: { paused: 'operator' } }), [{ type: 'wait', reason: 'paused by an operator: ferry deploy resume d-1' }]);
  t.strictSame(planFromCounts({ ...base, gates: { paused: 'approval', approval: { approved: false, afterHosts: 1 } } })?.map(a => a.type), ['wait']);
  t.strictSame(planFromCounts({ ...base, gates: { paused: 'window', window: { open: false } } })?.map(a => a.type), ['wait']);
});
