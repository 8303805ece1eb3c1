/**
 * Webhook messages, signatures and retry timing. Pure: no I/O, no clock reads (docs/design/style.md §1); the
 * worker (`webhook-worker.ts`) passes `now` and randomness in. Format: docs/notifications.md.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DeliveryJob, DeliveryOutcome, FerryEvent } from '../domain/events.js';
import { chatSummary, codeDeployStatus, slackMessage, teamsMessage } from './chat.js';

export const SIGNATURE_HEADER = 'X-Ferry-Signature';
export const EVENT_HEADER = 'X-Ferry-Event';
export const DELIVERY_HEADER = 'X-Ferry-Delivery';

export interface RetrySettings {
  /** First retry delay; doubles per attempt. */
  baseMs: number;
  /** Longest delay between attempts. */
  maxMs: number;
  /** Give up after this many attempts… */
  maxAttempts: number;
  /** …or once the delivery is this old. */
  maxAgeMs: number;
}

export { codeDeployStatus };

type Json = Record<string, unknown>;
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function errorInformation(p: Json): Json | undefined {
  const code = text(p.errorCode);
  const message = text(p.errorMessage);
  return code || message ? { ErrorCode: code ?? '', ErrorMessage: message ?? '' } : undefined;
}

/** Host counts per status, every CodeDeploy status present (0 when none). */
function overview(p: Json): Record<string, number> {
  const counts = (p.overview ?? {}) as Record<string, number>;
  const out: Record<string, number> = { Pending: 0, InProgress: 0, Succeeded: 0, Failed: 0, Skipped: 0, Unknown: 0 };
  for (const [k, v] of Object.entries(counts)) out[k] = Number(v);
  return out;
}

/** Who can open the gate and how (DeploymentAwaitingApproval). */
function approval(p: Json): Json {
  return {
    reason: p.pauseReason ?? '', succeededHosts: p.succeededHosts ?? 0, hosts: p.hosts ?? 0,
    ...(p.approveAfter !== undefined && { approveAfter: p.approveAfter }),
    ...(p.approveAfterZones !== undefined && { approveAfterZones: p.approveAfterZones }),
    approverRoles: p.approverRoles ?? [], approveCommand: p.approveCommand ?? '', rejectCommand: p.rejectCommand ?? '',
  };
}

/**
 * The JSON body for one event: CodeDeploy's trigger message fields (eventTriggerName,
 * applicationName, deploymentId, deploymentGroupName, createTime, completeTime, status,
 * deploymentOverview, errorInformation; for instance events instanceId, instanceStatus,
 * lastUpdatedAt, lifecycleEvents), plus Ferry's eventType, seq and ids. Times are ISO 8601.
 */
export function triggerMessage(triggerName: string, e: FerryEvent): Json {
  const p = e.payload;
  const common = {
    eventTriggerName: triggerName, eventType: e.kind, seq: e.seq, time: e.at,
    applicationName: e.application, deploymentGroupName: e.groupName, deploymentGroupId: e.groupId,
  };
  if (e.kind === 'TriggerTest') {
    return { ...common, status: 'TEST', message: `Test notification for trigger ${triggerName}: Ferry can reach this URL.` };
  }
  if (e.hostId !== undefined && e.lifecycleEvent === undefined) {
    const events = Array.isArray(p.lifecycleEvents) ? (p.lifecycleEvents as Json[]) : [];
    const info = errorInformation(p);
    return {
      ...common, deploymentId: e.deploymentId, instanceId: e.hostId, instanceHostname: p.hostname ?? '',
      lastUpdatedAt: e.at, instanceStatus: e.status,
      ...(info && { errorInformation: info }),
      lifecycleEvents: events.map(l => ({
        LifecycleEvent: l.event, LifecycleEventStatus: l.status, StartTime: l.startedAt ?? '', EndTime: l.endedAt ?? '',
        ...(text(l.errorCode) && { ErrorCode: l.errorCode }),
      })),
    };
  }
  if (e.lifecycleEvent !== undefined) {
    return {
      ...common, deploymentId: e.deploymentId, instanceId: e.hostId, lifecycleEvent: e.lifecycleEvent, status: e.status,
      startTime: p.startTime ?? '', endTime: p.endTime ?? '', ...(text(p.errorCode) && { errorCode: p.errorCode }),
    };
  }
  const info = errorInformation(p);
  return {
    ...common, deploymentId: e.deploymentId, createTime: p.createTime ?? '', completeTime: p.completeTime ?? '',
    status: codeDeployStatus(e.status), deploymentOverview: overview(p),
    ...(info && { errorInformation: info }),
    ...(text(p.rollbackOf) && { rollbackOf: p.rollbackOf }),
    ...(text(p.rolledBackBy) && { rollbackDeploymentId: p.rolledBackBy }),
    ...(e.kind === 'DeploymentAwaitingApproval' && { approval: approval(p) }),
  };
}

/** `sha256=<hex HMAC-SHA256 of the body with the trigger's secret>`. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** For receivers (and tests): a constant-time check of the signature header. */
export function verifySignature(secret: string, body: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const want = Buffer.from(signature(secret, body));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The body of one delivery in the trigger's format: Ferry's JSON, a Slack message or a Teams card. */
export function messageFor(job: Pick<DeliveryJob, 'triggerName' | 'event'> & { format?: DeliveryJob['format'] }, publicUrl?: string): Json {
  if (job.format === 'slack') return slackMessage(chatSummary(job.triggerName, job.event, publicUrl));
  if (job.format === 'teams') return teamsMessage(chatSummary(job.triggerName, job.event, publicUrl));
  return triggerMessage(job.triggerName, job.event);
}

/**
 * The request for one delivery: body and headers (the secret never leaves this function). Chat
 * bodies are signed too: Slack and Teams ignore the headers; a relay in between may check them.
 */
export function deliveryRequest(job: DeliveryJob, publicUrl?: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(messageFor(job, publicUrl));
  return {
    body,
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'ferry-coordinator',
      [SIGNATURE_HEADER]: signature(job.secret, body),
      [EVENT_HEADER]: job.event.kind,
      [DELIVERY_HEADER]: String(job.id),
    },
  };
}

/**
 * Delay before retry number `attempt` (1 after the first failure): exponential from `baseMs`,
 * capped at `maxMs`, with "equal jitter" (half fixed, half random) so receivers coming back are
 * not hit by every delivery at once. `random` is in [0, 1).
 */
export function backoffMs(attempt: number, settings: Pick<RetrySettings, 'baseMs' | 'maxMs'>, random: number): number {
  const exp = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}

/** What one attempt means for the delivery: delivered (2xx), retried later, or given up. */
export function afterAttempt(
  job: Pick<DeliveryJob, 'attempts' | 'createdAt'>,
  result: { status?: number; error?: string },
  nowMs: number, settings: RetrySettings, random: number,
): DeliveryOutcome {
  const at = new Date(nowMs).toISOString();
  const delivered = result.status !== undefined && result.status >= 200 && result.status < 300;
  const base = { at, ...(result.status !== undefined && { status: result.status }) };
  if (delivered) return { ...base, delivered: true, gaveUp: false };
  const error = result.error ?? `HTTP ${result.status ?? 0}`;
  const attempts = job.attempts + 1;
  const age = nowMs - Date.parse(job.createdAt);
  const nextAttemptAt = nowMs + backoffMs(attempts, settings, random);
  if (attempts >= settings.maxAttempts || nextAttemptAt - Date.parse(job.createdAt) > settings.maxAgeMs || age >= settings.maxAgeMs) {
    return { ...base, delivered: false, error: `${error}; gave up after ${attempts} attempt(s)`, gaveUp: true };
  }
  return { ...base, delivered: false, error, nextAttemptAt, gaveUp: false };
}
