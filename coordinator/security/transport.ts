/**
 * How the coordinator listens (issue 6): TLS, with the certificates `ferry-coordinator init` made
 * in DATA/tls/ (made at first start when init was not run, so the coordinator still starts with no
 * other setup); plaintext only with --insecure and only on a loopback address. The decision is pure; the
 * credentials are grpc-js's certificate-provider server credentials, which ask every client for a
 * certificate without requiring one: agents present theirs (mutual TLS), the CLI a token.
 */
import { promises as fs } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { FerryError } from '../../agent/errors.js';
import { isLoopbackHost, listenHost } from './loopback.js';
import { type TlsFiles, tlsFiles } from './pki.js';

export type Transport = { kind: 'tls'; files: TlsFiles; init: boolean } | { kind: 'plaintext' };

export function chooseTransport(o: { dataDir: string; listen: string; insecure: boolean; tlsPresent: boolean }): Transport {
  const host = listenHost(o.listen);
  if (o.insecure) {
    if (!isLoopbackHost(host)) {
      throw new FerryError('INVALID_ARGUMENT', `--insecure serves plaintext, which is allowed only on a loopback address, not --listen ${o.listen}: run ferry-coordinator init --data ${o.dataDir} and drop --insecure`);
    }
    return { kind: 'plaintext' };
  }
  return { kind: 'tls', files: tlsFiles(o.dataDir), init: !o.tlsPresent };
}

export async function tlsPresent(dataDir: string): Promise<boolean> {
  const f = tlsFiles(dataDir);
  const all = await Promise.all([f.caCert, f.serverCert, f.serverKey].map(p => fs.access(p).then(() => true, () => false)));
  return all.every(Boolean);
}

/** A certificate provider with fixed contents. Listeners are called on a later tick: grpc-js 1.14 subscribes before it registers the watcher that applies the update, so a synchronous call is lost. */
class FixedCertificates implements grpc.experimental.CertificateProvider {
  constructor(private readonly ca: Buffer | null, private readonly identity: { certificate: Buffer; privateKey: Buffer } | null) {}
  addCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    setImmediate(() => l(this.ca && { caCertificate: this.ca }));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    setImmediate(() => l(this.identity));
  }
  removeIdentityCertificateListener(): void {}
}

/**
 * Server credentials for TLS: the server certificate followed by the CA (so a client pinning the
 * CA by fingerprint sees it in the chain), client certificates requested and checked against the
 * CA but not required. NB: grpc-js 1.14's `createCertificateProviderServerCredentials(ca, identity)`
 * passes its arguments to a constructor declared `(identity, ca)`, so the identity goes first.
 */
export async function tlsServerCredentials(files: TlsFiles): Promise<grpc.ServerCredentials> {
  const [ca, cert, key] = await Promise.all([files.caCert, files.serverCert, files.serverKey].map(p => fs.readFile(p)));
  const identity = new FixedCertificates(null, { certificate: Buffer.concat([cert!, ca!]), privateKey: key! });
  const authority = new FixedCertificates(ca!, null);
  return grpc.experimental.createCertificateProviderServerCredentials(identity, authority, false);
}
