/**
 * Migration 12, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * The audit log (domain/audit.ts): append-only; refusals may fold (count, last_at).
 */
export const V12 = `
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  peer TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused')),
  code TEXT NOT NULL,
  message TEXT NOT NULL,
  target_json TEXT NOT NULL,
  fold_key TEXT,
  count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
  last_at TEXT NOT NULL
) STRICT;
CREATE INDEX audit_fold ON audit (fold_key, last_at) WHERE fold_key IS NOT NULL;
CREATE INDEX audit_actor ON audit (actor, seq);
`;
