import type { AutoRollbackEvent } from './types.js';

/**
 * A scheduled deployment: one-shot (`at`) or repeating (`cron` in `timezone`). When due, the
 * coordinator creates a normal deployment (creator `schedule`) of `revision` (a digest, or `latest`
 * resolved at that moment) with `options`. State machine: one transition table (docs/design/style.md §2).
 */
export const SCHEDULE_STATES = ['Active', 'Done', 'Cancelled'] as const;
export type ScheduleState = (typeof SCHEDULE_STATES)[number];

export const SCHEDULE_TRANSITIONS: Readonly<Record<ScheduleState, readonly ScheduleState[]>> = {
  Active: ['Done', 'Cancelled'],
  Done: [],
  Cancelled: [],
};

/** The deployment options a schedule replays (CreateDeployment's, minus app, group and revision). */
export interface ScheduleOptions {
  configName?: string;
  description?: string;
  fileExistsBehavior?: string;
  ignoreApplicationStopFailures?: boolean;
  autoRollback?: AutoRollbackEvent[];
  approveAfter?: number;
  approveAfterZones?: number;
  ignoreAlarms?: boolean;
  ignoreWindow?: boolean;
  minHealthyTimeMs?: number;
  requireAllHosts?: boolean;
}

export interface Schedule {
  id: string;
  application: string;
  groupId: string;
  groupName: string;
  /** A full digest, or `latest`. */
  revision: string;
  options: ScheduleOptions;
  /** One-shot: when it runs (ISO 8601). */
  at?: string;
  /** Repeating: a five-field cron expression in `timezone`. */
  cron?: string;
  timezone: string;
  state: ScheduleState;
  /** When it runs next; absent once Done or Cancelled. */
  nextRunAt?: string;
  lastRunAt?: string;
  lastDeploymentId?: string;
  /** Why the last run created no deployment. */
  lastError?: string;
  createdBy: string;
  createdAt: string;
}
