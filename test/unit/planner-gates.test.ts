import t from 'tap';
import type { HostDeploymentStatus } from '../../coordinator/domain/status.js';
import type { MinimumHealthy } from '../../coordinator/domain/types.js';
import type { FiringAlarm, PlanGates } from '../../coordinator/planner/gates.js';
import { type PlanSnapshot, plan } from '../../coordinator/planner/plan.js';
import type { PlanAction, PlanTarget } from '../../coordinator/planner/rules.js';

/**
 * The gates as inputs of the pure planner (coordinator/planner/gates.ts): bake time, the approval
 * gate, deployment windows, alarms and the pause a deployment is in, each alone, combined, and in
 * priority order. No store, no clock: every case is a snapshot, gates and `now`.
 */
const NOW = 1_000_000;
const OPENS = Date.parse('2026-12-08T02:00:00Z');
const count = (value: number): MinimumHealthy => ({ type: 'HOST_COUNT', value });

/** h1…h4 in position order; `statuses` by host id, completed 10 s before NOW when finished. */
function targets(statuses: Record<string, HostDeploymentStatus> = {}, zones?: Record<string, string>): PlanTarget[] {
  return ['h1', 'h2', 'h3', 'h4'].map((hostId, i) => {
    const status = statuses[hostId] ?? 'Pending';
    const done = status === 'Succeeded' || status === 'Failed' || status === 'Skipped';
    return {
      hostId, status, connected: true, revisionHealth: 'old' as const, position: i,
      ...(done && { completedAt: NOW - 10_000 }),
      ...(zones?.[hostId] && { zone: zones[hostId] }),
    };
  });
}

const alarm = (hostId: string): FiringAlarm => ({ hostId, hostLabel: `web-${hostId} (${hostId})`, name: 'errors', reason: 'errors 7 > 5' });
const closed: PlanGates['window'] = { open: false, opensAt: OPENS };

interface Case {
  name: string;
  statuses?: Record<string, HostDeploymentStatus>;
  /** Default: HOST_COUNT 2 of 4 hosts, so two can start at once. */
  minimum?: MinimumHealthy;
  gates: PlanGates;
  /** The plan's action types, in order, with a pause's kind (`pause:window`) or a stop's error code. */
  expected: string[];
  reason?: RegExp;
}

const H1_DONE = { h1: 'Succeeded' } as const;

const cases: Case[] = [
  // No gate: the rollout rules alone.
  { name: 'no gate: start two of four', gates: {}, expected: ['start'], reason: /start hosts h1, h2/ },

  // Bake time alone.
  { name: 'bake: a host that succeeded 10 s ago bakes for 60 s and counts as in flight', statuses: H1_DONE, minimum: count(3), gates: { bakeMs: 60_000 }, expected: ['wait'] },
  { name: 'bake: baked (5 s of bake, done 10 s ago), the next host starts', statuses: H1_DONE, minimum: count(3), gates: { bakeMs: 5_000 }, expected: ['start'], reason: /start host h2/ },
  { name: 'bake: the last host baking holds the verdict', statuses: { h1: 'Succeeded', h2: 'Succeeded', h3: 'Succeeded', h4: 'Succeeded' }, gates: { bakeMs: 60_000 }, expected: ['wait'] },
  { name: 'bake: baked, the verdict', statuses: { h1: 'Succeeded', h2: 'Succeeded', h3: 'Succeeded', h4: 'Succeeded' }, gates: { bakeMs: 10_000 }, expected: ['succeed'] },

  // The approval gate alone.
  { name: 'approval: --approve-after 1 with one success pauses before the next start', statuses: H1_DONE, gates: { approval: { afterHosts: 1, approved: false } }, expected: ['pause:approval'], reason: /awaiting approval: 1 host\(s\) succeeded \(--approve-after 1\); continue with ferry deploy approve d-1/ },
  { name: 'approval: approved, it goes on', statuses: H1_DONE, gates: { approval: { afterHosts: 1, approved: true } }, expected: ['start'] },
  { name: 'approval: --approve-after 2 with one success does not hold', statuses: H1_DONE, gates: { approval: { afterHosts: 2, approved: false } }, expected: ['start'] },
  { name: 'approval: no start planned (hosts in flight), no pause yet', statuses: { h1: 'Succeeded', h2: 'InProgress', h3: 'InProgress' }, gates: { approval: { afterHosts: 1, approved: false } }, expected: ['wait'] },
  { name: 'approval: --approve-after 5 on 4 hosts holds the verdict', statuses: { h1: 'Succeeded', h2: 'Succeeded', h3: 'Succeeded', h4: 'Succeeded' }, gates: { approval: { afterHosts: 5, approved: false } }, expected: ['pause:approval'], reason: /every host finished, 4 of 4 succeeded .*the gate comes before the verdict/ },
  { name: 'approval: approved, the verdict', statuses: { h1: 'Succeeded', h2: 'Succeeded', h3: 'Succeeded', h4: 'Succeeded' }, gates: { approval: { afterHosts: 5, approved: true } }, expected: ['succeed'] },
  { name: 'approval: a failing deployment fails, gate or not', statuses: { h1: 'Succeeded', h2: 'Failed', h3: 'Failed' }, minimum: count(3), gates: { approval: { afterHosts: 1, approved: false } }, expected: ['skip', 'fail'] },

  // The window alone.
  { name: 'window: closed, no new host starts', gates: { window: closed }, expected: ['pause:window'], reason: /outside window: no new host starts .*opens 2026-12-08T02:00:00.000Z, then it resumes by itself/ },
  { name: 'window: closed, none within a year', gates: { window: { open: false } }, expected: ['pause:window'], reason: /none opens within a year/ },
  { name: 'window: open', gates: { window: { open: true } }, expected: ['start'] },
  { name: 'window: closed while hosts are in flight and none can start: they finish', statuses: { h1: 'InProgress', h2: 'InProgress' }, gates: { window: closed }, expected: ['wait'] },
  { name: 'window: closed does not hold the verdict', statuses: { h1: 'Succeeded', h2: 'Succeeded', h3: 'Succeeded', h4: 'Succeeded' }, gates: { window: closed }, expected: ['succeed'] },

  // Alarms alone.
  { name: 'alarm: in ALARM on a host in flight stops the deployment', statuses: { h1: 'InProgress' }, gates: { alarms: [alarm('h1')] }, expected: ['stop:DEPLOYMENT_STOP_ON_ALARM'], reason: /^alarm errors is in ALARM on host web-h1 \(h1\): errors 7 > 5$/ },
  { name: 'alarm: on a host that succeeded', statuses: H1_DONE, gates: { alarms: [alarm('h1')] }, expected: ['stop:DEPLOYMENT_STOP_ON_ALARM'] },
  { name: 'alarm: on a host not touched yet (Pending) does not stop it', gates: { alarms: [alarm('h3')] }, expected: ['start'] },
  { name: 'alarm: on a Skipped host does not stop it', statuses: { h4: 'Skipped' }, gates: { alarms: [alarm('h4')] }, expected: ['start'] },
  { name: 'alarm: the first touched host in target order names the stop', statuses: { h1: 'Succeeded', h2: 'InProgress' }, gates: { alarms: [alarm('h2'), alarm('h1')] }, expected: ['stop:DEPLOYMENT_STOP_ON_ALARM'], reason: /host web-h1 \(h1\)/ },

  // Combined, in priority order.
  { name: 'alarm beats a closed window', statuses: { h1: 'InProgress' }, gates: { alarms: [alarm('h1')], window: closed }, expected: ['stop:DEPLOYMENT_STOP_ON_ALARM'] },
  { name: 'alarm beats the approval gate', statuses: H1_DONE, gates: { alarms: [alarm('h1')], approval: { afterHosts: 1, approved: false } }, expected: ['stop:DEPLOYMENT_STOP_ON_ALARM'] },
  { name: 'alarm beats the verdict', statuses: { h1: 'Succeeded', h2: 'Succeeded', h3: 'Succeeded', h4: 'Succeeded' }, gates: { alarms: [alarm('h4')] }, expected: ['stop:DEPLOYMENT_STOP_ON_ALARM'] },
  { name: 'alarm beats bake time', statuses: H1_DONE, minimum: count(3), gates: { alarms: [alarm('h1')], bakeMs: 60_000 }, expected: ['stop:DEPLOYMENT_STOP_ON_ALARM'] },
  { name: 'approval beats a closed window', statuses: H1_DONE, gates: { approval: { afterHosts: 1, approved: false }, window: closed }, expected: ['pause:approval'] },
  { name: 'approved, a closed window still holds', statuses: H1_DONE, gates: { approval: { afterHosts: 1, approved: true }, window: closed }, expected: ['pause:window'] },
  { name: 'baking: no start, so neither approval nor window pauses', statuses: H1_DONE, minimum: count(3), gates: { bakeMs: 60_000, approval: { afterHosts: 1, approved: false }, window: closed }, expected: ['wait'] },
  { name: 'baked: approval then', statuses: H1_DONE, minimum: count(3), gates: { bakeMs: 5_000, approval: { afterHosts: 1, approved: false }, window: closed }, expected: ['pause:approval'] },
  { name: 'an alarm on a pending host, window closed: the window holds', gates: { alarms: [alarm('h2')], window: closed }, expected: ['pause:window'] },

  // A deployment already paused.
  { name: 'paused by an operator: waits, whatever the plan', statuses: H1_DONE, gates: { paused: 'operator' }, expected: ['wait'], reason: /paused by an operator: ferry deploy resume d-1/ },
  { name: 'paused at the approval gate: waits', statuses: H1_DONE, gates: { paused: 'approval', approval: { afterHosts: 1, approved: false } }, expected: ['wait'], reason: /awaiting approval/ },
  { name: 'paused by an operator, then an alarm: the alarm stops it', statuses: { h1: 'InProgress' }, gates: { paused: 'operator', alarms: [alarm('h1')] }, expected: ['stop:DEPLOYMENT_STOP_ON_ALARM'] },
  { name: 'paused for the window, still closed: waits', gates: { paused: 'window', window: closed }, expected: ['wait'], reason: /outside window/ },
  { name: 'paused for the window, alarm on a host that finished meanwhile: stop beats the hold', statuses: { h1: 'Succeeded' }, gates: { paused: 'window', window: closed, alarms: [alarm('h1')] }, expected: ['stop:DEPLOYMENT_STOP_ON_ALARM'] },
  { name: 'paused for the window, open again: resume and start in the same plan', gates: { paused: 'window', window: { open: true } }, expected: ['resume:window', 'start'], reason: /window open/ },
  { name: 'paused for the window, the group has no window any more: resume', gates: { paused: 'window' }, expected: ['resume:window', 'start'], reason: /no window holds it/ },
  { name: 'paused for the window, open again, approval reached meanwhile: resume, then the approval gate', statuses: H1_DONE, gates: { paused: 'window', window: { open: true }, approval: { afterHosts: 1, approved: false } }, expected: ['resume:window', 'pause:approval'] },
];

function label(a: PlanAction): string {
  if (a.type === 'pause' || a.type === 'resume') return `${a.type}:${a.kind}`;
  if (a.type === 'stop') return `stop:${a.errorCode}`;
  return a.type;
}

t.test('gate decisions, each gate alone and combined', async t => {
  for (const c of cases) {
    const snapshot: PlanSnapshot = { deploymentId: 'd-1', minimumHealthy: c.minimum ?? count(2), targets: targets(c.statuses), gates: c.gates };
    const actions = plan(snapshot, NOW);
    t.same(actions.map(label), c.expected, c.name);
    if (c.reason) t.match(actions[0]!.reason, c.reason, `${c.name}: reason`);
    for (const a of actions) t.not(a.reason, '', `${c.name}: ${a.type} states a reason`);
    t.same(plan(snapshot, NOW), actions, `${c.name}: same inputs, same plan`);
  }
});

t.test('zonal: --approve-after first-zone pauses when the first zone is complete', async t => {
  const zones = { h1: 'a', h2: 'a', h3: 'b', h4: 'b' };
  const zonal = { monitorMs: 0, firstZoneMonitorMs: 5_000, minimumHealthyPerZone: count(0) };
  const snapshot = (gates: PlanGates): PlanSnapshot => ({
    deploymentId: 'd-1', minimumHealthy: count(0), zonal, targets: targets({ h1: 'Succeeded', h2: 'Succeeded' }, zones), gates,
  });
  const gated = plan(snapshot({ approval: { afterZones: 1, approved: false } }), NOW);
  t.same(gated.map(label), ['pause:approval']);
  t.match(gated[0]!.reason, /awaiting approval: zone a finished and its monitor time of 5s passed: zone b is next .*\(--approve-after first-zone\)/);
  t.same(plan(snapshot({ approval: { afterZones: 1, approved: true } }), NOW).map(label), ['zone-complete', 'start']);
  // Still monitoring zone a: no zone-complete yet, so no pause.
  t.same(plan(snapshot({ approval: { afterZones: 1, approved: false } }), NOW - 6_000).map(label), ['wait']);
  // An alarm on zone a's host stops it while monitoring.
  t.same(plan(snapshot({ approval: { afterZones: 1, approved: false }, alarms: [alarm('h2')] }), NOW - 6_000).map(label), ['stop:DEPLOYMENT_STOP_ON_ALARM']);
});
