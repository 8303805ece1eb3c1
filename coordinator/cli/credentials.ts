/**
 * The CLI's channel credentials (issue 6): the coordinator's CA from a file, or fetched once and
 * pinned by its SHA-256 fingerprint; the token sent as `authorization: Bearer …` on every call.
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { FerryError, describeError } from '../../agent/errors.js';
import type { CliSecurity } from './config.js';

const normalise = (fp: string) => fp.trim().replace(/^sha256[:=]/i, '').replace(/:/g, '').toUpperCase();

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
  const want = normalise(fingerprint);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'], ...(net.isIP(host) === 0 && { servername: host }) }, () => {
      let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
        if (normalise(cert.fingerprint256) === want) {
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

export async function channelCredentials(address: string, security: CliSecurity): Promise<grpc.ChannelCredentials> {
  if (!security.tls) return grpc.credentials.createInsecure();
  let ca: Buffer;
  if (security.caFile !== undefined) {
    ca = await fs.readFile(security.caFile).catch(err => {
      throw new FerryError('INVALID_ARGUMENT', `--ca ${security.caFile}: cannot read the CA certificate: ${describeError(err)}`, { cause: err });
    });
    if (security.caFingerprint !== undefined && normalise(new X509Certificate(ca).fingerprint256) !== normalise(security.caFingerprint)) {
      throw new FerryError('INVALID_ARGUMENT', `--ca ${security.caFile} does not have the fingerprint --ca-fingerprint names`);
    }
  } else {
    ca = Buffer.from(await fetchPinnedCa(address, security.caFingerprint!));
  }
  const channel = grpc.credentials.createSsl(ca);
  if (security.token === undefined) return channel;
  const bearer = `Bearer ${security.token.trim()}`;
  return grpc.credentials.combineChannelCredentials(channel, grpc.credentials.createFromMetadataGenerator((_params, done) => {
    const md = new grpc.Metadata();
    md.set('authorization', bearer);
    done(null, md);
  }));
}
