import type { EventLogStore } from './event-store.js';
import type { FerryEvent } from '../domain/events.js';
import type { DeploymentPlanRecord } from '../domain/plan.js';
import type { DeploymentStatus, HostDeploymentCounts, HostDeploymentStatus } from '../domain/status.js';
import type {
  DesiredState,
  Application, AutoRollbackEvent, Deployment, DeploymentConfig, DeploymentGroup, Host, HostDeployment, LifecycleEventRecord, LogLine,
  PauseKind, Revision, TagSets,
} from '../domain/types.js';
import type { AuditEntry, AuditFilter, AuditRecord } from '../domain/audit.js';
import type { TokenRecord } from '../security/tokens.js';
import type { Schedule, ScheduleState } from '../domain/schedules.js';
import type { DeploymentWindow } from '../domain/windows.js';

/**
 * The coordinator's persistent state, in domain terms (docs/design/style.md §4), asynchronous: every method
 * returns a Promise (callers await it; see §4 on read-modify-write across calls). Two implementations,
 * SQLite (`sqlite-store.ts`, synchronous underneath) and PostgreSQL (`pg-store.ts`), one contract suite
 * (`test/contract/`, run on both). No SQL or row type leaves `store/`. Errors are FerryError: NOT_FOUND, ALREADY_EXISTS, CONFLICT.
 *
 * Status changes are compare-and-set against the transition tables in `domain/status.ts`:
 * they return false (and change nothing) when the current status does not allow the move.
 */
export interface DeploymentPatch {
  errorCode?: string | null;
  errorMessage?: string | null;
  startedAt?: string;
  completedAt?: string;
  minHealthyHosts?: number;
  pauseReason?: string | null;
  approved?: boolean;
  /** Which pause (null when it leaves Paused). */
  pauseKind?: PauseKind | null;
  /** Kept equal to pauseKind === 'window' by the store (an older column); callers set pauseKind. */
  pausedForWindow?: boolean;
}

export interface HostDeploymentPatch {
  errorCode?: string | null;
  errorMessage?: string | null;
  startedAt?: string;
  completedAt?: string;
  currentEvent?: string | null;
  desired?: DesiredState;
}

export interface DeploymentFilter {
  application?: string;
  groupId?: string;
  statuses?: readonly DeploymentStatus[];
  /** Only deployments with a target (host deployment) on this host: the host's history. */
  hostId?: string;
  /** Newest first; default 50. */
  limit?: number;
}

/** A host deployment as the planner sees it (Store.listHostDeploymentStates). */
export type HostDeploymentState = Pick<HostDeployment, 'hostId' | 'status' | 'position' | 'completedAt'>;

export interface HostRevisionState {
  hostId: string;
  groupId: string;
  revisionDigest: string;
  /** Outcome of the last deployment of this group to this host. */
  lastStatus: 'Succeeded' | 'Failed';
  deploymentId: string;
  at: string;
}

/** What deleting a group (or an application) removed, counted. */
export interface RemovedCounts {
  groups: number;
  deployments: number;
  triggers: number;
  schedules: number;
  plans: number;
  revisions: number;
}

/** A host's presence as stored (Store.listHostPresence). */
export type HostPresence = Pick<Host, 'id' | 'connected' | 'lastSeenAt'>;

/** A host heard from: its last-seen time and, when `connected`, that its stream is open (services/agents.ts flushLastSeen). */
export interface HostSeen {
  id: string;
  at: string;
  connected?: boolean;
}

export interface Store extends EventLogStore {
  // Applications
  createApplication(app: Application): Promise<void>;
  getApplication(name: string): Promise<Application | undefined>;
  listApplications(): Promise<Application[]>;

  // Deployment configs (the built-ins exist from the first migration)
  createConfig(config: DeploymentConfig): Promise<void>;
  getConfig(name: string): Promise<DeploymentConfig | undefined>;
  listConfigs(): Promise<DeploymentConfig[]>;

  // Deployment groups (name unique per application)
  createGroup(group: DeploymentGroup): Promise<void>;
  getGroup(application: string, name: string): Promise<DeploymentGroup | undefined>;
  getGroupById(id: string): Promise<DeploymentGroup | undefined>;
  listGroups(application?: string): Promise<DeploymentGroup[]>;
  setGroupAutoRollback(groupId: string, events: readonly AutoRollbackEvent[]): Promise<void>;
  setGroupAlarms(groupId: string, alarms: readonly string[]): Promise<void>;
  /** Sets (or with null clears) the config this group's rollbacks use. */
  setGroupRollbackConfig(groupId: string, configName: string | null): Promise<void>;
  /** Replaces the group's tag sets (which hosts it targets from its next deployment on). */
  setGroupTagSets(groupId: string, tagSets: TagSets): Promise<void>;
  /** Sets the group's deployment config (NOT_FOUND when no such config). */
  setGroupConfig(groupId: string, configName: string): Promise<void>;
  /** Replaces the group's deployment windows ([] = none: always open). */
  setGroupWindows(groupId: string, windows: readonly DeploymentWindow[]): Promise<void>;

  // Revisions: adding the same (application, digest) twice keeps the first and returns it
  addRevision(revision: Revision): Promise<Revision>;
  getRevision(application: string, digest: string): Promise<Revision | undefined>;
  /** Any application's revision with this digest (the agent fetches by digest). */
  findRevisionByDigest(digest: string): Promise<Revision | undefined>;
  listRevisions(application: string): Promise<Revision[]>;
  latestRevision(application: string): Promise<Revision | undefined>;

  // Hosts
  /** Registers or updates a host (tags, zone, facts, version) and marks it connected. */
  upsertHost(host: Host): Promise<void>;
  getHost(id: string): Promise<Host | undefined>;
  listHosts(): Promise<Host[]>;
  /**
   * Every listed host's id, connected flag and last-seen time, by id: what liveness judges by. At
   * 10,000 hosts the whole rows (tags and facts parsed from JSON) made its read of every host a
   * burst of the idle coordinator's CPU.
   */
  listHostPresence(): Promise<HostPresence[]>;
  setHostConnected(id: string, connected: boolean, at: string): Promise<void>;
  /**
   * Writes the last-seen time of every host in `seen` at once (one statement on PostgreSQL, one
   * transaction on SQLite: at 10,000 hosts one UPDATE each was a 100-150 ms burst of the
   * coordinator's every heartbeat interval, and 10,000 round trips on PostgreSQL); `connected` also
   * marks the host connected. A stored time newer than the one given (a registration since) stays.
   * Hosts not found (removed meanwhile) are skipped. Resolves to how many hosts were written.
   */
  recordHostsSeen(seen: readonly HostSeen[]): Promise<number>;
  /**
   * Runs `fn` (which awaits this store's own methods, and nothing else) in one transaction and resolves
   * to what it resolves to: the agents' reports of one tick are written together (api/agent-inbox.ts),
   * as are the last-seen times of every host heard from (services/agents.ts flushLastSeen). A throw
   * rolls back. The calls inside are known by their async context (AsyncLocalStorage); other callers'
   * calls meanwhile wait for the commit on SQLite, or run on another connection on PostgreSQL.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;

  // Clean-up (store/schema/v17.ts)
  /** Deletes the group with its deployments (history, logs), triggers, schedules and plans, in one transaction. */
  deleteGroup(groupId: string): Promise<RemovedCounts>;
  /** Deletes every group of the application (as deleteGroup), its revisions and itself; returns the digests it held. */
  deleteApplication(name: string): Promise<RemovedCounts & { digests: string[] }>;
  /** Marks the host removed: out of listHosts (so out of every group), its row kept for the history. False when it already was. */
  removeHost(id: string, at: string): Promise<boolean>;
  /** Lists a removed host again (it enrolled again); false when it was not removed. */
  restoreHost(id: string): Promise<boolean>;
  hostRemovedAt(id: string): Promise<string | undefined>;
  /** Marks the revision deleted (out of every lookup; its row kept for the deployments that ran it). */
  deleteRevision(application: string, digest: string, at: string): Promise<boolean>;
  /** True while some application holds a revision with these bytes that is not deleted. */
  digestInUse(digest: string): Promise<boolean>;

  // Deployments
  createDeployment(deployment: Deployment): Promise<void>;
  getDeployment(id: string): Promise<Deployment | undefined>;
  listDeployments(filter?: DeploymentFilter): Promise<Deployment[]>;
  /** CAS: moves `id` to `to` when its current status allows it. */
  transitionDeployment(id: string, to: DeploymentStatus, patch?: DeploymentPatch): Promise<boolean>;
  /** As transitionDeployment, and when it moved, appends `event(the deployment after the move)` in the same transaction. */
  transitionDeploymentWithEvent(id: string, to: DeploymentStatus, patch: DeploymentPatch, event: (d: Deployment) => Omit<FerryEvent, 'seq'>): Promise<boolean>;
  /**
   * In one transaction: moves a Created/Queued deployment to InProgress and inserts its targets.
   * Returns false if the status did not allow it or the group already has an active deployment
   * (enforced by a partial unique index).
   */
  startDeployment(id: string, targets: readonly HostDeployment[], minHealthyHosts: number, startedAt: string): Promise<boolean>;
  /** Records that `rollbackId` rolls `id` back; false when `id` already has a rollback. */
  linkRollback(id: string, rollbackId: string): Promise<boolean>;
  /** The next Queued deployment of a group: rollbacks first, then the oldest. */
  nextQueued(groupId: string): Promise<Deployment | undefined>;
  /** The group's InProgress or Paused deployment. */
  activeDeployment(groupId: string): Promise<Deployment | undefined>;
  /**
   * The group's target: its last Succeeded deployment not made by catch-up (creator autoscaling),
   * the last by the order deployments ended (a sequence, not completed_at).
   */
  lastSuccessfulDeployment(groupId: string): Promise<Deployment | undefined>;

  // Host deployments
  listHostDeployments(deploymentId: string): Promise<HostDeployment[]>;
  /**
   * What the scheduler plans from, per host deployment of a deployment, in listHostDeployments'
   * order: a few columns, not whole rows (a pass over a 10,000-host deployment read 10,000 rows).
   */
  listHostDeploymentStates(deploymentId: string): Promise<HostDeploymentState[]>;
  /**
   * How many of the deployment's host deployments are in each status, without counting them: kept by
   * the store in the transaction that inserts, moves or deletes them (store/schema/v22.ts). Every
   * status is present; all 0 for a deployment without targets (or unknown). Inside a `transaction`
   * that changed host deployments, PostgreSQL's counts show those changes only after the commit
   * (pg-schema/p06.ts); nothing reads them there.
   */
  hostDeploymentCounts(deploymentId: string): Promise<HostDeploymentCounts>;
  getHostDeployment(deploymentId: string, hostId: string): Promise<HostDeployment | undefined>;
  /** Host deployments on one host, optionally only in these statuses. */
  hostDeploymentsOnHost(hostId: string, statuses?: readonly HostDeploymentStatus[]): Promise<HostDeployment[]>;
  /**
   * True when the host is a target (a host deployment, in any status) of some deployment of this
   * revision, catch-up ones included: the only hosts that may download it (docs/security.md).
   */
  isRevisionTarget(hostId: string, digest: string): Promise<boolean>;
  /** CAS against HOST_DEPLOYMENT_TRANSITIONS. */
  transitionHostDeployment(deploymentId: string, hostId: string, to: HostDeploymentStatus, patch?: HostDeploymentPatch): Promise<boolean>;
  /** Updates non-status fields (e.g. the current event) of a host deployment. */
  patchHostDeployment(deploymentId: string, hostId: string, patch: HostDeploymentPatch): Promise<void>;

  // Lifecycle events, as reported by agents: one row per (deployment, host, event), replaced
  /**
   * Stores the record (compare-and-set on its status: a late InProgress never overwrites Succeeded)
   * and resolves to the status the stored record had before, undefined when there was none: whoever
   * counts finished events knows a repeated report without reading the host's records again.
   */
  putEventRecord(record: LifecycleEventRecord): Promise<LifecycleEventRecord['status'] | undefined>;
  listEventRecords(deploymentId: string, hostId?: string): Promise<LifecycleEventRecord[]>;

  // Hook output, kept per (deployment, host) up to `maxBytesPerHost` (oldest lines dropped)
  appendLogs(lines: readonly Omit<LogLine, 'seq'>[], maxBytesPerHost: number): Promise<void>;
  /** Lines with seq > afterSeq, oldest first. */
  listLogs(deploymentId: string, options?: { hostId?: string; afterSeq?: number; limit?: number }): Promise<LogLine[]>;

  // What each host of a group runs (ordering, late hosts)
  recordHostRevision(state: HostRevisionState): Promise<void>;
  hostRevisions(groupId: string): Promise<HostRevisionState[]>;
  /** What one host runs for a group (one row: no scan of the fleet). */
  hostRevision(groupId: string, hostId: string): Promise<HostRevisionState | undefined>;
  /** True the first time for (group, host, digest): a late host gets one automatic deployment per revision. */
  claimAutoDeployment(groupId: string, hostId: string, digest: string): Promise<boolean>;
  /** Gives a claim back: the automatic deployment it was for never ran on the host (dropped before it started). */
  releaseAutoDeployment(groupId: string, hostId: string, digest: string): Promise<boolean>;

  // Metrics: counts for the coordinator's Prometheus gauges (one cheap GROUP BY each)
  /** How many deployments are in each status (statuses with none are absent). */
  countDeploymentsByStatus(): Promise<StatusCount<DeploymentStatus>[]>;
  /** How many host deployments are in each (status, error code); errorCode '' when none. */
  countHostDeploymentsByStatus(): Promise<(StatusCount<HostDeploymentStatus> & { errorCode: string })[]>;

  // Tokens (only hashes of their secrets)
  createToken(token: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /**
   * Spends one use of a usable token (not revoked, not expired at `now`, uses left): CAS, so two
   * callers racing for a one-use token cannot both win. Unlimited tokens always succeed.
   */
  consumeToken(id: string, now: string): Promise<boolean>;
  /** Revokes at once, and deletes the token's console sessions; false when unknown or already revoked. */
  revokeToken(id: string, at: string): Promise<boolean>;
  // Web console sessions (docs/console.md; store-contract-tokens.ts): only a hash of the session id at rest
  /**
   * Saves a new session; sessions expired at its createdAt are deleted on the way, and so are its
   * token's oldest sessions beyond the newest `perToken` (one token cannot fill the table).
   */
  createConsoleSession(session: ConsoleSessionRecord, perToken: number): Promise<void>;
  /** The session with this id hash, unless unknown or expired at `now`. */
  getConsoleSession(idHash: string, now: string): Promise<ConsoleSessionRecord | undefined>;
  /** Ends a session (sign-out); nothing when unknown. */
  deleteConsoleSession(idHash: string): Promise<void>;
  // Deployment plans (`ferry deploy plan`; store-contract-plans.ts)
  createPlan(plan: DeploymentPlanRecord): Promise<void>;
  getPlan(id: string): Promise<DeploymentPlanRecord | undefined>;
  /** CAS: records the deployment that executed the plan; false when it was already used. */
  markPlanUsed(id: string, deploymentId: string): Promise<boolean>;
  // Scheduled deployments (store-schedules.ts)
  createSchedule(schedule: Schedule): Promise<void>;
  getSchedule(id: string): Promise<Schedule | undefined>;
  listSchedules(filter?: ScheduleFilter): Promise<Schedule[]>;
  /** Active schedules whose next run is at or before `now`, soonest first. */
  dueSchedules(now: string): Promise<Schedule[]>;
  /**
   * Claims a due run (compare-and-set on state Active and `nextRunAt` = `due`): records `ranAt`
   * and moves `nextRunAt` to `next`, or with `next` null moves the schedule to Done. False when
   * someone else claimed it or it was cancelled.
   */
  claimScheduleRun(id: string, due: string, next: string | null, ranAt: string): Promise<boolean>;
  /** What the claimed run produced: a deployment, or the reason there is none. */
  recordScheduleResult(id: string, result: { deploymentId: string } | { error: string }): Promise<void>;
  /** CAS against SCHEDULE_TRANSITIONS (Active → Cancelled | Done). */
  transitionSchedule(id: string, to: ScheduleState): Promise<boolean>;

  // Host certificates (enrollment)
  addHostCertificate(cert: HostCertificate): Promise<void>;
  getHostCertificate(fingerprint: string): Promise<HostCertificate | undefined>;
  /** The host's certificate that is neither revoked nor expired at `now` (the one valid longest), if any. */
  activeHostCertificate(hostId: string, now: string): Promise<HostCertificate | undefined>;
  /** Revokes every unrevoked certificate of the host but `except` (a fingerprint); returns how many. */
  revokeHostCertificates(hostId: string, at: string, except?: string): Promise<number>;
  /** Hosts whose every certificate is revoked: no deployment targets them. */
  revokedHostIds(): Promise<Set<string>>;

  // Host tags (docs/security.md, "Tags"): granted by a join token or an admin; claimed by the agent
  /** What the host is granted and what its agent last registered with; undefined when neither was ever recorded. */
  getHostTags(hostId: string): Promise<HostTags | undefined>;
  /** Replaces the tags the host is granted (its claim stays). */
  grantHostTags(hostId: string, granted: Readonly<Record<string, string>>, by: string, at: string): Promise<void>;
  /** Records the tags the host's agent registered with (the grant stays; none when there was none). */
  recordClaimedTags(hostId: string, claimed: Readonly<Record<string, string>>): Promise<void>;

  // The audit log (domain/audit.ts; store-contract-audit.ts)
  /** Appends a record, or folds a refusal into an identical one from the same address less than `foldWithinMs` before; returns its seq. */
  appendAudit(entry: AuditEntry, foldWithinMs: number): Promise<number>;
  /** Records in seq order (see AuditFilter). */
  listAudit(filter?: AuditFilter): Promise<AuditRecord[]>;
  /**
   * Deletes records whose last occurrence is before `before` (ISO time): `at`, or `lastAt` for
   * folded refusals, so a fold still recurring is kept. At most `limit` of them (the oldest; default
   * all), so a caller can delete in batches. Returns how many were deleted. Seqs are never reused.
   */
  pruneAudit(before: string, limit?: number): Promise<number>;

  close(): Promise<void>;
}

export interface ScheduleFilter {
  application?: string;
  /** Done and Cancelled ones too (default: only Active). */
  all?: boolean;
}

export interface HostCertificate {
  /** SHA-256, `AB:CD:…` as Node's X509Certificate.fingerprint256 gives it. */
  fingerprint: string;
  hostId: string;
  issuedAt: string;
  expiresAt: string;
  tokenId: string;
  revokedAt: string | null;
}

/** A web console sign-in (coordinator/ui/sessions.ts). */
export interface ConsoleSessionRecord {
  /** SHA-256 (hex) of the cookie's random value: the value itself is never stored. */
  idHash: string;
  /** The API token it was opened with (revoking it ends the session); null for insecure-local. */
  tokenId: string | null;
  /** `token:<id>` or `insecure-local`. */
  actor: string;
  role: string;
  createdAt: string;
  expiresAt: string;
}

export interface HostTags {
  hostId: string;
  granted: Record<string, string>;
  claimed: Record<string, string>;
  /** Who granted them: `join-token:<id>`, a caller id, `migration`; '' when nothing was ever granted. */
  grantedBy: string;
  grantedAt: string;
}

export interface StatusCount<S extends string> {
  status: S;
  count: number;
}
