/**
 * The CLI's channel credentials: the coordinator's CA from a file, or fetched once and
 * pinned by its SHA-256 fingerprint; the token sent as `authorization: Bearer …` on every call.
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { FerryError, describeError, isFerryError } from '../common/errors.js';
import { fetchPinnedCa, normaliseFingerprint as normalise } from '../common/tls-pin.js';
import type { CliSecurity } from './config.js';

/** The pinned CA from the first replica that answers (they share one CA). */
async function fetchFromAnyReplica(replicas: string[], fingerprint: string): Promise<string> {
  for (const [i, replica] of replicas.entries()) {
    try {
      return await fetchPinnedCa(replica, fingerprint);
    } catch (err) {
      if (i === replicas.length - 1 || !isFerryError(err, 'UNAVAILABLE')) throw err;
    }
  }
  throw new FerryError('INVALID_ARGUMENT', '--coordinator: no address');
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
    ca = Buffer.from(await fetchFromAnyReplica(address.split(','), security.caFingerprint!));
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
