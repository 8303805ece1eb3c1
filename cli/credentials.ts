/**
 * The CLI's channel credentials: the coordinator's CA from a file, or fetched once and
 * pinned by its SHA-256 fingerprint; the token sent as `authorization: Bearer …` on every call.
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { FerryError, describeError } from '../common/errors.js';
import { fetchPinnedCa, normaliseFingerprint as normalise } from '../common/tls-pin.js';
import type { CliSecurity } from './config.js';

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
