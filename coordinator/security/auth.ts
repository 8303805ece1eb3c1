/**
 * Who may call what, as one grpc-js server interceptor in front of both services:
 * - ControlService: a token in `authorization: Bearer fy.…` whose role covers the RPC
 *   (permissions.ts); refused with UNAUTHENTICATED or PERMISSION_DENIED and a message saying what
 *   to do. The caller is handed to handlers in the `x-ferry-caller` metadata (any such header from
 *   the client is dropped first).
 * - AgentService: a client certificate the coordinator's CA signed (mutual TLS).
 * With --insecure (plaintext on loopback) nothing is checked and the caller is `insecure-local`.
 */
import * as grpc from '@grpc/grpc-js';
import { FerryError, describeError } from '../../common/errors.js';
import type { Store } from '../store/store.js';
import { ADMIN_READS, requiredRole } from './permissions.js';
import { type AuditEntry, redactSecret, summarizeRequest, summarizeResponse } from '../domain/audit.js';
import { type AuditOutcome } from '../../common/audit.js';
import { type TokenRecord, parseToken, refuseRecord, refuseToken, refusalMessage, roleAllows } from './tokens.js';
import type { AddressCounter } from './rate-limit.js';

export const CALLER_HEADER = 'x-ferry-caller';
const CONTROL = '/ferry.v1.ControlService/';
const AGENT = '/ferry.v1.AgentService/';

export interface Caller {
  /** `token:<id>` or `insecure-local`. */
  id: string;
  role: string;
}

/** A refusal, with who the caller appeared to be for the audit log. */
export class Refusal extends FerryError {
  constructor(err: FerryError, readonly actor: string, readonly role: string, readonly target: Record<string, unknown> = {}) {
    super(err.code, err.message);
  }
}

/** Checks one call's metadata against the store; returns the caller or throws a Refusal. Pure but for the store read. */
export async function authorizeControl(store: Store, method: string, metadata: grpc.Metadata, now: number): Promise<Caller> {
  const need = requiredRole(method);
  if (!need) throw new Refusal(new FerryError('PERMISSION_DENIED', `${method} is not open to any role`), 'anonymous', '');
  const header = String(metadata.get('authorization')[0] ?? '');
  if (!header) {
    throw new Refusal(new FerryError('UNAUTHENTICATED', 'this coordinator needs a token: set FERRY_TOKEN or --token (an admin makes one with ferry token create; the first is in DATA/admin.token)'), 'anonymous', '');
  }
  const presented = header.replace(/^Bearer\s+/i, '');
  let parsed: { id: string; secret: string };
  try {
    parsed = parseToken(presented);
  } catch (err) {
    throw new Refusal(err instanceof FerryError ? new FerryError('UNAUTHENTICATED', err.message) : new FerryError('UNAUTHENTICATED', describeError(err)), 'anonymous', '');
  }
  const record = await store.getToken(parsed.id);
  const refusal = refuseToken(record, parsed.secret, now);
  // Whoever failed to prove the token is not its owner: anonymous, with the id they presented.
  if (refusal) throw new Refusal(new FerryError('UNAUTHENTICATED', refusalMessage(refusal, parsed.id)), 'anonymous', '', { token: redactSecret(presented) });
  return callerWithRole(record!, method);
}

/**
 * A web console session's check (coordinator/ui/sessions.ts): the token the session was opened
 * with, by id (its secret was proven at sign-in), must still be usable and its role cover `method`.
 * A revoked or expired token refuses at once.
 */
export async function authorizeTokenId(store: Store, method: string, id: string, now: number): Promise<Caller> {
  const record = await store.getToken(id);
  const refusal = record ? refuseRecord(record, now) : 'unknown';
  if (refusal) throw new Refusal(new FerryError('UNAUTHENTICATED', `${refusalMessage(refusal, id)}; sign in again`), 'anonymous', '', { token: id });
  return callerWithRole(record!, method);
}

function callerWithRole(record: TokenRecord, method: string): Caller {
  const need = requiredRole(method);
  if (!need) throw new Refusal(new FerryError('PERMISSION_DENIED', `${method} is not open to any role`), 'anonymous', '');
  if (!roleAllows(record.role, need)) {
    throw new Refusal(
      new FerryError('PERMISSION_DENIED', `token ${record.id} has role ${record.role}; ${method} needs ${need} or above: ask an admin (ferry token create --role ${need})`),
      `token:${record.id}`, record.role,
    );
  }
  return { id: `token:${record.id}`, role: record.role };
}

/**
 * Checks a host's client certificate (verified against the CA by TLS already, or absent): issued
 * by this coordinator's enrollment, not revoked, not expired. Used for AgentService calls and for
 * revision downloads over HTTP/1.1 (revisions/http-download.ts).
 */
export async function authorizeHostCertificate(store: Store, cert: { fingerprint256: string } | undefined, now: number): Promise<Caller> {
  if (!cert) throw new Refusal(new FerryError('UNAUTHENTICATED', 'agents connect with the client certificate they get by enrolling: ferry-agent enroll --coordinator … --token … --ca-fingerprint …'), 'anonymous', '');
  const issued = await store.getHostCertificate(cert.fingerprint256);
  if (!issued) {
    throw new Refusal(new FerryError('UNAUTHENTICATED', `certificate ${cert.fingerprint256} was not issued by this coordinator's enrollment: enroll the host again`), 'anonymous', '', { certificate: cert.fingerprint256 });
  }
  if (issued.revokedAt !== null) {
    throw new Refusal(new FerryError('UNAUTHENTICATED', `the certificate of host ${issued.hostId} was revoked at ${issued.revokedAt}: enroll it again with a new join token`), `host:${issued.hostId}`, 'agent', { certificate: cert.fingerprint256 });
  }
  if (Date.parse(issued.expiresAt) <= now) {
    throw new Refusal(new FerryError('UNAUTHENTICATED', `the certificate of host ${issued.hostId} expired at ${issued.expiresAt} (agents renew theirs ahead of expiry while connected): enroll the host again`), `host:${issued.hostId}`, 'agent', { certificate: cert.fingerprint256 });
  }
  return { id: `host:${issued.hostId}`, role: 'agent' };
}

const REJECT_STATUS: Partial<Record<FerryError['code'], grpc.status>> = {
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
};

function reject(call: grpc.ServerInterceptingCallInterface, err: FerryError): void {
  call.sendStatus({ code: REJECT_STATUS[err.code] ?? grpc.status.UNAUTHENTICATED, details: err.message, metadata: new grpc.Metadata() });
}

/** What a caller whose address is over the refused-call limit gets, before its credentials are looked at. The text is fixed, so these records fold. */
export function tooManyRefusals(limit: number): FerryError {
  return new FerryError('RESOURCE_EXHAUSTED', `too many refused calls from this address (the limit is ${limit} a minute, setting refusedCallLimit): wait a minute, then check the token or certificate`);
}

/** Calls that change something: every one is audited whatever its outcome; other calls only when refused. */
export function isMutating(path: string): boolean {
  if (path === `${AGENT}Enroll` || path === `${AGENT}RenewCertificate`) return true;
  if (!path.startsWith(CONTROL)) return false;
  const method = path.slice(CONTROL.length);
  const need = requiredRole(method);
  return need !== undefined && need !== 'viewer' && !ADMIN_READS.has(method);
}

export function outcomeOf(code: grpc.status, limited: boolean): AuditOutcome {
  if (code === grpc.status.OK) return 'ok';
  return limited || code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED ? 'refused' : 'failed';
}

/**
 * The audit record of one call as it ends, or undefined when none is kept (a read that was not
 * refused). One rule for the gRPC interceptor below and the web console's gateway (coordinator/ui/gateway.ts).
 */
export function callAuditEntry(c: {
  path: string; now: number; peer: string; code: grpc.status; message: string; limited: boolean;
  actor: string; role: string; target: Record<string, unknown>;
}): AuditEntry | undefined {
  const outcome = outcomeOf(c.code, c.limited);
  if (outcome !== 'refused' && !isMutating(c.path)) return undefined;
  return {
    at: new Date(c.now).toISOString(), actor: c.actor, role: c.role,
    action: c.path.replace(/^\/ferry\.v1\./, ''), peer: c.peer, outcome,
    code: c.code === grpc.status.OK ? '' : grpc.status[c.code] ?? String(c.code),
    message: c.code === grpc.status.OK ? '' : c.message,
    target: c.target,
  };
}

/** The actor of an enrollment is the join token it presents (by id). */
function enrollActor(target: Record<string, unknown>): string {
  const m = /^fy\.([a-z0-9]{12})\./.exec(String(target.token ?? ''));
  return m ? `join-token:${m[1]}` : 'anonymous';
}

/**
 * The interceptor: authorises each call and hands `audit` one entry for every mutating call (when
 * it ends, with its outcome) and every refusal, whether the interceptor or a handler refused it.
 * `refusals` counts refused calls per address: an address at its limit is refused at once with
 * RESOURCE_EXHAUSTED, whatever it presents, until its minute is over (docs/security.md).
 */
export function authInterceptor(
  mode: 'tls' | 'plaintext',
  store: Store,
  now: () => number,
  audit: (entry: AuditEntry) => void,
  refusals?: AddressCounter,
): grpc.ServerInterceptor {
  return (descriptor, call) => {
    const path = descriptor.path;
    const mutating = isMutating(path);
    let caller: Caller | undefined;
    let target: Record<string, unknown> = {};
    let result: Record<string, unknown> = {};
    let sawRequest = false;
    let sawResponse = false;
    let recorded = false;
    let limited = false;
    const record = (code: grpc.status, message: string, who?: { actor: string; role: string; target: Record<string, unknown> }) => {
      if (recorded) return;
      const outcome = outcomeOf(code, limited);
      if (outcome === 'refused' && !limited) refusals?.note(call.getPeer(), now());
      const enrolling = path === `${AGENT}Enroll`;
      const entry = callAuditEntry({
        path, now: now(), peer: call.getPeer(), code, message, limited,
        actor: who?.actor ?? (enrolling ? enrollActor(target) : caller?.id ?? 'anonymous'),
        role: who?.role ?? (enrolling ? 'agent' : caller?.role ?? ''),
        target: { ...target, ...who?.target, ...result },
      });
      if (!entry) return;
      recorded = true;
      try {
        audit(entry);
      } catch {
        // The audit sink logs its own failures; a call's outcome never depends on it.
      }
    };
    return new grpc.ServerInterceptingCall(call, {
      start: next => next({
        // grpc-js holds the call's messages until the metadata is passed on (the store answers asynchronously).
        onReceiveMetadata: (metadata, pass) => void (async () => {
          metadata.remove(CALLER_HEADER);
          try {
            if (refusals?.reached(call.getPeer(), now())) {
              limited = true;
              throw new Refusal(tooManyRefusals(refusals.limit), 'anonymous', '');
            }
            if (mode === 'plaintext') caller = { id: 'insecure-local', role: 'admin' };
            else if (path.startsWith(CONTROL)) caller = await authorizeControl(store, path.slice(CONTROL.length), metadata, now());
            // Enroll is authenticated by the join token in the request (services/enroll.ts).
            else if (path === `${AGENT}Enroll`) caller = { id: 'enrolling', role: 'agent' };
            else if (path.startsWith(AGENT)) caller = await authorizeHostCertificate(store, call.getAuthContext().sslPeerCertificate, now());
            else throw new Refusal(new FerryError('PERMISSION_DENIED', `${path} is not a Ferry call`), 'anonymous', '');
            metadata.set(CALLER_HEADER, JSON.stringify(caller));
            pass(metadata);
          } catch (err) {
            const e = err instanceof Refusal ? err : new Refusal(new FerryError('UNAUTHENTICATED', describeError(err)), 'anonymous', '');
            record(REJECT_STATUS[e.code] ?? grpc.status.UNAUTHENTICATED, e.message, e);
            reject(call, e);
          }
        })(),
        onReceiveMessage: (message, pass) => {
          // The first request message says what the call is about (a client stream's first one carries its metadata).
          if (!sawRequest) (sawRequest = true, target = summarizeRequest(message));
          pass(message);
        },
      }),
      sendMessage: (message, next) => {
        if (mutating && !sawResponse) (sawResponse = true, result = summarizeResponse(message));
        next(message);
      },
      sendStatus: (status, next) => {
        record(status.code, status.details);
        next(status);
      },
    });
  };
}

/** The caller the interceptor put on a call. */
export function callerOf(metadata: grpc.Metadata): Caller {
  const raw = metadata.get(CALLER_HEADER)[0];
  return raw ? (JSON.parse(String(raw)) as Caller) : { id: 'unknown', role: 'viewer' };
}
