/**
 * Migration 7, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * API and join tokens: only the secret's SHA-256 is kept.
 */
export const V7 = `
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'deployer', 'admin', 'agent')),
  secret_hash TEXT NOT NULL CHECK (length(secret_hash) = 64),
  description TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  expires_at TEXT,
  uses_left INTEGER CHECK (uses_left IS NULL OR uses_left >= 0),
  revoked_at TEXT,
  created_by TEXT NOT NULL
) STRICT;
`;
