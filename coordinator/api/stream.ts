import type * as grpc from '@grpc/grpc-js';
import { constants as http2 } from 'node:http2';
import { callerOf } from '../security/auth.js';
import type { PerKeyLimit } from '../security/stream-limits.js';
import { streamOwner } from '../security/stream-limits.js';
import { failStream } from './errors.js';

/**
 * Writes one message to the stream; false when the stream has as many unsent messages as it may
 * queue (`maxQueued`): the step then stops producing and is called again once the client has read.
 */
export type Send<Res> = (msg: Res) => boolean;

export interface StreamOptions {
  /** The store is looked at this often too (a change may come by a path that sends no notification). */
  pollMs?: number;
  /** Messages written and not yet sent at most (default QUEUED_MESSAGES); what a client that does not read costs. */
  maxQueued?: number;
  /** Server streams per caller (ctx.streams); absent: no limit. */
  limit?: PerKeyLimit;
}

/** Unsent messages a stream may hold before it stops producing (log lines or events: some tens of KB). */
export const QUEUED_MESSAGES = 128;

/**
 * The one shape of our server streams (WatchDeployment, StreamLogs, StreamEvents, StreamAudit): subscribe
 * to change notifications, coalesce bursts into one `step` per tick, end when `step` says so, stop
 * listening when the client cancels, and end with the error's status when `step` throws.
 * `step` writes what is new through `send` and resolves true when the stream is finished. One step runs
 * at a time: a wake-up during a step runs one more after it.
 *
 * Back-pressure (docs/security.md, "Streams and downloads"): a write completes once grpc-js has handed
 * the message to the HTTP/2 stream, which it does only as the client's flow-control window allows;
 * with `maxQueued` messages not yet completed, `send` returns false, `step` stops, and no step runs
 * until the client has read them. A client that never reads costs at most `maxQueued` messages, not
 * the whole log.
 */
export function serveStream<Req, Res>(
  call: grpc.ServerWritableStream<Req, Res>,
  subscribe: (wake: () => void) => () => void,
  step: (send: Send<Res>) => Promise<boolean>,
  options: StreamOptions = {},
): void {
  const maxQueued = options.maxQueued ?? QUEUED_MESSAGES;
  let release = () => undefined as void;
  if (options.limit) {
    try {
      let caller;
      try {
        caller = callerOf(call.metadata);
      } catch {
        caller = undefined;
      }
      release = options.limit.acquire(streamOwner(caller, call.getPeer()));
    } catch (err) {
      failStream(call, err);
      return;
    }
  }
  let done = false;
  let scheduled = false;
  let running = false;
  let poll: NodeJS.Timeout | undefined;
  let queued = 0;
  let blocked = false;
  let unsubscribed = false;
  const stop = () => {
    done = true;
    if (unsubscribed) return;
    unsubscribed = true;
    unsubscribe();
    if (poll) clearInterval(poll);
  };
  const finished = () => {
    stop();
    release();
  };
  const sent = () => {
    queued -= 1;
    if (blocked && queued <= maxQueued / 2) {
      blocked = false;
      wake();
    }
  };
  const send: Send<Res> = msg => {
    queued += 1;
    call.write(msg, sent);
    if (queued >= maxQueued) blocked = true;
    return !blocked;
  };
  const run = async () => {
    scheduled = false;
    if (done || blocked) return;
    running = true;
    try {
      // A step cut short by back-pressure is not the end: it runs again once the client has read.
      if (await step(send) && !blocked) {
        stop();
        call.end();
      }
    } catch (err) {
      stop();
      failStream(call, err);
    } finally {
      running = false;
    }
    // Woken while the step ran: once more.
    if (scheduled && !done) setImmediate(() => void run());
  };
  const wake = () => {
    if (scheduled || done) return;
    scheduled = true;
    if (!running) setImmediate(() => void run());
  };
  const unsubscribe = subscribe(wake);
  // A safety net for changes that reach the store by a path that sends no notification.
  if (options.pollMs) poll = setInterval(wake, options.pollMs);
  call.on('cancelled', finished);
  // The stream counts against its caller until everything is sent (or the client went away).
  call.on('finish', finished);
  call.on('close', finished);
  call.on('error', stop);
  wake();
}

/**
 * Ends a server stream at once with RST_STREAM, dropping what is queued for it (a client that stopped
 * reading would otherwise never see a status: trailers wait behind the unsent data). grpc-js has no
 * public call for it; its innermost call holds the HTTP/2 stream. Returns false when it could not.
 */
export function resetStream(call: object): boolean {
  let c = (call as { call?: unknown }).call as { stream?: { close?: (code: number) => void; destroyed?: boolean }; nextCall?: unknown } | undefined;
  for (let depth = 0; c && depth < 16; depth++) {
    if (c.stream && typeof c.stream.close === 'function') {
      if (!c.stream.destroyed) c.stream.close(http2.NGHTTP2_CANCEL);
      return true;
    }
    c = c.nextCall as typeof c;
  }
  return false;
}
