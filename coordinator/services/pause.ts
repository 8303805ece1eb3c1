import { FerryError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import type { Deployment } from '../domain/types.js';
import { zoneFinished, zonesInOrder } from '../planner/plan-zonal.js';
import { stopDeployment } from './stop.js';

/**
 * Pauses and approval gates. A Paused deployment starts no new host (hosts in flight finish and
 * report); `resume` continues an operator's pause, `approve` opens an approval gate, `reject`
 * stops the deployment and rolls back per the group's policy.
 */
function get(ctx: Context, id: string): Deployment {
  const d = ctx.store.getDeployment(id);
  if (!d) throw new FerryError('NOT_FOUND', `deployment ${id} does not exist; see ferry deploy list`);
  return d;
}

export function succeededHosts(ctx: Context, id: string): number {
  return ctx.store.listHostDeployments(id).filter(h => h.status === 'Succeeded').length;
}

/** No target pending or in flight: a gate of --approve-after N on N or fewer hosts waits before the verdict. */
function allFinished(ctx: Context, id: string): boolean {
  return ctx.store.listHostDeployments(id).every(h => h.status !== 'Pending' && h.status !== 'InProgress');
}

/** Zones (in rollout order) with nothing pending or in flight, counted from the first. */
export function finishedZones(ctx: Context, id: string): number {
  const targets = ctx.store.listHostDeployments(id).map(hd => {
    const zone = ctx.store.getHost(hd.hostId)?.zone;
    return { hostId: hd.hostId, status: hd.status, ...(zone && { zone }) };
  });
  const zones = zonesInOrder(targets);
  const open = zones.findIndex(z => !zoneFinished(z));
  return open === -1 ? zones.length : open;
}

/** True when the deployment waits at its approval gate (not an operator's pause). */
export function awaitingApproval(ctx: Context, d: Deployment): boolean {
  if (d.status !== 'Paused' || d.approved) return false;
  if (d.approveAfter !== undefined && (succeededHosts(ctx, d.id) >= d.approveAfter || allFinished(ctx, d.id))) return true;
  return d.approveAfterZones !== undefined && finishedZones(ctx, d.id) >= d.approveAfterZones;
}

function move(ctx: Context, d: Deployment, to: 'Paused' | 'InProgress', patch: { pauseReason: string | null; approved?: boolean }, what: string): Deployment {
  // An operator's pause or resume is not a window pause (that one resumes by itself).
  if (!ctx.store.transitionDeployment(d.id, to, { ...patch, pausedForWindow: false })) {
    throw new FerryError('FAILED_PRECONDITION', `deployment ${d.id} is ${d.status}: cannot ${what} it`);
  }
  ctx.log.info(`deployment ${what}`, { component: 'deployments', deployment_id: d.id, from: d.status, to, reason: patch.pauseReason ?? '' });
  ctx.changes.deployment(d.id);
  ctx.kick();
  return get(ctx, d.id);
}

export function pauseDeployment(ctx: Context, id: string, by: string): Deployment {
  return move(ctx, get(ctx, id), 'Paused', { pauseReason: `paused by ${by || 'unknown'} at ${iso(ctx.clock.now())}; continue with ferry deploy resume ${id}` }, 'pause');
}

export function resumeDeployment(ctx: Context, id: string): Deployment {
  const d = get(ctx, id);
  if (awaitingApproval(ctx, d)) {
    throw new FerryError('FAILED_PRECONDITION', `deployment ${id} is waiting for approval: ferry deploy approve ${id} (or reject)`);
  }
  return move(ctx, d, 'InProgress', { pauseReason: null }, 'resume');
}

export function approveDeployment(ctx: Context, id: string): Deployment {
  const d = get(ctx, id);
  if (!awaitingApproval(ctx, d)) throw new FerryError('FAILED_PRECONDITION', `deployment ${id} is ${d.status} and not waiting for approval`);
  return move(ctx, d, 'InProgress', { pauseReason: null, approved: true }, 'approve');
}

export function rejectDeployment(ctx: Context, id: string, by: string, reason: string): Deployment {
  const d = get(ctx, id);
  if (!awaitingApproval(ctx, d)) throw new FerryError('FAILED_PRECONDITION', `deployment ${id} is ${d.status} and not waiting for approval`);
  return stopDeployment(ctx, id, { by, reason: `rejected${reason ? `: ${reason}` : ''}` });
}

/** The scheduler's gate: pause instead of starting more hosts once enough have succeeded. */
export function gateReached(ctx: Context, d: Deployment): boolean {
  return d.approveAfter !== undefined && !d.approved && succeededHosts(ctx, d.id) >= d.approveAfter;
}
