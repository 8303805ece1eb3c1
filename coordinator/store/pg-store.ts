/**
 * The `Store` on PostgreSQL, for several coordinator replicas on one database (docs/high-availability.md).
 * The same semantics as the SQLite store (sqlite-store.ts), proven by the same contract suite
 * (test/contract/store.test.ts): FerryError NOT_FOUND / ALREADY_EXISTS / CONFLICT, compare-and-set status
 * changes (one UPDATE … WHERE status IN (…), so two replicas racing cannot both move a row), each
 * multi-statement method in one transaction on one pooled client, events appended by triggers in the
 * transaction of the change. Rows are read by the SQLite store's row mapping (sqlite-rows.ts): the
 * PostgreSQL schema (pg-schema/p01.ts) keeps its column names and types.
 */
import type pg from 'pg';
import { FerryError } from '../../common/errors.js';
import type { AuditEntry, AuditFilter, AuditRecord } from '../domain/audit.js';
import type { DeliveryJob, DeliveryOutcome, FerryEvent, TriggerInput, TriggerView } from '../domain/events.js';
import type { DeploymentPlanRecord } from '../domain/plan.js';
import type { Schedule, ScheduleState } from '../domain/schedules.js';
import {
  ACTIVE_DEPLOYMENT_STATUSES, DEPLOYMENT_STATUSES, DEPLOYMENT_TRANSITIONS, EVENT_RECORD_TRANSITIONS, HOST_DEPLOYMENT_STATUSES,
  HOST_DEPLOYMENT_TRANSITIONS, allowedFrom, type DeploymentStatus, type HostDeploymentCounts, type HostDeploymentStatus,
} from '../domain/status.js';
import type {
  Application, AutoRollbackEvent, Deployment, DeploymentConfig, DeploymentGroup, Host, HostDeployment, LifecycleEventRecord, LogLine,
  Revision, TagSets,
} from '../domain/types.js';
import type { DeploymentWindow } from '../domain/windows.js';
import type { TokenRecord } from '../security/tokens.js';
import {
  type PgParent, type Queryable, changes, createPool, guard, inList, insertSql, isActiveDeploymentConflict, one, rows, transaction, withTransaction,
} from './pg-db.js';
import { PgEventLog, appendEventOn, refreshStartOverview } from './pg-events.js';
import { migratePg } from './pg-migrations.js';
import { PgTables } from './pg-tables.js';
import * as map from './sqlite-rows.js';
import {
  DEPLOYMENT_COLUMNS, DEPLOYMENT_PATCH_COLUMNS, EVENT_COLUMNS, HOST_DEPLOYMENT_COLUMNS, HOST_DEPLOYMENT_PATCH_COLUMNS, STARTABLE_STATUSES, sqlList,
} from './sqlite-statements.js';
import type {
  ConsoleSessionRecord, DeploymentFilter, DeploymentPatch, HostCertificate, HostDeploymentPatch, HostDeploymentState, HostPresence, HostRevisionState, HostSeen, HostTags, RemovedCounts, ScheduleFilter, StatusCount, Store,
} from './store.js';

const DEFAULT_DEPLOYMENT_LIMIT = 50;
const STATUS_FILTER = '(@statuses::text[] IS NULL OR status = ANY(@statuses::text[]))';

const LOG_COLUMNS = 'seq, deployment_id, host_id, at, event, stream, line';

/** The SET clause of a patch (as sqlite-rows.ts `patchSql`), with PostgreSQL's casts so every parameter has a type. */
function patchSet(columns: Readonly<Record<string, string>>): string {
  return Object.values(columns).map(c => `${c} = CASE WHEN @set_${c}::integer = 1 THEN @${c} ELSE ${c} END`).join(', ');
}

const EVENT_TRANSITION_PAIRS = Object.entries(EVENT_RECORD_TRANSITIONS)
  .flatMap(([from, tos]) => (tos as readonly string[]).map(to => `(${sqlList([from])}, ${sqlList([to])})`)).join(', ');

const SQL = {
  transitionDeployment: Object.fromEntries(DEPLOYMENT_STATUSES.map(to => [to, `UPDATE deployments
    SET status = ${sqlList([to])}, ${patchSet(DEPLOYMENT_PATCH_COLUMNS)}${DEPLOYMENT_TRANSITIONS[to].length === 0
      // Ended: numbered in the order deployments end (a sequence, never a wall clock).
      ? ", finish_seq = nextval('deployment_finish_seq')" : ''}
    WHERE id = @id AND ${inList('status', allowedFrom(DEPLOYMENT_TRANSITIONS, to))}`])) as Record<DeploymentStatus, string>,
  transitionHostDeployment: Object.fromEntries(HOST_DEPLOYMENT_STATUSES.map(to => [to, `UPDATE host_deployments
    SET status = ${sqlList([to])}, ${patchSet(HOST_DEPLOYMENT_PATCH_COLUMNS)}
    WHERE deployment_id = @deployment_id AND host_id = @host_id AND ${inList('status', allowedFrom(HOST_DEPLOYMENT_TRANSITIONS, to))}`])) as Record<HostDeploymentStatus, string>,
  // One statement: \`before\` reads the snapshot the statement started from, whatever \`put\` changes.
  putEventRecord: `WITH before AS (
      SELECT status FROM lifecycle_events WHERE deployment_id = @deployment_id AND host_id = @host_id AND event = @event
    ), put AS (${insertSql('lifecycle_events', EVENT_COLUMNS)}
    ON CONFLICT (deployment_id, host_id, event) DO UPDATE SET ${EVENT_COLUMNS.slice(3).map(c => `${c} = excluded.${c}`).join(', ')}
    WHERE lifecycle_events.status = excluded.status OR (lifecycle_events.status, excluded.status) IN (VALUES ${EVENT_TRANSITION_PAIRS})
    RETURNING 1)
    SELECT (SELECT status FROM before) AS before, (SELECT COUNT(*) FROM put) AS put`,
};

/** How to reach the database: pg's connection settings (or a connection string, in tests), the schema, the pool size. */
export interface PgStoreOptions {
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  password?: string;
  ssl?: pg.PoolConfig['ssl'];
  /** Connections in the pool (default 10). */
  max?: number;
  /** The PostgreSQL schema holding Ferry's tables (default: the user's search_path, normally `public`). */
  schema?: string;
}

/** Connects, brings the schema up to date (under an advisory lock) and returns the store. */
export async function openPgStore(options: PgStoreOptions): Promise<PgStore> {
  const { schema, ...config } = options;
  const pool = createPool({
    ...config,
    // A server that does not answer fails the call instead of hanging it.
    connectionTimeoutMillis: 10_000,
    ...(schema !== undefined && { options: `-c search_path=${quoteIdent(schema)}` }),
  });
  try {
    const applied = await migratePg(pool);
    return new PgStore(pool, applied);
  } catch (err) {
    await pool.end();
    throw err;
  }
}

export class PgStore implements Store {
  private readonly events: PgEventLog;
  private readonly tables: PgTables;

  constructor(readonly pool: pg.Pool, readonly appliedMigrations: readonly number[] = []) {
    this.events = new PgEventLog(pool);
    this.tables = new PgTables(pool, {
      application: name => this.getApplication(name), group: id => this.getGroupById(id), deployment: id => this.getDeployment(id),
    });
  }

  /** The last migration applied (schema_migrations). */
  async schemaVersion(): Promise<number> {
    return (await one<{ v: number | null }>(this.pool, 'SELECT MAX(version) AS v FROM schema_migrations'))?.v ?? 0;
  }

  async createApplication(app: Application): Promise<void> {
    await guard(`application "${app.name}"`, () => changes(this.pool, insertSql('applications', ['name', 'created_at']), map.applicationParams(app)));
  }

  async getApplication(name: string): Promise<Application | undefined> {
    return maybe(await one(this.pool, 'SELECT * FROM applications WHERE name = @name', { name }), map.toApplication);
  }

  async listApplications(): Promise<Application[]> {
    return (await rows(this.pool, 'SELECT * FROM applications ORDER BY name')).map(map.toApplication);
  }

  async createConfig(config: DeploymentConfig): Promise<void> {
    await guard(`deployment config "${config.name}"`, () => changes(this.pool, insertSql('deployment_configs', ['name', 'minimum_healthy', 'zonal', 'built_in', 'created_at']), map.configParams(config)));
  }

  async getConfig(name: string): Promise<DeploymentConfig | undefined> {
    return maybe(await one(this.pool, 'SELECT * FROM deployment_configs WHERE name = @name', { name }), map.toConfig);
  }

  async listConfigs(): Promise<DeploymentConfig[]> {
    return (await rows(this.pool, 'SELECT * FROM deployment_configs ORDER BY built_in DESC, name')).map(map.toConfig);
  }

  async createGroup(group: DeploymentGroup): Promise<void> {
    await guard(`deployment group "${group.name}" (id ${group.id}) of application "${group.application}"`,
      () => changes(this.pool, insertSql('deployment_groups', ['id', 'application', 'name', 'tag_sets', 'config_name', 'auto_rollback', 'alarms', 'rollback_config', 'windows', 'created_at']), map.groupParams(group)),
      [
        [`application "${group.application}"`, () => this.getApplication(group.application)],
        [`deployment config "${group.configName}"`, () => this.getConfig(group.configName)],
      ]);
  }

  async getGroup(application: string, name: string): Promise<DeploymentGroup | undefined> {
    return maybe(await one(this.pool, 'SELECT * FROM deployment_groups WHERE application = @application AND name = @name', { application, name }), map.toGroup);
  }

  async getGroupById(id: string): Promise<DeploymentGroup | undefined> {
    return maybe(await one(this.pool, 'SELECT * FROM deployment_groups WHERE id = @id', { id }), map.toGroup);
  }

  async listGroups(application?: string): Promise<DeploymentGroup[]> {
    return (await rows(this.pool, `SELECT * FROM deployment_groups WHERE (@application::text IS NULL OR application = @application::text)
      ORDER BY application, name`, { application: application ?? null })).map(map.toGroup);
  }

  private async setGroupColumn(groupId: string, column: string, value: string | null, parents: readonly PgParent[] = [], what = `deployment group id "${groupId}"`): Promise<void> {
    const changed = await guard(what, () => changes(this.pool, `UPDATE deployment_groups SET ${column} = @value WHERE id = @id`, { id: groupId, value }), parents);
    if (changed !== 1) throw new FerryError('NOT_FOUND', `deployment group id "${groupId}" not found`);
  }

  setGroupAutoRollback(groupId: string, events: readonly AutoRollbackEvent[]): Promise<void> {
    return this.setGroupColumn(groupId, 'auto_rollback', JSON.stringify(events));
  }

  setGroupAlarms(groupId: string, alarms: readonly string[]): Promise<void> {
    return this.setGroupColumn(groupId, 'alarms', JSON.stringify(alarms));
  }

  setGroupRollbackConfig(groupId: string, configName: string | null): Promise<void> {
    return this.setGroupColumn(groupId, 'rollback_config', configName,
      [[`deployment config "${configName}"`, async () => (configName === null ? true : this.getConfig(configName))]], `rollback config "${configName}"`);
  }

  setGroupTagSets(groupId: string, tagSets: TagSets): Promise<void> {
    return this.setGroupColumn(groupId, 'tag_sets', JSON.stringify(tagSets));
  }

  setGroupConfig(groupId: string, configName: string): Promise<void> {
    return this.setGroupColumn(groupId, 'config_name', configName,
      [[`deployment config "${configName}"`, () => this.getConfig(configName)]], `deployment config "${configName}"`);
  }

  setGroupWindows(groupId: string, windows: readonly DeploymentWindow[]): Promise<void> {
    return this.setGroupColumn(groupId, 'windows', JSON.stringify(windows));
  }

  async addRevision(revision: Revision): Promise<Revision> {
    const what = `revision ${revision.digest} of application "${revision.application}"`;
    await guard(what, () => changes(this.pool, `${insertSql('revisions', ['application', 'digest', 'size', 'bundle_type', 'description', 'git_commit', 'created_at'])}
      ON CONFLICT (application, digest) DO NOTHING`, map.revisionParams(revision)), [
      [`application "${revision.application}"`, () => this.getApplication(revision.application)],
    ]);
    // The same bytes pushed again after ferry revision delete: listed again.
    await changes(this.pool, 'UPDATE revisions SET deleted_at = NULL WHERE application = @application AND digest = @digest AND deleted_at IS NOT NULL',
      { application: revision.application, digest: revision.digest });
    const stored = await this.getRevision(revision.application, revision.digest);
    if (stored === undefined) throw new FerryError('INTERNAL', `${what} vanished after it was added`);
    return stored;
  }

  async getRevision(application: string, digest: string): Promise<Revision | undefined> {
    return maybe(await one(this.pool, 'SELECT * FROM revisions WHERE application = @application AND digest = @digest AND deleted_at IS NULL', { application, digest }), map.toRevision);
  }

  async findRevisionByDigest(digest: string): Promise<Revision | undefined> {
    return maybe(await one(this.pool, 'SELECT * FROM revisions WHERE digest = @digest AND deleted_at IS NULL ORDER BY created_at, ord LIMIT 1', { digest }), map.toRevision);
  }

  async listRevisions(application: string): Promise<Revision[]> {
    return (await rows(this.pool, 'SELECT * FROM revisions WHERE application = @application AND deleted_at IS NULL ORDER BY created_at DESC, ord DESC', { application })).map(map.toRevision);
  }

  async latestRevision(application: string): Promise<Revision | undefined> {
    return maybe(await one(this.pool, 'SELECT * FROM revisions WHERE application = @application AND deleted_at IS NULL ORDER BY created_at DESC, ord DESC LIMIT 1', { application }), map.toRevision);
  }

  async upsertHost(host: Host): Promise<void> {
    await guard(`host "${host.id}"`, () => changes(this.pool, `INSERT INTO hosts
        (id, hostname, tags, zone, agent_version, facts, connected, last_seen_at, registered_at)
      VALUES (@id, @hostname, @tags, @zone, @agent_version, @facts, 1, @last_seen_at, @registered_at)
      ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, tags = excluded.tags, zone = excluded.zone,
        agent_version = excluded.agent_version, facts = excluded.facts, connected = 1, last_seen_at = excluded.last_seen_at`, map.hostParams(host)));
  }

  async getHost(id: string): Promise<Host | undefined> {
    return maybe(await one(this.pool, 'SELECT * FROM hosts WHERE id = @id', { id }), map.toHost);
  }

  async listHosts(): Promise<Host[]> {
    return (await rows(this.pool, 'SELECT * FROM hosts WHERE removed_at IS NULL ORDER BY id')).map(map.toHost);
  }

  async setHostConnected(id: string, connected: boolean, at: string): Promise<void> {
    if ((await changes(this.pool, 'UPDATE hosts SET connected = @connected, last_seen_at = @at WHERE id = @id', { id, connected: connected ? 1 : 0, at })) !== 1) {
      throw new FerryError('NOT_FOUND', `host "${id}" not found`);
    }
  }

  async listHostPresence(): Promise<HostPresence[]> {
    return (await rows(this.pool, 'SELECT id, connected, last_seen_at FROM hosts WHERE removed_at IS NULL ORDER BY id')).map(map.toHostPresence);
  }

  async recordHostsSeen(seen: readonly HostSeen[]): Promise<number> {
    if (seen.length === 0) return 0;
    return changes(this.pool, `
      UPDATE hosts SET last_seen_at = GREATEST(hosts.last_seen_at, s.at), connected = CASE WHEN s.connected THEN 1 ELSE hosts.connected END
      FROM unnest(@ids::text[], @ats::text[], @connected::boolean[]) AS s(id, at, connected)
      WHERE hosts.id = s.id`,
    { ids: seen.map(h => h.id), ats: seen.map(h => h.at), connected: seen.map(h => h.connected === true) });
  }

  /**
   * Runs `fn` in one PostgreSQL transaction: a client is checked out and carried through
   * AsyncLocalStorage, so every store call inside runs on it (pg-db.ts `withTransaction`), each in a
   * savepoint (a failure `fn` catches leaves the rest, as on SQLite); a throw out of `fn` rolls back.
   * Calls from outside meanwhile run on other connections.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    return withTransaction(this.pool, fn);
  }

  // Clean-up (SQLite: sqlite-cleanup.ts)
  private async deleteGroupIn(q: Queryable, groupId: string): Promise<RemovedCounts> {
    const count = async (table: string) => (await one<{ n: number }>(q, `SELECT COUNT(*) AS n FROM ${table} WHERE group_id = @id`, { id: groupId }))!.n;
    const counts: RemovedCounts = {
      groups: 1, deployments: await count('deployments'), triggers: await count('triggers'), schedules: await count('schedules'), plans: await count('plans'), revisions: 0,
    };
    // Deployments and schedules point at each other: checked once, at commit (those two keys are DEFERRABLE).
    await q.query('SET CONSTRAINTS ALL DEFERRED');
    const inGroup = 'deployment_id IN (SELECT id FROM deployments WHERE group_id = @id)';
    for (const sql of [
      'DELETE FROM triggers WHERE group_id = @id', `DELETE FROM log_lines WHERE ${inGroup}`, `DELETE FROM lifecycle_events WHERE ${inGroup}`,
      'DELETE FROM host_revisions WHERE group_id = @id', 'DELETE FROM auto_deployments WHERE group_id = @id', 'DELETE FROM plans WHERE group_id = @id',
      `DELETE FROM host_deployments WHERE ${inGroup}`, 'DELETE FROM schedules WHERE group_id = @id', 'DELETE FROM deployments WHERE group_id = @id',
      'DELETE FROM deployment_groups WHERE id = @id',
    ]) await changes(q, sql, { id: groupId });
    return counts;
  }

  deleteGroup(groupId: string): Promise<RemovedCounts> {
    return transaction(this.pool, q => this.deleteGroupIn(q, groupId));
  }

  deleteApplication(name: string): Promise<RemovedCounts & { digests: string[] }> {
    return transaction(this.pool, async q => {
      const total: RemovedCounts = { groups: 0, deployments: 0, triggers: 0, schedules: 0, plans: 0, revisions: 0 };
      for (const { id } of await rows<{ id: string }>(q, 'SELECT id FROM deployment_groups WHERE application = @name', { name })) {
        const c = await this.deleteGroupIn(q, id);
        for (const k of Object.keys(total) as (keyof RemovedCounts)[]) total[k] += c[k];
      }
      const digests = (await rows<{ digest: string }>(q, 'SELECT digest FROM revisions WHERE application = @name ORDER BY ord', { name })).map(r => r.digest);
      total.revisions = await changes(q, 'DELETE FROM revisions WHERE application = @name', { name });
      await changes(q, 'DELETE FROM applications WHERE name = @name', { name });
      return { ...total, digests };
    });
  }

  removeHost(id: string, at: string): Promise<boolean> {
    return transaction(this.pool, async q => {
      if ((await changes(q, 'UPDATE hosts SET removed_at = @at, connected = 0 WHERE id = @id AND removed_at IS NULL', { id, at })) !== 1) return false;
      await changes(q, 'DELETE FROM host_revisions WHERE host_id = @id', { id });
      await changes(q, 'DELETE FROM auto_deployments WHERE host_id = @id', { id });
      return true;
    });
  }

  async restoreHost(id: string): Promise<boolean> {
    return (await changes(this.pool, 'UPDATE hosts SET removed_at = NULL WHERE id = @id AND removed_at IS NOT NULL', { id })) === 1;
  }

  async hostRemovedAt(id: string): Promise<string | undefined> {
    return (await one<{ removed_at: string | null }>(this.pool, 'SELECT removed_at FROM hosts WHERE id = @id', { id }))?.removed_at ?? undefined;
  }

  async deleteRevision(application: string, digest: string, at: string): Promise<boolean> {
    return (await changes(this.pool, 'UPDATE revisions SET deleted_at = @at WHERE application = @application AND digest = @digest AND deleted_at IS NULL',
      { application, digest, at })) === 1;
  }

  async digestInUse(digest: string): Promise<boolean> {
    return (await one<{ n: number }>(this.pool, 'SELECT COUNT(*) AS n FROM revisions WHERE digest = @digest AND deleted_at IS NULL', { digest }))!.n > 0;
  }

  // Deployments
  async createDeployment(d: Deployment): Promise<void> {
    const group = await this.getGroupById(d.groupId);
    if (group !== undefined && (group.application !== d.application || group.name !== d.groupName)) {
      throw new FerryError('INVALID_ARGUMENT',
        `deployment ${d.id} names group "${d.application}/${d.groupName}" but group ${d.groupId} is "${group.application}/${group.name}"`);
    }
    await guard(`deployment ${d.id}`, () => changes(this.pool, insertSql('deployments', DEPLOYMENT_COLUMNS), map.deploymentParams(d)), [
      [`deployment group ${d.groupId}`, async () => group],
      [`revision ${d.revisionDigest} of application "${d.application}"`, () => this.getRevision(d.application, d.revisionDigest)],
      [`deployment config "${d.configName}"`, () => this.getConfig(d.configName)],
    ]);
  }

  async getDeployment(id: string): Promise<Deployment | undefined> {
    return this.deploymentOn(this.pool, id);
  }

  private async deploymentOn(q: Queryable, id: string): Promise<Deployment | undefined> {
    return maybe(await one(q, 'SELECT * FROM deployments WHERE id = @id', { id }), map.toDeployment);
  }

  async listDeployments(filter: DeploymentFilter = {}): Promise<Deployment[]> {
    const limit = filter.limit ?? DEFAULT_DEPLOYMENT_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) throw new FerryError('INVALID_ARGUMENT', `limit must be a whole number ≥ 0, got ${limit}`);
    return (await rows(this.pool, `SELECT * FROM deployments
      WHERE (@application::text IS NULL OR application = @application::text) AND (@group_id::text IS NULL OR group_id = @group_id::text)
        AND ${STATUS_FILTER}
        AND (@host_id::text IS NULL OR id IN (SELECT deployment_id FROM host_deployments WHERE host_id = @host_id::text))
      ORDER BY ord DESC LIMIT @limit`, {
      application: filter.application ?? null, group_id: filter.groupId ?? null, host_id: filter.hostId ?? null,
      statuses: filter.statuses === undefined ? null : [...filter.statuses], limit,
    })).map(map.toDeployment);
  }

  private async transitionOn(q: Queryable, id: string, to: DeploymentStatus, patch: DeploymentPatch): Promise<boolean> {
    const sql = SQL.transitionDeployment[to] as string | undefined;
    if (sql === undefined) throw new FerryError('INVALID_ARGUMENT', `unknown deployment status "${to}"`);
    const full = patch.pauseKind !== undefined ? { ...patch, pausedForWindow: patch.pauseKind === 'window' } : patch;
    return (await changes(q, sql, { id, ...map.patchParams(full, DEPLOYMENT_PATCH_COLUMNS) })) === 1;
  }

  async transitionDeployment(id: string, to: DeploymentStatus, patch: DeploymentPatch = {}): Promise<boolean> {
    try {
      return await this.transitionOn(this.pool, id, to, patch);
    } catch (err) {
      // Created/Queued → InProgress while the group already has an active deployment.
      if (isActiveDeploymentConflict(err)) return false;
      throw err;
    }
  }

  async transitionDeploymentWithEvent(id: string, to: DeploymentStatus, patch: DeploymentPatch, event: (d: Deployment) => Omit<FerryEvent, 'seq'>): Promise<boolean> {
    try {
      return await transaction(this.pool, async q => {
        if (!(await this.transitionOn(q, id, to, patch))) return false;
        const d = await this.deploymentOn(q, id);
        if (d) await appendEventOn(q, event(d));
        return true;
      });
    } catch (err) {
      if (isActiveDeploymentConflict(err)) return false;
      throw err;
    }
  }

  async startDeployment(id: string, targets: readonly HostDeployment[], minHealthyHosts: number, startedAt: string): Promise<boolean> {
    const stranger = targets.find(t => t.deploymentId !== id);
    if (stranger !== undefined) {
      throw new FerryError('INVALID_ARGUMENT', `target ${stranger.hostId} belongs to deployment ${stranger.deploymentId}, not ${id}`);
    }
    try {
      return await transaction(this.pool, async q => {
        const moved = await changes(q, `UPDATE deployments SET status = 'InProgress', started_at = @started_at, min_healthy_hosts = @min_healthy_hosts
          WHERE id = @id AND ${inList('status', STARTABLE_STATUSES)}`, { id, started_at: startedAt, min_healthy_hosts: minHealthyHosts });
        if (moved !== 1) return false;
        for (const target of targets) {
          await guard(hostDeploymentName(target), () => changes(q, insertSql('host_deployments', HOST_DEPLOYMENT_COLUMNS), map.hostDeploymentParams(target)), [
            [`host "${target.hostId}"`, () => this.getHost(target.hostId)],
          ]);
        }
        await refreshStartOverview(q, id);
        return true;
      });
    } catch (err) {
      if (isActiveDeploymentConflict(err)) return false;
      throw err;
    }
  }

  async linkRollback(id: string, rollbackId: string): Promise<boolean> {
    return (await changes(this.pool, 'UPDATE deployments SET rolled_back_by = @rollback WHERE id = @id AND rolled_back_by IS NULL', { id, rollback: rollbackId })) === 1;
  }

  async nextQueued(groupId: string): Promise<Deployment | undefined> {
    // A rollback goes before anything else waiting: it restores the last good revision.
    return maybe(await one(this.pool, `SELECT * FROM deployments WHERE group_id = @id AND status = 'Queued'
      ORDER BY (creator = 'rollback') DESC, ord LIMIT 1`, { id: groupId }), map.toDeployment);
  }

  async activeDeployment(groupId: string): Promise<Deployment | undefined> {
    return maybe(await one(this.pool, `SELECT * FROM deployments WHERE group_id = @id AND ${inList('status', ACTIVE_DEPLOYMENT_STATUSES)}`, { id: groupId }), map.toDeployment);
  }

  async lastSuccessfulDeployment(groupId: string): Promise<Deployment | undefined> {
    return maybe(await one(this.pool, `SELECT * FROM deployments WHERE group_id = @id AND status = 'Succeeded' AND creator <> 'autoscaling'
      ORDER BY finish_seq DESC NULLS LAST, ord DESC LIMIT 1`, { id: groupId }), map.toDeployment);
  }

  // Host deployments
  async listHostDeployments(deploymentId: string): Promise<HostDeployment[]> {
    return (await rows(this.pool, 'SELECT * FROM host_deployments WHERE deployment_id = @id ORDER BY position, host_id', { id: deploymentId })).map(map.toHostDeployment);
  }

  async listHostDeploymentStates(deploymentId: string): Promise<HostDeploymentState[]> {
    return (await rows(this.pool, 'SELECT host_id, status, position, completed_at FROM host_deployments WHERE deployment_id = @id ORDER BY position, host_id', { id: deploymentId }))
      .map(map.toHostDeploymentState);
  }

  async hostDeploymentCounts(deploymentId: string): Promise<HostDeploymentCounts> {
    return map.toHostDeploymentCounts(await one(this.pool, 'SELECT * FROM deployment_host_counts WHERE deployment_id = @id', { id: deploymentId }));
  }

  async getHostDeployment(deploymentId: string, hostId: string): Promise<HostDeployment | undefined> {
    return maybe(await one(this.pool, 'SELECT * FROM host_deployments WHERE deployment_id = @deployment_id AND host_id = @host_id',
      { deployment_id: deploymentId, host_id: hostId }), map.toHostDeployment);
  }

  async hostDeploymentsOnHost(hostId: string, statuses?: readonly HostDeploymentStatus[]): Promise<HostDeployment[]> {
    return (await rows(this.pool, `SELECT * FROM host_deployments WHERE host_id = @host_id AND ${STATUS_FILTER} ORDER BY ord`,
      { host_id: hostId, statuses: statuses === undefined ? null : [...statuses] })).map(map.toHostDeployment);
  }

  async isRevisionTarget(hostId: string, digest: string): Promise<boolean> {
    return (await one(this.pool, `SELECT 1 FROM host_deployments hd JOIN deployments d ON d.id = hd.deployment_id
      WHERE hd.host_id = @host_id AND d.revision_digest = @digest LIMIT 1`, { host_id: hostId, digest })) !== undefined;
  }

  async transitionHostDeployment(deploymentId: string, hostId: string, to: HostDeploymentStatus, patch: HostDeploymentPatch = {}): Promise<boolean> {
    const sql = SQL.transitionHostDeployment[to] as string | undefined;
    if (sql === undefined) throw new FerryError('INVALID_ARGUMENT', `unknown host deployment status "${to}"`);
    return (await changes(this.pool, sql, { deployment_id: deploymentId, host_id: hostId, ...map.patchParams(patch, HOST_DEPLOYMENT_PATCH_COLUMNS) })) === 1;
  }

  async patchHostDeployment(deploymentId: string, hostId: string, patch: HostDeploymentPatch): Promise<void> {
    const changed = await changes(this.pool, `UPDATE host_deployments SET ${patchSet(HOST_DEPLOYMENT_PATCH_COLUMNS)}
      WHERE deployment_id = @deployment_id AND host_id = @host_id`, { deployment_id: deploymentId, host_id: hostId, ...map.patchParams(patch, HOST_DEPLOYMENT_PATCH_COLUMNS) });
    if (changed !== 1) throw new FerryError('NOT_FOUND', `host deployment of deployment ${deploymentId} on host "${hostId}" not found`);
  }

  // Lifecycle events and logs
  async putEventRecord(record: LifecycleEventRecord): Promise<LifecycleEventRecord['status'] | undefined> {
    const found = await guard(`event ${record.event} of deployment ${record.deploymentId} on host "${record.hostId}"`,
      () => one<{ before: LifecycleEventRecord['status'] | null }>(this.pool, SQL.putEventRecord, map.eventRecordParams(record)),
      [[hostDeploymentName(record), () => this.getHostDeployment(record.deploymentId, record.hostId)]]);
    return found?.before ?? undefined;
  }

  async listEventRecords(deploymentId: string, hostId?: string): Promise<LifecycleEventRecord[]> {
    const found = hostId === undefined
      ? await rows(this.pool, 'SELECT * FROM lifecycle_events WHERE deployment_id = @id ORDER BY host_id, ord', { id: deploymentId })
      : await rows(this.pool, 'SELECT * FROM lifecycle_events WHERE deployment_id = @id AND host_id = @host_id ORDER BY ord', { id: deploymentId, host_id: hostId });
    return found.map(map.toEventRecord);
  }

  async appendLogs(lines: readonly Omit<LogLine, 'seq'>[], maxBytesPerHost: number): Promise<void> {
    if (!Number.isFinite(maxBytesPerHost) || maxBytesPerHost < 0) {
      throw new FerryError('INVALID_ARGUMENT', `maxBytesPerHost must be ≥ 0, got ${maxBytesPerHost}`);
    }
    if (lines.length === 0) return;
    await transaction(this.pool, async q => {
      const touched = new Map<string, Omit<LogLine, 'seq'>>();
      for (const line of lines) {
        await guard(`log line of deployment ${line.deploymentId} on host "${line.hostId}"`,
          () => changes(q, insertSql('log_lines', ['deployment_id', 'host_id', 'at', 'event', 'stream', 'line', 'bytes']), map.logLineParams(line)),
          [[hostDeploymentName(line), () => this.getHostDeployment(line.deploymentId, line.hostId)]]);
        touched.set(`${line.deploymentId}\0${line.hostId}`, line);
      }
      // Newest first, a running total of bytes: every line from the one where it passes the limit is dropped.
      for (const line of touched.values()) {
        await changes(q, `DELETE FROM log_lines WHERE seq IN (
          SELECT seq FROM (
            SELECT seq, SUM(bytes) OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS kept
            FROM log_lines WHERE deployment_id = @deployment_id AND host_id = @host_id) k
          WHERE kept > @max_bytes)`, { deployment_id: line.deploymentId, host_id: line.hostId, max_bytes: maxBytesPerHost });
      }
    });
  }

  async listLogs(deploymentId: string, options: { hostId?: string; afterSeq?: number; limit?: number } = {}): Promise<LogLine[]> {
    const params = { deployment_id: deploymentId, after_seq: options.afterSeq ?? 0, limit: options.limit ?? null };
    const found = options.hostId === undefined
      ? await rows(this.pool, `SELECT ${LOG_COLUMNS} FROM log_lines WHERE deployment_id = @deployment_id AND seq > @after_seq ORDER BY seq LIMIT @limit`, params)
      : await rows(this.pool, `SELECT ${LOG_COLUMNS} FROM log_lines WHERE deployment_id = @deployment_id AND host_id = @host_id AND seq > @after_seq
          ORDER BY seq LIMIT @limit`, { ...params, host_id: options.hostId });
    return found.map(map.toLogLine);
  }

  // What each host runs
  async recordHostRevision(state: HostRevisionState): Promise<void> {
    await guard(`revision of host "${state.hostId}" in group ${state.groupId}`,
      () => changes(this.pool, `${insertSql('host_revisions', ['group_id', 'host_id', 'revision_digest', 'last_status', 'deployment_id', 'at'])}
        ON CONFLICT (group_id, host_id) DO UPDATE SET revision_digest = excluded.revision_digest,
          last_status = excluded.last_status, deployment_id = excluded.deployment_id, at = excluded.at`, map.hostRevisionParams(state)), [
        [`deployment group ${state.groupId}`, () => this.getGroupById(state.groupId)],
        [`host "${state.hostId}"`, () => this.getHost(state.hostId)],
        [`deployment ${state.deploymentId}`, () => this.getDeployment(state.deploymentId)],
      ]);
  }

  async hostRevisions(groupId: string): Promise<HostRevisionState[]> {
    return (await rows(this.pool, 'SELECT * FROM host_revisions WHERE group_id = @id ORDER BY host_id', { id: groupId })).map(map.toHostRevision);
  }

  async hostRevision(groupId: string, hostId: string): Promise<HostRevisionState | undefined> {
    return maybe(await one(this.pool, 'SELECT * FROM host_revisions WHERE group_id = @group_id AND host_id = @host_id', { group_id: groupId, host_id: hostId }), map.toHostRevision);
  }

  async releaseAutoDeployment(groupId: string, hostId: string, digest: string): Promise<boolean> {
    return (await changes(this.pool, 'DELETE FROM auto_deployments WHERE group_id = @group_id AND host_id = @host_id AND digest = @digest',
      { group_id: groupId, host_id: hostId, digest })) === 1;
  }

  async claimAutoDeployment(groupId: string, hostId: string, digest: string): Promise<boolean> {
    return (await guard(`automatic deployment of ${digest} to host "${hostId}" in group ${groupId}`,
      () => changes(this.pool, 'INSERT INTO auto_deployments (group_id, host_id, digest) VALUES (@group_id, @host_id, @digest) ON CONFLICT DO NOTHING',
        { group_id: groupId, host_id: hostId, digest }), [
        [`deployment group ${groupId}`, () => this.getGroupById(groupId)],
        [`host "${hostId}"`, () => this.getHost(hostId)],
      ])) === 1;
  }

  // Metrics
  async countDeploymentsByStatus(): Promise<StatusCount<DeploymentStatus>[]> {
    return (await rows<{ status: DeploymentStatus; count: number }>(this.pool, 'SELECT status, COUNT(*) AS count FROM deployments GROUP BY status ORDER BY status'))
      .map(r => ({ status: r.status, count: r.count }));
  }

  async countHostDeploymentsByStatus(): Promise<(StatusCount<HostDeploymentStatus> & { errorCode: string })[]> {
    return (await rows<{ status: HostDeploymentStatus; error_code: string; count: number }>(this.pool,
      `SELECT status, COALESCE(error_code, '') AS error_code, COUNT(*) AS count
      FROM host_deployments GROUP BY status, COALESCE(error_code, '') ORDER BY status, 2`))
      .map(r => ({ status: r.status, errorCode: r.error_code, count: r.count }));
  }

  // Tokens, certificates, host tags, audit, plans, schedules (pg-tables.ts)
  createToken(token: TokenRecord): Promise<void> { return this.tables.createToken(token); }
  getToken(id: string): Promise<TokenRecord | undefined> { return this.tables.getToken(id); }
  listTokens(): Promise<TokenRecord[]> { return this.tables.listTokens(); }
  consumeToken(id: string, now: string): Promise<boolean> { return this.tables.consumeToken(id, now); }
  revokeToken(id: string, at: string): Promise<boolean> { return this.tables.revokeToken(id, at); }
  createConsoleSession(session: ConsoleSessionRecord, perToken: number): Promise<void> { return this.tables.createConsoleSession(session, perToken); }
  getConsoleSession(idHash: string, now: string): Promise<ConsoleSessionRecord | undefined> { return this.tables.getConsoleSession(idHash, now); }
  deleteConsoleSession(idHash: string): Promise<void> { return this.tables.deleteConsoleSession(idHash); }
  addHostCertificate(cert: HostCertificate): Promise<void> { return this.tables.addHostCertificate(cert); }
  getHostCertificate(fingerprint: string): Promise<HostCertificate | undefined> { return this.tables.getHostCertificate(fingerprint); }
  activeHostCertificate(hostId: string, now: string): Promise<HostCertificate | undefined> { return this.tables.activeHostCertificate(hostId, now); }
  revokeHostCertificates(hostId: string, at: string, except?: string): Promise<number> { return this.tables.revokeHostCertificates(hostId, at, except); }
  revokedHostIds(): Promise<Set<string>> { return this.tables.revokedHostIds(); }
  getHostTags(hostId: string): Promise<HostTags | undefined> { return this.tables.getHostTags(hostId); }
  grantHostTags(hostId: string, granted: Readonly<Record<string, string>>, by: string, at: string): Promise<void> { return this.tables.grantHostTags(hostId, granted, by, at); }
  recordClaimedTags(hostId: string, claimed: Readonly<Record<string, string>>): Promise<void> { return this.tables.recordClaimedTags(hostId, claimed); }
  appendAudit(entry: AuditEntry, foldWithinMs: number): Promise<number> { return this.tables.appendAudit(entry, foldWithinMs); }
  listAudit(filter?: AuditFilter): Promise<AuditRecord[]> { return this.tables.listAudit(filter); }
  pruneAudit(before: string, limit?: number): Promise<number> { return this.tables.pruneAudit(before, limit); }
  createPlan(plan: DeploymentPlanRecord): Promise<void> { return this.tables.createPlan(plan); }
  getPlan(id: string): Promise<DeploymentPlanRecord | undefined> { return this.tables.getPlan(id); }
  markPlanUsed(id: string, deploymentId: string): Promise<boolean> { return this.tables.markPlanUsed(id, deploymentId); }
  createSchedule(schedule: Schedule): Promise<void> { return this.tables.createSchedule(schedule); }
  getSchedule(id: string): Promise<Schedule | undefined> { return this.tables.getSchedule(id); }
  listSchedules(filter?: ScheduleFilter): Promise<Schedule[]> { return this.tables.listSchedules(filter); }
  dueSchedules(now: string): Promise<Schedule[]> { return this.tables.dueSchedules(now); }
  claimScheduleRun(id: string, due: string, next: string | null, ranAt: string): Promise<boolean> { return this.tables.claimScheduleRun(id, due, next, ranAt); }
  recordScheduleResult(id: string, result: { deploymentId: string } | { error: string }): Promise<void> { return this.tables.recordScheduleResult(id, result); }
  transitionSchedule(id: string, to: ScheduleState): Promise<boolean> { return this.tables.transitionSchedule(id, to); }

  // Event log, triggers and outbox (pg-events.ts)
  listEvents(options?: { afterSeq?: number; application?: string; limit?: number }): Promise<FerryEvent[]> { return this.events.listEvents(options); }
  lastEventSeq(): Promise<number> { return this.events.lastEventSeq(); }
  appendEvent(event: Omit<FerryEvent, 'seq'>): Promise<number> { return this.events.appendEvent(event); }
  pruneEvents(keep: number, limit?: number): Promise<number> { return this.events.pruneEvents(keep, limit); }
  setTrigger(input: TriggerInput, at: string): Promise<{ trigger: TriggerView; created: boolean; testSeq: number }> { return this.events.setTrigger(input, at); }
  removeTrigger(groupId: string, name: string): Promise<boolean> { return this.events.removeTrigger(groupId, name); }
  listTriggers(groupId: string): Promise<TriggerView[]> { return this.events.listTriggers(groupId); }
  dueDeliveries(nowMs: number, limit: number): Promise<DeliveryJob[]> { return this.events.dueDeliveries(nowMs, limit); }
  claimDeliveries(nowMs: number, limit: number, claimMs: number): Promise<DeliveryJob[]> { return this.events.claimDeliveries(nowMs, limit, claimMs); }
  releaseDeliveryClaims(): Promise<number> { return this.events.releaseDeliveryClaims(); }
  nextDeliveryAt(): Promise<number | undefined> { return this.events.nextDeliveryAt(); }
  recordDelivery(id: number, outcome: DeliveryOutcome): Promise<void> { return this.events.recordDelivery(id, outcome); }

  /** Closes every pooled connection. */
  close(): Promise<void> {
    return this.pool.end();
  }
}

/** A PostgreSQL identifier, quoted. */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function hostDeploymentName(ref: { deploymentId: string; hostId: string }): string {
  return `host deployment of deployment ${ref.deploymentId} on host "${ref.hostId}"`;
}

function maybe<T>(row: unknown, toDomain: (row: unknown) => T): T | undefined {
  return row === undefined ? undefined : toDomain(row);
}
