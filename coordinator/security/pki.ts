/**
 * The coordinator's certificate authority, with the system's `openssl` (no hand-written ASN.1).
 * Keys are EC P-256. Every openssl call is an argv built by a pure function (docs/design/style.md §7) and run by
 * `runOpenssl`, the only code here that spawns.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FerryError, describeError } from '../../common/errors.js';

export interface TlsFiles {
  dir: string;
  caKey: string;
  caCert: string;
  serverKey: string;
  serverCert: string;
}

/** Where `init` puts the CA and the server certificate: DATA/tls/. */
export function tlsFiles(dataDir: string): TlsFiles {
  const dir = path.join(dataDir, 'tls');
  return { dir, caKey: path.join(dir, 'ca.key'), caCert: path.join(dir, 'ca.crt'), serverKey: path.join(dir, 'server.key'), serverCert: path.join(dir, 'server.crt') };
}

const CA_DAYS = 3650;
const SERVER_DAYS = 825;

export const opensslArgs = {
  ecKey: (out: string) => ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out],
  selfSignedCa: (key: string, out: string, cn: string) => [
    'req', '-x509', '-new', '-key', key, '-sha256', '-days', String(CA_DAYS), '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', out,
  ],
  csr: (key: string, cn: string, out: string) => ['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-out', out],
  sign: (csr: string, ca: TlsFiles, extFile: string, days: number, serial: string, out: string, subjectCn?: string) => [
    'x509', '-req', '-in', csr, '-CA', ca.caCert, '-CAkey', ca.caKey, '-set_serial', `0x${serial}`,
    '-days', String(days), '-sha256', '-extfile', extFile, ...(subjectCn ? ['-subj', `/CN=${subjectCn}`] : []), '-out', out,
  ],
};

/** The v3 extensions of a leaf certificate: a server's (serverAuth + SANs) or an agent's (clientAuth). */
export function leafExtensions(kind: 'server' | 'client', sans: readonly string[]): string {
  return [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${kind === 'server' ? 'serverAuth' : 'clientAuth'}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
    '',
  ].join('\n');
}

export function runOpenssl(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new FerryError('TOOL_MISSING', 'openssl is needed for certificates and is not installed (or not on PATH): apt-get install openssl', { cause: err }));
      }
      reject(new FerryError('INTERNAL', `openssl ${args[0]} failed: ${stderr.trim() || describeError(err)}`, { cause: err }));
    });
  });
}

/** `AB:CD:…` — the form `openssl x509 -noout -fingerprint -sha256` prints. */
export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** Compares fingerprints written with or without colons, any case, with or without `SHA256:`/`sha256=`. */
export function sameFingerprint(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/^sha256[:=]/i, '').replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(norm(a)) && norm(a) === norm(b);
}

async function writeExt(dir: string, text: string): Promise<string> {
  const file = path.join(dir, `ext-${randomBytes(6).toString('hex')}.cnf`);
  await fs.writeFile(file, text, { mode: 0o600 });
  return file;
}

/**
 * Signs a PEM CSR with the CA (openssl checks the request's self-signature); returns the certificate
 * PEM. `subjectCn` replaces whatever subject the request asked for.
 */
export async function signCsr(ca: TlsFiles, csrPem: string, kind: 'server' | 'client', sans: readonly string[], days: number, subjectCn?: string): Promise<string> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-csr-'));
  try {
    const csr = path.join(work, 'req.csr');
    const out = path.join(work, 'out.crt');
    await fs.writeFile(csr, csrPem);
    const ext = await writeExt(work, leafExtensions(kind, sans));
    await runOpenssl(opensslArgs.sign(csr, ca, ext, days, randomBytes(16).toString('hex'), out, subjectCn));
    return await fs.readFile(out, 'utf8');
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}

/**
 * Writes `text` to a temp file beside `file`, ready to be renamed over it (so a reader sees the old
 * file or the new, never half of one). It gets the old file's owner: root running `renew-cert` for a
 * coordinator that runs as its own user (install --user) must not leave it a key it cannot read.
 */
async function stageFile(file: string, text: string, mode: number): Promise<string> {
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const old = await fs.stat(file).catch(() => undefined);
  await fs.writeFile(tmp, text, { mode, flag: 'wx' });
  await fs.chmod(tmp, mode);
  if (old && process.getuid?.() === 0) await fs.chown(tmp, old.uid, old.gid);
  return tmp;
}

/**
 * Makes a new server key and certificate for `sans`, signed by the CA in `files`, and puts them in
 * place of server.key (0600) and server.crt by two renames, once both are written in full: a failure
 * before (no CA key, openssl refusing, a full disk) leaves the current pair as it was. Returns the new PEM.
 */
export async function issueServerCertificate(files: TlsFiles, sans: readonly string[]): Promise<string> {
  const work = await fs.mkdtemp(path.join(files.dir, '.issue-'));
  const staged: string[] = [];
  try {
    const key = path.join(work, 'server.key');
    const csr = path.join(work, 'server.csr');
    await runOpenssl(opensslArgs.ecKey(key));
    await fs.chmod(key, 0o600);
    await runOpenssl(opensslArgs.csr(key, 'ferry-coordinator', csr));
    const cert = await signCsr(files, await fs.readFile(csr, 'utf8'), 'server', sans, SERVER_DAYS);
    staged.push(await stageFile(files.serverKey, await fs.readFile(key, 'utf8'), 0o600));
    staged.push(await stageFile(files.serverCert, cert, 0o644));
    await fs.rename(staged[0]!, files.serverKey);
    await fs.rename(staged[1]!, files.serverCert);
    return cert;
  } finally {
    await Promise.all([work, ...staged].map(p => fs.rm(p, { recursive: true, force: true })));
  }
}

/**
 * Creates DATA/tls/ (0700) with the CA and a server certificate for `sans`; keys 0600. Refuses when
 * a CA is already there: replacing it would cut off every enrolled agent.
 */
export async function createAuthority(dataDir: string, sans: readonly string[], caName: string): Promise<TlsFiles & { fingerprint: string }> {
  const files = tlsFiles(dataDir);
  if (await exists(files.caCert)) {
    const fp = fingerprint(await fs.readFile(files.caCert, 'utf8'));
    throw new FerryError('ALREADY_EXISTS', `${files.caCert} exists: this coordinator is already initialised (CA fingerprint ${fp}); nothing was changed`);
  }
  await fs.mkdir(files.dir, { recursive: true, mode: 0o700 });
  await fs.chmod(files.dir, 0o700);
  await runOpenssl(opensslArgs.ecKey(files.caKey));
  await fs.chmod(files.caKey, 0o600);
  await runOpenssl(opensslArgs.selfSignedCa(files.caKey, files.caCert, caName));
  await issueServerCertificate(files, sans);
  return { ...files, fingerprint: fingerprint(await fs.readFile(files.caCert, 'utf8')) };
}
