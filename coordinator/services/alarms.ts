import { specToWire } from '../../common/health/wire.js';
import type { Context } from '../context.js';
import { parseAlarm } from '../domain/alarms.js';
import { matchesTagSets } from '../domain/tags.js';
import type { Deployment, DeploymentGroup } from '../domain/types.js';
import type { FiringAlarm } from '../planner/gates.js';
import { hostLabel } from '../../common/text.js';
import type { AlarmState__Output } from '../../proto/gen/ferry/v1/AlarmState.js';

/**
 * Health alarms, coordinator side: each group's alarm expressions go to the agents of the group
 * (SetAlarms, the union over the host's groups), agents report states with their heartbeats, and
 * an alarm in ALARM on a host a deployment touched stops it (DEPLOYMENT_STOP_ON_ALARM; rollback on `alarm`).
 */
export interface HostAlarmState {
  name: string;
  state: string;
  reason: string;
  since: string;
}

/** Validates expressions (INVALID_ARGUMENT naming the bad one) and returns them normalized. */
export function validateAlarms(texts: readonly string[]): string[] {
  return texts.map(t => t.trim()).filter(Boolean).map(t => (parseAlarm(t), t));
}

/** Alarm names of a group, as the agents report them. */
export function alarmNames(alarms: readonly string[]): Set<string> {
  return new Set(alarms.map(a => parseAlarm(a).name));
}

/** Sends one host the alarms of every group it belongs to (first definition of a name wins). */
export async function sendAlarms(ctx: Context, hostId: string): Promise<void> {
  const host = await ctx.store.getHost(hostId);
  const session = ctx.registry.get(hostId);
  if (!host || !session) return;
  const byName = new Map<string, ReturnType<typeof parseAlarm>>();
  for (const g of await ctx.store.listGroups()) {
    if (!matchesTagSets(host.tags, g.tagSets)) continue;
    for (const text of g.alarms) {
      const spec = parseAlarm(text);
      const seen = byName.get(spec.name);
      if (seen && text !== undefined && JSON.stringify(seen) !== JSON.stringify(spec)) {
        ctx.log.warn('two groups define alarm differently; the first is used', { component: 'alarms', host_id: hostId, alarm: spec.name, group: g.name });
        continue;
      }
      byName.set(spec.name, spec);
    }
  }
  // Sampled at the heartbeat cadence, so an alarm reaches the coordinator within one beat.
  session.send({ setAlarms: { alarms: [...byName.values()].map(specToWire), intervalMs: ctx.limits.heartbeatIntervalMs } });
}

export async function sendAlarmsToAll(ctx: Context): Promise<void> {
  for (const id of ctx.registry.connectedHostIds()) await sendAlarms(ctx, id);
}

const isAlarmState = (s: unknown): s is HostAlarmState => typeof s === 'object' && s !== null &&
  ['name', 'state', 'reason', 'since'].every(k => typeof (s as Record<string, unknown>)[k] === 'string');

export function recordAlarmStates(ctx: Context, hostId: string, states: readonly AlarmState__Output[]): void {
  const before = ctx.alarmStates.get(hostId);
  const now = states.map(s => ({ name: s.name, state: s.state, reason: s.reason, since: s.since }));
  ctx.alarmStates.set(hostId, now);
  // Several replicas: the scheduling one judges alarms, wherever the host's stream is.
  if (JSON.stringify(before ?? []) !== JSON.stringify(now)) ctx.changes.share('alarms', { hostId, states: now });
  const alarming = (l?: HostAlarmState[]) => (l ?? []).filter(s => s.state === 'ALARM').map(s => s.name).sort().join(',');
  if (alarming(before) !== alarming(now)) {
    ctx.log.info('alarm states changed', { component: 'alarms', host_id: hostId, alarm: alarming(now) || 'none' });
    ctx.kick();
  }
}

/** Alarm states a host's agent reported to another replica (several replicas; Changes.share): kept as if reported here. */
export function recordRemoteAlarmStates(ctx: Context, data: unknown): void {
  const { hostId, states } = (data ?? {}) as { hostId?: unknown; states?: unknown };
  if (typeof hostId !== 'string' || !Array.isArray(states) || !states.every(isAlarmState)) return;
  if (ctx.registry.local(hostId)) return; // its stream is here now: what it reports here counts
  const before = ctx.alarmStates.get(hostId);
  if (states.length === 0) ctx.alarmStates.delete(hostId);
  else ctx.alarmStates.set(hostId, states);
  const alarming = (l?: HostAlarmState[]) => (l ?? []).filter(s => s.state === 'ALARM').map(s => s.name).sort().join(',');
  if (alarming(before) !== alarming(states)) ctx.kick();
}

/**
 * The group's alarms in ALARM on the deployment's targets, for the planner (which stops the
 * deployment when one is on a host it touched). None with `--ignore-alarms`.
 */
export async function firingAlarms(ctx: Context, d: Deployment, group: DeploymentGroup | undefined, hostIds: readonly string[]): Promise<FiringAlarm[]> {
  if (d.ignoreAlarms || !group || group.alarms.length === 0) return [];
  const names = alarmNames(group.alarms);
  const firing: FiringAlarm[] = [];
  for (const hostId of hostIds) {
    const states = (ctx.alarmStates.get(hostId) ?? []).filter(s => s.state === 'ALARM' && names.has(s.name));
    if (states.length === 0) continue; // the host is read only when it has an alarm firing
    const label = hostLabel(hostId, (await ctx.store.getHost(hostId))?.hostname);
    for (const s of states) firing.push({ hostId, hostLabel: label, name: s.name, reason: s.reason });
  }
  return firing;
}

/**
 * True when none of the group's alarms is in ALARM on any host (an in-memory scan of the reported
 * states): firingAlarms is then empty whatever the deployment's targets, so the scheduler need not
 * read them (scheduler.ts planFromCounts). True with `--ignore-alarms` or no alarms.
 */
export function groupAlarmsQuiet(ctx: Context, d: Deployment, group: DeploymentGroup | undefined): boolean {
  if (d.ignoreAlarms || !group || group.alarms.length === 0) return true;
  const names = alarmNames(group.alarms);
  for (const states of ctx.alarmStates.values()) if (states.some(s => s.state === 'ALARM' && names.has(s.name))) return false;
  return true;
}
