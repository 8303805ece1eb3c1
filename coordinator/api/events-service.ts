import type * as grpc from '@grpc/grpc-js';
import { FerryError } from '../../agent/errors.js';
import type { Context } from '../context.js';
import { removeTrigger, setTrigger } from '../services/triggers.js';
import type { ControlServiceHandlers } from '../../proto/gen/ferry/v1/ControlService.js';
import type { DeploymentGroup } from '../../proto/gen/ferry/v1/DeploymentGroup.js';
import type { Event } from '../../proto/gen/ferry/v1/Event.js';
import type { StreamEventsRequest__Output } from '../../proto/gen/ferry/v1/StreamEventsRequest.js';
import { eventToProto, triggerToProto } from './events-convert.js';
import { unary } from './errors.js';
import { serveStream } from './stream.js';

const PAGE = 500;
/** Followers also look at the log this often (a change may come by a path that sends no wake-up). */
const FOLLOW_POLL_MS = 1000;

/** StreamEvents, SetTrigger, RemoveTrigger: thin adapters (STYLE 5). */
export function eventHandlers(
  ctx: Context,
  groupView: (application: string, name: string) => DeploymentGroup,
): Pick<ControlServiceHandlers, 'StreamEvents' | 'SetTrigger' | 'RemoveTrigger'> {
  return {
    StreamEvents: call => streamEvents(ctx, call),
    SetTrigger: unary(req => {
      const r = setTrigger(ctx, {
        application: req.application, group: req.group, name: req.name, url: req.url, events: req.events,
        ...(req.secret && { secret: req.secret }),
      });
      return { trigger: triggerToProto(r.trigger), created: r.created, generatedSecret: r.generatedSecret ?? '', testEventSeq: r.testSeq };
    }),
    RemoveTrigger: unary(req => {
      removeTrigger(ctx, req.application, req.group, req.name);
      return groupView(req.application, req.group);
    }),
  };
}

function streamEvents(ctx: Context, call: grpc.ServerWritableStream<StreamEventsRequest__Output, Event>): void {
  const { application, follow } = call.request;
  let after = Number(call.request.sinceSeq) || 0;
  serveStream(call, wake => ctx.changes.onEvents(wake), () => {
    if (application && !ctx.store.getApplication(application)) {
      throw new FerryError('NOT_FOUND', `application ${application} does not exist; see ferry app list`);
    }
    for (;;) {
      const events = ctx.store.listEvents({ afterSeq: after, ...(application && { application }), limit: PAGE });
      for (const e of events) call.write(eventToProto(e));
      if (events.length > 0) after = events[events.length - 1]!.seq;
      if (events.length < PAGE) break;
    }
    return !follow;
  }, follow ? { pollMs: FOLLOW_POLL_MS } : {});
}
