import { FerryError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import { matchesTagSets } from '../domain/tags.js';
import type { DeploymentGroup, Revision } from '../domain/types.js';
import type { RemovedCounts } from '../store/store.js';
import { requireGroup, resolveRevision } from './deployments.js';
import { resolveHost } from './history.js';

/**
 * Clean-up and retirement (docs/operations.md "Cleaning up"): deleting groups and applications,
 * removing hosts, deleting revisions with retention. Each refuses what would break a deployment.
 */

const ACTIVE = ['Created', 'Queued', 'InProgress', 'Paused'] as const;

/** Refuses while the group has a deployment that has not ended. */
async function refuseActive(ctx: Context, group: DeploymentGroup, what: string): Promise<void> {
  const busy = (await ctx.store.listDeployments({ groupId: group.id, statuses: [...ACTIVE], limit: 1 }))[0];
  if (busy) {
    throw new FerryError('FAILED_PRECONDITION', `cannot ${what}: group ${group.application}/${group.name} has deployment ${busy.id} ${busy.status}; ` +
      `stop it first (ferry deploy stop ${busy.id}) or wait for it (ferry deploy wait ${busy.id})`);
  }
}

export async function deleteGroup(ctx: Context, application: string, name: string, by: string): Promise<RemovedCounts> {
  const group = await requireGroup(ctx, application, name);
  await refuseActive(ctx, group, `delete group ${application}/${name}`);
  const removed = await ctx.store.deleteGroup(group.id);
  ctx.log.info('deployment group deleted', { component: 'catalog', application, group: name, group_id: group.id, by, ...removed });
  return removed;
}

/** Removes the revision's bytes unless another application holds the same digest. */
async function dropBytes(ctx: Context, digest: string): Promise<void> {
  if (await ctx.store.digestInUse(digest)) return;
  await ctx.revisions.delete(digest);
}

export async function deleteApplication(ctx: Context, name: string, by: string): Promise<RemovedCounts> {
  if (!await ctx.store.getApplication(name)) throw new FerryError('NOT_FOUND', `application ${name} does not exist; see ferry app list`);
  for (const g of await ctx.store.listGroups(name)) await refuseActive(ctx, g, `delete application ${name}`);
  const { digests, ...removed } = await ctx.store.deleteApplication(name);
  for (const d of digests) await dropBytes(ctx, d);
  ctx.log.info('application deleted', { component: 'catalog', application: name, by, ...removed });
  return removed;
}

export interface RemovedHost {
  hostId: string;
  hostname: string;
  revokedCertificates: number;
  groups: string[];
}

export async function removeHost(ctx: Context, ref: string, by: string): Promise<RemovedHost> {
  const host = await resolveHost(ctx, ref);
  const removedAt = await ctx.store.hostRemovedAt(host.id);
  if (removedAt) throw new FerryError('NOT_FOUND', `host ${host.id} was removed already (at ${removedAt})`);
  const busy = (await ctx.store.hostDeploymentsOnHost(host.id, ['Pending', 'InProgress']))[0];
  if (busy) {
    throw new FerryError('FAILED_PRECONDITION', `cannot remove host ${host.id}: deployment ${busy.deploymentId} has it ${busy.status}; ` +
      `stop it first (ferry deploy stop ${busy.deploymentId}) or wait for it`);
  }
  const groups = (await ctx.store.listGroups()).filter(g => matchesTagSets(host.tags, g.tagSets)).map(g => `${g.application}/${g.name}`);
  const now = iso(ctx.clock.now());
  // Its agent, if it comes back, must enroll again: no certificate of it stays valid.
  const revokedCertificates = await ctx.store.revokeHostCertificates(host.id, now);
  await ctx.store.removeHost(host.id, now);
  ctx.registry.get(host.id)?.close('host removed');
  ctx.log.info('host removed', { component: 'agents', host_id: host.id, hostname: host.hostname, revoked: revokedCertificates, groups: groups.join(','), by });
  ctx.kick();
  return { hostId: host.id, hostname: host.hostname, revokedCertificates, groups };
}

/** Why each revision of the application must stay: the groups it is the target of, active deployments, schedules. */
export async function revisionHolds(ctx: Context, application: string): Promise<Map<string, string[]>> {
  const holds = new Map<string, string[]>();
  const add = (digest: string, why: string) => holds.set(digest, [...(holds.get(digest) ?? []), why]);
  for (const g of await ctx.store.listGroups(application)) {
    const target = await ctx.store.lastSuccessfulDeployment(g.id);
    if (target) add(target.revisionDigest, `target of group ${g.name}`);
  }
  for (const d of await ctx.store.listDeployments({ application, statuses: [...ACTIVE], limit: 1000 })) add(d.revisionDigest, `deployment ${d.id} ${d.status}`);
  for (const s of await ctx.store.listSchedules({ application })) {
    if (/^[0-9a-f]{64}$/.test(s.revision)) add(s.revision, `schedule ${s.id}`);
  }
  return holds;
}

export interface RevisionDeletion {
  deleted: Revision[];
  /** Revisions past --keep that stay, and why. */
  kept: { revision: Revision; reasons: string[] }[];
}

/**
 * `ferry revision delete`: the given revisions (refused when one is held), or with `keep`, every
 * revision but the newest `keep` that nothing holds. `dryRun` deletes nothing.
 */
export async function deleteRevisions(ctx: Context, input: { application: string; revisions: string[]; keep?: number; dryRun: boolean; by: string }): Promise<RevisionDeletion> {
  const { application } = input;
  if (!await ctx.store.getApplication(application)) throw new FerryError('NOT_FOUND', `application ${application} does not exist; see ferry app list`);
  if ((input.keep === undefined) === (input.revisions.length === 0)) {
    throw new FerryError('INVALID_ARGUMENT', 'give revision digests, or --keep N (not both)');
  }
  const holds = await revisionHolds(ctx, application);
  const deleted: Revision[] = [];
  const kept: RevisionDeletion['kept'] = [];
  if (input.keep !== undefined) {
    for (const r of (await ctx.store.listRevisions(application)).slice(input.keep)) {
      const reasons = holds.get(r.digest);
      if (reasons) kept.push({ revision: r, reasons });
      else deleted.push(r);
    }
  } else {
    for (const ref of input.revisions) {
      const r = await resolveRevision(ctx, application, ref);
      const reasons = holds.get(r.digest);
      if (reasons) throw new FerryError('FAILED_PRECONDITION', `revision ${r.digest.slice(0, 12)} of ${application} stays: ${reasons.join('; ')}`);
      if (!deleted.some(d => d.digest === r.digest)) deleted.push(r);
    }
  }
  if (input.dryRun) return { deleted, kept };
  const now = iso(ctx.clock.now());
  for (const r of deleted) {
    await ctx.store.deleteRevision(application, r.digest, now);
    await dropBytes(ctx, r.digest);
  }
  if (deleted.length > 0) ctx.log.info('revisions deleted', { component: 'revisions', application, count: deleted.length, digests: deleted.map(r => r.digest).join(','), by: input.by });
  return { deleted, kept };
}
