import t from 'tap';
import type { HostDeploymentStatus } from '../../coordinator/domain/status.js';
import type { MinimumHealthy } from '../../coordinator/domain/types.js';
import { type PlanSnapshot, orderTargets, plan } from '../../coordinator/planner/plan.js';
import { type PlanAction, type PlanTarget, minimumHealthyHosts } from '../../coordinator/planner/rules.js';

const ONE_AT_A_TIME: MinimumHealthy = { type: 'ONE_AT_A_TIME' };
const HALF_AT_A_TIME: MinimumHealthy = { type: 'FLEET_PERCENT', value: 50 };
const ALL_AT_ONCE: MinimumHealthy = { type: 'HOST_COUNT', value: 0 };
const count = (value: number): MinimumHealthy => ({ type: 'HOST_COUNT', value });
const percent = (value: number): MinimumHealthy => ({ type: 'FLEET_PERCENT', value });

const target = (over: Partial<PlanTarget> = {}): PlanTarget => ({
  hostId: 'h1', status: 'Pending', connected: true, revisionHealth: 'old', position: 1, ...over,
});
/** h1…hn, in position order, all pending and connected. */
const hosts = (n: number, over: (i: number) => Partial<PlanTarget> = () => ({})): PlanTarget[] =>
  Array.from({ length: n }, (_, k) => target({ hostId: `h${k + 1}`, position: k + 1, ...over(k + 1) }));
const snapshot = (minimumHealthy: MinimumHealthy, targets: PlanTarget[]): PlanSnapshot => ({ deploymentId: 'd-1', minimumHealthy, targets });
/** Sets statuses by host id: `withStatus(hosts(9), { h1: 'Failed' })`. */
const withStatus = (targets: PlanTarget[], statuses: Record<string, HostDeploymentStatus>): PlanTarget[] =>
  targets.map(x => ({ ...x, status: statuses[x.hostId] ?? x.status }));

type Outcome = 'ok' | 'fail' | 'lost';
const OUTCOME_STATUS: Record<Outcome, HostDeploymentStatus> = { ok: 'Succeeded', fail: 'Failed', lost: 'Unknown' };

interface Rollout {
  final: PlanAction;
  starts: string[][];
  maxInFlight: number;
  skipped: string[];
  statuses: Record<string, HostDeploymentStatus>;
  /** A start that left fewer healthy hosts than the minimum (must never happen). */
  violations: string[];
  plans: PlanAction[][];
}

/**
 * Runs a whole rollout: plan, apply the actions (start → InProgress, skip-offline → Skipped,
 * skip → Skipped), then finish the oldest host in flight with its scripted outcome (default ok).
 */
function simulate(first: PlanSnapshot, outcomes: Record<string, Outcome> = {}): Rollout {
  let targets = first.targets.map(x => ({ ...x }));
  const minimum = minimumHealthyHosts(first.minimumHealthy, targets.length);
  const r: Rollout = { final: { type: 'wait', reason: '' }, starts: [], maxInFlight: 0, skipped: [], statuses: {}, violations: [], plans: [] };
  const inFlight: string[] = [];
  const set = (ids: string[], status: HostDeploymentStatus) => {
    targets = targets.map(x => (ids.includes(x.hostId) ? { ...x, status } : x));
  };
  for (let step = 0; step < 1000; step++) {
    const actions = plan({ ...first, targets }, step);
    r.plans.push(actions);
    for (const a of actions) {
      if (a.reason === '') r.violations.push(`empty reason on ${a.type}`);
      if (a.type === 'start') {
        set(a.hostIds, 'InProgress');
        inFlight.push(...a.hostIds);
        r.starts.push(a.hostIds);
        const healthy = targets.filter(x => x.status === 'Pending' || x.status === 'Succeeded').length;
        if (healthy < minimum) r.violations.push(`start ${a.hostIds.join(',')} left ${healthy} healthy < ${minimum}`);
      } else if (a.type === 'skip-offline') set(a.hostIds, 'Skipped');
      else if (a.type === 'skip') {
        set(a.hostIds, 'Skipped');
        r.skipped.push(...a.hostIds);
      } else if (a.type === 'succeed' || a.type === 'fail') {
        r.final = a;
        r.statuses = Object.fromEntries(targets.map(x => [x.hostId, x.status]));
        return r;
      }
    }
    r.maxInFlight = Math.max(r.maxInFlight, inFlight.length);
    const done = inFlight.shift();
    if (done === undefined) throw new Error(`planner stuck: ${JSON.stringify(actions)}`);
    set([done], OUTCOME_STATUS[outcomes[done] ?? 'ok']);
  }
  throw new Error('rollout did not finish in 1000 steps');
}

const failing = (...ids: string[]): Record<string, Outcome> => Object.fromEntries(ids.map(id => [id, 'fail' as const]));
const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, k) => `h${from + k}`);

t.test('minimum healthy hosts resolves to a count, percents rounding up', async t => {
  const cases: { name: string; min: MinimumHealthy; total: number; expected: number }[] = [
    { name: 'HOST_COUNT 6 of 9 is 6', min: count(6), total: 9, expected: 6 },
    { name: 'FLEET_PERCENT 40 of 9 is 3.6, rounded up to 4', min: percent(40), total: 9, expected: 4 },
    { name: 'FLEET_PERCENT 50 of 9 (HalfAtATime) is 4.5, rounded up to 5', min: HALF_AT_A_TIME, total: 9, expected: 5 },
    { name: 'FLEET_PERCENT 95 of 10 is 9.5, rounded up to 10', min: percent(95), total: 10, expected: 10 },
    { name: 'FLEET_PERCENT 70 of 10 is exactly 7', min: percent(70), total: 10, expected: 7 },
    { name: 'FLEET_PERCENT 0 is 0', min: percent(0), total: 10, expected: 0 },
    { name: 'OneAtATime on 10 hosts keeps 9', min: ONE_AT_A_TIME, total: 10, expected: 9 },
    { name: 'OneAtATime on 1 host keeps 0', min: ONE_AT_A_TIME, total: 1, expected: 0 },
    { name: 'OneAtATime on no hosts keeps 0', min: ONE_AT_A_TIME, total: 0, expected: 0 },
    { name: 'AllAtOnce keeps 0', min: ALL_AT_ONCE, total: 10, expected: 0 },
  ];
  for (const c of cases) t.equal(minimumHealthyHosts(c.min, c.total), c.expected, c.name);
});

t.test('whole rollouts end as CodeDeploy ends them', async t => {
  const cases: {
    name: string;
    min: MinimumHealthy;
    n: number;
    outcomes?: Record<string, Outcome>;
    final: 'succeed' | 'fail';
    errorCode?: string;
    firstStart?: string[];
    maxInFlight?: number;
    skipped?: string[];
    reason?: RegExp;
  }[] = [
    {
      name: '9 hosts at HOST_COUNT 6 deploy up to 3 at a time and succeed',
      min: count(6), n: 9, final: 'succeed', firstStart: ['h1', 'h2', 'h3'], maxInFlight: 3, reason: /^all 9 hosts succeeded/,
    },
    {
      name: '9 hosts at HOST_COUNT 6 succeed with exactly 6 successes (3 failures, the last one on the last host)',
      min: count(6), n: 9, outcomes: failing('h1', 'h2', 'h9'), final: 'succeed',
      reason: /^succeeded although hosts h1, h2, h9 failed: 6 of 9 hosts succeeded, minimum 6 healthy/,
    },
    {
      name: '9 hosts at HOST_COUNT 6 fail when the first 3 fail, and the other 6 are skipped',
      min: count(6), n: 9, outcomes: failing('h1', 'h2', 'h3'), final: 'fail', errorCode: 'HEALTH_CONSTRAINTS', skipped: range(4, 9),
    },
    {
      name: '9 hosts at FLEET_PERCENT 40 (minimum 4) deploy up to 5 at a time and succeed',
      min: percent(40), n: 9, final: 'succeed', firstStart: range(1, 5), maxInFlight: 5,
    },
    {
      name: '9 hosts at FLEET_PERCENT 40 succeed with 5 successes after 4 failures',
      min: percent(40), n: 9, outcomes: failing('h1', 'h2', 'h3', 'h4'), final: 'succeed',
    },
    {
      name: '9 hosts at FLEET_PERCENT 40 fail when the first 5 fail',
      min: percent(40), n: 9, outcomes: failing(...range(1, 5)), final: 'fail', errorCode: 'HEALTH_CONSTRAINTS', skipped: range(6, 9),
    },
    {
      name: '10 hosts at FLEET_PERCENT 95 fail at once: the minimum rounds up to the whole fleet',
      min: percent(95), n: 10, final: 'fail', errorCode: 'HEALTH_CONSTRAINTS_INVALID', skipped: range(1, 10),
      reason: /^95% of 10 hosts rounds up to 10 healthy hosts: no host can be taken out of service; lower the minimum/,
    },
    {
      name: '3 hosts at HOST_COUNT 3 fail at once as invalid',
      min: count(3), n: 3, final: 'fail', errorCode: 'HEALTH_CONSTRAINTS_INVALID', reason: /minimum of 3 healthy hosts with 3 hosts/,
    },
    {
      name: 'OneAtATime failing on a middle host fails at once and skips the rest',
      min: ONE_AT_A_TIME, n: 5, outcomes: failing('h3'), final: 'fail', errorCode: 'HEALTH_CONSTRAINTS', maxInFlight: 1,
      skipped: ['h4', 'h5'], reason: /host h3 failed with 2 hosts still pending: OneAtATime lets only the last host fail/,
    },
    {
      name: 'OneAtATime failing on the last host succeeds, and says so loudly',
      min: ONE_AT_A_TIME, n: 5, outcomes: failing('h5'), final: 'succeed', maxInFlight: 1,
      reason: /^succeeded although host h5 failed: OneAtATime lets the last host fail \(CodeDeploy's rule\)/,
    },
    {
      name: 'OneAtATime on 1 host that fails fails',
      min: ONE_AT_A_TIME, n: 1, outcomes: failing('h1'), final: 'fail', errorCode: 'HEALTH_CONSTRAINTS',
      reason: /none of 1 host succeeded \(host h1 failed\): every deployment needs at least one success/,
    },
    { name: 'OneAtATime on 1 host that succeeds succeeds', min: ONE_AT_A_TIME, n: 1, final: 'succeed', firstStart: ['h1'] },
    {
      name: 'AllAtOnce with all but one failing succeeds',
      min: ALL_AT_ONCE, n: 5, outcomes: failing('h1', 'h2', 'h3', 'h4'), final: 'succeed', firstStart: range(1, 5), maxInFlight: 5,
      reason: /^succeeded although hosts h1, h2, h3, h4 failed: 1 of 5 hosts succeeded/,
    },
    {
      name: 'AllAtOnce with every host failing fails',
      min: ALL_AT_ONCE, n: 5, outcomes: failing(...range(1, 5)), final: 'fail', errorCode: 'HEALTH_CONSTRAINTS',
      reason: /at least one success/,
    },
    {
      name: 'HalfAtATime on 9 hosts deploys 4 at a time and succeeds',
      min: HALF_AT_A_TIME, n: 9, final: 'succeed', firstStart: range(1, 4), maxInFlight: 4,
    },
    {
      name: 'HalfAtATime on 9 hosts succeeds with 5 successes and 4 failures',
      min: HALF_AT_A_TIME, n: 9, outcomes: failing(...range(6, 9)), final: 'succeed',
    },
    {
      name: 'HalfAtATime on 9 hosts fails with only 4 successes possible',
      min: HALF_AT_A_TIME, n: 9, outcomes: failing(...range(5, 9)), final: 'fail', errorCode: 'HEALTH_CONSTRAINTS', skipped: ['h9'],
    },
    {
      name: 'HOST_COUNT 8 of 10 (two at a time) succeeds when the second failure is on the last host',
      min: count(8), n: 10, outcomes: failing('h1', 'h10'), final: 'succeed', maxInFlight: 2,
    },
    {
      name: 'HOST_COUNT 8 of 10 fails when the second failure leaves hosts pending',
      min: count(8), n: 10, outcomes: failing('h1', 'h5'), final: 'fail', errorCode: 'HEALTH_CONSTRAINTS', skipped: range(6, 10),
    },
    {
      name: 'a host lost while in flight counts as failed',
      min: ONE_AT_A_TIME, n: 3, outcomes: { h2: 'lost' }, final: 'fail', errorCode: 'HEALTH_CONSTRAINTS', skipped: ['h3'],
      reason: /host h2 was lost/,
    },
  ];
  for (const c of cases) {
    const r = simulate(snapshot(c.min, hosts(c.n)), c.outcomes);
    t.equal(r.final.type, c.final, c.name);
    t.same(r.violations, [], `${c.name}: never below the minimum`);
    if (c.errorCode !== undefined) t.equal(r.final.type === 'fail' ? r.final.errorCode : undefined, c.errorCode, `${c.name}: error code`);
    if (c.firstStart !== undefined) t.same(r.starts[0], c.firstStart, `${c.name}: first batch`);
    if (c.maxInFlight !== undefined) t.equal(r.maxInFlight, c.maxInFlight, `${c.name}: most hosts in flight`);
    if (c.skipped !== undefined) t.same(r.skipped, c.skipped, `${c.name}: skipped hosts`);
    if (c.reason !== undefined) t.match(r.final.reason, c.reason, `${c.name}: reason`);
  }
});

t.test('a group with no hosts fails with NO_INSTANCES', async t => {
  const actions = plan(snapshot(ONE_AT_A_TIME, []), 0);
  t.same(actions.map(a => a.type), ['fail']);
  t.match(actions[0], { type: 'fail', errorCode: 'NO_INSTANCES', reason: /selects no hosts/ });
});

t.test('the window slides: a new host starts as soon as one finishes, not in lock-step batches', async t => {
  const r = simulate(snapshot(count(6), hosts(9)));
  t.same(r.starts, [['h1', 'h2', 'h3'], ['h4'], ['h5'], ['h6'], ['h7'], ['h8'], ['h9']], 'one new host per finished host');
  const afterFirst = plan(snapshot(count(6), withStatus(hosts(9), { h1: 'Succeeded', h2: 'InProgress', h3: 'InProgress' })), 0);
  t.same(afterFirst.map(a => a.type), ['start'], 'h4 starts while h2 and h3 are still in flight');
  t.match(afterFirst[0], { hostIds: ['h4'], reason: /7 healthy \(6 pending \+ 1 succeeded\), 2 in flight, 0 failed; minimum 6 healthy, so 1 can leave service now/ });
});

t.test('the planner waits, with its numbers, while no host can start', async t => {
  const cases: { name: string; targets: PlanTarget[]; min: MinimumHealthy; reason: RegExp }[] = [
    {
      name: 'a full window waits',
      min: count(6), targets: withStatus(hosts(9), { h1: 'InProgress', h2: 'InProgress', h3: 'InProgress' }),
      reason: /^3 hosts in flight, 0 can start without going below 6 healthy/,
    },
    {
      name: 'the last hosts in flight are waited for',
      min: count(6),
      targets: withStatus(hosts(9), Object.fromEntries(range(1, 9).map(id => [id, id === 'h2' || id === 'h3' ? 'InProgress' : 'Succeeded']))),
      reason: /^2 hosts in flight, none pending/,
    },
  ];
  for (const c of cases) t.same(plan(snapshot(c.min, c.targets), 0).map(a => a.type), ['wait'], c.name);
  for (const c of cases) t.match(plan(snapshot(c.min, c.targets), 0)[0]?.reason, c.reason, `${c.name}: reason`);
});

t.test('pending hosts without a connected agent are Skipped as offline and count as not healthy in the same plan', async t => {
  const cases: { name: string; min: MinimumHealthy; targets: PlanTarget[]; expected: Partial<PlanAction>[] }[] = [
    {
      name: 'one lost host of 5 at HOST_COUNT 3 leaves room for one start',
      min: count(3), targets: hosts(5, i => ({ connected: i !== 2 })),
      expected: [{ type: 'skip-offline', hostIds: ['h2'] }, { type: 'start', hostIds: ['h1'] }],
    },
    {
      name: 'two lost hosts of 5 at HOST_COUNT 3 fail the deployment and skip the rest',
      min: count(3), targets: hosts(5, i => ({ connected: i !== 2 && i !== 4 })),
      expected: [
        { type: 'skip-offline', hostIds: ['h2', 'h4'] },
        { type: 'skip', hostIds: ['h1', 'h3', 'h5'] },
        { type: 'fail', errorCode: 'HEALTH_CONSTRAINTS' },
      ],
    },
    {
      name: 'OneAtATime whose last pending host is lost succeeds, loudly',
      min: ONE_AT_A_TIME, targets: withStatus(hosts(3, i => ({ connected: i !== 3 })), { h1: 'Succeeded', h2: 'Succeeded' }),
      expected: [{ type: 'skip-offline', hostIds: ['h3'] }, { type: 'succeed' }],
    },
    {
      name: 'AllAtOnce with every agent gone fails for want of one success',
      min: ALL_AT_ONCE, targets: hosts(2, () => ({ connected: false })),
      expected: [{ type: 'skip-offline', hostIds: ['h1', 'h2'] }, { type: 'fail', errorCode: 'HEALTH_CONSTRAINTS' }],
    },
    {
      name: 'a host in flight whose agent is gone is left to the heartbeat rules',
      min: ALL_AT_ONCE, targets: withStatus(hosts(2, i => ({ connected: i !== 1 })), { h1: 'InProgress', h2: 'InProgress' }),
      expected: [{ type: 'wait' }],
    },
  ];
  for (const c of cases) {
    const actions = plan(snapshot(c.min, c.targets), 0);
    t.same(actions.map(a => a.type), c.expected.map(a => a.type), c.name);
    t.match(actions, c.expected, c.name);
  }
  const lost = plan(snapshot(ONE_AT_A_TIME, withStatus(hosts(3, i => ({ connected: i !== 3 })), { h1: 'Succeeded', h2: 'Succeeded' })), 0);
  t.match(lost[0]?.reason, /host h3 has no connected agent: Skipped \(AGENT_OFFLINE\), counted as not healthy/, 'the reason names the offline host');
  const strict = plan({ ...snapshot(ALL_AT_ONCE, hosts(3, i => ({ connected: i !== 2 }))), requireAllHosts: true }, 0);
  t.match(strict, [
    { type: 'skip-offline', hostIds: ['h2'] }, { type: 'skip', hostIds: ['h1', 'h3'] },
    { type: 'fail', errorCode: 'HOSTS_OFFLINE', reason: /host h2 has no connected agent and --require-all-hosts is set/ },
  ], '--require-all-hosts: one offline target fails the deployment before any host starts');
  t.match(lost[1]?.reason, /^succeeded although host h3 was lost: OneAtATime lets the last host fail/, 'the success says a host was lost');
});

t.test('a failing deployment skips pending hosts and leaves hosts in flight alone', async t => {
  const targets = withStatus(hosts(9), { h1: 'Failed', h2: 'Failed', h3: 'Unknown', h4: 'Skipped', h5: 'InProgress' });
  const actions = plan(snapshot(count(6), targets), 0);
  t.same(actions.map(a => a.type), ['skip', 'fail']);
  t.match(actions[0], { type: 'skip', hostIds: ['h6', 'h7', 'h8', 'h9'] });
  t.match(actions[1], {
    type: 'fail',
    errorCode: 'HEALTH_CONSTRAINTS',
    reason: /^hosts h1, h2, h3, h4 failed: at most 5 of 9 hosts can end healthy \(0 succeeded \+ 1 in flight \+ 4 pending\), below the minimum of 6/,
  });
});

t.test('hosts are dispatched unhealthy first, then unknown revision, then old, then current', async t => {
  const targets = [
    target({ hostId: 'a', position: 1, revisionHealth: 'current' }),
    target({ hostId: 'b', position: 2, revisionHealth: 'old' }),
    target({ hostId: 'c', position: 3, revisionHealth: 'unknown' }),
    target({ hostId: 'd', position: 4, revisionHealth: 'unhealthy' }),
    target({ hostId: 'e', position: 5, revisionHealth: 'old' }),
    target({ hostId: 'f', position: 0, revisionHealth: 'old' }),
    target({ hostId: 'g2', position: 6, revisionHealth: 'unknown' }),
    target({ hostId: 'g1', position: 6, revisionHealth: 'unknown' }),
  ];
  const expected = ['d', 'c', 'g1', 'g2', 'f', 'b', 'e', 'a'];
  t.same(orderTargets(targets).map(x => x.hostId), expected, 'by revision health, then position, then host id');
  t.same(targets.map(x => x.hostId), ['a', 'b', 'c', 'd', 'e', 'f', 'g2', 'g1'], 'the input is not reordered');
  t.same(simulate(snapshot(ONE_AT_A_TIME, targets)).starts.flat(), expected, 'a rollout starts hosts in that order');
  t.match(plan(snapshot(count(5), targets), 0), [{ type: 'start', hostIds: ['d', 'c', 'g1'] }], 'a batch takes the first hosts in order');
});

t.test('the same snapshot always gives the same plan', async t => {
  const snapshots: { name: string; snap: PlanSnapshot }[] = [
    { name: 'a fresh start', snap: snapshot(count(6), hosts(9)) },
    { name: 'mid-rollout with lost hosts', snap: snapshot(percent(40), withStatus(hosts(9, i => ({ connected: i !== 8 })), { h1: 'Succeeded', h2: 'Failed', h3: 'InProgress' })) },
    { name: 'a failing rollout', snap: snapshot(ONE_AT_A_TIME, withStatus(hosts(4), { h1: 'Failed' })) },
  ];
  for (const { name, snap } of snapshots) {
    const frozen = structuredClone(snap);
    t.same(plan(snap, 0), plan(snap, 0), `${name}: planned twice`);
    t.same(plan(snap, 0), plan(snap, 1_000_000), `${name}: now does not change the plan yet`);
    t.same(plan(snap, 0), plan({ ...snap, targets: [...snap.targets].reverse() }, 0), `${name}: target order in the snapshot does not matter`);
    t.same(snap, frozen, `${name}: the snapshot is not changed`);
  }
});

t.test('random rollouts never go below the minimum and end by the rules', async t => {
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const configs: MinimumHealthy[] = [ONE_AT_A_TIME, HALF_AT_A_TIME, ALL_AT_ONCE, count(2), percent(34), percent(75)];
  let checked = 0;
  for (let run = 0; run < 300; run++) {
    const min = configs[random(configs.length)] ?? ONE_AT_A_TIME;
    const n = 1 + random(12);
    const outcomes: Record<string, Outcome> = Object.fromEntries(range(1, n).map(id => [id, (['ok', 'ok', 'fail', 'lost'] as const)[random(4)] ?? 'ok']));
    const targets = hosts(n, () => ({ connected: random(10) !== 0 }));
    const minimum = minimumHealthyHosts(min, n);
    const r = simulate(snapshot(min, targets), outcomes);
    const name = `run ${run}: ${JSON.stringify(min)} on ${n} hosts`;
    if (r.violations.length > 0) t.fail(`${name}: ${r.violations.join('; ')}`);
    const statuses = Object.values(r.statuses);
    const succeeded = statuses.filter(s => s === 'Succeeded').length;
    if (r.final.type === 'succeed') {
      // Offline targets end Skipped (AGENT_OFFLINE) in a success; no other host may be left out.
      if (succeeded < Math.max(minimum, 1) || statuses.some(s => s === 'Pending') || r.skipped.length > 0) t.fail(`${name}: succeeded by mistake`);
    } else if (r.final.type === 'fail') {
      if (r.final.errorCode === 'HEALTH_CONSTRAINTS_INVALID' ? n > minimum : statuses.includes('Pending')) t.fail(`${name}: failed by mistake`);
    }
    checked++;
  }
  t.equal(checked, 300, '300 random rollouts checked');
});
