/**
 * `ferry-coordinator init --data DIR [--san HOST_OR_IP]…`: the coordinator's CA and server
 * certificate under DIR/tls/, and a first admin token in DIR/admin.token (0600; only its hash goes
 * into the store). Prints the CA fingerprint agents pin with `--ca-fingerprint`.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FerryError } from '../../common/errors.js';
import type { Store } from '../store/store.js';
import { openStore } from '../store/sqlite-store.js';
import { createAuthority } from './pki.js';
import { defaultSans, subjectAltNames } from '../../common/certificates.js';
import { type TlsVerb, runTlsVerb } from './tls-verb.js';
import { newToken } from './tokens.js';

export interface InitResult {
  dataDir: string;
  caFingerprint: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  subjectAltNames: string[];
  adminTokenFile: string;
  adminTokenId: string;
}

/** `into`: the store the token goes to (the coordinator's own, e.g. PostgreSQL); by default DATA/ferry.db, opened and closed here. */
export async function initCoordinator(dataDir: string, sans: readonly string[], now: number, hostname = os.hostname(), into?: Store): Promise<InitResult> {
  const names = subjectAltNames([...defaultSans(hostname), ...sans]);
  const tokenFile = path.join(dataDir, 'admin.token');
  await fs.mkdir(dataDir, { recursive: true });
  if (await fs.access(tokenFile).then(() => true, () => false)) {
    // Checked before anything is made, so a refused init leaves the directory as it was.
    throw new FerryError('ALREADY_EXISTS', `${tokenFile} exists: this coordinator is already initialised; nothing was changed`);
  }
  const tls = await createAuthority(dataDir, names, `Ferry CA (${hostname})`);
  const store = into ?? openStore(path.join(dataDir, 'ferry.db'));
  try {
    const { token, record } = newToken({ role: 'admin', description: 'first admin token (ferry-coordinator init)', createdBy: 'init', now });
    await store.createToken(record);
    await fs.writeFile(tokenFile, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return {
      dataDir, caFingerprint: tls.fingerprint, caCert: tls.caCert, serverCert: tls.serverCert, serverKey: tls.serverKey,
      subjectAltNames: names, adminTokenFile: tokenFile, adminTokenId: record.id,
    };
  } finally {
    if (!into) await store.close();
  }
}

export function renderInit(r: InitResult): string {
  return [
    `Initialised the coordinator in ${r.dataDir}`,
    `  CA certificate       ${r.caCert}`,
    `  CA fingerprint       SHA256 ${r.caFingerprint}`,
    `  server certificate   ${r.serverCert} (${r.subjectAltNames.join(', ')})`,
    `  admin token          ${r.adminTokenFile} (mode 0600; token id ${r.adminTokenId})`,
    '',
    'Agents pin the CA by that fingerprint when they enroll (ferry-agent enroll --ca-fingerprint …).',
    'Keep DIR/tls/ca.key and the admin token secret; add names with --san before agents connect by them.',
    '',
  ].join('\n');
}

/** The `init` verb of bin/ferry-coordinator. */
export const INIT_VERB: TlsVerb = {
  name: 'init',
  description: 'create the coordinator\'s CA, server certificate and first admin token',
  sanHelp: 'another name or address agents and clients reach the coordinator by (repeatable)',
  jsonHelp: 'print the result as JSON (never the token itself)',
  help: `
Writes DIR/tls/{ca.key,ca.crt,server.key,server.crt} (keys 0600, dir 0700) and DIR/admin.token (0600),
and prints the CA's SHA-256 fingerprint. The server certificate always names localhost, 127.0.0.1, ::1
and this host's name. Refuses to run twice: a new CA would cut off every enrolled agent (add names
later with ferry-coordinator renew-cert --san). Needs openssl on PATH.

Examples:
  ferry-coordinator init --data /var/lib/ferry --san ferry.internal --san 10.0.0.5
  ferry-coordinator init --data ./data --json`,
  // The token would go to DATA/ferry.db, which a PostgreSQL coordinator never reads, and the CA would
  // differ from the one the replicas share through the database (replicas/shared-ca.ts).
  check: config => {
    if (config.store.engine !== 'postgres') return;
    throw new FerryError('INVALID_ARGUMENT', `the store is PostgreSQL (${config.store.connection.host}:${config.store.connection.port}/${config.store.connection.database}), `
      + 'and init makes a CA and admin token for the SQLite store of the data dir only: skip init and start the first replica; '
      + 'it makes the CA (shared with the other replicas through the database) and the first admin token (DATA/admin.token), '
      + 'the same in the database (docs/high-availability.md); nothing was changed');
  },
  run: async (dataDir, sans, json) => {
    const result = await initCoordinator(dataDir, sans, Date.now());
    return json ? `${JSON.stringify(result, null, 2)}\n` : renderInit(result);
  },
};

/** Runs `ferry-coordinator init`; returns the exit code (0, 1 failure, 2 usage). */
export function runInitCommand(argv: readonly string[], env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  return runTlsVerb(INIT_VERB, argv, env, out, err);
}
