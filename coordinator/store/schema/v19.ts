/**
 * Migration 19, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Clean-up (docs/operations.md): a removed host (ferry hosts remove) keeps its row for the deployment
 * history but leaves every list and group; a deleted revision (ferry revision delete) keeps its row
 * for the deployments that ran it, its bytes are gone.
 */
export const V19 = `
ALTER TABLE hosts ADD COLUMN removed_at TEXT;
ALTER TABLE revisions ADD COLUMN deleted_at TEXT;
`;
