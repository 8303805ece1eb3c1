/**
 * Migration 20, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * - deployments.created_by: who created a deployment, as the credentials say (token:<id> (<description>),
 *   insecure-local, schedule:<id>); '' for deployments made before it was recorded.
 * - console_sessions: the web console's sign-in sessions (docs/console.md, "Security model"), so they
 *   outlive a restart and can be shared by replicas. At rest only the SHA-256 of the cookie's value;
 *   the session's token by id (its secret was proven at sign-in), NULL for insecure-local. Revoking the
 *   token deletes its sessions.
 */
export const V20 = `
ALTER TABLE deployments ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
CREATE TABLE console_sessions (
  id_hash TEXT PRIMARY KEY,
  token_id TEXT REFERENCES tokens(id) ON DELETE CASCADE,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
`;
