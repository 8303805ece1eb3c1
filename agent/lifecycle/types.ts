import type { FileExistsBehavior } from '../../common/appspec/types.js';
import type { EventErrorCode, EventName, EventStatus } from '../../common/lifecycle/events.js';

/**
 * Where the revision comes from. The executor does not know about the network (docs/design/style.md §6): the
 * local command hands it a path, the coordinator link (later) a verified cached download.
 */
export interface BundleProvider {
  /** Writes the unpacked revision to `destDir` (which must not exist yet). */
  unpackTo(destDir: string, appspecFileName?: string): Promise<{ strippedWrapper?: string }>;
  /** For messages: what is being deployed. */
  describe(): string;
}

/** Ferry's codes for the agent-run events, beside CodeDeploy's script codes. */
export type AgentErrorCode = 'BundleRejected' | 'AppSpecInvalid' | 'InstallFailed' | 'PreviousRevisionUnusable' | 'DISK_FULL';
export type ErrorCodeOfEvent = EventErrorCode | AgentErrorCode;

/** One host deployment, as the coordinator (or `ferry-agent local`) describes it. */
export interface HostDeploymentSpec {
  deploymentId: string;
  applicationName: string;
  groupName: string;
  groupId: string;
  bundle: BundleProvider;
  bundleCommit?: string;
  /**
   * Subset of events to run (DownloadBundle and Install are always run); all when absent. Names
   * that are not lifecycle events are custom events (orderEvents places them).
   */
  events?: readonly EventName[];
  /** Deployment-level default; the appspec's own key wins. */
  fileExistsBehavior: FileExistsBehavior;
  ignoreApplicationStopFailures: boolean;
  appspecFileName?: string;
}

export type ExecutorEvent =
  | { type: 'event-start'; event: EventName; at: number; revision: 'previous' | 'current' | 'agent' }
  | { type: 'script-start'; event: EventName; location: string; at: number }
  | { type: 'log'; event: EventName; stream: 'stdout' | 'stderr'; line: string; at: number }
  | { type: 'event-end'; event: EventName; at: number; result: EventResult }
  | { type: 'warning'; event?: EventName; message: string; at: number };

export interface EventSink {
  emit(e: ExecutorEvent): void;
}

export interface EventResult {
  event: EventName;
  status: EventStatus;
  errorCode?: ErrorCodeOfEvent;
  exitCode?: number;
  message?: string;
  /** The failing script's appspec location, when a script failed. */
  script?: string;
  /** A failure that did not stop the deployment (ignoreApplicationStopFailures). */
  ignored?: boolean;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
}

export interface HostDeploymentResult {
  deploymentId: string;
  applicationName: string;
  groupName: string;
  groupId: string;
  status: 'Succeeded' | 'Failed';
  error?: { event: EventName; code: ErrorCodeOfEvent; message: string };
  events: EventResult[];
  warnings: string[];
  deploymentDir: string;
  scriptsLog: string;
  startedAt: string;
  endedAt: string;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
