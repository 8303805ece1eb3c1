import type { HostDeploymentStatus } from '../domain/status.js';
import type { MinimumHealthy, ZonalConfig } from '../domain/types.js';
import { type ZonalInput, decideZonal } from './plan-zonal.js';

/**
 * The rollout planner (DESIGN §4, CODEDEPLOY §5): one pure function from a snapshot of a
 * deployment's targets to the actions that move it on, each with a reason that states the numbers.
 * No store, gRPC, fs, logger or clock (STYLE 1): the scheduler loads the snapshot, plans, applies.
 *
 * Health, CodeDeploy's way: a host not yet attempted (Pending, still serving the old revision) or
 * Succeeded is healthy; InProgress is not; Failed, Unknown and Skipped are failed. The window
 * slides: at any moment start as many pending hosts as keep `healthy ≥ minimum`.
 */

/** What a host was running before this deployment, for dispatch order. */
export type RevisionHealth = 'unhealthy' | 'unknown' | 'old' | 'current';

export interface PlanTarget {
  hostId: string;
  status: HostDeploymentStatus;
  connected: boolean;
  revisionHealth: RevisionHealth;
  zone?: string;
  position: number;
  /** When the host's deployment ended (ms since the epoch), for zonal monitor times. */
  completedAt?: number;
}

export interface PlanSnapshot {
  deploymentId: string;
  minimumHealthy: MinimumHealthy;
  /** Zonal rollout: one zone at a time, a monitor time between zones (plan-zonal.ts). */
  zonal?: ZonalConfig;
  targets: PlanTarget[];
}

export type PlanAction =
  | { type: 'start'; hostIds: string[]; reason: string }
  /** Pending targets whose agent is not connected: they become Unknown (failed). */
  | { type: 'mark-lost'; hostIds: string[]; reason: string }
  /** Pending targets left when the deployment fails. */
  | { type: 'skip'; hostIds: string[]; reason: string }
  | { type: 'succeed'; reason: string }
  | { type: 'fail'; errorCode: 'NO_INSTANCES' | 'HEALTH_CONSTRAINTS' | 'HEALTH_CONSTRAINTS_INVALID'; reason: string }
  | { type: 'wait'; reason: string }
  /**
   * Zonal: `zone` (the `zonesDone`-th zone) finished and its monitor time passed; the next zone
   * starts in this plan. Planned until the next zone has started (so once, unless a gate holds it).
   */
  | { type: 'zone-complete'; zone: string; zonesDone: number; reason: string };

/** The minimum as a host count: percents round up; OneAtATime keeps all but one host healthy. */
export function minimumHealthyHosts(min: MinimumHealthy, total: number): number {
  switch (min.type) {
    case 'HOST_COUNT':
      return Math.max(min.value, 0);
    case 'FLEET_PERCENT':
      return Math.max(Math.ceil((min.value * total) / 100), 0);
    case 'ONE_AT_A_TIME':
      return Math.max(total - 1, 0);
  }
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

/** The snapshot's counts, with pending targets whose agent is gone already counted as lost. */
export interface Tally {
  total: number;
  minimum: number;
  /** What success needs: the minimum, and never less than one host. */
  required: number;
  /** Pending and connected, in dispatch order. */
  pending: PlanTarget[];
  lost: PlanTarget[];
  inFlight: number;
  succeeded: number;
  /** Failed, Unknown and Skipped targets (including `lost`), by position. */
  failed: PlanTarget[];
}

/** Plans the next step of one deployment. Same snapshot and `now`, same plan. */
export function plan(snapshot: PlanSnapshot, now: number): PlanAction[] {
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
    actions.push({
      type: 'mark-lost',
      hostIds: tally.lost.map(t => t.hostId),
      reason: `${hostList(tally.lost)} ${tally.lost.length === 1 ? 'has' : 'have'} no connected agent: counted as failed (AGENT_LOST)`,
    });
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
  const numbers = `${healthy} healthy (${pending.length} pending + ${succeeded} succeeded), ${inFlight} in flight, ${tally.failed.length} failed; minimum ${minimum} healthy`;
  if (canStart > 0) {
    const started = pending.slice(0, canStart);
    return [{ type: 'start', hostIds: started.map(t => t.hostId), reason: `start ${hostList(started)}: ${numbers}, so ${canStart} can leave service now` }];
  }
  if (inFlight === 0) {
    return failWith(tally, stuckReason(tally, min, numbers));
  }
  if (pending.length === 0) {
    return [{ type: 'wait', reason: `${plural(inFlight, 'host')} in flight, none pending: ${numbers}` }];
  }
  return [{ type: 'wait', reason: `${plural(inFlight, 'host')} in flight, 0 can start without going below ${minimum} healthy: ${numbers}` }];
}

export function failWith(tally: Tally, reason: string): PlanAction[] {
  const actions: PlanAction[] = [];
  if (tally.pending.length > 0) {
    actions.push({ type: 'skip', hostIds: tally.pending.map(t => t.hostId), reason: `deployment fails: ${reason}` });
  }
  actions.push({ type: 'fail', errorCode: 'HEALTH_CONSTRAINTS', reason });
  return actions;
}

function unreachableReason(tally: Tally, reachable: number): string {
  const { total, succeeded, inFlight, pending, required, failed } = tally;
  const detail = `${succeeded} succeeded + ${inFlight} in flight + ${pending.length} pending`;
  if (tally.minimum === 0) {
    return `none of ${plural(total, 'host')} succeeded (${failedList(failed)}): every deployment needs at least one success`;
  }
  return `${failedList(failed)}: at most ${reachable} of ${total} hosts can end healthy (${detail}), below the minimum of ${required}`;
}

export function stuckReason(tally: Tally, min: MinimumHealthy, numbers: string): string {
  const { failed, pending } = tally;
  if (min.type === 'ONE_AT_A_TIME') {
    return `${failedList(failed)} with ${plural(pending.length, 'host')} still pending: OneAtATime lets only the last host fail; ${numbers}`;
  }
  return `${failedList(failed)}: no pending host can start without going below the minimum; ${numbers}`;
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

/** "host h9 failed", "hosts h1, h3 failed", "host h2 was lost". */
function failedList(failed: PlanTarget[]): string {
  if (failed.length === 0) return 'no host failed';
  const lost = failed.every(t => t.status === 'Pending' || t.status === 'Unknown');
  return `${hostList(failed)} ${lost ? (failed.length === 1 ? 'was lost' : 'were lost') : 'failed'}`;
}

export function hostList(targets: PlanTarget[]): string {
  const ids = targets.map(t => t.hostId);
  const shown = ids.length > 10 ? [...ids.slice(0, 10), `… (${ids.length} in all)`] : ids;
  return `${ids.length === 1 ? 'host' : 'hosts'} ${shown.join(', ')}`;
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Locale-independent, so the plan is the same on every machine. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
