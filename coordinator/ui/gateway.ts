/**
 * The web console's way into the coordinator: a ControlService method called by name with a JSON
 * request, answered as JSON (unary) or as server-sent events (streams). It runs the very gRPC
 * handlers of api/control-service.ts, behind the same authorization (security/auth.ts
 * authorizeControl, the role table of security/permissions.ts) and the same audit rule
 * (callAuditEntry): no business rule lives here. Requests and responses go through the proto's own
 * encoders, so a handler sees exactly what grpc-js would hand it (defaults filled in, enums as names).
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { FerryError, describeError } from '../../common/errors.js';
import { GRPC_STATUS } from '../../common/grpc-status.js';
import { loadFerryProto } from '../../proto/load.js';
import type { ControlServiceHandlers } from '../../proto/gen/ferry/v1/ControlService.js';
import { controlService } from '../api/control-service.js';
import type { Context } from '../context.js';
import { type AuditEntry, summarizeRequest, summarizeResponse } from '../domain/audit.js';
import { streamOwner } from '../security/stream-limits.js';
import { CALLER_HEADER, type Caller, Refusal, authorizeControl, authorizeTokenId, callAuditEntry, outcomeOf, tooManyRefusals } from '../security/auth.js';
import type { AddressCounter } from '../security/rate-limit.js';
import { requiredRole } from '../security/permissions.js';
import { SETTLED_HOST_STATUSES, TERMINAL_DEPLOYMENT_STATUSES } from '../domain/status.js';
import { isRole, roleAllows } from '../security/tokens.js';

/** The unary methods the console calls: reads, and the actions of its deployment page. */
export const CONSOLE_UNARY = [
  'ListApplications', 'ListDeploymentConfigs', 'ListDeploymentGroups', 'GetDeploymentGroup', 'ListRevisions',
  'GetDeployment', 'ListDeployments', 'ListHosts', 'GetHost', 'ListSchedules',
  'CreateDeployment', 'ApproveDeployment', 'RejectDeployment', 'PauseDeployment', 'ResumeDeployment',
  'StopDeployment', 'RollbackDeployment', 'RedeployDeployment', 'RetryDeployment',
] as const;

/** The server streams the console follows over server-sent events, and the request field a reconnect's Last-Event-ID resumes from (WatchDeployment sends the whole state each time: nothing to resume). */
export const CONSOLE_STREAMS = { StreamEvents: 'sinceSeq', StreamLogs: 'afterSeq', StreamAudit: 'sinceSeq', WatchDeployment: undefined } as const;
export type ConsoleStream = keyof typeof CONSOLE_STREAMS;

/** A deployment page gets a new state at most this often (see Gateway.watchDeployment). */
export const WATCH_MIN_MS = 1000;

/**
 * Who calls: a token presented at sign-in (TLS), a session's token by id (its secret was proven at
 * sign-in), or anyone on this machine (--insecure, loopback).
 */
export type Credential = { token: string } | { tokenId: string } | { insecure: true };

export interface GatewayResult {
  status: number;
  body: unknown;
}

/** A FerryError code (or gRPC status) → the HTTP status the console gets. */
const HTTP_OF_STATUS: Partial<Record<grpc.status, number>> = {
  [grpc.status.INVALID_ARGUMENT]: 400, [grpc.status.NOT_FOUND]: 404, [grpc.status.ALREADY_EXISTS]: 409,
  [grpc.status.ABORTED]: 409, [grpc.status.FAILED_PRECONDITION]: 409, [grpc.status.UNAUTHENTICATED]: 401,
  [grpc.status.PERMISSION_DENIED]: 403, [grpc.status.RESOURCE_EXHAUSTED]: 429, [grpc.status.UNAVAILABLE]: 503,
};

export function httpStatusOf(code: grpc.status): number {
  return HTTP_OF_STATUS[code] ?? 500;
}

const statusOfError = (err: unknown): grpc.status =>
  typeof (err as grpc.ServiceError)?.code === 'number' ? (err as grpc.ServiceError).code : err instanceof FerryError ? GRPC_STATUS[err.code] : grpc.status.INTERNAL;

export function errorBody(code: grpc.status, message: string): { error: { code: string; message: string } } {
  return { error: { code: grpc.status[code] ?? 'UNKNOWN', message } };
}

interface MethodDef {
  requestSerialize(v: unknown): Buffer;
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): unknown;
}

export class Gateway {
  private readonly handlers: ControlServiceHandlers;
  private readonly defs: Record<string, MethodDef>;

  constructor(
    private readonly ctx: Context,
    private readonly mode: 'tls' | 'plaintext',
    private readonly audit: (entry: AuditEntry) => void,
    private readonly refusals: AddressCounter,
  ) {
    this.handlers = controlService(ctx);
    this.defs = loadFerryProto().ferry.v1.ControlService.service as unknown as Record<string, MethodDef>;
  }

  /** Checks a credential for `method` (throws a Refusal, audited); the caller otherwise. */
  async authorize(method: string, cred: Credential, peer: string, action = `ControlService/${method}`): Promise<Caller> {
    const now = this.ctx.clock.now();
    let limited = false;
    try {
      if (this.refusals.reached(peer, now)) {
        limited = true;
        throw new Refusal(tooManyRefusals(this.refusals.limit), 'anonymous', '');
      }
      if (this.mode === 'plaintext') return { id: 'insecure-local', role: 'admin' };
      if ('tokenId' in cred) return await authorizeTokenId(this.ctx.store, method, cred.tokenId, now);
      if (!('token' in cred)) throw new Refusal(new FerryError('UNAUTHENTICATED', 'sign in with an API token'), 'anonymous', '');
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${cred.token}`);
      return await authorizeControl(this.ctx.store, method, md, now);
    } catch (err) {
      const e = err instanceof Refusal ? err : new Refusal(new FerryError('UNAUTHENTICATED', describeError(err)), 'anonymous', '');
      const code = GRPC_STATUS[e.code];
      if (!limited) this.refusals.note(peer, now);
      const entry = callAuditEntry({
        path: `/ferry.v1.${action}`, now, peer, code, message: e.message, limited, actor: e.actor, role: e.role, target: { ...e.target, via: 'console' },
      });
      if (entry) this.audit(entry);
      throw e;
    }
  }

  /** The console methods a role may call: its buttons are shown from this list, the checks stay in authorize(). */
  allowedFor(role: string): string[] {
    if (!isRole(role)) return [];
    return [...CONSOLE_UNARY, ...Object.keys(CONSOLE_STREAMS)].filter(m => {
      const need = requiredRole(m);
      return need !== undefined && roleAllows(role, need);
    });
  }

  /** One unary call: authorize, then invoke. */
  async unary(method: string, body: unknown, cred: Credential, peer: string): Promise<GatewayResult> {
    if (!(CONSOLE_UNARY as readonly string[]).includes(method)) {
      return { status: 404, body: errorBody(grpc.status.NOT_FOUND, `${method} is not a console call; the console calls ${CONSOLE_UNARY.join(', ')}`) };
    }
    let caller: Caller;
    try {
      caller = await this.authorize(method, cred, peer);
    } catch (err) {
      const code = statusOfError(err);
      return { status: httpStatusOf(code), body: errorBody(code, describeError(err)) };
    }
    return this.invoke(method, body, caller, peer);
  }

  /** An authorized caller's unary call: decode, the gRPC handler, encode, audit. */
  private async invoke(method: string, body: unknown, caller: Caller, peer: string): Promise<GatewayResult> {
    const def = this.defs[method]!;
    let request: unknown;
    try {
      request = def.requestDeserialize(def.requestSerialize(body ?? {}));
    } catch (err) {
      return { status: 400, body: errorBody(grpc.status.INVALID_ARGUMENT, `the request body is not a ${method} request: ${describeError(err)}`) };
    }
    const handler = this.handlers[method as keyof ControlServiceHandlers] as unknown as grpc.handleUnaryCall<unknown, unknown>;
    const metadata = new grpc.Metadata();
    metadata.set(CALLER_HEADER, JSON.stringify(caller));
    const call = { request, metadata, getPeer: () => peer, cancelled: false } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
    const [err, res] = await new Promise<[grpc.ServiceError | null, unknown]>(resolve => handler(call, (e, r) => resolve([(e as grpc.ServiceError | null) ?? null, r])));
    const code = err ? statusOfError(err) : grpc.status.OK;
    const response = err ? undefined : def.responseDeserialize(def.responseSerialize(res));
    const entry = callAuditEntry({
      path: `/ferry.v1.ControlService/${method}`, now: this.ctx.clock.now(), peer, code, message: err ? err.details ?? err.message : '', limited: false,
      actor: caller.id, role: caller.role, target: { ...summarizeRequest(request), ...summarizeResponse(response), via: 'console' },
    });
    if (entry) this.audit(entry);
    if (outcomeOf(code, false) === 'refused') this.refusals.note(peer, this.ctx.clock.now());
    return err ? { status: httpStatusOf(code), body: errorBody(code, err.details ?? err.message) } : { status: 200, body: response };
  }

  /**
   * WatchDeployment for a browser: the GetDeployment handler's answer each time the deployment
   * changes, but no more often than every WATCH_MIN_MS, nor than four times what the last one cost
   * to build (a 1,000-host deployment is ~1.5 MB, and the coordinator's time belongs to its agents
   * first). The last state is always sent; the stream ends once the deployment and its hosts have settled.
   */
  private watchDeployment(id: string, caller: Caller, peer: string, out: StreamSink): () => void {
    let release: () => void;
    try {
      release = this.ctx.streams?.acquire(streamOwner(caller, peer)) ?? (() => undefined);
    } catch (err) {
      out.error(grpc.status.RESOURCE_EXHAUSTED, describeError(err));
      return () => undefined;
    }
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let lastAt = 0;
    let lastCost = 0;
    // Back-pressure: while the browser has not taken the last view, none is built; the latest follows once it has.
    let waiting = false;
    let missed = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      release();
      off();
      clearInterval(poll);
      clearTimeout(timer);
    };
    out.drained(() => {
      waiting = false;
      if (missed) schedule();
      missed = false;
    });
    const run = async () => {
      timer = undefined;
      if (waiting) {
        missed = true;
        return;
      }
      const started = performance.now();
      const r = await this.invoke('GetDeployment', { id }, caller, peer);
      lastCost = performance.now() - started;
      lastAt = performance.now();
      if (stopped) return;
      if (r.status !== 200) {
        const e = (r.body as { error: { code: string; message: string } }).error;
        stop();
        return out.error(grpc.status[e.code as keyof typeof grpc.status] as grpc.status ?? grpc.status.UNKNOWN, e.message);
      }
      waiting = !out.message(r.body);
      const d = r.body as { deployment: { status: string }; hosts: { status: string }[] };
      if ((TERMINAL_DEPLOYMENT_STATUSES as readonly string[]).includes(d.deployment.status) && d.hosts.every(h => (SETTLED_HOST_STATUSES as readonly string[]).includes(h.status))) {
        stop();
        out.end();
      }
    };
    const schedule = () => {
      if (stopped || timer) return;
      const wait = Math.max(0, lastAt + Math.max(WATCH_MIN_MS, 4 * lastCost) - performance.now());
      timer = setTimeout(() => void run(), wait);
    };
    const off = this.ctx.changes.onDeployment(id, schedule);
    // A safety net for changes that reach the store by a path that sends no notification.
    const poll = setInterval(schedule, 5000);
    schedule();
    return stop;
  }

  /**
   * One server stream: the gRPC handler writes to a stand-in call whose messages go to `send`
   * (with their `seq` as the event id); `resumeFrom` (a reconnect's Last-Event-ID) sets the
   * request's resume field. Returns the function that cancels the stream (the browser went away).
   */
  stream(method: ConsoleStream, body: Record<string, unknown>, caller: Caller, peer: string, resumeFrom: number | undefined, out: StreamSink): () => void {
    if (method === 'WatchDeployment') return this.watchDeployment(String(body.id ?? ''), caller, peer, out);
    const def = this.defs[method]!;
    const field = CONSOLE_STREAMS[method];
    const raw = { ...body, ...(field && resumeFrom !== undefined && { [field]: resumeFrom, last: 0 }) };
    const request = def.requestDeserialize(def.requestSerialize(raw));
    const call = new StreamCall(request, caller, peer, msg => out.message(def.responseDeserialize(def.responseSerialize(msg))), out);
    const handler = this.handlers[method] as unknown as grpc.handleServerStreamingCall<unknown, unknown>;
    handler(call as unknown as grpc.ServerWritableStream<unknown, unknown>);
    return () => call.cancel();
  }
}

export interface StreamSink {
  /** False when the client has not taken what was sent before: send no more until `drained`. */
  message(msg: unknown): boolean;
  error(code: grpc.status, message: string): void;
  end(): void;
  /** Calls `listener` each time the client has taken what was queued. */
  drained(listener: () => void): void;
}

/** What the handlers of api/ use of a grpc-js server stream, and nothing more. */
class StreamCall extends EventEmitter {
  readonly metadata = new grpc.Metadata();
  cancelled = false;
  destroyed = false;
  writableEnded = false;

  /** Write callbacks waiting for the client to take what was sent (back-pressure, api/stream.ts). */
  private unsent: (() => void)[] = [];

  constructor(readonly request: unknown, caller: Caller, private readonly peer: string, private readonly onMessage: (m: unknown) => boolean, private readonly sink: StreamSink) {
    super();
    this.metadata.set(CALLER_HEADER, JSON.stringify(caller));
    this.on('error', (err: grpc.ServiceError) => {
      if (this.writableEnded) return;
      this.writableEnded = true;
      this.sink.error(err.code ?? grpc.status.INTERNAL, err.details ?? err.message);
      this.emit('close');
    });
    sink.drained(() => {
      const callbacks = this.unsent;
      this.unsent = [];
      callbacks.forEach(cb => cb());
    });
  }

  getPeer(): string {
    return this.peer;
  }

  /** As a grpc-js stream's: `done` runs once the message is on its way to the client (at once unless the response must drain first). */
  write(msg: unknown, done?: () => void): boolean {
    if (this.writableEnded || this.cancelled) return false;
    const taken = this.onMessage(msg);
    if (!done) return taken;
    if (taken) setImmediate(done);
    else this.unsent.push(done);
    return taken;
  }

  end(): void {
    if (this.writableEnded) return;
    this.writableEnded = true;
    this.sink.end();
    this.emit('close');
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.destroyed = true;
    this.emit('cancelled');
  }
}
