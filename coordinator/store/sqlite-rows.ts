/**
 * Rows ↔ domain objects for the SQLite store. Row shapes stay in this file: readers take what
 * better-sqlite3 returns (`unknown`), writers return named parameters for a statement.
 * NULL columns become absent optional fields; `undefined` optional fields become NULL.
 */
import type { HostDeploymentCounts } from '../domain/status.js';
import type { HostDeploymentState, HostRevisionState } from './store.js';
import type {
  Application, Deployment, DeploymentConfig, DeploymentGroup, Host, HostDeployment, LifecycleEventRecord, LogLine,
  PauseKind, Revision,
} from '../domain/types.js';
import type { DeploymentWindow } from '../domain/windows.js';

type Params = Record<string, string | number | null>;

/** `{ key: value }` when the column is not NULL, `{}` otherwise: spread into a domain object. */
function present<K extends string, V>(key: K, value: V | null): Partial<Record<K, V>> {
  return value === null ? {} : ({ [key]: value } as Record<K, V>);
}

const orNull = <V>(value: V | undefined): V | null => (value === undefined ? null : value);
const flag = (value: boolean): number => (value ? 1 : 0);

interface ApplicationRow { name: string; created_at: string }

export function toApplication(raw: unknown): Application {
  const r = raw as ApplicationRow;
  return { name: r.name, createdAt: r.created_at };
}
export function applicationParams(a: Application): Params {
  return { name: a.name, created_at: a.createdAt };
}

interface ConfigRow { name: string; minimum_healthy: string; zonal: string | null; built_in: number; created_at: string }

export function toConfig(raw: unknown): DeploymentConfig {
  const r = raw as ConfigRow;
  return {
    name: r.name,
    minimumHealthy: JSON.parse(r.minimum_healthy) as DeploymentConfig['minimumHealthy'],
    ...present('zonal', r.zonal === null ? null : JSON.parse(r.zonal) as NonNullable<DeploymentConfig['zonal']>),
    builtIn: r.built_in === 1,
    createdAt: r.created_at,
  };
}
export function configParams(c: DeploymentConfig): Params {
  return {
    name: c.name, minimum_healthy: JSON.stringify(c.minimumHealthy), zonal: c.zonal === undefined ? null : JSON.stringify(c.zonal), built_in: flag(c.builtIn), created_at: c.createdAt,
  };
}

interface GroupRow { id: string; application: string; name: string; tag_sets: string; config_name: string; auto_rollback: string; alarms: string; rollback_config: string | null; windows: string; created_at: string }

export function toGroup(raw: unknown): DeploymentGroup {
  const r = raw as GroupRow;
  return {
    id: r.id,
    application: r.application,
    name: r.name,
    tagSets: JSON.parse(r.tag_sets) as DeploymentGroup['tagSets'],
    configName: r.config_name,
    autoRollback: JSON.parse(r.auto_rollback) as DeploymentGroup['autoRollback'],
    alarms: JSON.parse(r.alarms) as string[],
    ...present('rollbackConfig', r.rollback_config),
    ...(r.windows !== '[]' && { windows: JSON.parse(r.windows) as DeploymentWindow[] }),
    createdAt: r.created_at,
  };
}
export function groupParams(g: DeploymentGroup): Params {
  return {
    id: g.id, application: g.application, name: g.name, tag_sets: JSON.stringify(g.tagSets),
    config_name: g.configName, auto_rollback: JSON.stringify(g.autoRollback ?? []), alarms: JSON.stringify(g.alarms ?? []), rollback_config: orNull(g.rollbackConfig),
    windows: JSON.stringify(g.windows ?? []), created_at: g.createdAt,
  };
}

interface RevisionRow {
  application: string; digest: string; size: number; bundle_type: Revision['bundleType']; description: string;
  git_commit: string | null; created_at: string;
}

export function toRevision(raw: unknown): Revision {
  const r = raw as RevisionRow;
  return {
    digest: r.digest,
    application: r.application,
    size: r.size,
    bundleType: r.bundle_type,
    description: r.description,
    ...present('commit', r.git_commit),
    createdAt: r.created_at,
  };
}
export function revisionParams(r: Revision): Params {
  return {
    application: r.application, digest: r.digest, size: r.size, bundle_type: r.bundleType,
    description: r.description, git_commit: orNull(r.commit), created_at: r.createdAt,
  };
}

interface HostRow {
  id: string; hostname: string; tags: string; zone: string | null; agent_version: string; facts: string;
  connected: number; last_seen_at: string; registered_at: string;
}

/** A hosts row's id, connected flag and last-seen time (Store.listHostPresence), on both engines. */
export function toHostPresence(raw: unknown): Pick<Host, 'id' | 'connected' | 'lastSeenAt'> {
  const r = raw as Pick<HostRow, 'id' | 'connected' | 'last_seen_at'>;
  return { id: r.id, connected: r.connected === 1, lastSeenAt: r.last_seen_at };
}
export function toHost(raw: unknown): Host {
  const r = raw as HostRow;
  return {
    id: r.id,
    hostname: r.hostname,
    tags: JSON.parse(r.tags) as Host['tags'],
    ...present('zone', r.zone),
    agentVersion: r.agent_version,
    facts: JSON.parse(r.facts) as Host['facts'],
    connected: r.connected === 1,
    lastSeenAt: r.last_seen_at,
    registeredAt: r.registered_at,
  };
}
export function hostParams(h: Host): Params {
  return {
    id: h.id, hostname: h.hostname, tags: JSON.stringify(h.tags), zone: orNull(h.zone), agent_version: h.agentVersion,
    facts: JSON.stringify(h.facts), last_seen_at: h.lastSeenAt, registered_at: h.registeredAt,
  };
}

interface DeploymentRow {
  id: string; application: string; group_id: string; group_name: string; revision_digest: string;
  config_name: string; status: Deployment['status']; creator: Deployment['creator']; created_by: string; description: string;
  file_exists_behavior: Deployment['fileExistsBehavior']; ignore_application_stop_failures: number;
  target_host_ids: string | null; auto_rollback: string | null; rollback_of: string | null; rolled_back_by: string | null;
  approve_after: number | null; approve_after_zones: number | null; approved: number; pause_reason: string | null; ignore_alarms: number; min_healthy_time_ms: number;
  min_healthy_hosts: number | null; error_code: string | null; error_message: string | null; created_at: string;
  started_at: string | null; completed_at: string | null;
  ignore_window: number; paused_for_window: number; pause_kind: PauseKind | null; schedule_id: string | null; require_all_hosts: number;
}

export function toDeployment(raw: unknown): Deployment {
  const r = raw as DeploymentRow;
  return {
    id: r.id,
    application: r.application,
    groupId: r.group_id,
    groupName: r.group_name,
    revisionDigest: r.revision_digest,
    configName: r.config_name,
    status: r.status,
    creator: r.creator,
    ...(r.created_by && { createdBy: r.created_by }),
    description: r.description,
    fileExistsBehavior: r.file_exists_behavior,
    ignoreApplicationStopFailures: r.ignore_application_stop_failures === 1,
    ...present('targetHostIds', r.target_host_ids === null ? null : JSON.parse(r.target_host_ids) as string[]),
    ...present('autoRollback', r.auto_rollback === null ? null : JSON.parse(r.auto_rollback) as Deployment['autoRollback']),
    ...(r.ignore_alarms === 1 && { ignoreAlarms: true }),
    ...(r.min_healthy_time_ms > 0 && { minHealthyTimeMs: r.min_healthy_time_ms }),
    ...present('approveAfter', r.approve_after),
    ...present('approveAfterZones', r.approve_after_zones),
    ...(r.approved === 1 && { approved: true }),
    ...present('pauseReason', r.pause_reason),
    ...(r.pause_kind && { pauseKind: r.pause_kind }),
    ...(r.ignore_window === 1 && { ignoreWindow: true }),
    ...(r.require_all_hosts === 1 && { requireAllHosts: true }),
    ...present('scheduleId', r.schedule_id),
    ...present('rollbackOf', r.rollback_of),
    ...present('rolledBackBy', r.rolled_back_by),
    ...present('minHealthyHosts', r.min_healthy_hosts),
    ...present('errorCode', r.error_code),
    ...present('errorMessage', r.error_message),
    createdAt: r.created_at,
    ...present('startedAt', r.started_at),
    ...present('completedAt', r.completed_at),
  };
}
export function deploymentParams(d: Deployment): Params {
  return {
    id: d.id, application: d.application, group_id: d.groupId, group_name: d.groupName,
    revision_digest: d.revisionDigest, config_name: d.configName, status: d.status, creator: d.creator, created_by: d.createdBy ?? '',
    description: d.description, file_exists_behavior: d.fileExistsBehavior,
    ignore_application_stop_failures: flag(d.ignoreApplicationStopFailures),
    target_host_ids: d.targetHostIds === undefined ? null : JSON.stringify(d.targetHostIds),
    auto_rollback: d.autoRollback === undefined ? null : JSON.stringify(d.autoRollback),
    rollback_of: orNull(d.rollbackOf), rolled_back_by: orNull(d.rolledBackBy),
    approve_after: orNull(d.approveAfter), approve_after_zones: orNull(d.approveAfterZones), approved: flag(d.approved ?? false), pause_reason: orNull(d.pauseReason),
    ignore_window: flag(d.ignoreWindow ?? false), paused_for_window: flag(d.pauseKind === 'window'), pause_kind: orNull(d.pauseKind), schedule_id: orNull(d.scheduleId), require_all_hosts: flag(d.requireAllHosts ?? false),
    ignore_alarms: flag(d.ignoreAlarms ?? false), min_healthy_time_ms: d.minHealthyTimeMs ?? 0,
    min_healthy_hosts: orNull(d.minHealthyHosts), error_code: orNull(d.errorCode),
    error_message: orNull(d.errorMessage), created_at: d.createdAt, started_at: orNull(d.startedAt),
    completed_at: orNull(d.completedAt),
  };
}

interface HostDeploymentRow {
  deployment_id: string; host_id: string; status: HostDeployment['status']; current_event: string | null;
  error_code: string | null; error_message: string | null; position: number; started_at: string | null;
  completed_at: string | null; desired: 'run' | 'stop';
}

export function toHostDeployment(raw: unknown): HostDeployment {
  const r = raw as HostDeploymentRow;
  return {
    deploymentId: r.deployment_id,
    hostId: r.host_id,
    status: r.status,
    ...present('currentEvent', r.current_event),
    ...present('errorCode', r.error_code),
    ...present('errorMessage', r.error_message),
    position: r.position,
    ...present('startedAt', r.started_at),
    ...present('completedAt', r.completed_at),
    ...(r.desired === 'stop' && { desired: 'stop' as const }),
  };
}
export function hostDeploymentParams(h: HostDeployment): Params {
  return {
    deployment_id: h.deploymentId, host_id: h.hostId, status: h.status, current_event: orNull(h.currentEvent),
    error_code: orNull(h.errorCode), error_message: orNull(h.errorMessage), position: h.position,
    started_at: orNull(h.startedAt), completed_at: orNull(h.completedAt), desired: h.desired ?? 'run',
  };
}

interface EventRow {
  deployment_id: string; host_id: string; event: string; status: LifecycleEventRecord['status'];
  error_code: string | null; exit_code: number | null; message: string | null; started_at: string | null;
  ended_at: string | null; duration_ms: number | null;
}

export function toEventRecord(raw: unknown): LifecycleEventRecord {
  const r = raw as EventRow;
  return {
    deploymentId: r.deployment_id,
    hostId: r.host_id,
    event: r.event,
    status: r.status,
    ...present('errorCode', r.error_code),
    ...present('exitCode', r.exit_code),
    ...present('message', r.message),
    ...present('startedAt', r.started_at),
    ...present('endedAt', r.ended_at),
    ...present('durationMs', r.duration_ms),
  };
}
export function eventRecordParams(e: LifecycleEventRecord): Params {
  return {
    deployment_id: e.deploymentId, host_id: e.hostId, event: e.event, status: e.status,
    error_code: orNull(e.errorCode), exit_code: orNull(e.exitCode), message: orNull(e.message),
    started_at: orNull(e.startedAt), ended_at: orNull(e.endedAt), duration_ms: orNull(e.durationMs),
  };
}

interface LogRow {
  seq: number; deployment_id: string; host_id: string; at: string; event: string; stream: LogLine['stream'];
  line: string;
}

export function toLogLine(raw: unknown): LogLine {
  const r = raw as LogRow;
  return {
    deploymentId: r.deployment_id, hostId: r.host_id, seq: r.seq, at: r.at, event: r.event, stream: r.stream,
    line: r.line,
  };
}
export function logLineParams(l: Omit<LogLine, 'seq'>): Params {
  return {
    deployment_id: l.deploymentId, host_id: l.hostId, at: l.at, event: l.event, stream: l.stream, line: l.line,
    bytes: Buffer.byteLength(l.line),
  };
}

interface HostRevisionRow {
  group_id: string; host_id: string; revision_digest: string; last_status: HostRevisionState['lastStatus'];
  deployment_id: string; at: string;
}

export function toHostRevision(raw: unknown): HostRevisionState {
  const r = raw as HostRevisionRow;
  return {
    hostId: r.host_id, groupId: r.group_id, revisionDigest: r.revision_digest, lastStatus: r.last_status,
    deploymentId: r.deployment_id, at: r.at,
  };
}
export function hostRevisionParams(s: HostRevisionState): Params {
  return {
    group_id: s.groupId, host_id: s.hostId, revision_digest: s.revisionDigest, last_status: s.lastStatus,
    deployment_id: s.deploymentId, at: s.at,
  };
}

/**
 * Named parameters for the optional fields of a status change or patch (`columns` maps each
 * patch field to its column): `undefined` keeps the column (`set_<column>` = 0), `null` clears it,
 * a value sets it. See `patchSql` for the matching SET clause.
 */
export function patchParams<P extends object>(patch: P, columns: Readonly<Record<keyof P & string, string>>): Params {
  const out: Params = {};
  for (const [field, column] of Object.entries<string>(columns)) {
    const value = (patch as Record<string, string | number | null | undefined>)[field];
    out[`set_${column}`] = value === undefined ? 0 : 1;
    out[column] = typeof value === 'boolean' ? (value ? 1 : 0) : value ?? null;
  }
  return out;
}

/** The SET clause matching `patchParams` for these columns. */
export function patchSql(columns: Readonly<Record<string, string>>): string {
  return Object.values(columns)
    .map(c => `${c} = CASE WHEN @set_${c} = 1 THEN @${c} ELSE ${c} END`)
    .join(', ');
}

/** A row of host_id, status, position, completed_at (listHostDeploymentStates). */
export function toHostDeploymentState(raw: unknown): HostDeploymentState {
  const r = raw as { host_id: string; status: HostDeployment['status']; position: number; completed_at: string | null };
  return { hostId: r.host_id, status: r.status, position: r.position, ...present('completedAt', r.completed_at) };
}

/** A deployment_host_counts row (or none: no targets) as counts per status. */
export function toHostDeploymentCounts(raw: unknown): HostDeploymentCounts {
  const r = raw as { pending: number; in_progress: number; succeeded: number; failed: number; skipped: number; unknown: number } | undefined;
  return {
    Pending: r?.pending ?? 0, InProgress: r?.in_progress ?? 0, Succeeded: r?.succeeded ?? 0,
    Failed: r?.failed ?? 0, Skipped: r?.skipped ?? 0, Unknown: r?.unknown ?? 0,
  };
}
