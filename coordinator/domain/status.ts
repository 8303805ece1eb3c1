/**
 * Every state machine of the coordinator, one transition table each (docs/design/style.md §2). The store
 * changes a status only with compare-and-set against `allowedFrom(next)`.
 */
export const DEPLOYMENT_STATUSES = ['Created', 'Queued', 'InProgress', 'Paused', 'Succeeded', 'Failed', 'Stopped'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export const DEPLOYMENT_TRANSITIONS: Readonly<Record<DeploymentStatus, readonly DeploymentStatus[]>> = {
  Created: ['Queued', 'InProgress', 'Failed', 'Stopped'],
  Queued: ['InProgress', 'Failed', 'Stopped'],
  InProgress: ['Paused', 'Succeeded', 'Failed', 'Stopped'],
  Paused: ['InProgress', 'Failed', 'Stopped'],
  Succeeded: [],
  Failed: [],
  Stopped: [],
};

/** Statuses that hold the group: at most one deployment per group is in one of these. */
export const ACTIVE_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = ['InProgress', 'Paused'];
export const TERMINAL_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = ['Succeeded', 'Failed', 'Stopped'];

export const HOST_DEPLOYMENT_STATUSES = ['Pending', 'InProgress', 'Succeeded', 'Failed', 'Skipped', 'Unknown'] as const;
export type HostDeploymentStatus = (typeof HOST_DEPLOYMENT_STATUSES)[number];

/** How many of a deployment's host deployments are in each status (Store.hostDeploymentCounts). */
export type HostDeploymentCounts = Record<HostDeploymentStatus, number>;

export const HOST_DEPLOYMENT_TRANSITIONS: Readonly<Record<HostDeploymentStatus, readonly HostDeploymentStatus[]>> = {
  Pending: ['InProgress', 'Skipped', 'Unknown', 'Failed'],
  InProgress: ['Succeeded', 'Failed', 'Unknown'],
  // An agent that comes back after being declared lost reports what it reached meanwhile.
  Unknown: ['Succeeded', 'Failed'],
  Succeeded: [],
  Failed: [],
  Skipped: [],
};

/** Final host statuses: no exit. */
export const TERMINAL_HOST_STATUSES: readonly HostDeploymentStatus[] = ['Succeeded', 'Failed', 'Skipped'];
/**
 * Settled for the rollout: the host no longer holds up the deployment. `Unknown` (agent lost)
 * is settled but not final: an agent that comes back still reports what it reached.
 */
export const SETTLED_HOST_STATUSES: readonly HostDeploymentStatus[] = [...TERMINAL_HOST_STATUSES, 'Unknown'];

export const EVENT_RECORD_STATUSES = ['Pending', 'InProgress', 'Succeeded', 'Failed', 'Skipped'] as const;
export type EventRecordStatus = (typeof EVENT_RECORD_STATUSES)[number];

export const EVENT_RECORD_TRANSITIONS: Readonly<Record<EventRecordStatus, readonly EventRecordStatus[]>> = {
  Pending: ['InProgress', 'Succeeded', 'Failed', 'Skipped'],
  InProgress: ['Succeeded', 'Failed'],
  Succeeded: [],
  Failed: [],
  Skipped: [],
};

/** The statuses from which `to` may be reached: the `IN (…)` of a compare-and-set. */
export function allowedFrom<S extends string>(table: Readonly<Record<S, readonly S[]>>, to: S): S[] {
  return (Object.keys(table) as S[]).filter(from => table[from].includes(to));
}

export function canTransition<S extends string>(table: Readonly<Record<S, readonly S[]>>, from: S, to: S): boolean {
  return table[from].includes(to);
}
