import type * as grpc from '@grpc/grpc-js';
import { failStream } from './errors.js';

/**
 * The one shape of our server streams (WatchDeployment, StreamLogs, StreamEvents): subscribe to
 * change notifications, coalesce bursts into one `step` per tick, end when `step` says so, stop
 * listening when the client cancels, and end with the error's status when `step` throws.
 * `step` writes what is new and returns true when the stream is finished.
 */
export function serveStream<Req, Res>(
  call: grpc.ServerWritableStream<Req, Res>,
  subscribe: (wake: () => void) => () => void,
  step: () => boolean,
  options: { pollMs?: number } = {},
): void {
  let done = false;
  let scheduled = false;
  let poll: NodeJS.Timeout | undefined;
  const stop = () => {
    done = true;
    unsubscribe();
    if (poll) clearInterval(poll);
  };
  const run = () => {
    scheduled = false;
    if (done) return;
    try {
      if (step()) {
        stop();
        call.end();
      }
    } catch (err) {
      stop();
      failStream(call, err);
    }
  };
  const wake = () => {
    if (scheduled || done) return;
    scheduled = true;
    setImmediate(run);
  };
  const unsubscribe = subscribe(wake);
  // A safety net for changes that reach the store by a path that sends no notification.
  if (options.pollMs) poll = setInterval(wake, options.pollMs);
  call.on('cancelled', stop);
  wake();
}
