import type { Context } from '../context.js';
import { matchesTagSets } from '../domain/tags.js';
import type { Deployment, DeploymentGroup, Host, HostDeployment } from '../domain/types.js';
import type { HostRevisionState } from '../store/store.js';
import { filterSeq } from '../async.js';
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
async function inFlight(ctx: Context, hostId: string): Promise<boolean> {
  return (await ctx.store.hostDeploymentsOnHost(hostId, ['InProgress'])).length > 0;
}

async function busy(ctx: Context, group: DeploymentGroup): Promise<boolean> {
  return await ctx.store.activeDeployment(group.id) !== undefined || await ctx.store.nextQueued(group.id) !== undefined;
}

async function candidate(ctx: Context, target: Deployment, host: Host, groupId: string, running: string | undefined): Promise<CatchUpHost> {
  const inTarget = await ctx.store.getHostDeployment(target.id, host.id);
  const revision = await ctx.store.hostRevision(groupId, host.id);
  return {
    host, connected: ctx.registry.isConnected(host.id), idle: !running && !await inFlight(ctx, host.id),
    ...(inTarget && { inTarget }), ...(revision && { revision }),
  };
}

/** Creates one catch-up deployment of the group's target to `hostIds` (those never caught up to it before). */
async function catchUp(ctx: Context, group: DeploymentGroup, target: Deployment, hostIds: string[], why: string): Promise<Deployment | undefined> {
  const claimed = await filterSeq(hostIds, id => ctx.store.claimAutoDeployment(group.id, id, target.revisionDigest));
  if (claimed.length === 0) return undefined;
  const d = await createDeployment(ctx, {
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
export async function catchUpRegisteredHost(ctx: Context, hostId: string, running: string | undefined): Promise<void> {
  const host = await ctx.store.getHost(hostId);
  if (!host) return;
  for (const group of await ctx.store.listGroups()) {
    if (!matchesTagSets(host.tags, group.tagSets)) continue;
    // Under the group's lock: "not busy" still holds when its catch-up deployment is created.
    await ctx.groups.run(group.id, async () => {
      const target = await ctx.store.lastSuccessfulDeployment(group.id);
      if (!target) return;
      const refusal = catchUpRefusal(group, target, await busy(ctx, group), await candidate(ctx, target, host, group.id, running));
      if (refusal === undefined) await catchUp(ctx, group, target, [hostId], 'the host registered');
    });
  }
}

/** After a deployment of `group` ended: the hosts of that group that missed its target. */
export async function catchUpGroup(ctx: Context, group: DeploymentGroup): Promise<void> {
  await ctx.groups.run(group.id, () => catchUpGroupLocked(ctx, group));
}

/**
 * The fleet is read once and each fact the rule needs is read for the whole group (the target's host
 * deployments, what the hosts run); a host is read alone only when nothing cheaper refuses it (at
 * 10,000 hosts, ~9 queries per host when a deployment ended were seconds of the coordinator's time).
 */
async function catchUpGroupLocked(ctx: Context, group: DeploymentGroup): Promise<void> {
  const members = (await ctx.store.listHosts()).filter(h => matchesTagSets(h.tags, group.tagSets) && ctx.registry.isConnected(h.id));
  // The newest deployment is most often the target too (the one that just succeeded): its hosts read once.
  const read = new Map<string, Promise<Map<string, TargetState>>>();
  const hostDeployments = (id: string) => read.get(id) ?? read.set(id, targetStates(ctx, id)).get(id)!;
  // Rollbacks owed to hosts that came back while the group was busy go first (they make it busy).
  if (!await busy(ctx, group)) {
    for (const host of await mayBeOwedRollback(ctx, group, members, hostDeployments)) if (await reissueOwedRollback(ctx, group, host, undefined)) break;
  }
  const target = await ctx.store.lastSuccessfulDeployment(group.id);
  if (!target || await busy(ctx, group)) return;
  const inTarget = await hostDeployments(target.id);
  // Most often every member was a target (the deployment that just ended reached them all): nothing more to read.
  const behind = members.filter(h => {
    const hd = inTarget.get(h.id);
    return catchUpRefusal(group, target, false, { host: h, connected: true, idle: true, ...(hd && { inTarget: hd }) }) === undefined;
  });
  if (behind.length === 0) return;
  const runs = new Map((await ctx.store.hostRevisions(group.id)).map(r => [r.hostId, r]));
  const facts = (h: Host, idle: boolean): CatchUpHost => {
    const hd = inTarget.get(h.id);
    const revision = runs.get(h.id);
    return { host: h, connected: ctx.registry.isConnected(h.id), idle, ...(hd && { inTarget: hd }), ...(revision && { revision }) };
  };
  // Idle last: the one fact read per host, for the hosts nothing else refuses.
  const hostIds = (await filterSeq(behind, async h => catchUpRefusal(group, target, false, facts(h, true)) === undefined &&
    catchUpRefusal(group, target, false, facts(h, !await inFlight(ctx, h.id))) === undefined)).map(h => h.id);
  if (hostIds.length > 0) await catchUp(ctx, group, target, hostIds, 'the group\'s last deployment ended');
}

/** What the rules read of a deployment's host deployments. */
type TargetState = Pick<HostDeployment, 'status' | 'errorCode'>;

/**
 * A deployment's host deployments by host: their states (a light read); whole rows only when some were
 * Skipped, whose reason (AGENT_OFFLINE or not) the rules need.
 */
async function targetStates(ctx: Context, deploymentId: string): Promise<Map<string, TargetState>> {
  const states = await ctx.store.listHostDeploymentStates(deploymentId);
  if (!states.some(s => s.status === 'Skipped')) return new Map(states.map(s => [s.hostId, { status: s.status }]));
  return new Map((await ctx.store.listHostDeployments(deploymentId)).map(hd => [hd.hostId, hd]));
}

/**
 * The hosts of `members` that may be owed a rollback (reissueOwedRollback decides): all but those
 * the group's newest deployment targeted, unless it is a rollback that skipped them as offline (for
 * them it is the newest deployment to have targeted them, the one the rule looks at).
 */
async function mayBeOwedRollback(
  ctx: Context, group: DeploymentGroup, members: readonly Host[], hostDeployments: (deploymentId: string) => Promise<Map<string, TargetState>>,
): Promise<Host[]> {
  const newest = (await ctx.store.listDeployments({ groupId: group.id, limit: 1 }))[0];
  if (!newest) return [];
  const targeted = await hostDeployments(newest.id);
  return members.filter(h => {
    const hd = targeted.get(h.id);
    return !hd || (newest.creator === 'rollback' && hd.status === 'Skipped' && hd.errorCode === 'AGENT_OFFLINE');
  });
}

/**
 * Just before a catch-up deployment starts: the hosts it may still go to. A host left out no
 * longer qualifies (it went offline or busy, or the target moved on).
 */
export async function stillBehind(ctx: Context, d: Deployment, group: DeploymentGroup): Promise<string[]> {
  const target = await ctx.store.lastSuccessfulDeployment(group.id);
  if (!target || target.revisionDigest !== d.revisionDigest) return [];
  return filterSeq(d.targetHostIds ?? [], async id => {
    const host = await ctx.store.getHost(id);
    return !!host && catchUpRefusal(group, target, false, await candidate(ctx, target, host, group.id, undefined)) === undefined;
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
export async function reissueOwedRollback(ctx: Context, group: DeploymentGroup, host: Host, running: string | undefined): Promise<Deployment | undefined> {
  if (!matchesTagSets(host.tags, group.tagSets) || running || !ctx.registry.isConnected(host.id) || await inFlight(ctx, host.id) || await busy(ctx, group)) {
    return undefined;
  }
  const newest = (await ctx.store.listDeployments({ groupId: group.id, hostId: host.id, limit: 1 }))[0];
  if (!newest || newest.creator !== 'rollback' || !isEnded(newest)) return undefined;
  const hd = await ctx.store.getHostDeployment(newest.id, host.id);
  if (hd?.status !== 'Skipped' || hd.errorCode !== 'AGENT_OFFLINE') return undefined;
  const runs = await ctx.store.hostRevision(group.id, host.id);
  if (runs?.revisionDigest === newest.revisionDigest && runs.lastStatus === 'Succeeded') return undefined;
  // Keyed by the rollback, not the revision: a host caught up to that revision once may still be owed a rollback to it.
  if (!await ctx.store.claimAutoDeployment(group.id, host.id, `rollback:${newest.id}`)) return undefined;
  const d = await createDeployment(ctx, {
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
export async function reissueOwedRollbacks(ctx: Context, hostId: string, running: string | undefined): Promise<void> {
  const host = await ctx.store.getHost(hostId);
  if (!host) return;
  for (const group of await ctx.store.listGroups()) await ctx.groups.run(group.id, () => reissueOwedRollback(ctx, group, host, running));
}

/** For each group of `hostId`: its owed rollback, else its catch-up. `running`: the run its Register reported, if any. */
export async function reconcileHostGroups(ctx: Context, hostId: string, running: string | undefined): Promise<void> {
  await reissueOwedRollbacks(ctx, hostId, running);
  await catchUpRegisteredHost(ctx, hostId, running);
}

function isEnded(d: Deployment): boolean {
  return d.status === 'Succeeded' || d.status === 'Failed' || d.status === 'Stopped';
}
