import type * as grpc from '@grpc/grpc-js';
import { FerryError } from '../../common/errors.js';
import type { Context } from '../context.js';
import { removeTrigger, setTrigger } from '../services/triggers.js';
import type { ControlServiceHandlers } from '../../proto/gen/ferry/v1/ControlService.js';
import type { DeploymentGroup } from '../../proto/gen/ferry/v1/DeploymentGroup.js';
import type { Event } from '../../proto/gen/ferry/v1/Event.js';
import type { StreamEventsRequest__Output } from '../../proto/gen/ferry/v1/StreamEventsRequest.js';
import { eventToProto, triggerToProto } from './events-convert.js';
import { type AuditFilter, type AuditRecord } from '../domain/audit.js';
import { AUDIT_OUTCOMES, type AuditOutcome } from '../../common/audit.js';
import type { AuditRecord as AuditRecordProto } from '../../proto/gen/ferry/v1/AuditRecord.js';
import { unary } from './errors.js';
import { QUEUED_MESSAGES, serveStream } from './stream.js';
import type { PerKeyLimit } from '../security/stream-limits.js';

/** Followers also look at the log this often (a change may come by a path that sends no wake-up). */
const FOLLOW_POLL_MS = 1000;

/** StreamEvents, SetTrigger, RemoveTrigger: thin adapters (docs/design/style.md §5). */
export function eventHandlers(
  ctx: Context,
  groupView: (application: string, name: string) => Promise<DeploymentGroup>,
): Pick<ControlServiceHandlers, 'StreamEvents' | 'SetTrigger' | 'RemoveTrigger'> {
  return {
    StreamEvents: call => streamEvents(ctx, call),
    SetTrigger: unary(async req => {
      const r = await setTrigger(ctx, {
        application: req.application, group: req.group, name: req.name, url: req.url, events: req.events,
        ...(req.secret && { secret: req.secret }), ...(req.format && { format: req.format }),
      });
      return { trigger: triggerToProto(r.trigger), created: r.created, generatedSecret: r.generatedSecret ?? '', testEventSeq: r.testSeq };
    }),
    RemoveTrigger: unary(async req => {
      await removeTrigger(ctx, req.application, req.group, req.name);
      return groupView(req.application, req.group);
    }),
  };
}

function streamEvents(ctx: Context, call: grpc.ServerWritableStream<StreamEventsRequest__Output, Event>): void {
  const { application, follow } = call.request;
  streamLog(call, follow, Number(call.request.sinceSeq) || 0, wake => ctx.changes.onEvents(wake), async (after, limit) => {
    if (application && !await ctx.store.getApplication(application)) {
      throw new FerryError('NOT_FOUND', `application ${application} does not exist; see ferry app list`);
    }
    return ctx.store.listEvents({ afterSeq: after, ...(application && { application }), limit });
  }, eventToProto, ctx.streams);
}

/** StreamAudit: the audit log (domain/audit.ts), filtered, oldest first, then followed if asked. */
export function auditHandlers(ctx: Context): Pick<ControlServiceHandlers, 'StreamAudit'> {
  return {
    StreamAudit: call => {
      const { actor, action, outcome, follow, last } = call.request;
      const filter: AuditFilter = {
        ...(actor && { actor }), ...(action && { action }),
        ...(outcome && { outcome: parseOutcome(outcome) }),
      };
      let first = last > 0;
      streamLog(call, follow, Number(call.request.sinceSeq) || 0, wake => ctx.changes.onAudit(wake), async (after, limit) => {
        // `last`: the newest N once, then everything after them.
        const page = await ctx.store.listAudit({ ...filter, afterSeq: after, ...(first ? { last } : { limit }) });
        first = false;
        return page;
      }, auditToProto, ctx.streams);
    },
  };
}

function parseOutcome(raw: string): AuditOutcome {
  if ((AUDIT_OUTCOMES as readonly string[]).includes(raw)) return raw as AuditOutcome;
  throw new FerryError('INVALID_ARGUMENT', `outcome: '${raw}' is not one of ${AUDIT_OUTCOMES.join(', ')}`);
}

function auditToProto(r: AuditRecord): AuditRecordProto {
  return { ...r, targetJson: JSON.stringify(r.target) };
}

/**
 * Streams a sequenced log in pages from `after`; with `follow`, keeps streaming what is appended
 * (woken by `subscribe`, and polling in case a change came by a path that sends no wake-up).
 */
function streamLog<T extends { seq: number }, P>(
  call: grpc.ServerWritableStream<unknown, P>,
  follow: boolean,
  after: number,
  subscribe: (wake: () => void) => () => void,
  read: (after: number, limit: number) => Promise<T[]>,
  toProto: (item: T) => P,
  limit: PerKeyLimit | undefined,
): void {
  serveStream(call, subscribe, async send => {
    for (;;) {
      // No more than the stream may queue: the client reads them before the next page is read.
      const items = await read(after, QUEUED_MESSAGES);
      let room = true;
      for (const item of items) {
        room = send(toProto(item));
        after = item.seq;
      }
      if (items.length < QUEUED_MESSAGES) break;
      if (!room) return false;
    }
    return !follow;
  }, { ...(follow && { pollMs: FOLLOW_POLL_MS }), ...(limit && { limit }) });
}
