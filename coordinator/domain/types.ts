import type { FileExistsBehavior } from '../../common/appspec/types.js';
import type { DeploymentStatus, EventRecordStatus, HostDeploymentStatus } from './status.js';
import type { DeploymentWindow } from './windows.js';

/** One tag filter: `key` (key only), `=value` (value only), `key=value` (both). */
export interface TagFilter {
  key?: string;
  value?: string;
}
/** OR within a set, AND across sets (CodeDeploy's tag sets). */
export type TagSets = TagFilter[][];

export type MinimumHealthy =
  | { type: 'HOST_COUNT'; value: number }
  | { type: 'FLEET_PERCENT'; value: number }
  /** OneAtATime: every host but one must stay healthy; a failure on the last host still succeeds. */
  | { type: 'ONE_AT_A_TIME' };

/** Zonal rollout (CodeDeploy's zonal configuration): one zone at a time, a monitor time between zones. */
export interface ZonalConfig {
  /** Wait this long after a zone's last host completed before the next zone starts. */
  monitorMs: number;
  /** The same, after the first zone (defaults to `monitorMs`). */
  firstZoneMonitorMs: number;
  /** Hosts of the current zone that must stay healthy (HOST_COUNT or FLEET_PERCENT, rounded up). */
  minimumHealthyPerZone: MinimumHealthy;
}

export interface DeploymentConfig {
  name: string;
  minimumHealthy: MinimumHealthy;
  zonal?: ZonalConfig;
  builtIn: boolean;
  createdAt: string;
}

export interface Application {
  name: string;
  createdAt: string;
}

/** What triggers an automatic rollback (CodeDeploy's DEPLOYMENT_FAILURE, _STOP_ON_ALARM, _STOP_ON_REQUEST). */
export const AUTO_ROLLBACK_EVENTS = ['failure', 'alarm', 'stop'] as const;
export type AutoRollbackEvent = (typeof AUTO_ROLLBACK_EVENTS)[number];

export interface DeploymentGroup {
  id: string;
  application: string;
  name: string;
  tagSets: TagSets;
  configName: string;
  /** Events that roll a deployment of this group back automatically (none by default). */
  autoRollback: AutoRollbackEvent[];
  /** Health alarm expressions (coordinator/domain/alarms.ts) each agent of the group evaluates. */
  alarms: string[];
  /** The config rollbacks of this group use (the failed deployment's when absent). */
  rollbackConfig?: string;
  /** Deployment windows (domain/windows.ts): new hosts start only while one is open. None: always. */
  windows?: DeploymentWindow[];
  createdAt: string;
}

export type BundleType = 'tar' | 'tgz' | 'zip';

export interface Revision {
  digest: string;
  application: string;
  size: number;
  bundleType: BundleType;
  description: string;
  commit?: string;
  createdAt: string;
}

export interface HostFacts {
  os?: string;
  kernel?: string;
  arch?: string;
  cpus?: number;
  memoryBytes?: number;
  diskTotalBytes?: number;
  diskFreeBytes?: number;
}

export interface Host {
  id: string;
  hostname: string;
  tags: Record<string, string>;
  zone?: string;
  agentVersion: string;
  facts: HostFacts;
  connected: boolean;
  lastSeenAt: string;
  registeredAt: string;
}

export type DeploymentCreator = 'user' | 'autoscaling' | 'rollback' | 'schedule';

export type PauseKind = 'operator' | 'window' | 'approval';

export interface Deployment {
  id: string;
  application: string;
  groupId: string;
  groupName: string;
  revisionDigest: string;
  configName: string;
  status: DeploymentStatus;
  creator: DeploymentCreator;
  /** Who created it, as the credentials said (`token:<id> (<description>)`, `insecure-local`); absent when made by Ferry itself or before it was recorded. */
  createdBy?: string;
  description: string;
  fileExistsBehavior: FileExistsBehavior;
  ignoreApplicationStopFailures: boolean;
  /** Only these hosts (an automatic deployment to a late host); all matching hosts when absent. */
  targetHostIds?: string[];
  /** Per-deployment override of the group's auto-rollback events. */
  autoRollback?: AutoRollbackEvent[];
  /** Emergencies: alarms do not stop this deployment. */
  ignoreAlarms?: boolean;
  /** Bake time: a host counts as done this long after it succeeded (alarms watched meanwhile). */
  minHealthyTimeMs?: number;
  /** Approval gate: pause once this many hosts have succeeded, until `ferry deploy approve`. */
  approveAfter?: number;
  /** Zonal approval gate (`--approve-after first-zone` = 1): pause once this many zones finished and were monitored. */
  approveAfterZones?: number;
  /** Set once the gate was approved (it does not close again). */
  approved?: boolean;
  /** Why the deployment is Paused (awaiting approval, outside its window, or paused by an operator). */
  pauseReason?: string;
  /**
   * Which pause a Paused deployment is in: `operator` (ferry deploy pause; resume continues it),
   * `window` (its group's window closed; it resumes by itself when one opens), `approval` (its
   * approval gate; approve or reject). One meaning each: nothing else decides "awaiting approval".
   */
  pauseKind?: PauseKind;
  /** Emergencies: the group's deployment windows do not hold this deployment. */
  ignoreWindow?: boolean;
  /** `--require-all-hosts`: a target whose agent is offline at its turn fails the deployment instead of being Skipped. */
  requireAllHosts?: boolean;
  /** The schedule that created it (creator `schedule`). */
  scheduleId?: string;
  /** For a rollback: the deployment it replaces. */
  rollbackOf?: string;
  /** For a rolled-back deployment: the rollback that replaced it. */
  rolledBackBy?: string;
  /** Minimum healthy hosts, resolved to a count when the deployment starts. */
  minHealthyHosts?: number;
  errorCode?: string;
  errorMessage?: string;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
}

/** A deployment on one host. `status` is the coordinator's view built from agent reports. */
export interface HostDeployment {
  deploymentId: string;
  hostId: string;
  status: HostDeploymentStatus;
  /** The event the host is in (reported), for progress display. */
  currentEvent?: string;
  errorCode?: string;
  errorMessage?: string;
  /** Dispatch order within the deployment. */
  position: number;
  startedAt?: string;
  completedAt?: string;
  /**
   * What the coordinator wants of this host (coordinator-owned, apart from the reported `status`):
   * `stop` once the deployment was stopped. Every (re)registration of the host sends what it says:
   * the deploy command for `run`, a cancel for `stop`.
   */
  desired?: DesiredState;
}

export type DesiredState = 'run' | 'stop';

export interface LifecycleEventRecord {
  deploymentId: string;
  hostId: string;
  event: string;
  status: EventRecordStatus;
  errorCode?: string;
  exitCode?: number;
  message?: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
}

export interface LogLine {
  deploymentId: string;
  hostId: string;
  seq: number;
  at: string;
  event: string;
  stream: 'stdout' | 'stderr';
  line: string;
}
