/**
 * Migration 3, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Approval gates and pauses.
 */
export const V3 = `
ALTER TABLE deployments ADD COLUMN approve_after INTEGER CHECK (approve_after IS NULL OR approve_after >= 0);
ALTER TABLE deployments ADD COLUMN approved INTEGER NOT NULL DEFAULT 0 CHECK (approved IN (0, 1));
ALTER TABLE deployments ADD COLUMN pause_reason TEXT;
`;
