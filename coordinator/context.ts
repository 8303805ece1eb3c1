import { randomInt, randomUUID } from 'node:crypto';
import type { AgentRegistry } from './agents/registry.js';
import type { HeartbeatPace } from './agents/pace.js';
import type { Changes } from './changes.js';
import type { Logger } from './log.js';
import type { CoordinatorMetrics } from './metrics.js';
import type { RevisionStore } from './revisions/revision-store.js';
import type { Store } from './store/store.js';
import type { KeyedMutex } from './async.js';
import type { TlsFiles } from './security/pki.js';
import type { AgentReleases } from './agent-downloads/releases.js';
import type { WebhookAllow } from './notify/destination.js';
import type { PerKeyLimit } from './security/stream-limits.js';

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** Ids are parameters too (docs/design/style.md §11): tests may inject deterministic ones. */
export interface IdSource {
  deployment(): string;
  group(): string;
  /** Deployment plans: p- and 9 uppercase alphanumerics. */
  plan(): string;
  schedule(): string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const randomIds: IdSource = {
  /** CodeDeploy's shape: d- and 9 uppercase alphanumerics. */
  deployment: () => 'd-' + Array.from({ length: 9 }, () => ALNUM[randomInt(ALNUM.length)]).join(''),
  group: () => randomUUID(),
  plan: () => 'p-' + Array.from({ length: 9 }, () => ALNUM[randomInt(ALNUM.length)]).join(''),
  /** s- and 9 uppercase alphanumerics, like a deployment id. */
  schedule: () => 's-' + Array.from({ length: 9 }, () => ALNUM[randomInt(ALNUM.length)]).join(''),
};

export interface Limits {
  /** Hook output kept per (deployment, host). */
  logBytesPerHost: number;
  /** Largest revision accepted. */
  maxRevisionBytes: number;
  /** The configured heartbeat interval: the alarms' sampling interval and the least the pace can be. */
  heartbeatIntervalMs: number;
  /** The configured silence after which an agent is lost (the pace may stretch it: `Context.pace`). */
  agentTimeoutMs: number;
}

/** Everything the coordinator's services need, passed in (no singletons). */
export interface Context {
  store: Store;
  /**
   * With several replicas on PostgreSQL: this replica's hold on the `coordinator` lease
   * (replicas/leadership.ts). The scheduler does nothing while it is not valid. Absent on SQLite.
   */
  leader?: { valid(): boolean };
  /** With several replicas: this replica's id (the holder name of its leases). */
  replicaId?: string;
  /**
   * One lock per deployment group (keyed by its id): the scheduler's pass of a group and every
   * read-modify-write of a group's deployments (agent results, stop, pause, approve, retry, catch-up)
   * hold it, so no other of them interleaves between their awaited store calls (coordinator/async.ts).
   */
  groups: KeyedMutex;
  registry: AgentRegistry;
  /** The heartbeat interval agents are told and the timeout they are judged by now: stretched as the fleet grows (agents/pace.ts). */
  pace: HeartbeatPace;
  changes: Changes;
  revisions: RevisionStore;
  log: Logger;
  clock: Clock;
  ids: IdSource;
  limits: Limits;
  /** Asks the scheduler to reconcile soon (coalesced). */
  kick(): void;
  /** When this coordinator started (wall clock, for display). */
  startedAt: number;
  /**
   * A monotonic clock (ms): liveness, timeouts and the restart grace use it, so a wall-clock jump
   * never declares healthy agents lost (docs/design/architecture.md §9). It stands still while
   * the coordinator's event loop is stalled (agents/lag-clock.ts): its own lag never counts as an
   * agent's silence.
   */
  monotonic(): number;
  /** When this coordinator started, on the monotonic clock. */
  startedMono: number;
  /** The alarm states each agent reported last (reported state: kept in memory, refreshed every beat). */
  alarmStates: Map<string, { name: string; state: string; reason: string; since: string }[]>;
  /** Prometheus metrics (always kept; served only with --metrics-listen). */
  metrics: CoordinatorMetrics;
  /** The CA and server certificate (TLS); absent with --insecure. */
  tls?: TlsFiles;
  /** The agent binaries served from DATA/agent/ (what `ferry hosts upgrade` installs); absent in unit tests. */
  agentReleases?: AgentReleases;
  /** Agent upgrades waiting for their host to reconnect or answer (services/agent-upgrade.ts). */
  upgrades?: UpgradeWaiters;
  /** Non-public webhook destinations the configuration allows (notify/destination.ts); absent: none. */
  webhookAllow?: WebhookAllow;
  /** Server streams (watches, follows, console pages) per caller (security/stream-limits.ts); absent: no limit. */
  streams?: PerKeyLimit;
  /** Revision downloads per host, and how long a reader may make no progress (revisions/download-pump.ts); absent: no limits. */
  downloads?: DownloadLimits;
}

export interface DownloadLimits {
  perHost: PerKeyLimit;
  /** A download whose client has taken nothing for this long is cut and its buffers go back to the pool. */
  stallTimeoutMs: number;
}

/** What the agent stream tells the upgrade rollout: a host registered, or answered an UpgradeCommand. */
export interface UpgradeWaiters {
  registered(hostId: string, agentVersion: string): void;
  answered(hostId: string, status: { upgradeId: string; status: string; message: string }): void;
}

export const iso = (ms: number) => new Date(ms).toISOString();
