/**
 * Migration 11, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Client certificates issued to hosts at enrollment, by SHA-256 fingerprint; revocable.
 */
export const V11 = `
CREATE TABLE host_certificates (
  fingerprint TEXT PRIMARY KEY,
  host_id TEXT NOT NULL,
  issued_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  token_id TEXT NOT NULL,
  revoked_at TEXT
) STRICT;
CREATE INDEX host_certificates_host ON host_certificates (host_id);
`;
