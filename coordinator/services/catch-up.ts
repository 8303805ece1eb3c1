import type { Context } from '../context.js';
import { matchesTagSets } from '../domain/tags.js';
import type { Deployment, DeploymentGroup, Host, HostDeployment } from '../domain/types.js';
import type { HostRevisionState } from '../store/store.js';
import { createDeployment } from './deployments.js';

/**
 * Catch-up (CodeDeploy's Auto Scaling behaviour, made precise; docs/rollouts.md "Catch-up"): a
 * host that joins a group later, or was offline when the group's target was deployed, gets the
 * group's target revision — and nothing else is ever deployed by itself.
 *
 * The target is the group's last successful deployment not made by catch-up. A host is caught up
 * only when it matches the group, its agent is connected and idle, the group has no active or
 * queued deployment (a running rollout decides what the group runs; when it ends, the group is
 * evaluated again), the host was not a target of the target deployment (or was Skipped there as
 * AGENT_OFFLINE), it does not already run the target revision, and it was never caught up to that
 * revision before. A host that failed stays failed until someone deploys. Evaluated when a host
 * registers (for its groups) and when a deployment of a group ends (for that group only).
 */

/** What the rule reads about one host. */
export interface CatchUpHost {
  host: Pick<Host, 'id' | 'tags'>;
  connected: boolean;
  /** No host deployment in flight on it, and its Register reported no run in progress. */
  idle: boolean;
  /** Its host deployment in the target deployment, if it was a target. */
  inTarget?: Pick<HostDeployment, 'status' | 'errorCode'>;
  /** What it runs for this group, as last reported. */
  revision?: Pick<HostRevisionState, 'revisionDigest' | 'lastStatus'>;
}

/** Why a host is not caught up, or undefined when it is. Pure. */
export function catchUpRefusal(group: Pick<DeploymentGroup, 'tagSets'>, target: Pick<Deployment, 'revisionDigest'> | undefined, busy: boolean, h: CatchUpHost): string | undefined {
  if (!target) return 'the group has no successful deployment yet';
  if (!matchesTagSets(h.host.tags, group.tagSets)) return 'the host does not match the group';
  if (busy) return 'the group has an active or queued deployment';
  if (!h.connected) return 'the agent is not connected';
  if (!h.idle) return 'the agent is running a deployment';
  if (h.inTarget && !(h.inTarget.status === 'Skipped' && h.inTarget.errorCode === 'AGENT_OFFLINE')) {
    return `the host was a target of the group's last deployment (${h.inTarget.status})`;
  }
  if (h.revision?.revisionDigest === target.revisionDigest && h.revision.lastStatus === 'Succeeded') return 'the host runs the target revision';
  return undefined;
}

/** A host deployment in flight anywhere: the host is not idle. */
function inFlight(ctx: Context, hostId: string): boolean {
  return ctx.store.hostDeploymentsOnHost(hostId, ['InProgress']).length > 0;
}

function busy(ctx: Context, group: DeploymentGroup): boolean {
  return ctx.store.activeDeployment(group.id) !== undefined || ctx.store.nextQueued(group.id) !== undefined;
}

function candidate(ctx: Context, target: Deployment, host: Host, groupId: string, running: string | undefined): CatchUpHost {
  const inTarget = ctx.store.getHostDeployment(target.id, host.id);
  const revision = ctx.store.hostRevision(groupId, host.id);
  return {
    host, connected: ctx.registry.isConnected(host.id), idle: !running && !inFlight(ctx, host.id),
    ...(inTarget && { inTarget }), ...(revision && { revision }),
  };
}

/** Creates one catch-up deployment of the group's target to `hostIds` (those never caught up to it before). */
function catchUp(ctx: Context, group: DeploymentGroup, target: Deployment, hostIds: string[], why: string): Deployment | undefined {
  const claimed = hostIds.filter(id => ctx.store.claimAutoDeployment(group.id, id, target.revisionDigest));
  if (claimed.length === 0) return undefined;
  const d = createDeployment(ctx, {
    application: group.application, group: group.name, revision: target.revisionDigest,
    // Hosts that do not serve the group yet: the group's minimum (e.g. 50% of 1) would forbid them.
    configName: 'AllAtOnce', creator: 'autoscaling', targetHostIds: claimed, fileExistsBehavior: target.fileExistsBehavior,
    description: `catch-up: ${claimed.join(', ')} ${claimed.length === 1 ? 'gets' : 'get'} the group's target revision (from ${target.id}); ${why}`,
  });
  ctx.log.info('catch-up deployment created', {
    component: 'catch-up', group: group.name, deployment_id: d.id, hosts: claimed, revision: target.revisionDigest, target: target.id,
  });
  return d;
}

/** After a host (re)registers: its groups' catch-up. `running` is the run its Register reported. */
export function catchUpRegisteredHost(ctx: Context, hostId: string, running: string | undefined): void {
  const host = ctx.store.getHost(hostId);
  if (!host) return;
  for (const group of ctx.store.listGroups()) {
    if (!matchesTagSets(host.tags, group.tagSets)) continue;
    const target = ctx.store.lastSuccessfulDeployment(group.id);
    if (!target) continue;
    const refusal = catchUpRefusal(group, target, busy(ctx, group), candidate(ctx, target, host, group.id, running));
    if (refusal === undefined) catchUp(ctx, group, target, [hostId], 'the host registered');
  }
}

/** After a deployment of `group` ended: the hosts of that group that missed its target. */
export function catchUpGroup(ctx: Context, group: DeploymentGroup): void {
  // Rollbacks owed to hosts that came back while the group was busy go first (they make it busy).
  if (!busy(ctx, group)) {
    for (const host of ctx.store.listHosts()) if (reissueOwedRollback(ctx, group, host, undefined)) break;
  }
  const target = ctx.store.lastSuccessfulDeployment(group.id);
  if (!target || busy(ctx, group)) return;
  const hostIds = ctx.store.listHosts()
    .filter(h => matchesTagSets(h.tags, group.tagSets))
    .filter(h => catchUpRefusal(group, target, false, candidate(ctx, target, h, group.id, undefined)) === undefined)
    .map(h => h.id);
  if (hostIds.length > 0) catchUp(ctx, group, target, hostIds, 'the group\'s last deployment ended');
}

/**
 * Just before a catch-up deployment starts: the hosts it may still go to. A host left out no
 * longer qualifies (it went offline or busy, or the target moved on).
 */
export function stillBehind(ctx: Context, d: Deployment, group: DeploymentGroup): string[] {
  const target = ctx.store.lastSuccessfulDeployment(group.id);
  if (!target || target.revisionDigest !== d.revisionDigest) return [];
  return (d.targetHostIds ?? []).filter(id => {
    const host = ctx.store.getHost(id);
    return !!host && catchUpRefusal(group, target, false, candidate(ctx, target, host, group.id, undefined)) === undefined;
  });
}

/**
 * A rollback owes its revision to every host its deployment touched: one that was offline at its
 * turn (Skipped as AGENT_OFFLINE) and came back still running something else — typically the bad
 * revision it went on running while it was lost — gets the rollback again, to itself only: a
 * deployment (creator `rollback`) of the rollback's revision, once per rollback. Owed only while
 * that rollback is the group's newest deployment to have targeted the host (a later one decides
 * instead), and only when the host is connected and idle and its group not busy (a running rollout
 * decides; when it ends, the group is evaluated again).
 */
export function reissueOwedRollback(ctx: Context, group: DeploymentGroup, host: Host, running: string | undefined): Deployment | undefined {
  if (!matchesTagSets(host.tags, group.tagSets) || running || inFlight(ctx, host.id) || !ctx.registry.isConnected(host.id) || busy(ctx, group)) {
    return undefined;
  }
  const newest = ctx.store.listDeployments({ groupId: group.id, hostId: host.id, limit: 1 })[0];
  if (!newest || newest.creator !== 'rollback' || !isEnded(newest)) return undefined;
  const hd = ctx.store.getHostDeployment(newest.id, host.id);
  if (hd?.status !== 'Skipped' || hd.errorCode !== 'AGENT_OFFLINE') return undefined;
  const runs = ctx.store.hostRevision(group.id, host.id);
  if (runs?.revisionDigest === newest.revisionDigest && runs.lastStatus === 'Succeeded') return undefined;
  // Keyed by the rollback, not the revision: a host caught up to that revision once may still be owed a rollback to it.
  if (!ctx.store.claimAutoDeployment(group.id, host.id, `rollback:${newest.id}`)) return undefined;
  const d = createDeployment(ctx, {
    application: group.application, group: group.name, revision: newest.revisionDigest,
    configName: 'AllAtOnce', creator: 'rollback', targetHostIds: [host.id], fileExistsBehavior: newest.fileExistsBehavior,
    ignoreApplicationStopFailures: true, ignoreAlarms: true,
    description: `rollback ${newest.id} re-issued to ${host.id}: it was offline at its turn and came back running ` +
      `${runs ? `${runs.revisionDigest.slice(0, 12)} (${runs.lastStatus})` : 'no known revision'}`,
  });
  ctx.log.info('rollback re-issued to a host that came back', {
    component: 'catch-up', group: group.name, deployment_id: d.id, host_id: host.id, rollback: newest.id, revision: newest.revisionDigest,
  });
  return d;
}

/** The rollbacks `hostId`'s groups owe it (after it registered idle, or reported its last run). */
export function reissueOwedRollbacks(ctx: Context, hostId: string, running: string | undefined): void {
  const host = ctx.store.getHost(hostId);
  if (!host) return;
  for (const group of ctx.store.listGroups()) reissueOwedRollback(ctx, group, host, running);
}

/** For each group of `hostId`: its owed rollback, else its catch-up. `running`: the run its Register reported, if any. */
export function reconcileHostGroups(ctx: Context, hostId: string, running: string | undefined): void {
  reissueOwedRollbacks(ctx, hostId, running);
  catchUpRegisteredHost(ctx, hostId, running);
}

function isEnded(d: Deployment): boolean {
  return d.status === 'Succeeded' || d.status === 'Failed' || d.status === 'Stopped';
}
