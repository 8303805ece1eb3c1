/**
 * Migration 13, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Audit retention (security/audit-retention.ts) deletes by last occurrence, oldest first.
 */
export const V13 = `
CREATE INDEX audit_last_at ON audit (last_at);
`;
