import { FerryError } from '../../common/errors.js';
import { awaitingReconnect, reconnectWaitReason } from './liveness.js';
import type { Context } from '../context.js';
import type { Deployment, DeploymentGroup } from '../domain/types.js';
import { type DeploymentWindow, currentWindowEnd, isOpen, nextOpening, validateWindows, waitingForWindow } from '../domain/windows.js';
import type { PlanGates } from '../planner/gates.js';

/**
 * Deployment windows at the edges: validation for the API, the group's setting, and what the
 * scheduler and the views need (is a deployment held, why, until when). The decisions are
 * `domain/windows.ts`'s; `now` is the injected clock's.
 */

/** Validated windows, or INVALID_ARGUMENT listing every problem with the flag it belongs to. */
export function checkWindows(windows: readonly DeploymentWindow[]): DeploymentWindow[] {
  const problems = validateWindows(windows);
  if (problems.length > 0) {
    throw new FerryError('INVALID_ARGUMENT', problems.map(p => `${p.path}: ${p.message}`).join('; '));
  }
  return windows.map(w => ({ cron: w.cron.trim().replace(/\s+/g, ' '), durationMs: w.durationMs, timezone: w.timezone }));
}

export async function setGroupWindows(ctx: Context, application: string, name: string, windows: readonly DeploymentWindow[]): Promise<void> {
  const g = await ctx.store.getGroup(application, name);
  if (!g) throw new FerryError('NOT_FOUND', `application ${application} has no deployment group ${name}`);
  const valid = checkWindows(windows);
  await ctx.store.setGroupWindows(g.id, valid);
  ctx.log.info('windows set', { component: 'catalog', application, group: name, windows: valid.length });
  ctx.kick();
}

/**
 * Whether the group's windows hold this deployment: not with `--ignore-window`, and not for a
 * rollback or a late host's automatic deployment (they restore or complete what is already there).
 */
export function windowsApply(d: Deployment, group: DeploymentGroup | undefined): group is DeploymentGroup & { windows: DeploymentWindow[] } {
  return !!group?.windows?.length && !d.ignoreWindow && (d.creator === 'user' || d.creator === 'schedule');
}

/** True when the deployment may start hosts now. */
export function windowAllows(ctx: Context, d: Deployment, group: DeploymentGroup | undefined, now = ctx.clock.now()): boolean {
  return !windowsApply(d, group) || isOpen(group.windows, now);
}

export interface WindowWait {
  /** Why it has not started (Queued) or is held (Paused for its window). */
  reason: string;
  /** When the next window opens, if it waits for one. */
  opensAt?: number;
}

/** Why a Queued (or window-paused) deployment waits, for `deploy status`/`list` and `--wait`. */
export async function deploymentWait(ctx: Context, d: Deployment): Promise<WindowWait | undefined> {
  if (d.status !== 'Queued' && !(d.status === 'Paused' && d.pauseKind === 'window')) return undefined;
  const group = await ctx.store.getGroupById(d.groupId);
  const now = ctx.clock.now();
  if (windowsApply(d, group) && !isOpen(group.windows, now)) {
    const opensAt = nextOpening(group.windows, now);
    return { reason: waitingForWindow(opensAt), ...(opensAt !== undefined && { opensAt }) };
  }
  if (d.status !== 'Queued') return undefined;
  const active = await ctx.store.activeDeployment(d.groupId);
  if (active && active.id !== d.id) return { reason: `waiting for deployment ${active.id} (${active.status}) of group ${d.groupName} to finish` };
  const reconnecting = group && await awaitingReconnect(ctx, group, d);
  return reconnecting ? { reason: reconnectWaitReason(reconnecting) } : undefined;
}

/** The group's window state now, for `group show`/`list`. */
export function groupWindowState(ctx: Context, group: DeploymentGroup): { open: boolean; closesAt?: number; opensAt?: number } | undefined {
  if (!group.windows?.length) return undefined;
  const now = ctx.clock.now();
  if (isOpen(group.windows, now)) {
    const closesAt = currentWindowEnd(group.windows, now);
    return { open: true, ...(closesAt !== undefined && { closesAt }) };
  }
  const opensAt = nextOpening(group.windows, now);
  return { open: false, ...(opensAt !== undefined && { opensAt }) };
}

/** The next Queued deployment of the group that its windows let start now (rollbacks first, then the oldest). */
export async function nextStartable(ctx: Context, group: DeploymentGroup): Promise<Deployment | undefined> {
  const next = await ctx.store.nextQueued(group.id);
  if (!next || windowAllows(ctx, next, group)) return next;
  // Held by the window: an --ignore-window deployment (or a rollback) queued behind it may go first.
  const queued = (await ctx.store.listDeployments({ groupId: group.id, statuses: ['Queued'], limit: 1000 })).reverse();
  return queued.find(d => windowAllows(ctx, d, group));
}

/** The window gate's state for the planner: absent when no window applies to the deployment. */
export function windowGate(d: Deployment, group: DeploymentGroup | undefined, now: number): PlanGates['window'] {
  if (!windowsApply(d, group)) return undefined;
  if (isOpen(group.windows, now)) return { open: true };
  const opensAt = nextOpening(group.windows, now);
  return { open: false, ...(opensAt !== undefined && { opensAt }) };
}
