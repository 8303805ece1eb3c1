/**
 * The persistent event log and webhook triggers, in domain terms. Events are appended by the store
 * in the same transaction as the status change they record (store/schema/v08.ts).
 */
import type { TriggerEvent, TriggerFormat } from '../../common/triggers.js';

/** Every kind the log holds. The `Deployment*`/`Instance*` names are CodeDeploy's trigger events. */
export const EVENT_KINDS = [
  'DeploymentCreated', 'DeploymentQueued', 'DeploymentStart', 'DeploymentPause', 'DeploymentResume',
  'DeploymentSuccess', 'DeploymentFailure', 'DeploymentStop', 'DeploymentRollback', 'DeploymentAwaitingApproval',
  'InstanceStart', 'InstanceSuccess', 'InstanceFailure', 'InstanceSkipped', 'InstanceUnknown',
  'LifecycleEvent', 'TriggerTest',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface FerryEvent {
  /** Position in the log: increasing, never reused (gaps after retention trims nothing but old events). */
  seq: number;
  at: string;
  kind: string;
  application: string;
  groupId: string;
  groupName: string;
  deploymentId?: string;
  hostId?: string;
  lifecycleEvent?: string;
  status: string;
  /** Snapshot at the time of the event: times, errors, host counts, lifecycle events. */
  payload: Record<string, unknown>;
}

export interface TriggerInput {
  groupId: string;
  name: string;
  url: string;
  events: TriggerEvent[];
  /** Required when the trigger is new; an update without one keeps the stored secret. */
  secret?: string;
  /** Absent: json for a new trigger; an update without one keeps the stored format. */
  format?: TriggerFormat;
}

/** A trigger as shown to users: never its secret. */
export interface TriggerView {
  id: number;
  groupId: string;
  name: string;
  url: string;
  events: string[];
  format: TriggerFormat;
  createdAt: string;
  updatedAt: string;
  lastAttemptAt?: string;
  /** HTTP status of the last attempt (absent: no response, e.g. connection refused). */
  lastStatus?: number;
  /** Error of the last attempt; cleared by a delivery. */
  lastError?: string;
  lastDeliveredAt?: string;
  delivered: number;
  failedAttempts: number;
  givenUp: number;
  /** Deliveries waiting to be (re)tried. */
  pending: number;
}

/** One delivery of one event to one trigger, due now. */
export interface DeliveryJob {
  id: number;
  triggerId: number;
  triggerName: string;
  url: string;
  secret: string;
  format: TriggerFormat;
  attempts: number;
  createdAt: string;
  event: FerryEvent;
}

export interface DeliveryOutcome {
  at: string;
  delivered: boolean;
  status?: number;
  error?: string;
  /** When not delivered and not given up: the next try, epoch ms. */
  nextAttemptAt?: number;
  gaveUp: boolean;
}

/**
 * A URL for logs: user info and query (where webhook tokens often live) replaced by `…`. A chat
 * webhook's (Slack, Teams) token is its path: with `format` slack or teams the path goes too.
 */
export function redactUrl(raw: string, format?: string): string {
  try {
    const u = new URL(raw);
    const auth = u.username || u.password ? '…@' : '';
    if (format === 'slack' || format === 'teams') return `${u.protocol}//${auth}${u.host}/…`;
    return `${u.protocol}//${auth}${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}
