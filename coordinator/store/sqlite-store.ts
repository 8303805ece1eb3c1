import { AsyncLocalStorage } from 'node:async_hooks';
import { compareText } from '../../common/text.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import { FerryError, describeError, isFerryError } from '../../common/errors.js';
import type { DeploymentStatus, HostDeploymentCounts, HostDeploymentStatus } from '../domain/status.js';
import type {
  Application, AutoRollbackEvent, Deployment, DeploymentConfig, DeploymentGroup, Host, HostDeployment, LifecycleEventRecord, LogLine,
  Revision, TagSets,
} from '../domain/types.js';
import type { DeliveryJob, DeliveryOutcome, FerryEvent, TriggerInput, TriggerView } from '../domain/events.js';
import { migrate } from './migrations.js';
import { SqliteEventLog } from './sqlite-events.js';
import { SqliteCleanup } from './sqlite-cleanup.js';
import type { DeploymentPlanRecord } from '../domain/plan.js';
import { SqlitePlans } from './sqlite-plans.js';
import type { Schedule, ScheduleState } from '../domain/schedules.js';
import type { DeploymentWindow } from '../domain/windows.js';
import { ScheduleTable } from './sqlite-schedules.js';
import { guard, isActiveDeploymentConflict } from './sqlite-errors.js';
import * as rows from './sqlite-rows.js';
import { SqliteConsoleSessions, SqliteHostCertificates, SqliteTokens } from './sqlite-tokens.js';
import { SqliteHostTags } from './sqlite-host-tags.js';
import { SqliteAudit } from './sqlite-audit.js';
import type { AuditEntry, AuditFilter, AuditRecord } from '../domain/audit.js';
import {
  DEPLOYMENT_PATCH_COLUMNS, HOST_DEPLOYMENT_PATCH_COLUMNS, type Statements, prepareStatements,
} from './sqlite-statements.js';
import type {
  ConsoleSessionRecord, DeploymentFilter, DeploymentPatch, HostCertificate, HostDeploymentPatch, HostDeploymentState, HostPresence, HostRevisionState, HostSeen, HostTags, RemovedCounts, ScheduleFilter, StatusCount, Store,
} from './store.js';
import type { TokenRecord } from '../security/tokens.js';

const DEFAULT_DEPLOYMENT_LIMIT = 50;
/** SQLite's "no limit". */
const NO_LIMIT = -1;

/** The SQLite store's own diagnostics, synchronous (they are not part of `Store`): for data-dir checks and tests. */
export interface SqliteDiagnostics {
  /** The migration versions this open applied (empty when the schema was already current). */
  readonly appliedMigrations: readonly number[];
  quickCheck(): string[];
  journalMode(): string;
  schemaVersion(): number;
}

/** The asynchronous `Store` on one SQLite file, with its diagnostics. */
export type SqliteStore = Store & SqliteDiagnostics;

const DIAGNOSTICS: ReadonlySet<PropertyKey> = new Set<keyof SqliteDiagnostics>(['quickCheck', 'journalMode', 'schemaVersion']);

/** Each method of T returning a Promise of what it returned. */
type Promisified<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : T[K] };

/** Opens (creating if needed) the coordinator's database file and brings its schema up to date. */
export function openStore(file: string): SqliteStore {
  return asyncStore(new SyncSqliteStore(file), file);
}

/** SQLite's codes for a write the disk could not take. */
const NO_SPACE = new Set(['SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_IOERR_SHMSIZE']);

/** What the synchronous store offers the asynchronous one for `transaction(fn)`: its own BEGIN, COMMIT, ROLLBACK. */
interface TransactionControl {
  begin(): void;
  commit(): void;
  rollback(): void;
}

/** The store's methods that are not the Store's: the diagnostics and the transaction control. */
type NotStore = keyof SqliteDiagnostics | keyof TransactionControl;

/** An open `transaction(fn)`: its calls run while it is live; everyone else's wait for `ended`. */
interface OpenTransaction {
  live: boolean;
  ended: Promise<void>;
}

/**
 * The synchronous store behind the asynchronous `Store` interface. Each call runs its SQL at once,
 * in the caller's turn (one `db.transaction` stays one transaction inside one call), and returns a
 * settled Promise: its value, or its error as a rejection. A full disk becomes DISK_FULL naming the
 * file (gRPC RESOURCE_EXHAUSTED): the caller fails clearly and the coordinator stays up; SQLite rolls
 * the statement back, so nothing half-written remains, and the next call works once space returns.
 * The diagnostics (SqliteDiagnostics) stay synchronous.
 *
 * `transaction(fn)` is one SQLite transaction (BEGIN … COMMIT on the one connection) around `fn`'s
 * awaited calls: they are known by their async context (AsyncLocalStorage) and run at once; a call
 * from anywhere else while it is open waits for its end, so it neither joins the transaction nor is
 * rolled back with it. A transaction inside a transaction is part of the outer one.
 */
function asyncStore(store: SyncSqliteStore, file: string): SqliteStore {
  const storageError = (err: unknown): unknown => {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && NO_SPACE.has(code)) {
      return new FerryError('DISK_FULL', `no space left for the coordinator's database ${path.resolve(file)} (${describeError(err)}): free space on that file system; the coordinator goes on once there is`, { cause: err });
    }
    return err;
  };
  const inTransaction = new AsyncLocalStorage<OpenTransaction>();
  let open: OpenTransaction | undefined;
  const mine = (): boolean => open !== undefined && inTransaction.getStore() === open && open.live;
  /** Resolves once no transaction but the caller's own is open (at once when none is). */
  const turn = async (): Promise<void> => {
    while (open !== undefined && !mine()) await open.ended;
  };
  const run = (method: (...a: unknown[]) => unknown, args: unknown[]): Promise<unknown> => {
    try {
      return Promise.resolve(method.apply(store, args));
    } catch (err) {
      return Promise.reject(storageError(err));
    }
  };
  const transaction = async (fn: () => Promise<unknown>): Promise<unknown> => {
    if (mine()) return fn();
    await turn();
    let end!: () => void;
    const tx: OpenTransaction = { live: true, ended: new Promise<void>(resolve => (end = resolve)) };
    try {
      store.begin();
    } catch (err) {
      throw storageError(err);
    }
    open = tx;
    try {
      const result = await inTransaction.run(tx, fn);
      store.commit();
      return result;
    } catch (err) {
      store.rollback();
      throw storageError(err);
    } finally {
      tx.live = false;
      open = undefined;
      end();
    }
  };
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'transaction') return transaction;
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...a: unknown[]) => unknown;
      if (DIAGNOSTICS.has(prop)) {
        return (...args: unknown[]) => {
          try {
            return method.apply(target, args);
          } catch (err) {
            throw storageError(err);
          }
        };
      }
      return (...args: unknown[]) => (open === undefined || mine() ? run(method, args) : turn().then(() => run(method, args)));
    },
  });
  // Type-checked: every Store method of the synchronous class, promisified, is the Store's.
  type Typed = Promisified<Omit<SyncSqliteStore, NotStore>> & SqliteDiagnostics & Pick<Store, 'transaction'>;
  const typed: Typed = proxy as unknown as Typed;
  return typed;
}

/**
 * The store on one SQLite file, synchronous (better-sqlite3): WAL, statements prepared once, numbered
 * migrations. Only `openStore` makes one, behind the asynchronous `Store` interface.
 */
class SyncSqliteStore implements SqliteDiagnostics, TransactionControl {
  /** The migration versions this open applied (empty when the schema was already current). */
  readonly appliedMigrations: readonly number[];
  private readonly db: Database.Database;
  private readonly st: Statements;
  private readonly tokens: SqliteTokens;
  private readonly sessions: SqliteConsoleSessions;
  private readonly events: SqliteEventLog;
  private readonly plans: SqlitePlans;
  private readonly schedules: ScheduleTable;
  private readonly certs: SqliteHostCertificates;
  private readonly audit: SqliteAudit;
  private readonly hostTags: SqliteHostTags;
  private readonly cleanup: SqliteCleanup;

  constructor(file: string) {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      this.appliedMigrations = migrate(this.db);
      this.st = prepareStatements(this.db);
      this.tokens = new SqliteTokens(this.db);
      this.sessions = new SqliteConsoleSessions(this.db);
      this.events = new SqliteEventLog(this.db);
      this.plans = new SqlitePlans(this.db);
      this.schedules = new ScheduleTable(this.db, {
        group: id => this.getGroupById(id), application: name => this.getApplication(name), deployment: id => this.getDeployment(id),
      });
      this.certs = new SqliteHostCertificates(this.db);
      this.audit = new SqliteAudit(this.db);
      this.hostTags = new SqliteHostTags(this.db);
      this.cleanup = new SqliteCleanup(this.db);
    } catch (err) {
      this.db.close();
      if (isFerryError(err)) throw err;
      throw new FerryError('INTERNAL', `cannot open the store at ${file}: ${describeError(err)}`, { cause: err });
    }
  }

  /** `PRAGMA quick_check`: ['ok'] for a sound database, else what is wrong. */
  quickCheck(): string[] {
    return (this.db.pragma('quick_check') as { quick_check: string }[]).map(r => r.quick_check);
  }

  /** For tests and diagnostics: the journal mode in effect (`wal`). */
  journalMode(): string {
    return this.db.pragma('journal_mode', { simple: true }) as string;
  }

  /** For tests and diagnostics: `PRAGMA user_version`, the last migration applied. */
  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  createApplication(app: Application): void {
    guard(`application "${app.name}"`, () => this.st.insertApplication.run(rows.applicationParams(app)));
  }

  getApplication(name: string): Application | undefined {
    return maybe(this.st.getApplication.get(name), rows.toApplication);
  }

  listApplications(): Application[] {
    return this.st.listApplications.all().map(rows.toApplication);
  }

  createConfig(config: DeploymentConfig): void {
    guard(`deployment config "${config.name}"`, () => this.st.insertConfig.run(rows.configParams(config)));
  }

  getConfig(name: string): DeploymentConfig | undefined {
    return maybe(this.st.getConfig.get(name), rows.toConfig);
  }

  listConfigs(): DeploymentConfig[] {
    return this.st.listConfigs.all().map(rows.toConfig);
  }

  createGroup(group: DeploymentGroup): void {
    guard(
      `deployment group "${group.name}" (id ${group.id}) of application "${group.application}"`,
      () => this.st.insertGroup.run(rows.groupParams(group)),
      [
        [`application "${group.application}"`, () => this.getApplication(group.application)],
        [`deployment config "${group.configName}"`, () => this.getConfig(group.configName)],
      ],
    );
  }

  getGroup(application: string, name: string): DeploymentGroup | undefined {
    return maybe(this.st.getGroup.get(application, name), rows.toGroup);
  }

  getGroupById(id: string): DeploymentGroup | undefined {
    return maybe(this.st.getGroupById.get(id), rows.toGroup);
  }

  listGroups(application?: string): DeploymentGroup[] {
    return this.st.listGroups.all({ application: application ?? null }).map(rows.toGroup);
  }

  addRevision(revision: Revision): Revision {
    const what = `revision ${revision.digest} of application "${revision.application}"`;
    guard(what, () => this.st.insertRevision.run(rows.revisionParams(revision)), [
      [`application "${revision.application}"`, () => this.getApplication(revision.application)],
    ]);
    // The same bytes pushed again after ferry revision delete: listed again.
    this.cleanup.undeleteRevision(revision.application, revision.digest);
    const stored = this.getRevision(revision.application, revision.digest);
    if (stored === undefined) throw new FerryError('INTERNAL', `${what} vanished after it was added`);
    return stored;
  }

  getRevision(application: string, digest: string): Revision | undefined {
    return maybe(this.st.getRevision.get(application, digest), rows.toRevision);
  }

  findRevisionByDigest(digest: string): Revision | undefined {
    return maybe(this.st.findRevisionByDigest.get(digest), rows.toRevision);
  }

  listRevisions(application: string): Revision[] {
    return this.st.listRevisions.all(application).map(rows.toRevision);
  }

  latestRevision(application: string): Revision | undefined {
    return maybe(this.st.latestRevision.get(application), rows.toRevision);
  }

  upsertHost(host: Host): void {
    guard(`host "${host.id}"`, () => this.st.upsertHost.run(rows.hostParams(host)));
  }

  getHost(id: string): Host | undefined {
    return maybe(this.st.getHost.get(id), rows.toHost);
  }

  listHosts(): Host[] {
    return this.st.listHosts.all().map(rows.toHost);
  }

  setHostConnected(id: string, connected: boolean, at: string): void {
    const { changes } = this.st.setHostConnected.run({ id, connected: connected ? 1 : 0, at });
    if (changes !== 1) throw new FerryError('NOT_FOUND', `host "${id}" not found`);
  }

  listHostPresence(): HostPresence[] {
    return this.st.listHostPresence.all().map(rows.toHostPresence);
  }

  recordHostsSeen(seen: readonly HostSeen[]): number {
    // In key order: neighbouring rows share pages (10,000 hosts in 26-43 ms instead of 35-52 ms).
    const ordered = [...seen].sort((a, b) => compareText(a.id, b.id));
    return this.db.transaction(() => {
      let written = 0;
      for (const h of ordered) {
        written += (h.connected ? this.st.seenHostConnected : this.st.seenHost).run({ id: h.id, at: h.at }).changes;
      }
      return written;
    })();
  }

  createDeployment(deployment: Deployment): void {
    const d = deployment;
    const group = this.getGroupById(d.groupId);
    if (group !== undefined && (group.application !== d.application || group.name !== d.groupName)) {
      throw new FerryError(
        'INVALID_ARGUMENT',
        `deployment ${d.id} names group "${d.application}/${d.groupName}" but group ${d.groupId} is ` +
          `"${group.application}/${group.name}"`,
      );
    }
    guard(`deployment ${d.id}`, () => this.st.insertDeployment.run(rows.deploymentParams(d)), [
      [`deployment group ${d.groupId}`, () => group],
      [`revision ${d.revisionDigest} of application "${d.application}"`, () => this.getRevision(d.application, d.revisionDigest)],
      [`deployment config "${d.configName}"`, () => this.getConfig(d.configName)],
    ]);
  }

  getDeployment(id: string): Deployment | undefined {
    return maybe(this.st.getDeployment.get(id), rows.toDeployment);
  }

  listDeployments(filter: DeploymentFilter = {}): Deployment[] {
    const limit = filter.limit ?? DEFAULT_DEPLOYMENT_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) throw new FerryError('INVALID_ARGUMENT', `limit must be a whole number ≥ 0, got ${limit}`);
    return this.st.listDeployments.all({
      application: filter.application ?? null,
      group_id: filter.groupId ?? null,
      host_id: filter.hostId ?? null,
      statuses: filter.statuses === undefined ? null : JSON.stringify(filter.statuses),
      limit,
    }).map(rows.toDeployment);
  }

  transitionDeployment(id: string, to: DeploymentStatus, patch: DeploymentPatch = {}): boolean {
    const cas = this.st.transitionDeployment[to] as Statement | undefined;
    if (cas === undefined) throw new FerryError('INVALID_ARGUMENT', `unknown deployment status "${to}"`);
    const full = patch.pauseKind !== undefined ? { ...patch, pausedForWindow: patch.pauseKind === 'window' } : patch;
    const params = { id, ...rows.patchParams(full, DEPLOYMENT_PATCH_COLUMNS) };
    try {
      return cas.run(params).changes === 1;
    } catch (err) {
      // Created/Queued → InProgress while the group already has an active deployment.
      if (isActiveDeploymentConflict(err)) return false;
      throw err;
    }
  }

  transitionDeploymentWithEvent(id: string, to: DeploymentStatus, patch: DeploymentPatch, event: (d: Deployment) => Omit<FerryEvent, 'seq'>): boolean {
    return this.db.transaction((): boolean => {
      if (!this.transitionDeployment(id, to, patch)) return false;
      const d = this.getDeployment(id);
      if (d) this.events.appendEvent(event(d));
      return true;
    })();
  }

  startDeployment(id: string, targets: readonly HostDeployment[], minHealthyHosts: number, startedAt: string): boolean {
    const stranger = targets.find(t => t.deploymentId !== id);
    if (stranger !== undefined) {
      throw new FerryError('INVALID_ARGUMENT', `target ${stranger.hostId} belongs to deployment ${stranger.deploymentId}, not ${id}`);
    }
    const start = this.db.transaction((): boolean => {
      const moved = this.st.startDeployment.run({ id, started_at: startedAt, min_healthy_hosts: minHealthyHosts });
      if (moved.changes !== 1) return false;
      for (const target of targets) this.insertTarget(target);
      this.events.refreshStartOverview(id);
      return true;
    });
    try {
      return start();
    } catch (err) {
      if (isActiveDeploymentConflict(err)) return false;
      throw err;
    }
  }

  setGroupAutoRollback(groupId: string, events: readonly AutoRollbackEvent[]): void {
    if (this.st.setGroupAutoRollback.run({ id: groupId, auto_rollback: JSON.stringify(events) }).changes !== 1) {
      throw new FerryError('NOT_FOUND', `deployment group id "${groupId}" not found`);
    }
  }

  setGroupAlarms(groupId: string, alarms: readonly string[]): void {
    if (this.st.setGroupAlarms.run({ id: groupId, alarms: JSON.stringify(alarms) }).changes !== 1) {
      throw new FerryError('NOT_FOUND', `deployment group id "${groupId}" not found`);
    }
  }

  setGroupRollbackConfig(groupId: string, configName: string | null): void {
    let changes = 0;
    guard(`rollback config "${configName}"`, () => (changes = this.st.setGroupRollbackConfig.run({ id: groupId, rollback_config: configName }).changes),
      [[`deployment config "${configName}"`, () => (configName === null ? true : this.getConfig(configName))]]);
    if (changes !== 1) throw new FerryError('NOT_FOUND', `deployment group id "${groupId}" not found`);
  }

  setGroupTagSets(groupId: string, tagSets: TagSets): void {
    if (this.st.setGroupTagSets.run({ id: groupId, tag_sets: JSON.stringify(tagSets) }).changes !== 1) {
      throw new FerryError('NOT_FOUND', `deployment group id "${groupId}" not found`);
    }
  }

  setGroupConfig(groupId: string, configName: string): void {
    let changes = 0;
    guard(`deployment config "${configName}"`, () => (changes = this.st.setGroupConfig.run({ id: groupId, config_name: configName }).changes),
      [[`deployment config "${configName}"`, () => this.getConfig(configName)]]);
    if (changes !== 1) throw new FerryError('NOT_FOUND', `deployment group id "${groupId}" not found`);
  }

  setGroupWindows(groupId: string, windows: readonly DeploymentWindow[]): void {
    if (this.st.setGroupWindows.run({ id: groupId, windows: JSON.stringify(windows) }).changes !== 1) {
      throw new FerryError('NOT_FOUND', `deployment group id "${groupId}" not found`);
    }
  }

  createSchedule(schedule: Schedule): void {
    this.schedules.create(schedule);
  }

  getSchedule(id: string): Schedule | undefined {
    return this.schedules.get(id);
  }

  listSchedules(filter?: ScheduleFilter): Schedule[] {
    return this.schedules.list(filter);
  }

  dueSchedules(now: string): Schedule[] {
    return this.schedules.due(now);
  }

  claimScheduleRun(id: string, due: string, next: string | null, ranAt: string): boolean {
    return this.schedules.claim(id, due, next, ranAt);
  }

  recordScheduleResult(id: string, result: { deploymentId: string } | { error: string }): void {
    this.schedules.recordResult(id, result);
  }

  transitionSchedule(id: string, to: ScheduleState): boolean {
    return this.schedules.transition(id, to);
  }

  linkRollback(id: string, rollbackId: string): boolean {
    return this.st.linkRollback.run({ id, rollback: rollbackId }).changes === 1;
  }

  nextQueued(groupId: string): Deployment | undefined {
    return maybe(this.st.nextQueued.get(groupId), rows.toDeployment);
  }

  activeDeployment(groupId: string): Deployment | undefined {
    return maybe(this.st.activeDeployment.get(groupId), rows.toDeployment);
  }

  lastSuccessfulDeployment(groupId: string): Deployment | undefined {
    return maybe(this.st.lastSuccessfulDeployment.get(groupId), rows.toDeployment);
  }

  listHostDeployments(deploymentId: string): HostDeployment[] {
    return this.st.listHostDeployments.all(deploymentId).map(rows.toHostDeployment);
  }

  listHostDeploymentStates(deploymentId: string): HostDeploymentState[] {
    return this.st.listHostDeploymentStates.all(deploymentId).map(rows.toHostDeploymentState);
  }

  hostDeploymentCounts(deploymentId: string): HostDeploymentCounts {
    return rows.toHostDeploymentCounts(this.st.hostDeploymentCounts.get(deploymentId));
  }

  getHostDeployment(deploymentId: string, hostId: string): HostDeployment | undefined {
    return maybe(this.st.getHostDeployment.get(deploymentId, hostId), rows.toHostDeployment);
  }

  hostDeploymentsOnHost(hostId: string, statuses?: readonly HostDeploymentStatus[]): HostDeployment[] {
    const filter = statuses === undefined ? null : JSON.stringify(statuses);
    return this.st.hostDeploymentsOnHost.all({ host_id: hostId, statuses: filter }).map(rows.toHostDeployment);
  }

  isRevisionTarget(hostId: string, digest: string): boolean {
    return this.st.isRevisionTarget.get(hostId, digest) !== undefined;
  }

  transitionHostDeployment(
    deploymentId: string, hostId: string, to: HostDeploymentStatus, patch: HostDeploymentPatch = {},
  ): boolean {
    const cas = this.st.transitionHostDeployment[to] as Statement | undefined;
    if (cas === undefined) throw new FerryError('INVALID_ARGUMENT', `unknown host deployment status "${to}"`);
    const params = { deployment_id: deploymentId, host_id: hostId, ...rows.patchParams(patch, HOST_DEPLOYMENT_PATCH_COLUMNS) };
    return cas.run(params).changes === 1;
  }

  patchHostDeployment(deploymentId: string, hostId: string, patch: HostDeploymentPatch): void {
    const params = { deployment_id: deploymentId, host_id: hostId, ...rows.patchParams(patch, HOST_DEPLOYMENT_PATCH_COLUMNS) };
    if (this.st.patchHostDeployment.run(params).changes !== 1) {
      throw new FerryError('NOT_FOUND', `host deployment of deployment ${deploymentId} on host "${hostId}" not found`);
    }
  }

  putEventRecord(record: LifecycleEventRecord): LifecycleEventRecord['status'] | undefined {
    // One connection, synchronous: nothing comes between the read and the write.
    const before = this.st.eventRecordStatus.get(record.deploymentId, record.hostId, record.event) as { status: LifecycleEventRecord['status'] } | undefined;
    guard(
      `event ${record.event} of deployment ${record.deploymentId} on host "${record.hostId}"`,
      () => this.st.putEventRecord.run(rows.eventRecordParams(record)),
      [[hostDeploymentName(record), () => this.getHostDeployment(record.deploymentId, record.hostId)]],
    );
    return before?.status;
  }

  listEventRecords(deploymentId: string, hostId?: string): LifecycleEventRecord[] {
    const found = hostId === undefined
      ? this.st.listEventRecords.all(deploymentId)
      : this.st.listHostEventRecords.all(deploymentId, hostId);
    return found.map(rows.toEventRecord);
  }

  appendLogs(lines: readonly Omit<LogLine, 'seq'>[], maxBytesPerHost: number): void {
    if (!Number.isFinite(maxBytesPerHost) || maxBytesPerHost < 0) {
      throw new FerryError('INVALID_ARGUMENT', `maxBytesPerHost must be ≥ 0, got ${maxBytesPerHost}`);
    }
    this.db.transaction(() => {
      const touched = new Map<string, Omit<LogLine, 'seq'>>();
      for (const line of lines) {
        guard(`log line of deployment ${line.deploymentId} on host "${line.hostId}"`,
          () => this.st.insertLogLine.run(rows.logLineParams(line)),
          [[hostDeploymentName(line), () => this.getHostDeployment(line.deploymentId, line.hostId)]]);
        touched.set(`${line.deploymentId}\0${line.hostId}`, line);
      }
      for (const line of touched.values()) {
        this.st.trimLogs.run({ deployment_id: line.deploymentId, host_id: line.hostId, max_bytes: maxBytesPerHost });
      }
    })();
  }

  listLogs(deploymentId: string, options: { hostId?: string; afterSeq?: number; limit?: number } = {}): LogLine[] {
    const params = { deployment_id: deploymentId, after_seq: options.afterSeq ?? 0, limit: options.limit ?? NO_LIMIT };
    const found = options.hostId === undefined
      ? this.st.listLogs.all(params)
      : this.st.listHostLogs.all({ ...params, host_id: options.hostId });
    return found.map(rows.toLogLine);
  }

  recordHostRevision(state: HostRevisionState): void {
    guard(`revision of host "${state.hostId}" in group ${state.groupId}`,
      () => this.st.recordHostRevision.run(rows.hostRevisionParams(state)), [
        [`deployment group ${state.groupId}`, () => this.getGroupById(state.groupId)],
        [`host "${state.hostId}"`, () => this.getHost(state.hostId)],
        [`deployment ${state.deploymentId}`, () => this.getDeployment(state.deploymentId)],
      ]);
  }

  getHostTags(hostId: string): HostTags | undefined {
    return this.hostTags.of(hostId);
  }

  grantHostTags(hostId: string, granted: Readonly<Record<string, string>>, by: string, at: string): void {
    this.hostTags.setGranted(hostId, granted, by, at);
  }

  recordClaimedTags(hostId: string, claimed: Readonly<Record<string, string>>): void {
    this.hostTags.setClaimed(hostId, claimed);
  }

  revokedHostIds(): Set<string> {
    return new Set((this.st.revokedHostIds.all() as { host_id: string }[]).map(r => r.host_id));
  }

  hostRevision(groupId: string, hostId: string): HostRevisionState | undefined {
    return maybe(this.st.hostRevision.get(groupId, hostId), rows.toHostRevision);
  }

  hostRevisions(groupId: string): HostRevisionState[] {
    return this.st.hostRevisions.all(groupId).map(rows.toHostRevision);
  }

  claimAutoDeployment(groupId: string, hostId: string, digest: string): boolean {
    let claimed = false;
    guard(`automatic deployment of ${digest} to host "${hostId}" in group ${groupId}`, () => {
      claimed = this.st.claimAutoDeployment.run(groupId, hostId, digest).changes === 1;
    }, [
      [`deployment group ${groupId}`, () => this.getGroupById(groupId)],
      [`host "${hostId}"`, () => this.getHost(hostId)],
    ]);
    return claimed;
  }

  releaseAutoDeployment(groupId: string, hostId: string, digest: string): boolean {
    return this.st.releaseAutoDeployment.run(groupId, hostId, digest).changes === 1;
  }

  countDeploymentsByStatus(): StatusCount<DeploymentStatus>[] {
    return (this.st.countDeploymentsByStatus.all() as { status: DeploymentStatus; count: number }[])
      .map(r => ({ status: r.status, count: r.count }));
  }

  createToken(token: TokenRecord): void {
    this.tokens.create(token);
  }

  getToken(id: string): TokenRecord | undefined {
    return this.tokens.byId(id);
  }

  listTokens(): TokenRecord[] {
    return this.tokens.all();
  }

  consumeToken(id: string, now: string): boolean {
    return this.tokens.spend(id, now);
  }

  revokeToken(id: string, at: string): boolean {
    return this.tokens.revokeAt(id, at);
  }

  createConsoleSession(session: ConsoleSessionRecord, perToken: number): void {
    this.sessions.create(session, perToken);
  }

  getConsoleSession(idHash: string, now: string): ConsoleSessionRecord | undefined {
    return this.sessions.byHash(idHash, now);
  }

  deleteConsoleSession(idHash: string): void {
    this.sessions.delete(idHash);
  }

  addHostCertificate(cert: HostCertificate): void {
    this.certs.add(cert);
  }

  getHostCertificate(fingerprint: string): HostCertificate | undefined {
    return this.certs.byFingerprint(fingerprint);
  }

  activeHostCertificate(hostId: string, now: string): HostCertificate | undefined {
    return this.certs.activeFor(hostId, now);
  }

  revokeHostCertificates(hostId: string, at: string, except?: string): number {
    return this.certs.revokeHost(hostId, at, except);
  }

  appendAudit(entry: AuditEntry, foldWithinMs: number): number {
    return this.audit.append(entry, foldWithinMs);
  }

  listAudit(filter: AuditFilter = {}): AuditRecord[] {
    return this.audit.list(filter);
  }

  pruneAudit(before: string, limit?: number): number {
    return this.audit.deleteBefore(before, limit);
  }

  countHostDeploymentsByStatus(): (StatusCount<HostDeploymentStatus> & { errorCode: string })[] {
    return (this.st.countHostDeploymentsByStatus.all() as { status: HostDeploymentStatus; error_code: string; count: number }[])
      .map(r => ({ status: r.status, errorCode: r.error_code, count: r.count }));
  }

  // Clean-up (sqlite-cleanup.ts)
  deleteGroup(groupId: string): RemovedCounts { return this.cleanup.deleteGroup(groupId); }
  deleteApplication(name: string): RemovedCounts & { digests: string[] } { return this.cleanup.deleteApplication(name); }
  removeHost(id: string, at: string): boolean { return this.cleanup.removeHost(id, at); }
  restoreHost(id: string): boolean { return this.cleanup.restoreHost(id); }
  hostRemovedAt(id: string): string | undefined { return this.cleanup.hostRemovedAt(id); }
  deleteRevision(application: string, digest: string, at: string): boolean { return this.cleanup.deleteRevision(application, digest, at); }
  digestInUse(digest: string): boolean { return this.cleanup.digestInUse(digest); }

  // Event log, triggers and outbox (sqlite-events.ts)
  listEvents(options?: { afterSeq?: number; application?: string; limit?: number }): FerryEvent[] { return this.events.listEvents(options); }
  lastEventSeq(): number { return this.events.lastEventSeq(); }
  appendEvent(event: Omit<FerryEvent, 'seq'>): number { return this.events.appendEvent(event); }
  pruneEvents(keep: number, limit?: number): number { return this.events.pruneEvents(keep, limit); }
  setTrigger(input: TriggerInput, at: string) { return this.events.setTrigger(input, at); }
  removeTrigger(groupId: string, name: string): boolean { return this.events.removeTrigger(groupId, name); }
  listTriggers(groupId: string): TriggerView[] { return this.events.listTriggers(groupId); }
  dueDeliveries(nowMs: number, limit: number): DeliveryJob[] { return this.events.dueDeliveries(nowMs, limit); }
  claimDeliveries(nowMs: number, limit: number, claimMs: number): DeliveryJob[] { return this.events.claimDeliveries(nowMs, limit, claimMs); }
  releaseDeliveryClaims(): number { return this.events.releaseDeliveryClaims(); }
  nextDeliveryAt(): number | undefined { return this.events.nextDeliveryAt(); }
  recordDelivery(id: number, outcome: DeliveryOutcome): void { this.events.recordDelivery(id, outcome); }
  createPlan(plan: DeploymentPlanRecord): void {
    this.plans.create(plan, { application: () => this.getApplication(plan.application), group: () => this.getGroupById(plan.groupId) });
  }

  getPlan(id: string): DeploymentPlanRecord | undefined {
    return this.plans.find(id);
  }

  markPlanUsed(id: string, deploymentId: string): boolean {
    return this.plans.markUsed(id, deploymentId, () => this.getDeployment(deploymentId));
  }

  begin(): void {
    this.db.exec('BEGIN');
  }

  commit(): void {
    this.db.exec('COMMIT');
  }

  /** Rolls back the open transaction, if SQLite has not already (it does on some errors). */
  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  close(): void {
    this.db.close();
  }

  private insertTarget(target: HostDeployment): void {
    guard(hostDeploymentName(target), () => this.st.insertHostDeployment.run(rows.hostDeploymentParams(target)), [
      [`host "${target.hostId}"`, () => this.getHost(target.hostId)],
    ]);
  }
}

function hostDeploymentName(ref: { deploymentId: string; hostId: string }): string {
  return `host deployment of deployment ${ref.deploymentId} on host "${ref.hostId}"`;
}

function maybe<T>(row: unknown, toDomain: (row: unknown) => T): T | undefined {
  return row === undefined ? undefined : toDomain(row);
}
