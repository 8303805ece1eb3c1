/**
 * The coordinator's server certificate never silently expires: the running coordinator renews it
 * (signed by DATA/tls/ca.key, with the names it has now) once it expires within
 * `server-cert-renew-before`, checked at start and every 6 h, and serves the new one from the next
 * handshake; `ferry-coordinator renew-cert` does it by hand (adding names), and SIGHUP reloads the
 * files. Agents and the CLI pin the CA, not the server certificate, so a new one signed by the
 * same CA is trusted by everyone at once.
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { FerryError, describeError } from '../../common/errors.js';
import { renewalDue, subjectAltNames } from '../../common/certificates.js';
import type { AuditEntry } from '../domain/audit.js';
import { type TlsFiles, issueServerCertificate, tlsFiles } from './pki.js';
import { type TlsVerb, runTlsVerb } from './tls-verb.js';

/** How often the running coordinator looks at its server certificate. */
export const SERVER_CERT_CHECK_MS = 6 * 3_600_000;

/**
 * The names in a certificate's subjectAltName as Node prints it (`DNS:a, IP Address:0:0:0:0:0:0:0:1`)
 * → plain names and addresses (`a`, `::1`), the form `--san` takes. Pure.
 */
export function certificateSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  // Node quotes (JSON) a value with a comma or other unusual characters in it.
  const entries = subjectAltName.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? [];
  return entries.map(e => e.trim()).filter(Boolean).map(entry => {
    const i = entry.indexOf(':');
    const type = entry.slice(0, i);
    const raw = entry.slice(i + 1);
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    if (type === 'DNS') return value;
    // IPv6 comes written out in full and upper case; the URL parser gives its short form (::1).
    if (type === 'IP Address') return value.includes(':') ? new URL(`http://[${value}]/`).hostname.slice(1, -1) : value;
    throw new FerryError('FAILED_PRECONDITION', `the server certificate names '${entry}', which is not a DNS name or an IP address`);
  });
}

export interface ServerCertInfo {
  expiresAt: number;
  /** SHA-256, `AB:CD:…`. */
  fingerprint: string;
  /** Plain names and addresses, as `--san` takes them. */
  sans: string[];
}

export function describeServerCert(pem: string | Buffer): ServerCertInfo {
  const x = new X509Certificate(pem);
  return { expiresAt: Date.parse(x.validTo), fingerprint: x.fingerprint256, sans: certificateSans(x.subjectAltName) };
}

/** What one check does: nothing, renew, or (no CA key here) warn that it cannot. Pure. */
export type ServerCertAction = 'none' | 'renew' | 'cannot-renew';

export function serverCertAction(expiresAt: number, now: number, renewBeforeMs: number, caKeyPresent: boolean): ServerCertAction {
  if (!renewalDue(expiresAt, now, renewBeforeMs)) return 'none';
  return caKeyPresent ? 'renew' : 'cannot-renew';
}

export interface RenewedServerCert {
  serverCert: string;
  serverKey: string;
  previous: ServerCertInfo;
  current: ServerCertInfo;
}

async function readCertFile(file: string): Promise<ServerCertInfo> {
  const pem = await fs.readFile(file).catch(err => {
    throw new FerryError('FAILED_PRECONDITION', `${file}: cannot read it: ${describeError(err)}`, { cause: err });
  });
  try {
    return describeServerCert(pem);
  } catch (err) {
    throw new FerryError('FAILED_PRECONDITION', `${file}: not a usable server certificate (${describeError(err)})`, { cause: err });
  }
}

const exists = (file: string) => fs.access(file).then(() => true, () => false);

/** The command that renews the certificate where the CA key is kept, for messages. */
function renewCommand(dataDir: string): string {
  return `ferry-coordinator renew-cert --data ${dataDir}`;
}

/**
 * Issues a new server key and certificate now, signed by DATA/tls/ca.key, for the current
 * certificate's names plus `extraSans` (validated like init's --san). Nothing is replaced on failure.
 */
export async function renewServerCertificate(dataDir: string, extraSans: readonly string[] = []): Promise<RenewedServerCert> {
  const files = tlsFiles(dataDir);
  if (!(await exists(files.dir))) {
    throw new FerryError('FAILED_PRECONDITION', `${files.dir} does not exist: this coordinator is not initialised (run ferry-coordinator init --data ${dataDir})`);
  }
  subjectAltNames(extraSans);
  if (!(await exists(files.caKey))) {
    throw new FerryError('FAILED_PRECONDITION', `${files.caKey} is absent: a server certificate is signed with the CA key; run ${renewCommand(dataDir)} where the CA key is kept, then copy server.crt and server.key to ${files.dir}/`);
  }
  const previous = await readCertFile(files.serverCert);
  const names = subjectAltNames([...previous.sans, ...extraSans]);
  const pem = await issueServerCertificate(files, names);
  return { serverCert: files.serverCert, serverKey: files.serverKey, previous, current: describeServerCert(pem) };
}

interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface KeepFreshOptions {
  dataDir: string;
  renewBeforeMs: number;
  log: Logger;
  now: () => number;
  /** Serves the renewed files (reloads them into the listener). */
  apply: () => Promise<void>;
  audit: (entry: AuditEntry) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One check: renews when due (and serves and audits the new certificate), warns when it is due and cannot be renewed here. Never throws. */
export async function checkServerCertificate(o: KeepFreshOptions): Promise<ServerCertAction> {
  const files: TlsFiles = tlsFiles(o.dataDir);
  let action: ServerCertAction = 'none';
  try {
    const info = await readCertFile(files.serverCert);
    action = serverCertAction(info.expiresAt, o.now(), o.renewBeforeMs, await exists(files.caKey));
    if (action === 'cannot-renew') {
      o.log.warn('the server certificate expires soon and cannot be renewed here: the CA key is not on this machine', {
        component: 'security', expires_at: iso(info.expiresAt), ca_key: files.caKey,
        fix: `${renewCommand(o.dataDir)} where the CA key is kept, copy server.crt and server.key to ${files.dir}/, then send SIGHUP (systemctl reload ferry-coordinator)`,
      });
    }
    if (action !== 'renew') return action;
    const r = await renewServerCertificate(o.dataDir);
    await o.apply();
    o.log.info('server certificate renewed', {
      component: 'security', previous_expires_at: iso(r.previous.expiresAt), expires_at: iso(r.current.expiresAt),
      fingerprint: r.current.fingerprint, previous_fingerprint: r.previous.fingerprint, sans: r.current.sans.join(','),
    });
    o.audit(auditEntry(o.now(), 'ok', '', {
      fingerprint: r.current.fingerprint, expiresAt: iso(r.current.expiresAt), previousFingerprint: r.previous.fingerprint,
      previousExpiresAt: iso(r.previous.expiresAt), subjectAltNames: r.current.sans,
    }));
  } catch (err) {
    o.log.error('cannot renew the server certificate; the current one stays in use', { component: 'security', error: describeError(err), retry_in_s: SERVER_CERT_CHECK_MS / 1000 });
    if (action === 'renew') o.audit(auditEntry(o.now(), 'failed', describeError(err), {}));
  }
  return action;
}

function auditEntry(now: number, outcome: 'ok' | 'failed', message: string, target: Record<string, unknown>): AuditEntry {
  return {
    at: iso(now), actor: 'coordinator', role: '', action: 'server-certificate-renewed', peer: '',
    outcome, code: outcome === 'ok' ? '' : 'INTERNAL', message, target,
  };
}

/** Checks now (awaited, so a due renewal is served from the first handshake) and every SERVER_CERT_CHECK_MS until stopped. */
export async function keepServerCertificateFresh(o: KeepFreshOptions): Promise<{ stop(): void }> {
  await checkServerCertificate(o);
  const timer = setInterval(() => void checkServerCertificate(o), SERVER_CERT_CHECK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

export function renderRenewed(r: RenewedServerCert): string {
  return [
    `Renewed the server certificate ${r.serverCert}`,
    `  expires        ${iso(r.current.expiresAt)} (was ${iso(r.previous.expiresAt)})`,
    `  names          ${r.current.sans.join(', ')}`,
    `  fingerprint    SHA256 ${r.current.fingerprint}`,
    `  key            ${r.serverKey} (mode 0600, new)`,
    '',
    'A running coordinator serves it after SIGHUP (systemctl reload ferry-coordinator, or kill -HUP PID);',
    'open connections keep theirs. Agents and the CLI trust it at once: they pin the CA, which is unchanged.',
    '',
  ].join('\n');
}

/** The `renew-cert` verb of bin/ferry-coordinator. */
export const RENEW_CERT_VERB: TlsVerb = {
  name: 'renew-cert',
  description: 'issue a new server certificate now (signed by DATA/tls/ca.key), optionally with more names',
  sanHelp: 'a name or address to add to the current ones (repeatable)',
  jsonHelp: 'print the result as JSON (never the key)',
  help: `
Replaces DIR/tls/server.key (0600) and DIR/tls/server.crt, each by rename, with a new key and a
certificate (825 days) for the names the current one has plus every --san. The CA is unchanged, so
enrolled agents and the CLI keep trusting the coordinator. Send SIGHUP to a running coordinator
(systemctl reload ferry-coordinator) to serve it; a running coordinator also renews by itself
within server-cert-renew-before (default 30d) of expiry when DIR/tls/ca.key is on its machine.
Needs openssl on PATH.

Examples:
  ferry-coordinator renew-cert --data /var/lib/ferry --san ferry.example.com && systemctl reload ferry-coordinator
  ferry-coordinator renew-cert --data ./data --json`,
  run: async (dataDir, sans, json) => {
    const r = await renewServerCertificate(dataDir, sans);
    return json
      ? `${JSON.stringify({
        serverCert: r.serverCert, serverKey: r.serverKey, expiresAt: iso(r.current.expiresAt), previousExpiresAt: iso(r.previous.expiresAt),
        subjectAltNames: r.current.sans, fingerprint: r.current.fingerprint, previousFingerprint: r.previous.fingerprint,
      }, null, 2)}\n`
      : renderRenewed(r);
  },
};

/** Runs `ferry-coordinator renew-cert`; returns the exit code (0, 1 failure, 2 usage). */
export function runRenewCertCommand(argv: readonly string[], env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  return runTlsVerb(RENEW_CERT_VERB, argv, env, out, err);
}
