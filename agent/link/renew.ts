/**
 * Certificate renewal: a host certificate is valid for a year; an enrolled
 * agent renews it over mutual TLS with its current one before it expires (`renew-before`, default
 * 30 days), with a new key made here. Without this every enrolled fleet would drop off its
 * coordinator a year after enrollment. The earlier certificate stays valid until its own expiry.
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { EnrollResponse__Output } from '../../proto/gen/ferry/v1/EnrollResponse.js';
import { FerryError, describeError } from '../../common/errors.js';
import { renewalDue } from '../../common/certificates.js';
import { identityFiles, loadAgentCredentials, newKeyAndCsr, storeIdentity } from './identity.js';
import { agentClient } from './transport.js';
import { type Address, addressNow } from './endpoints.js';

export interface RenewRequest {
  /** The replica the session is on (endpoints.ts). */
  coordinator: Address;
  root: string;
  hostId: string;
  renewBeforeMs: number;
  now: number;
}

/** When the host's certificate expires (ms), or undefined when the host is not enrolled. */
export async function certificateExpiry(root: string): Promise<number | undefined> {
  const pem = await fs.readFile(identityFiles(root).cert, 'utf8').catch(() => undefined);
  return pem === undefined ? undefined : Date.parse(new X509Certificate(pem).validTo);
}

/**
 * Renews the certificate when it is due; returns the new expiry, or undefined when nothing was
 * due. On failure the current key and certificate stay as they were.
 */
export async function renewIfDue(req: RenewRequest): Promise<number | undefined> {
  if (!renewalDue(await certificateExpiry(req.root), req.now, req.renewBeforeMs)) return undefined;
  const files = identityFiles(req.root);
  const current = await loadAgentCredentials(req.root);
  const csrPem = await newKeyAndCsr(files, req.hostId);
  try {
    const res = await requestRenewal(addressNow(req.coordinator), current!, csrPem);
    const cert = new X509Certificate(res.certificatePem);
    if (!cert.subject.includes(`CN=${req.hostId}`)) {
      throw new FerryError('FAILED_PRECONDITION', `the renewed certificate is for '${cert.subject}', not host ${req.hostId}`);
    }
    await storeIdentity(files, res.certificatePem, res.caPem);
    return Date.parse(cert.validTo);
  } catch (err) {
    await fs.rm(`${files.key}.new`, { force: true });
    throw err;
  }
}

function requestRenewal(coordinator: string, credentials: grpc.ChannelCredentials, csrPem: string): Promise<EnrollResponse__Output> {
  const client = agentClient(coordinator, 'enroll', credentials);
  return new Promise<EnrollResponse__Output>((resolve, reject) => {
    client.RenewCertificate({ csrPem }, { deadline: Date.now() + 30_000 }, (err, r) => {
      if (err) return reject(new FerryError(err.code === grpc.status.UNAVAILABLE ? 'UNAVAILABLE' : 'UNAUTHENTICATED', `certificate renewal refused by ${coordinator}: ${err.details || describeError(err)}`, { cause: err }));
      resolve(r!);
    });
  }).finally(() => client.close());
}

/** How often a running agent checks its certificate, and how soon it retries after a failed renewal. */
export const RENEW_CHECK_MS = 6 * 3_600_000;
export const RENEW_RETRY_MS = 10 * 60_000;

interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** Checks now and every RENEW_CHECK_MS (RENEW_RETRY_MS after a failure) until stopped; `renewed` reloads the credentials. */
export function keepRenewing(o: Omit<RenewRequest, 'now'> & { log: Logger; renewed: () => Promise<void>; now?: () => number }): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async () => {
    let next = RENEW_CHECK_MS;
    try {
      const expires = await renewIfDue({ ...o, now: (o.now ?? Date.now)() });
      if (expires !== undefined) {
        await o.renewed();
        o.log.info('certificate renewed', { host_id: o.hostId, expires_at: new Date(expires).toISOString() });
      }
    } catch (err) {
      next = RENEW_RETRY_MS;
      const expires = await certificateExpiry(o.root).catch(() => undefined);
      o.log.warn('certificate renewal failed; retrying', { host_id: o.hostId, reason: describeError(err), retry_in_s: next / 1000, ...(expires !== undefined && { expires_at: new Date(expires).toISOString() }) });
    }
    if (!stopped) (timer = setTimeout(() => void check(), next)).unref();
  };
  void check();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
