/**
 * Who may call what (issue 6), as one grpc-js server interceptor in front of both services:
 * - ControlService: a token in `authorization: Bearer fy.…` whose role covers the RPC
 *   (permissions.ts); refused with UNAUTHENTICATED or PERMISSION_DENIED and a message saying what
 *   to do. The caller is handed to handlers in the `x-ferry-caller` metadata (any such header from
 *   the client is dropped first).
 * - AgentService: a client certificate the coordinator's CA signed (mutual TLS).
 * With --insecure (plaintext on loopback) nothing is checked and the caller is `insecure-local`.
 */
import * as grpc from '@grpc/grpc-js';
import { FerryError, describeError } from '../../agent/errors.js';
import type { Store } from '../store/store.js';
import { requiredRole } from './permissions.js';
import { parseToken, refuseToken, refusalMessage, roleAllows } from './tokens.js';

export const CALLER_HEADER = 'x-ferry-caller';
const CONTROL = '/ferry.v1.ControlService/';
const AGENT = '/ferry.v1.AgentService/';

export interface Caller {
  /** `token:<id>` or `insecure-local`. */
  id: string;
  role: string;
}

/** Checks one call's metadata against the store; returns the caller or throws a FerryError. Pure but for the store read. */
export function authorizeControl(store: Store, method: string, metadata: grpc.Metadata, now: number): Caller {
  const need = requiredRole(method);
  if (!need) throw new FerryError('PERMISSION_DENIED', `${method} is not open to any role`);
  const header = String(metadata.get('authorization')[0] ?? '');
  if (!header) {
    throw new FerryError('UNAUTHENTICATED', 'this coordinator needs a token: set FERRY_TOKEN or --token (an admin makes one with ferry token create; the first is in DATA/admin.token)');
  }
  const { id, secret } = parseToken(header.replace(/^Bearer\s+/i, ''));
  const record = store.getToken(id);
  const refusal = refuseToken(record, secret, now);
  if (refusal) throw new FerryError('UNAUTHENTICATED', refusalMessage(refusal, id));
  if (!roleAllows(record!.role, need)) {
    throw new FerryError('PERMISSION_DENIED', `token ${id} has role ${record!.role}; ${method} needs ${need} or above: ask an admin (ferry token create --role ${need})`);
  }
  return { id: `token:${id}`, role: record!.role };
}

function reject(call: grpc.ServerInterceptingCallInterface, err: FerryError): void {
  const code = err.code === 'PERMISSION_DENIED' ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED;
  call.sendStatus({ code, details: err.message, metadata: new grpc.Metadata() });
}

/** The interceptor; `onRefused` records each refusal (logs now, the audit log later). */
export function authInterceptor(
  mode: 'tls' | 'plaintext',
  store: Store,
  now: () => number,
  onRefused: (method: string, peer: string, reason: string) => void,
): grpc.ServerInterceptor {
  return (descriptor, call) => new grpc.ServerInterceptingCall(call, {
    start: next => next({
      onReceiveMetadata: (metadata, pass) => {
        metadata.remove(CALLER_HEADER);
        if (mode === 'plaintext') {
          metadata.set(CALLER_HEADER, JSON.stringify({ id: 'insecure-local', role: 'admin' } satisfies Caller));
          return pass(metadata);
        }
        try {
          if (descriptor.path.startsWith(CONTROL)) {
            const caller = authorizeControl(store, descriptor.path.slice(CONTROL.length), metadata, now());
            metadata.set(CALLER_HEADER, JSON.stringify(caller));
          } else if (descriptor.path === `${AGENT}Enroll`) {
            // Authenticated by the join token in the request (services/enroll.ts).
            metadata.set(CALLER_HEADER, JSON.stringify({ id: 'enrolling', role: 'agent' } satisfies Caller));
          } else if (descriptor.path.startsWith(AGENT)) {
            const cert = call.getAuthContext().sslPeerCertificate;
            if (!cert) throw new FerryError('UNAUTHENTICATED', 'agents connect with the client certificate they get by enrolling: ferry-agent enroll --coordinator … --token … --ca-fingerprint …');
            const issued = store.getHostCertificate(cert.fingerprint256);
            if (!issued) throw new FerryError('UNAUTHENTICATED', `certificate ${cert.fingerprint256} was not issued by this coordinator's enrollment: enroll the host again`);
            if (issued.revokedAt !== null) throw new FerryError('UNAUTHENTICATED', `the certificate of host ${issued.hostId} was revoked at ${issued.revokedAt}: enroll it again with a new join token`);
            metadata.set(CALLER_HEADER, JSON.stringify({ id: `host:${issued.hostId}`, role: 'agent' } satisfies Caller));
          } else {
            throw new FerryError('PERMISSION_DENIED', `${descriptor.path} is not a Ferry call`);
          }
          pass(metadata);
        } catch (err) {
          const e = err instanceof FerryError ? err : new FerryError('UNAUTHENTICATED', describeError(err));
          onRefused(descriptor.path, call.getPeer(), e.message);
          reject(call, e);
        }
      },
    }),
  });
}

/** The caller the interceptor put on a call. */
export function callerOf(metadata: grpc.Metadata): Caller {
  const raw = metadata.get(CALLER_HEADER)[0];
  return raw ? (JSON.parse(String(raw)) as Caller) : { id: 'unknown', role: 'viewer' };
}
