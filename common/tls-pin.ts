/**
 * Trust on first use, by fingerprint: the coordinator's CA fetched over TLS and accepted only when
 * its SHA-256 matches what the operator was given (ferry-coordinator init prints it). Used by
 * `ferry-agent enroll` and by the CLI's --ca-fingerprint.
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { FerryError, describeError } from './errors.js';

export const normaliseFingerprint = (fp: string) => fp.trim().replace(/^sha256[:=]/i, '').replace(/:/g, '').toUpperCase();

/**
 * Connects once without verification, finds the certificate with this fingerprint in the chain the
 * server sends (the coordinator sends its CA after its own certificate) and returns it as PEM. The
 * real connection then verifies the server against it as usual. Node skips checkServerIdentity when
 * verification is off, so the pin cannot be checked inside grpc-js's own handshake.
 */
export function fetchPinnedCa(address: string, fingerprint: string, timeoutMs = 10_000): Promise<string> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  const want = normaliseFingerprint(fingerprint);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'], ...(net.isIP(host) === 0 && { servername: host }) }, () => {
      let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
        if (normaliseFingerprint(cert.fingerprint256) === want) {
          socket.destroy();
          return resolve(new X509Certificate(cert.raw).toString());
        }
        seen.add(cert.fingerprint256);
        cert = cert.issuerCertificate;
      }
      socket.destroy();
      reject(new FerryError('UNAUTHENTICATED', `the coordinator at ${address} does not present a CA with fingerprint ${fingerprint}: check --ca-fingerprint (ferry-coordinator init printed it), or you may be talking to another server`));
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', err => reject(new FerryError('UNAVAILABLE', `cannot reach the coordinator at ${address} over TLS: ${describeError(err)}`, { cause: err })));
  });
}

