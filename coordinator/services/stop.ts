import { FerryError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import type { Deployment } from '../domain/types.js';
import { isTerminal } from './deployments.js';
import { inGroupOf } from './group-lock.js';
import { autoRollbackEvents, rollBack } from './rollback.js';

/**
 * Stops a deployment (CodeDeploy's StopDeployment, error code MANUAL_STOP): no new host starts,
 * pending hosts are Skipped, and every host in flight gets a CancelCommand — the agent kills the
 * running hook's process group and reports the host Failed, which is recorded when it arrives.
 */
export async function stopDeployment(
  ctx: Context, id: string,
  opts: { by: string; reason?: string; rollback?: boolean; errorCode?: string; trigger?: 'stop' | 'alarm' },
): Promise<Deployment> {
  // Under the group's lock: no dispatch moves a host out of Pending between the list and the skips below.
  return inGroupOf(ctx, id, () => stop(ctx, id, opts));
}

async function stop(
  ctx: Context, id: string,
  opts: { by: string; reason?: string; rollback?: boolean; errorCode?: string; trigger?: 'stop' | 'alarm' },
): Promise<Deployment> {
  const d = await ctx.store.getDeployment(id);
  if (!d) throw new FerryError('NOT_FOUND', `deployment ${id} does not exist; see ferry deploy list`);
  if (isTerminal(d)) throw new FerryError('FAILED_PRECONDITION', `deployment ${id} already ended: ${d.status}`);
  const now = iso(ctx.clock.now());
  const who = opts.by.trim() || 'unknown';
  const trigger = opts.trigger ?? 'stop';
  let message = `stopped by ${who}${opts.reason ? `: ${opts.reason}` : ''}`;
  if (d.creator !== 'rollback' && (opts.rollback || (await autoRollbackEvents(ctx, d)).includes(trigger))) {
    message = `${message}; ${(await rollBack(ctx, d, trigger, trigger === 'stop' ? who : undefined)).note}`;
  }
  if (!await ctx.store.transitionDeployment(id, 'Stopped', { completedAt: now, errorCode: opts.errorCode ?? 'MANUAL_STOP', errorMessage: message })) {
    const now2 = await ctx.store.getDeployment(id);
    throw new FerryError('FAILED_PRECONDITION', `deployment ${id} could not be stopped from ${now2?.status ?? 'its status'}`);
  }
  ctx.log.info('deployment stopped', { component: 'deployments', deployment_id: id, from: d.status, to: 'Stopped', by: who, reason: opts.reason ?? '' });
  for (const hd of await ctx.store.listHostDeployments(id)) {
    if (hd.status === 'Pending') {
      await ctx.store.transitionHostDeployment(id, hd.hostId, 'Skipped', { completedAt: now, errorMessage: message });
    } else if (hd.status === 'InProgress') {
      // Desired state first: a cancel written to a dead stream is sent again when the agent registers.
      await ctx.store.patchHostDeployment(id, hd.hostId, { desired: 'stop' });
      const sent = ctx.registry.get(hd.hostId)?.send({ cancel: { deploymentId: id, reason: message } }) ?? false;
      ctx.log.info('cancel sent', { component: 'deployments', deployment_id: id, host_id: hd.hostId, sent });
    }
  }
  ctx.changes.deployment(id);
  ctx.kick();
  return (await ctx.store.getDeployment(id))!;
}
