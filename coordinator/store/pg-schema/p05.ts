/**
 * PostgreSQL migration 5, frozen: applied databases hold exactly this text (test/unit/pg-migrations-frozen.test.ts).
 * Never edit it; add the next one. The certificate authority every coordinator replica on this database uses
 * (coordinator/replicas/shared-ca.ts, docs/high-availability.md "TLS across replicas"): one row, made by the
 * first replica that starts with TLS, taken by the others, so an agent enrolled through one replica is trusted
 * by, and trusts, every other.
 * - ca_cert, ca_key: PEM; the key signs server and host certificates, so access to this table is access to
 *   the fleet's trust (as the data dir's tls/ca.key is for a single coordinator).
 */
export const P5 = `
CREATE TABLE shared_ca (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  ca_cert     TEXT NOT NULL CHECK (ca_cert LIKE '-----BEGIN CERTIFICATE-----%'),
  ca_key      TEXT NOT NULL CHECK (ca_key LIKE '-----BEGIN %PRIVATE KEY-----%'),
  fingerprint TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
`;
