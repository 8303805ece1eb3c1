import { FerryError } from '../../common/errors.js';
import type { Context } from '../context.js';
import type { AutoRollbackEvent, Deployment } from '../domain/types.js';
import { minimumHealthyHosts } from '../planner/rules.js';
import { createDeployment } from './deployments.js';

/** The events that roll this deployment back: its own override, else its group's policy. */
export async function autoRollbackEvents(ctx: Context, d: Deployment): Promise<readonly AutoRollbackEvent[]> {
  return d.autoRollback ?? (await ctx.store.getGroupById(d.groupId))?.autoRollback ?? [];
}

/** The group's last deployment that succeeded before `d` was created (not `d` itself). */
async function lastGoodBefore(ctx: Context, d: Deployment): Promise<Deployment | undefined> {
  return (await ctx.store.listDeployments({ groupId: d.groupId, statuses: ['Succeeded'], limit: 1000 }))
    .filter(x => x.id !== d.id && x.createdAt <= d.createdAt)
    .sort((a, b) => (b.completedAt ?? '').localeCompare(a.completedAt ?? ''))[0];
}

export type RollbackOutcome = { rollback: Deployment; note: string } | { rollback?: undefined; note: string };

/**
 * Rolls `failed` back: a NEW deployment (creator `rollback`) of the group's last successful
 * revision to the hosts `failed` touched, with the same config, ApplicationStop failures of the
 * bad revision ignored, linked both ways. Returns a note for the failed deployment's message; with
 * no earlier successful revision it says so plainly and creates nothing.
 */
export async function rollBack(ctx: Context, failed: Deployment, trigger: AutoRollbackEvent | 'manual', createdBy?: string): Promise<RollbackOutcome> {
  if (failed.rolledBackBy) return { note: `already rolled back by ${failed.rolledBackBy}` };
  const group = await ctx.store.getGroupById(failed.groupId);
  if (!group) return { note: 'no rollback: the deployment group no longer exists' };
  const good = await lastGoodBefore(ctx, failed);
  if (!good) {
    return { note: `no rollback: group ${group.name} has no earlier successful deployment, so there is no revision to go back to` };
  }
  const touched = (await ctx.store.listHostDeployments(failed.id))
    .filter(h => h.status !== 'Pending' && h.status !== 'Skipped').map(h => h.hostId);
  if (touched.length === 0) return { note: 'no rollback needed: no host was changed' };
  // The same config — unless its minimum cannot be met on this subset of hosts (e.g. 50% of one
  // host): then all at once, since the way back must not fail on arithmetic.
  // The group's rollback config when it sets one (it is the operator's explicit choice).
  const configName = group.rollbackConfig ?? failed.configName;
  const config = await ctx.store.getConfig(configName);
  const fits = group.rollbackConfig !== undefined || (config !== undefined && touched.length > minimumHealthyHosts(config.minimumHealthy, touched.length));
  const rollback = await createDeployment(ctx, {
    application: failed.application, group: group.name, revision: good.revisionDigest, configName: fits ? configName : 'AllAtOnce',
    creator: 'rollback', ...(createdBy && { createdBy }), targetHostIds: touched, fileExistsBehavior: good.fileExistsBehavior,
    // The bad revision's ApplicationStop runs first on each host; its failures must not block the way back.
    ignoreApplicationStopFailures: true,
    // The way back must not be stopped by the alarm that caused it.
    ignoreAlarms: true,
    rollbackOf: failed.id,
    description: `rollback of ${failed.id} (${trigger}) to the revision of ${good.id}`,
  });
  await ctx.store.linkRollback(failed.id, rollback.id);
  ctx.log.info('rollback created', {
    component: 'rollback', deployment_id: rollback.id, rollback_of: failed.id, trigger, revision: good.revisionDigest, hosts: touched.length,
  });
  return { rollback, note: `rolled back by ${rollback.id} to revision ${good.revisionDigest.slice(0, 12)} (${trigger})` };
}

/** `ferry deploy rollback ID`: roll an ended deployment back to the revision before it. */
export async function manualRollback(ctx: Context, id: string, by?: string): Promise<Deployment> {
  const d = await ctx.store.getDeployment(id);
  if (!d) throw new FerryError('NOT_FOUND', `deployment ${id} does not exist; see ferry deploy list`);
  if (d.status !== 'Succeeded' && d.status !== 'Failed' && d.status !== 'Stopped') {
    throw new FerryError('FAILED_PRECONDITION', `deployment ${id} is ${d.status}: stop it first (ferry deploy stop ${id} --rollback)`);
  }
  const out = await rollBack(ctx, d, 'manual', by);
  if (!out.rollback) throw new FerryError('FAILED_PRECONDITION', `deployment ${id}: ${out.note}`);
  return out.rollback;
}

/** `ferry deploy redeploy ID`: the same revision, config and options again, to the whole group. */
export async function redeploy(ctx: Context, id: string, by?: string): Promise<Deployment> {
  const d = await ctx.store.getDeployment(id);
  if (!d) throw new FerryError('NOT_FOUND', `deployment ${id} does not exist; see ferry deploy list`);
  return await createDeployment(ctx, {
    application: d.application, group: d.groupName, revision: d.revisionDigest, configName: d.configName,
    fileExistsBehavior: d.fileExistsBehavior, ignoreApplicationStopFailures: d.ignoreApplicationStopFailures,
    ...(d.autoRollback && { autoRollback: d.autoRollback }),
    ...(by && { createdBy: by }),
    description: `redeploy of ${d.id}${d.description ? `: ${d.description}` : ''}`,
  });
}
