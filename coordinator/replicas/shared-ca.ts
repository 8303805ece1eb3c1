/**
 * One certificate authority for every coordinator replica on a PostgreSQL database (migration p05, table
 * `shared_ca`; docs/high-availability.md "TLS across replicas"). An agent enrolls through any replica, pins
 * the CA's fingerprint once, and from then on trusts, and is trusted by, every replica: each one serves a
 * server certificate of its own, signed by the shared CA, and signs host certificates with it. Tokens and
 * revocations are rows of the database already, so they hold on every replica too.
 *
 * At start, under an advisory lock (two replicas starting at once do not make two CAs):
 * - the database has a CA and DATA/tls/ holds the same one: nothing to do;
 * - the database has a CA and DATA/tls/ is empty: this replica takes it (writes ca.crt and ca.key) and issues
 *   its own server certificate;
 * - the database has none: this replica's CA (made now, with the first admin token, when DATA/tls/ is empty)
 *   becomes the shared one;
 * - the database has a CA and DATA/tls/ holds another: the start is refused, naming both fingerprints (agents
 *   enrolled with one CA cannot reach replicas serving the other).
 */
import { promises as fs } from 'node:fs';
import type pg from 'pg';
import { FerryError } from '../../common/errors.js';
import { defaultSans, subjectAltNames } from '../../common/certificates.js';
import type { Logger } from '../log.js';
import { fingerprint, issueServerCertificate, sameFingerprint, tlsFiles } from '../security/pki.js';
import { tlsPresent } from '../security/transport.js';
import type { InitResult } from '../security/init.js';

/** pg_advisory_lock key while a replica settles its CA: "ferry-ca" as a number. */
const SHARED_CA_LOCK = 0x66657272792d6361n;

export interface SharedAuthorityOptions {
  dataDir: string;
  /** This replica's id (recorded with the CA it shares). */
  replica: string;
  now: number;
  log: Logger;
  /** Makes this replica's CA, server certificate and first admin token (security/init.ts), when it has none and the database neither. */
  init: () => Promise<InitResult>;
}

/** Settles this replica's CA against the database's (see above); what `init` made, when it ran. */
export async function ensureSharedAuthority(pool: pg.Pool, o: SharedAuthorityOptions): Promise<InitResult | undefined> {
  const files = tlsFiles(o.dataDir);
  const client = await pool.connect();
  let broken = false;
  const lost = (): void => {
    broken = true; // the query in flight fails with it
  };
  client.on('error', lost);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [SHARED_CA_LOCK.toString()]);
    try {
      const { rows } = await client.query<{ ca_cert: string; ca_key: string; fingerprint: string }>('SELECT ca_cert, ca_key, fingerprint FROM shared_ca WHERE id = 1');
      const stored = rows[0];
      const present = await tlsPresent(o.dataDir);
      if (stored !== undefined && present) {
        const local = fingerprint(await fs.readFile(files.caCert, 'utf8'));
        if (!sameFingerprint(local, stored.fingerprint)) {
          throw new FerryError('FAILED_PRECONDITION', `${files.caCert} (CA fingerprint ${local}) is not the CA the other replicas on this database use ` +
            `(fingerprint ${stored.fingerprint}): agents enrolled with one could not reach replicas serving the other. Move ${files.dir} away ` +
            'to take the shared CA at the next start (docs/high-availability.md "TLS across replicas")');
        }
        return undefined;
      }
      if (stored !== undefined) {
        await fs.mkdir(files.dir, { recursive: true, mode: 0o700 });
        await fs.chmod(files.dir, 0o700);
        await fs.writeFile(files.caKey, stored.ca_key, { mode: 0o600 });
        await fs.writeFile(files.caCert, stored.ca_cert, { mode: 0o644 });
        const sans = subjectAltNames(defaultSans());
        await issueServerCertificate(files, sans);
        o.log.info('took the replicas\' shared CA from the database and issued this replica\'s server certificate', {
          component: 'security', ca_fingerprint: stored.fingerprint, names: sans.join(','),
        });
        return undefined;
      }
      const initialised = present ? undefined : await o.init();
      const caCert = await fs.readFile(files.caCert, 'utf8');
      const caKey = await fs.readFile(files.caKey, 'utf8');
      const fp = fingerprint(caCert);
      await client.query('INSERT INTO shared_ca (id, ca_cert, ca_key, fingerprint, created_by, created_at) VALUES (1, $1, $2, $3, $4, $5)',
        [caCert, caKey, fp, o.replica, new Date(o.now).toISOString()]);
      o.log.info('this replica\'s CA is now the one every replica on the database uses', { component: 'security', ca_fingerprint: fp });
      return initialised;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [SHARED_CA_LOCK.toString()]).catch(() => undefined);
    }
  } finally {
    client.off('error', lost);
    client.release(broken);
  }
}
