import { FerryError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import type { Deployment } from '../domain/types.js';
import { stopDeployment } from './stop.js';
import { inGroupOf } from './group-lock.js';
import { isAwaitingApproval } from '../domain/pause.js';

/**
 * Pauses and approval gates. A Paused deployment starts no new host (hosts in flight finish and
 * report); `resume` continues an operator's pause, `approve` opens an approval gate, `reject`
 * stops the deployment and rolls back per the group's policy.
 */
async function get(ctx: Context, id: string): Promise<Deployment> {
  const d = await ctx.store.getDeployment(id);
  if (!d) throw new FerryError('NOT_FOUND', `deployment ${id} does not exist; see ferry deploy list`);
  return d;
}

async function move(ctx: Context, d: Deployment, to: 'Paused' | 'InProgress', patch: { pauseReason: string | null; approved?: boolean }, what: string): Promise<Deployment> {
  // An operator's pause is an operator's; leaving Paused clears the kind.
  if (!await ctx.store.transitionDeployment(d.id, to, { ...patch, pauseKind: to === 'Paused' ? 'operator' : null })) {
    throw new FerryError('FAILED_PRECONDITION', `deployment ${d.id} is ${d.status}: cannot ${what} it`);
  }
  ctx.log.info(`deployment ${what}`, { component: 'deployments', deployment_id: d.id, from: d.status, to, reason: patch.pauseReason ?? '' });
  ctx.changes.deployment(d.id);
  ctx.kick();
  return await get(ctx, d.id);
}

export async function pauseDeployment(ctx: Context, id: string, by: string): Promise<Deployment> {
  return inGroupOf(ctx, id, async () => {
    return await move(ctx, await get(ctx, id), 'Paused', { pauseReason: `paused by ${by || 'unknown'} at ${iso(ctx.clock.now())}; continue with ferry deploy resume ${id}` }, 'pause');
  });
}

export async function resumeDeployment(ctx: Context, id: string): Promise<Deployment> {
  return inGroupOf(ctx, id, async () => {
    const d = await get(ctx, id);
    if (isAwaitingApproval(d)) {
      throw new FerryError('FAILED_PRECONDITION', `deployment ${id} is waiting for approval: ferry deploy approve ${id} (or reject)`);
    }
    return await move(ctx, d, 'InProgress', { pauseReason: null }, 'resume');
  });
}

export async function approveDeployment(ctx: Context, id: string): Promise<Deployment> {
  return inGroupOf(ctx, id, async () => {
    const d = await get(ctx, id);
    if (!isAwaitingApproval(d)) throw new FerryError('FAILED_PRECONDITION', `deployment ${id} is ${d.status} and not waiting for approval`);
    return await move(ctx, d, 'InProgress', { pauseReason: null, approved: true }, 'approve');
  });
}

export async function rejectDeployment(ctx: Context, id: string, by: string, reason: string): Promise<Deployment> {
  return inGroupOf(ctx, id, async () => {
    const d = await get(ctx, id);
    if (!isAwaitingApproval(d)) throw new FerryError('FAILED_PRECONDITION', `deployment ${id} is ${d.status} and not waiting for approval`);
    return await stopDeployment(ctx, id, { by, reason: `rejected${reason ? `: ${reason}` : ''}` });
  });
}
