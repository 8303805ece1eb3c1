/**
 * How the coordinator listens: TLS, with the certificates `ferry-coordinator init` made
 * in DATA/tls/ (made at first start when init was not run, so the coordinator still starts with no
 * other setup); plaintext only with --insecure and only on a loopback address. The decision is pure.
 * TLS is terminated by the shared listener (net/listener.ts), which asks every client for a
 * certificate without requiring one: agents present theirs (mutual TLS), the CLI a token.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { FerryError, describeError } from '../../common/errors.js';
import type { TlsIdentity } from '../net/listener.js';
import { isLoopbackHost, listenHost } from '../../common/loopback.js';
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

/**
 * The server's TLS identity for the shared listener (net/listener.ts): its certificate followed by
 * the CA, its key, the CA that client certificates are checked against. Checked before use (each
 * file parses, the key is the certificate's), so a bad file is named rather than failing a handshake.
 */
export async function tlsIdentity(files: TlsFiles): Promise<TlsIdentity> {
  const read = (file: string) => fs.readFile(file).catch(err => {
    throw new FerryError('FAILED_PRECONDITION', `${file}: cannot read it: ${describeError(err)}`, { cause: err });
  });
  const [ca, cert, key] = await Promise.all([read(files.caCert), read(files.serverCert), read(files.serverKey)]);
  const parse = <T>(file: string, what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new FerryError('FAILED_PRECONDITION', `${file}: not ${what} (${describeError(err)})`, { cause: err });
    }
  };
  parse(files.caCert, 'a PEM certificate', () => new X509Certificate(ca));
  const x509 = parse(files.serverCert, 'a PEM certificate', () => new X509Certificate(cert));
  const privateKey = parse(files.serverKey, 'a PEM private key', () => createPrivateKey(key));
  if (!x509.checkPrivateKey(privateKey)) {
    throw new FerryError('FAILED_PRECONDITION', `${files.serverKey} is not the key of ${files.serverCert} (a half-copied renewal? copy both files)`);
  }
  return { key, cert: Buffer.concat([cert, ca]), ca };
}
