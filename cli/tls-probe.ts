import { status as GrpcStatus } from '@grpc/grpc-js';
import tls from 'node:tls';
import { FerryError } from '../common/errors.js';
import type { CliConfig } from './config.js';
import { grpcCodeOf } from './exit-codes.js';

const PROBE_TIMEOUT_MS = 2_000;

/** HOST:PORT or [IPv6]:PORT → host and port; undefined for unix:PATH. Pure. */
export function hostPort(address: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:[\]]+):(\d+)$/.exec(address);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

/** Whether a TLS handshake with `address` completes (the certificate is not checked: this only asks "TLS?"). */
export function speaksTls(address: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  const hp = hostPort(address);
  if (!hp) return Promise.resolve(false);
  return new Promise(resolve => {
    const socket = tls.connect({ host: hp.host, port: hp.port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * A plaintext call that found no coordinator (UNAVAILABLE) may have reached one that serves TLS:
 * ask the address for a TLS handshake, and if it answers, say so and which flag or variable to
 * set, instead of "cannot reach". Still exit 6 (the cause keeps its gRPC status). Other errors unchanged.
 */
export async function explainPlaintextToTls(err: unknown, config: Pick<CliConfig, 'coordinator' | 'security'>): Promise<unknown> {
  if (config.security.tls || grpcCodeOf(err) !== GrpcStatus.UNAVAILABLE) return err;
  if (!(await speaksTls(config.coordinator))) return err;
  return new FerryError('UNAVAILABLE',
    `the coordinator at ${config.coordinator} speaks TLS, and ferry talked plaintext to it (no CA given): ` +
    `give its CA with --ca DATA/tls/ca.crt (or FERRY_CA=FILE), or pin it with --ca-fingerprint SHA256 (or FERRY_CA_FINGERPRINT; ` +
    `ferry-coordinator init printed it), and a token with --token (or FERRY_TOKEN; the first admin token is DATA/admin.token)`,
    { cause: err });
}
