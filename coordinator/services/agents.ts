import { describeError, isFerryError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import type { Host, LifecycleEventRecord } from '../domain/types.js';
import type { HostSeen } from '../store/store.js';
import type { EventUpdate__Output } from '../../proto/gen/ferry/v1/EventUpdate.js';
import type { HostResult__Output } from '../../proto/gen/ferry/v1/HostResult.js';
import type { LogBatch__Output } from '../../proto/gen/ferry/v1/LogBatch.js';
import { recordAlarmStates } from './alarms.js';
import { reissueOwedRollbacks } from './catch-up.js';
import { inGroupOf } from './group-lock.js';
import type { AlarmState__Output } from '../../proto/gen/ferry/v1/AlarmState.js';

/**
 * What the coordinator does with agents' reports. Only these functions write reported state
 * (docs/design/style.md §3): event records, log lines, host deployment outcomes, the revision each host runs.
 */
export async function registerHost(ctx: Context, host: Omit<Host, 'connected' | 'lastSeenAt' | 'registeredAt'>): Promise<void> {
  const now = iso(ctx.clock.now());
  const existing = await ctx.store.getHost(host.id);
  await ctx.store.upsertHost({ ...host, connected: true, lastSeenAt: now, registeredAt: existing?.registeredAt ?? now });
  ctx.log.info('agent connected', {
    component: 'agents', host_id: host.id, hostname: host.hostname, zone: host.zone ?? '', agent_version: host.agentVersion,
  });
  ctx.kick();
}

export async function hostDisconnected(ctx: Context, hostId: string): Promise<void> {
  await ctx.store.setHostConnected(hostId, false, iso(ctx.clock.now()));
  ctx.log.info('agent disconnected', { component: 'agents', host_id: hostId });
  ctx.kick();
}

/**
 * A heartbeat: no SQL, no serialization — its time in memory (liveness is the registry's, monotonic;
 * the last-seen time shown is written by flushLastSeen) and its alarm states.
 */
export function heartbeat(ctx: Context, hostId: string, alarms: readonly AlarmState__Output[] = []): void {
  ctx.registry.seen(hostId, ctx.clock.now());
  if (alarms.length > 0 || ctx.alarmStates.has(hostId)) recordAlarmStates(ctx, hostId, alarms);
}

/** Writes the heartbeat times kept in memory to the store's last_seen_at, in one transaction. */
export async function flushLastSeen(ctx: Context): Promise<void> {
  const seen = ctx.registry.takeSeen();
  if (seen.size === 0) return;
  // Replicated: "connected" too, for a host whose stream is here (another replica that lost its
  // stream may have written disconnected after this one's register). Hosts removed meanwhile are skipped.
  const replicated = ctx.registry.replicated;
  const hosts: HostSeen[] = [];
  for (const [id, at] of seen) hosts.push(replicated && ctx.registry.local(id) ? { id, at: iso(at), connected: true } : { id, at: iso(at) });
  try {
    await ctx.store.recordHostsSeen(hosts);
  } catch (err) {
    // Liveness is the registry's (monotonic, in memory): last-seen times the disk cannot take are only logged.
    if (!isFerryError(err, 'DISK_FULL')) throw err;
    ctx.log.warn('heartbeats not recorded', { component: 'agents', hosts: seen.size, error: describeError(err) });
  }
}

function toRecord(deploymentId: string, hostId: string, e: EventUpdate__Output): LifecycleEventRecord {
  const status = (['InProgress', 'Succeeded', 'Failed', 'Skipped'] as const).find(s => s === e.status) ?? 'Pending';
  return {
    deploymentId, hostId, event: e.event, status,
    ...(e.errorCode && { errorCode: e.errorCode }),
    ...(e.exitCode >= 0 && { exitCode: e.exitCode }),
    ...(e.message && { message: e.message }),
    ...(e.startedAt && { startedAt: e.startedAt }),
    ...(e.endedAt && { endedAt: e.endedAt }),
    ...(e.status !== 'InProgress' && e.status !== 'Skipped' && { durationMs: Number(e.durationMs) }),
  };
}

/**
 * Stores an agent's event record and feeds the metrics (a finished event already recorded is not
 * counted again: the store says what the record was before, no read of the host's records per report).
 */
async function putEventRecord(ctx: Context, record: LifecycleEventRecord): Promise<void> {
  const previous = await ctx.store.putEventRecord(record);
  ctx.metrics.eventReported(record, ctx.clock.now(), previous === 'Succeeded' || previous === 'Failed');
}

/** The same report again (a result repeats every event its updates reported): nothing to write. */
function sameRecord(a: LifecycleEventRecord, b: LifecycleEventRecord): boolean {
  return a.status === b.status && a.errorCode === b.errorCode && a.exitCode === b.exitCode && a.message === b.message &&
    a.startedAt === b.startedAt && a.endedAt === b.endedAt && a.durationMs === b.durationMs;
}

export async function eventUpdate(ctx: Context, hostId: string, e: EventUpdate__Output): Promise<void> {
  try {
    await putEventRecord(ctx, toRecord(e.deploymentId, hostId, e));
  } catch (err) {
    // A report for a host deployment that does not exist (the store refuses it; no read before each report) is dropped.
    if (isFerryError(err, 'NOT_FOUND')) return;
    throw err;
  }
  if (e.status === 'InProgress') await ctx.store.patchHostDeployment(e.deploymentId, hostId, { currentEvent: e.event });
  ctx.changes.deployment(e.deploymentId);
}

export async function logBatch(ctx: Context, hostId: string, batch: LogBatch__Output): Promise<void> {
  if (batch.lines.length === 0 || !await ctx.store.getHostDeployment(batch.deploymentId, hostId)) return;
  await ctx.store.appendLogs(
    batch.lines.map(l => ({
      deploymentId: batch.deploymentId, hostId, at: iso(Number(l.atMs) || ctx.clock.now()),
      event: l.event, stream: l.stream === 'stderr' ? 'stderr' : 'stdout', line: l.line,
    })),
    ctx.limits.logBytesPerHost,
  );
  ctx.changes.logs(batch.deploymentId);
}

/**
 * Records a host's result. Idempotent: an agent re-sends unacknowledged results after a
 * reconnect, and a second copy changes nothing. Returns true when the result may be acknowledged.
 */
export async function hostResult(ctx: Context, hostId: string, r: HostResult__Output): Promise<boolean> {
  // Under the group's lock (the host's state read here is what its transition is decided on); the
  // rollbacks owed to a host that came back are other groups', each taken with its own lock after.
  const wasLost = await inGroupOf(ctx, r.deploymentId, () => recordResult(ctx, hostId, r));
  // A host that was lost comes back and finishes a run of a failed deployment: a rollback it
  // missed while offline is owed to it now (services/catch-up.ts).
  if (wasLost) await reissueOwedRollbacks(ctx, hostId, undefined);
  ctx.kick();
  return true;
}

/** Records the result; true when the host had been declared lost (Unknown) before it. */
async function recordResult(ctx: Context, hostId: string, r: HostResult__Output): Promise<boolean> {
  const hd = await ctx.store.getHostDeployment(r.deploymentId, hostId);
  const deployment = await ctx.store.getDeployment(r.deploymentId);
  if (!hd || !deployment) {
    ctx.log.warn('result for an unknown host deployment acknowledged and dropped', { component: 'agents', host_id: hostId, deployment_id: r.deploymentId });
    return false;
  }
  // The events its updates already reported, as stored, are not written (nor counted) again.
  const before = new Map((await ctx.store.listEventRecords(r.deploymentId, hostId)).map(b => [b.event, b]));
  for (const e of r.events) {
    const record = toRecord(r.deploymentId, hostId, e);
    const stored = before.get(record.event);
    if (!stored || !sameRecord(stored, record)) await putEventRecord(ctx, record);
  }
  ctx.metrics.hostFinished(r.deploymentId, hostId);
  const to = r.status === 'Succeeded' ? 'Succeeded' : 'Failed';
  const now = iso(ctx.clock.now());
  const failure = to === 'Failed' ? `${r.errorEvent ? `${r.errorEvent}: ` : ''}${r.errorMessage}` : '';
  // An agent declared lost that comes back reports what it reached: the record keeps both.
  const wasLost = hd.status === 'Unknown';
  const changed = await ctx.store.transitionHostDeployment(r.deploymentId, hostId, to, {
    completedAt: now, currentEvent: null,
    errorCode: wasLost ? (hd.errorCode ?? 'AGENT_LOST') : to === 'Failed' ? (r.errorCode || 'UnknownError') : null,
    errorMessage: wasLost
      ? `${hd.errorMessage ?? 'agent lost'}; the agent came back at ${now} and reported ${to}${failure ? ` (${r.errorCode}: ${failure})` : ''}`
      : failure || null,
  });
  if (changed) {
    ctx.log.info('host deployment finished', {
      component: 'agents', deployment_id: r.deploymentId, host_id: hostId, from: hd.status, to,
      ...(to === 'Failed' && { error_code: r.errorCode, event: r.errorEvent }),
    });
    await ctx.store.recordHostRevision({
      hostId, groupId: deployment.groupId, revisionDigest: deployment.revisionDigest,
      lastStatus: to, deploymentId: deployment.id, at: now,
    });
  }
  ctx.changes.deployment(r.deploymentId);
  ctx.changes.logs(r.deploymentId);
  return wasLost;
}
