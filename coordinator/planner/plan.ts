import type { HostDeploymentStatus } from '../domain/status.js';
import type { MinimumHealthy, ZonalConfig } from '../domain/types.js';
import { type PlanGates, alarmStop, holdFor, windowHoldReason, withBake } from './gates.js';
import { type ZonalInput, decideZonal } from './plan-zonal.js';
import {
  type PlanAction, type PlanTarget, type RevisionHealth, type Tally, compareIds, failWith, failedList, healthNumbers, hostList, minimumHealthyHosts, plural,
  stuckReason, waitNonePending,
} from './rules.js';

/**
 * The rollout planner (docs/design/architecture.md §6, docs/design/codedeploy.md §5): one pure function from a snapshot of a
 * deployment's targets to the actions that move it on, each with a reason that states the numbers.
 * No store, gRPC, fs, logger or clock (docs/design/style.md §1): the scheduler loads the snapshot, plans, applies.
 *
 * Health, CodeDeploy's way: a host not yet attempted (Pending, still serving the old revision) or
 * Succeeded is healthy; InProgress is not; Failed, Unknown and Skipped are failed. The window
 * slides: at any moment start as many pending hosts as keep `healthy ≥ minimum`.
 */

export interface PlanSnapshot {
  deploymentId: string;
  minimumHealthy: MinimumHealthy;
  /** Zonal rollout: one zone at a time, a monitor time between zones (plan-zonal.ts). */
  zonal?: ZonalConfig;
  targets: PlanTarget[];
  /** `--require-all-hosts`: an offline target fails the deployment (HOSTS_OFFLINE) instead of being Skipped. */
  requireAllHosts?: boolean;
  /** Bake time, approval gate, window, alarms, and the pause the deployment is in (gates.ts). */
  gates?: PlanGates;
}

const REVISION_RANK: Readonly<Record<RevisionHealth, number>> = { unhealthy: 0, unknown: 1, old: 2, current: 3 };

/** Dispatch order: unhealthy, then unknown revision, then old, then current; then position, then host id. */
export function orderTargets(targets: PlanTarget[]): PlanTarget[] {
  return [...targets].sort(
    (a, b) =>
      REVISION_RANK[a.revisionHealth] - REVISION_RANK[b.revisionHealth] ||
      a.position - b.position ||
      compareIds(a.hostId, b.hostId),
  );
}

/**
 * Plans the next step of one deployment: the gates first (an alarm stops it; a pause waits, or a
 * window pause resumes), then the rollout rules, then the approval gate and the window may turn the
 * rollout's plan into a pause. Same snapshot and `now`, same plan.
 */
export function plan(snapshot: PlanSnapshot, now: number): PlanAction[] {
  const gates = snapshot.gates ?? {};
  const stop = alarmStop(gates, snapshot.targets);
  if (stop) return [stop];
  const held = pauseHold(gates, snapshot.deploymentId);
  if (held) return [held];
  const resumed: PlanAction[] = gates.paused === 'window'
    ? [{ type: 'resume', kind: 'window', reason: gates.window ? 'window open' : 'no window holds it any more' }]
    : [];
  const actions = rollout({ ...snapshot, targets: withBake(snapshot.targets, gates.bakeMs, now) }, now);
  const succeeded = snapshot.targets.filter(t => t.status === 'Succeeded').length;
  const hold = holdFor(gates, snapshot.deploymentId, actions, snapshot.targets.length, succeeded);
  return [...resumed, ...(hold ? [hold] : actions)];
}

/**
 * The wait of a pause that holds whatever the targets are (after alarms): an operator's, the approval
 * gate's, the window's while it is closed. Undefined when not paused, or paused for a window that is
 * open again (or no longer applies): then the deployment resumes.
 */
export function pauseHold(gates: PlanGates, deploymentId: string): PlanAction | undefined {
  switch (gates.paused) {
    case undefined:
      return undefined;
    case 'window':
      return gates.window && !gates.window.open ? { type: 'wait', reason: windowHoldReason(gates.window.opensAt) } : undefined;
    case 'approval':
      return { type: 'wait', reason: `awaiting approval: ferry deploy approve ${deploymentId}, or ferry deploy reject ${deploymentId}` };
    case 'operator':
      return { type: 'wait', reason: `paused by an operator: ferry deploy resume ${deploymentId}` };
  }
}

/** The rollout rules alone (no gates). */
function rollout(snapshot: PlanSnapshot, now: number): PlanAction[] {
  const { targets, minimumHealthy } = snapshot;
  if (targets.length === 0) {
    return [{ type: 'fail', errorCode: 'NO_INSTANCES', reason: 'the deployment group selects no hosts: nothing to deploy to' }];
  }
  const minimum = minimumHealthyHosts(minimumHealthy, targets.length);
  if (targets.every(t => t.status === 'Pending') && targets.length - minimum <= 0) {
    const reason = `${describeMinimum(minimumHealthy, targets.length)}: no host can be taken out of service; lower the minimum below ${targets.length}`;
    return [
      { type: 'skip', hostIds: orderTargets(targets).map(t => t.hostId), reason: `deployment cannot start: ${reason}` },
      { type: 'fail', errorCode: 'HEALTH_CONSTRAINTS_INVALID', reason },
    ];
  }
  const tally = count(targets, minimum);
  const actions: PlanAction[] = [];
  if (tally.lost.length > 0) {
    const offline = `${hostList(tally.lost)} ${tally.lost.length === 1 ? 'has' : 'have'} no connected agent`;
    if (snapshot.requireAllHosts) {
      const reason = `${offline} and --require-all-hosts is set: every target must take part`;
      return [{ type: 'skip-offline', hostIds: tally.lost.map(t => t.hostId), reason }, ...failWith(tally, reason).map(a => (a.type === 'fail' ? { ...a, errorCode: 'HOSTS_OFFLINE' as const } : a))];
    }
    actions.push({ type: 'skip-offline', hostIds: tally.lost.map(t => t.hostId), reason: `${offline}: Skipped (AGENT_OFFLINE), counted as not healthy` });
  }
  const zonal = snapshot.zonal ? { config: snapshot.zonal, targets, now } : undefined;
  return [...actions, ...decide(tally, minimumHealthy, zonal)];
}

export function count(targets: PlanTarget[], minimum: number): Tally {
  const byPosition = [...targets].sort((a, b) => a.position - b.position || compareIds(a.hostId, b.hostId));
  const lost = byPosition.filter(t => t.status === 'Pending' && !t.connected);
  return {
    total: targets.length,
    minimum,
    required: Math.max(minimum, 1),
    pending: orderTargets(targets.filter(t => t.status === 'Pending' && t.connected)),
    lost,
    inFlight: targets.filter(t => t.status === 'InProgress').length,
    succeeded: targets.filter(t => t.status === 'Succeeded').length,
    failed: byPosition.filter(t => isFailed(t.status) || lost.includes(t)),
  };
}

function isFailed(status: HostDeploymentStatus): boolean {
  return status === 'Failed' || status === 'Unknown' || status === 'Skipped';
}

/** The health rules, applied to a tally in which lost hosts already count as failed. */
function decide(tally: Tally, min: MinimumHealthy, zonal?: ZonalInput): PlanAction[] {
  const { pending, inFlight, succeeded, minimum, required } = tally;
  const reachable = succeeded + inFlight + pending.length;
  if (reachable < required) {
    return failWith(tally, unreachableReason(tally, reachable));
  }
  if (pending.length === 0 && inFlight === 0) {
    return [{ type: 'succeed', reason: successReason(tally, min) }];
  }
  if (zonal) return decideZonal(tally, min, zonal);
  const healthy = pending.length + succeeded;
  const canStart = Math.min(pending.length, healthy - minimum);
  const numbers = healthNumbers(healthy, pending.length, succeeded, inFlight, tally.failed.length, minimum);
  if (canStart > 0) {
    const started = pending.slice(0, canStart);
    return [{ type: 'start', hostIds: started.map(t => t.hostId), reason: `start ${hostList(started)}: ${numbers}, so ${canStart} can leave service now` }];
  }
  if (inFlight === 0) {
    return failWith(tally, stuckReason(tally, min, numbers));
  }
  if (pending.length === 0) return [waitNonePending(inFlight, numbers)];
  return [{ type: 'wait', reason: `${plural(inFlight, 'host')} in flight, 0 can start without going below ${minimum} healthy: ${numbers}` }];
}

function unreachableReason(tally: Tally, reachable: number): string {
  const { total, succeeded, inFlight, pending, required, failed } = tally;
  const detail = `${succeeded} succeeded + ${inFlight} in flight + ${pending.length} pending`;
  if (tally.minimum === 0) {
    return `none of ${plural(total, 'host')} succeeded (${failedList(failed)}): every deployment needs at least one success`;
  }
  return `${failedList(failed)}: at most ${reachable} of ${total} hosts can end healthy (${detail}), below the minimum of ${required}`;
}

function successReason(tally: Tally, min: MinimumHealthy): string {
  const { succeeded, total, minimum, failed } = tally;
  const counts = `${succeeded} of ${total} hosts succeeded, minimum ${minimum} healthy`;
  if (failed.length === 0) return `all ${total} hosts succeeded`;
  if (min.type === 'ONE_AT_A_TIME') {
    return `succeeded although ${failedList(failed)}: OneAtATime lets the last host fail (CodeDeploy's rule); ${counts}`;
  }
  return `succeeded although ${failedList(failed)}: ${counts}`;
}

function describeMinimum(min: MinimumHealthy, total: number): string {
  const minimum = minimumHealthyHosts(min, total);
  switch (min.type) {
    case 'HOST_COUNT':
      return `a minimum of ${plural(minimum, 'healthy host')} with ${plural(total, 'host')}`;
    case 'FLEET_PERCENT':
      return `${min.value}% of ${plural(total, 'host')} rounds up to ${plural(minimum, 'healthy host')}`;
    case 'ONE_AT_A_TIME':
      return `OneAtATime keeps ${minimum} of ${plural(total, 'host')} healthy`;
  }
}
