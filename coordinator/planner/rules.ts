import type { HostDeploymentStatus } from '../domain/status.js';
import type { MinimumHealthy } from '../domain/types.js';

/** The planner's vocabulary and counting rules, shared by plan.ts and plan-zonal.ts. Pure. */

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

export type PlanAction =
  | { type: 'start'; hostIds: string[]; reason: string }
  /** Pending targets whose agent is not connected at their turn: Skipped with AGENT_OFFLINE (not healthy). */
  | { type: 'skip-offline'; hostIds: string[]; reason: string }
  /** Pending targets left when the deployment fails. */
  | { type: 'skip'; hostIds: string[]; reason: string }
  | { type: 'succeed'; reason: string }
  | { type: 'fail'; errorCode: 'NO_INSTANCES' | 'HEALTH_CONSTRAINTS' | 'HEALTH_CONSTRAINTS_INVALID' | 'HOSTS_OFFLINE'; reason: string }
  | { type: 'wait'; reason: string }
  /**
   * Zonal: `zone` (the `zonesDone`-th zone) finished and its monitor time passed; the next zone
   * starts in this plan. Planned until the next zone has started (so once, unless a gate holds it).
   */
  | { type: 'zone-complete'; zone: string; zonesDone: number; reason: string }
  | GateAction;

/** What the gates (planner/gates.ts) make of a plan: a pause with its kind, a resume, or a stop. */
export type GateAction =
  | { type: 'pause'; kind: 'approval' | 'window'; reason: string }
  /** A window pause whose window is open again (or no longer applies): the deployment goes on in the same plan. */
  | { type: 'resume'; kind: 'window'; reason: string }
  | { type: 'stop'; errorCode: 'DEPLOYMENT_STOP_ON_ALARM'; trigger: 'alarm'; reason: string };

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

export function failWith(tally: Tally, reason: string): PlanAction[] {
  const actions: PlanAction[] = [];
  if (tally.pending.length > 0) {
    actions.push({ type: 'skip', hostIds: tally.pending.map(t => t.hostId), reason: `deployment fails: ${reason}` });
  }
  actions.push({ type: 'fail', errorCode: 'HEALTH_CONSTRAINTS', reason });
  return actions;
}

/** The numbers every rollout reason states. */
export function healthNumbers(healthy: number, pending: number, succeeded: number, inFlight: number, failed: number, minimum: number): string {
  return `${healthy} healthy (${pending} pending + ${succeeded} succeeded), ${inFlight} in flight, ${failed} failed; minimum ${minimum} healthy`;
}

/** Hosts in flight and none left to start: wait for them. */
export function waitNonePending(inFlight: number, numbers: string): PlanAction {
  return { type: 'wait', reason: `${plural(inFlight, 'host')} in flight, none pending: ${numbers}` };
}

export function stuckReason(tally: Tally, min: MinimumHealthy, numbers: string): string {
  const { failed, pending } = tally;
  if (min.type === 'ONE_AT_A_TIME') {
    return `${failedList(failed)} with ${plural(pending.length, 'host')} still pending: OneAtATime lets only the last host fail; ${numbers}`;
  }
  return `${failedList(failed)}: no pending host can start without going below the minimum; ${numbers}`;
}

/** "host h9 failed", "hosts h1, h3 failed", "host h2 was lost". */
export function failedList(failed: PlanTarget[]): string {
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
