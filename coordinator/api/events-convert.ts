import { type FerryEvent, type TriggerView, redactUrl } from '../domain/events.js';
import type { Event as PEvent } from '../../proto/gen/ferry/v1/Event.js';
import type { TriggerInfo as PTrigger } from '../../proto/gen/ferry/v1/TriggerInfo.js';

/** Event log and triggers ↔ protobuf. Pure. A trigger's secret has no field here. */
export function triggerToProto(t: TriggerView): PTrigger {
  return {
    // The query may hold a token, a chat webhook's path is one (Slack, Teams): views show the URL without it (docs/security.md);
    // only the secret-free part is needed to recognise it.
    name: t.name, url: redactUrl(t.url, t.format), events: t.events, format: t.format, createdAt: t.createdAt, updatedAt: t.updatedAt,
    lastAttemptAt: t.lastAttemptAt ?? '', lastStatus: t.lastStatus ?? 0, lastError: t.lastError ?? '',
    lastDeliveredAt: t.lastDeliveredAt ?? '', delivered: t.delivered, failedAttempts: t.failedAttempts,
    givenUp: t.givenUp, pending: t.pending,
  };
}

/**
 * A group's triggers as a caller below admin sees them: whether deliveries succeed, not the error
 * or HTTP status of the last attempt (which would tell what answers at an address the coordinator
 * reaches: a port scan; docs/security.md, "Webhooks"). Pure.
 */
export function triggersFor<G extends { triggers?: PTrigger[] }>(caller: { role: string }, group: G): G {
  if (caller.role === 'admin' || !group.triggers) return group;
  return { ...group, triggers: group.triggers.map(t => ({ ...t, lastStatus: 0, lastError: t.lastError ? 'delivery failed' : '' })) };
}

export function eventToProto(e: FerryEvent): PEvent {
  return {
    seq: e.seq, at: e.at, kind: e.kind, application: e.application, groupName: e.groupName, groupId: e.groupId,
    deploymentId: e.deploymentId ?? '', hostId: e.hostId ?? '', lifecycleEvent: e.lifecycleEvent ?? '',
    status: e.status, payloadJson: JSON.stringify(e.payload),
  };
}
