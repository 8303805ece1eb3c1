/**
 * Every SQL statement of the SQLite store, prepared once per connection. Status changes are
 * compare-and-set: one UPDATE per target status, `WHERE … AND status IN (allowedFrom(table, to))`.
 */
import type { Database, Statement } from 'better-sqlite3';
import { patchSql } from './sqlite-rows.js';
import type { DeploymentPatch, HostDeploymentPatch } from './store.js';
import {
  ACTIVE_DEPLOYMENT_STATUSES, DEPLOYMENT_STATUSES, DEPLOYMENT_TRANSITIONS, HOST_DEPLOYMENT_STATUSES,
  EVENT_RECORD_TRANSITIONS, HOST_DEPLOYMENT_TRANSITIONS, allowedFrom,
} from '../domain/status.js';

/** `'a', 'b'` for an `IN (…)`; values are our own constants, quoted anyway. */
export function sqlList(values: readonly string[]): string {
  return values.map(v => `'${v.replaceAll("'", "''")}'`).join(', ');
}

export const DEPLOYMENT_PATCH_COLUMNS = {
  errorCode: 'error_code',
  errorMessage: 'error_message',
  startedAt: 'started_at',
  completedAt: 'completed_at',
  minHealthyHosts: 'min_healthy_hosts',
  pauseReason: 'pause_reason',
  approved: 'approved',
  pausedForWindow: 'paused_for_window',
  pauseKind: 'pause_kind',
} as const satisfies Record<keyof DeploymentPatch, string>;

export const HOST_DEPLOYMENT_PATCH_COLUMNS = {
  errorCode: 'error_code',
  errorMessage: 'error_message',
  startedAt: 'started_at',
  completedAt: 'completed_at',
  currentEvent: 'current_event',
  desired: 'desired',
} as const satisfies Record<keyof HostDeploymentPatch, string>;

/** Created/Queued → InProgress: the statuses `startDeployment` starts from (not a Paused resume). */
export const STARTABLE_STATUSES = allowedFrom(DEPLOYMENT_TRANSITIONS, 'InProgress')
  .filter(s => !ACTIVE_DEPLOYMENT_STATUSES.includes(s));

const insert = (table: string, columns: readonly string[]): string =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(c => `@${c}`).join(', ')})`;

/** `(@statuses IS NULL OR status IN (…))` with the statuses bound as a JSON array. */
const STATUS_FILTER = '(@statuses IS NULL OR status IN (SELECT value FROM json_each(@statuses)))';

/** The columns a new deployment is inserted with (the PostgreSQL store, pg-store.ts, inserts the same). */
export const DEPLOYMENT_COLUMNS = [
  'id', 'application', 'group_id', 'group_name', 'revision_digest', 'config_name', 'status', 'creator', 'created_by', 'description',
  'file_exists_behavior', 'ignore_application_stop_failures', 'target_host_ids', 'auto_rollback', 'rollback_of', 'rolled_back_by', 'approve_after', 'approve_after_zones', 'approved', 'pause_reason', 'ignore_alarms', 'ignore_window', 'paused_for_window', 'pause_kind', 'schedule_id', 'require_all_hosts', 'min_healthy_time_ms', 'min_healthy_hosts', 'error_code', 'error_message',
  'created_at', 'started_at', 'completed_at',
];
export const HOST_DEPLOYMENT_COLUMNS = [
  'deployment_id', 'host_id', 'status', 'current_event', 'error_code', 'error_message', 'position', 'started_at',
  'completed_at', 'desired',
];
export const EVENT_COLUMNS = [
  'deployment_id', 'host_id', 'event', 'status', 'error_code', 'exit_code', 'message', 'started_at', 'ended_at',
  'duration_ms',
];
const LOG_COLUMNS = 'seq, deployment_id, host_id, at, event, stream, line';

function perStatus<S extends string>(statuses: readonly S[], build: (to: S) => Statement): Readonly<Record<S, Statement>> {
  return Object.fromEntries(statuses.map(to => [to, build(to)])) as Record<S, Statement>;
}

/** `('Pending', 'InProgress'), …`: every allowed lifecycle-event transition, for the upsert's compare-and-set. */
const EVENT_TRANSITION_PAIRS = Object.entries(EVENT_RECORD_TRANSITIONS)
  .flatMap(([from, tos]) => (tos as readonly string[]).map(to => `(${sqlList([from])}, ${sqlList([to])})`)).join(', ');

export function prepareStatements(db: Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    insertApplication: p(insert('applications', ['name', 'created_at'])),
    getApplication: p('SELECT * FROM applications WHERE name = ?'),
    listApplications: p('SELECT * FROM applications ORDER BY name'),

    insertConfig: p(insert('deployment_configs', ['name', 'minimum_healthy', 'zonal', 'built_in', 'created_at'])),
    getConfig: p('SELECT * FROM deployment_configs WHERE name = ?'),
    listConfigs: p('SELECT * FROM deployment_configs ORDER BY built_in DESC, name'),

    insertGroup: p(insert('deployment_groups', ['id', 'application', 'name', 'tag_sets', 'config_name', 'auto_rollback', 'alarms', 'rollback_config', 'windows', 'created_at'])),
    setGroupWindows: p('UPDATE deployment_groups SET windows = @windows WHERE id = @id'),
    setGroupTagSets: p('UPDATE deployment_groups SET tag_sets = @tag_sets WHERE id = @id'),
    setGroupConfig: p('UPDATE deployment_groups SET config_name = @config_name WHERE id = @id'),
    setGroupRollbackConfig: p('UPDATE deployment_groups SET rollback_config = @rollback_config WHERE id = @id'),
    setGroupAlarms: p('UPDATE deployment_groups SET alarms = @alarms WHERE id = @id'),
    setGroupAutoRollback: p('UPDATE deployment_groups SET auto_rollback = @auto_rollback WHERE id = @id'),
    getGroup: p('SELECT * FROM deployment_groups WHERE application = ? AND name = ?'),
    getGroupById: p('SELECT * FROM deployment_groups WHERE id = ?'),
    listGroups: p(`SELECT * FROM deployment_groups WHERE (@application IS NULL OR application = @application)
      ORDER BY application, name`),

    insertRevision: p(`${insert('revisions', [
      'application', 'digest', 'size', 'bundle_type', 'description', 'git_commit', 'created_at',
    ])} ON CONFLICT (application, digest) DO NOTHING`),
    getRevision: p('SELECT * FROM revisions WHERE application = ? AND digest = ? AND deleted_at IS NULL'),
    findRevisionByDigest: p('SELECT * FROM revisions WHERE digest = ? AND deleted_at IS NULL ORDER BY created_at, rowid LIMIT 1'),
    listRevisions: p('SELECT * FROM revisions WHERE application = ? AND deleted_at IS NULL ORDER BY created_at DESC, rowid DESC'),
    latestRevision: p('SELECT * FROM revisions WHERE application = ? AND deleted_at IS NULL ORDER BY created_at DESC, rowid DESC LIMIT 1'),

    upsertHost: p(`INSERT INTO hosts
        (id, hostname, tags, zone, agent_version, facts, connected, last_seen_at, registered_at)
      VALUES (@id, @hostname, @tags, @zone, @agent_version, @facts, 1, @last_seen_at, @registered_at)
      ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, tags = excluded.tags, zone = excluded.zone,
        agent_version = excluded.agent_version, facts = excluded.facts, connected = 1,
        last_seen_at = excluded.last_seen_at`),
    getHost: p('SELECT * FROM hosts WHERE id = ?'),
    // Removed hosts (ferry hosts remove) keep their row for the history, but leave every list and group.
    listHosts: p('SELECT * FROM hosts WHERE removed_at IS NULL ORDER BY id'),
    listHostPresence: p('SELECT id, connected, last_seen_at FROM hosts WHERE removed_at IS NULL ORDER BY id'),
    setHostConnected: p('UPDATE hosts SET connected = @connected, last_seen_at = @at WHERE id = @id'),
    // Heartbeat times written late (services/agents.ts flushLastSeen) never move a newer time (a registration's) back.
    seenHost: p('UPDATE hosts SET last_seen_at = MAX(last_seen_at, @at) WHERE id = @id'),
    seenHostConnected: p('UPDATE hosts SET connected = 1, last_seen_at = MAX(last_seen_at, @at) WHERE id = @id'),

    insertDeployment: p(insert('deployments', DEPLOYMENT_COLUMNS)),
    getDeployment: p('SELECT * FROM deployments WHERE id = ?'),
    // Newest first by creation order (a sequence: a clock jump never reorders the queue).
    listDeployments: p(`SELECT * FROM deployments
      WHERE (@application IS NULL OR application = @application) AND (@group_id IS NULL OR group_id = @group_id)
        AND ${STATUS_FILTER}
        AND (@host_id IS NULL OR id IN (SELECT deployment_id FROM host_deployments WHERE host_id = @host_id))
      ORDER BY rowid DESC LIMIT @limit`),
    transitionDeployment: perStatus(DEPLOYMENT_STATUSES, to => p(`UPDATE deployments
      SET status = ${sqlList([to])}, ${patchSql(DEPLOYMENT_PATCH_COLUMNS)}${DEPLOYMENT_TRANSITIONS[to].length === 0
        // Ended: numbered in the order deployments end (a sequence, never a wall clock).
        ? ', finish_seq = (SELECT COALESCE(MAX(finish_seq), 0) + 1 FROM deployments)' : ''}
      WHERE id = @id AND status IN (${sqlList(allowedFrom(DEPLOYMENT_TRANSITIONS, to))})`)),
    startDeployment: p(`UPDATE deployments
      SET status = 'InProgress', started_at = @started_at, min_healthy_hosts = @min_healthy_hosts
      WHERE id = @id AND status IN (${sqlList(STARTABLE_STATUSES)})`),
    // A rollback goes before anything else waiting: it restores the last good revision.
    nextQueued: p(`SELECT * FROM deployments WHERE group_id = ? AND status = 'Queued'
      ORDER BY (creator = 'rollback') DESC, rowid LIMIT 1`),
    linkRollback: p('UPDATE deployments SET rolled_back_by = @rollback WHERE id = @id AND rolled_back_by IS NULL'),
    activeDeployment: p(`SELECT * FROM deployments
      WHERE group_id = ? AND status IN (${sqlList(ACTIVE_DEPLOYMENT_STATUSES)})`),
    // The group's target: catch-up deployments (creator autoscaling) never set it.
    lastSuccessfulDeployment: p(`SELECT * FROM deployments WHERE group_id = ? AND status = 'Succeeded' AND creator <> 'autoscaling'
      ORDER BY finish_seq DESC, rowid DESC LIMIT 1`),

    insertHostDeployment: p(insert('host_deployments', HOST_DEPLOYMENT_COLUMNS)),
    listHostDeployments: p('SELECT * FROM host_deployments WHERE deployment_id = ? ORDER BY position, host_id'),
    listHostDeploymentStates: p(`SELECT host_id, status, position, completed_at FROM host_deployments WHERE deployment_id = ?
      ORDER BY position, host_id`),
    getHostDeployment: p('SELECT * FROM host_deployments WHERE deployment_id = ? AND host_id = ?'),
    hostDeploymentCounts: p('SELECT * FROM deployment_host_counts WHERE deployment_id = ?'),
    hostDeploymentsOnHost: p(`SELECT * FROM host_deployments WHERE host_id = @host_id AND ${STATUS_FILTER}
      ORDER BY rowid`),
    isRevisionTarget: p(`SELECT 1 FROM host_deployments hd JOIN deployments d ON d.id = hd.deployment_id
      WHERE hd.host_id = ? AND d.revision_digest = ? LIMIT 1`),
    transitionHostDeployment: perStatus(HOST_DEPLOYMENT_STATUSES, to => p(`UPDATE host_deployments
      SET status = ${sqlList([to])}, ${patchSql(HOST_DEPLOYMENT_PATCH_COLUMNS)}
      WHERE deployment_id = @deployment_id AND host_id = @host_id
        AND status IN (${sqlList(allowedFrom(HOST_DEPLOYMENT_TRANSITIONS, to))})`)),
    patchHostDeployment: p(`UPDATE host_deployments SET ${patchSql(HOST_DEPLOYMENT_PATCH_COLUMNS)}
      WHERE deployment_id = @deployment_id AND host_id = @host_id`),

    // Compare-and-set like every status change: the same status again (a re-sent report) or an
    // allowed transition; a late InProgress never overwrites Succeeded.
    putEventRecord: p(`${insert('lifecycle_events', EVENT_COLUMNS)}
      ON CONFLICT (deployment_id, host_id, event) DO UPDATE SET
        ${EVENT_COLUMNS.slice(3).map(c => `${c} = excluded.${c}`).join(', ')}
      WHERE lifecycle_events.status = excluded.status OR (lifecycle_events.status, excluded.status) IN (VALUES ${EVENT_TRANSITION_PAIRS})`),
    eventRecordStatus: p('SELECT status FROM lifecycle_events WHERE deployment_id = ? AND host_id = ? AND event = ?'),
    listEventRecords: p('SELECT * FROM lifecycle_events WHERE deployment_id = ? ORDER BY host_id, rowid'),
    listHostEventRecords: p('SELECT * FROM lifecycle_events WHERE deployment_id = ? AND host_id = ? ORDER BY rowid'),

    insertLogLine: p(insert('log_lines', ['deployment_id', 'host_id', 'at', 'event', 'stream', 'line', 'bytes'])),
    // Newest first, a running total of bytes: every line from the one where it passes the limit is dropped.
    trimLogs: p(`DELETE FROM log_lines WHERE seq IN (
      SELECT seq FROM (
        SELECT seq, SUM(bytes) OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS kept
        FROM log_lines WHERE deployment_id = @deployment_id AND host_id = @host_id)
      WHERE kept > @max_bytes)`),
    listLogs: p(`SELECT ${LOG_COLUMNS} FROM log_lines WHERE deployment_id = @deployment_id AND seq > @after_seq
      ORDER BY seq LIMIT @limit`),
    listHostLogs: p(`SELECT ${LOG_COLUMNS} FROM log_lines
      WHERE deployment_id = @deployment_id AND host_id = @host_id AND seq > @after_seq ORDER BY seq LIMIT @limit`),

    recordHostRevision: p(`${insert('host_revisions', [
      'group_id', 'host_id', 'revision_digest', 'last_status', 'deployment_id', 'at',
    ])} ON CONFLICT (group_id, host_id) DO UPDATE SET revision_digest = excluded.revision_digest,
        last_status = excluded.last_status, deployment_id = excluded.deployment_id, at = excluded.at`),
    hostRevisions: p('SELECT * FROM host_revisions WHERE group_id = ? ORDER BY host_id'),
    revokedHostIds: p('SELECT host_id FROM host_certificates GROUP BY host_id HAVING SUM(revoked_at IS NULL) = 0'),
    hostRevision: p('SELECT * FROM host_revisions WHERE group_id = ? AND host_id = ?'),
    claimAutoDeployment: p(`INSERT INTO auto_deployments (group_id, host_id, digest) VALUES (?, ?, ?)
      ON CONFLICT DO NOTHING`),
    releaseAutoDeployment: p('DELETE FROM auto_deployments WHERE group_id = ? AND host_id = ? AND digest = ?'),

    // Metrics
    countDeploymentsByStatus: p('SELECT status, COUNT(*) AS count FROM deployments GROUP BY status ORDER BY status'),
    countHostDeploymentsByStatus: p(`SELECT status, COALESCE(error_code, '') AS error_code, COUNT(*) AS count
      FROM host_deployments GROUP BY status, COALESCE(error_code, '') ORDER BY status, error_code`),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
