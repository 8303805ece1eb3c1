import * as grpc from '@grpc/grpc-js';
import { FerryError, describeError } from '../../common/errors.js';
import { GRPC_STATUS } from '../../common/grpc-status.js';
import { type Caller, callerOf } from '../security/auth.js';
import { isStoreUnavailable } from '../store/unavailable.js';


/**
 * A FerryError's status from the table; a store that cannot be reached (PostgreSQL down: store/unavailable.ts)
 * is UNAVAILABLE, so that a client retries or follows on (the CLI's `--wait` reconnects), not INTERNAL.
 */
export function toServiceError(err: unknown): grpc.ServiceError {
  const unreachable = !(err instanceof FerryError) && isStoreUnavailable(err);
  const code = err instanceof FerryError ? GRPC_STATUS[err.code] : unreachable ? grpc.status.UNAVAILABLE : grpc.status.INTERNAL;
  const details = unreachable ? `the coordinator's database cannot be reached (retry): ${describeError(err)}` : describeError(err);
  const e = new Error(details) as grpc.ServiceError;
  e.code = code;
  e.details = details;
  e.metadata = new grpc.Metadata();
  return e;
}

/** Wraps a unary handler: decode → domain call → encode, errors through the table. */
export function unary<Req, Res>(fn: (req: Req) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(res => callback(null, res), err => callback(toServiceError(err)));
  };
}

/**
 * Ends a server or bidi stream with the error's status. Not `call.destroy(err)`: grpc-js 1.14 maps
 * the 'error' event to a status and then calls `end()`, which a destroyed stream ignores, so the
 * client would wait for a status that never comes.
 */
export function failStream(call: NodeJS.EventEmitter & { destroyed: boolean; writableEnded: boolean }, err: unknown): void {
  if (call.destroyed || call.writableEnded) return;
  call.emit('error', toServiceError(err));
}

/** `unary` for handlers that need the caller the auth interceptor identified (security/auth.ts). */
export function unaryAs<Req, Res>(fn: (req: Req, caller: Caller) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, callerOf(call.metadata)))
      .then(res => callback(null, res), err => callback(toServiceError(err)));
  };
}
