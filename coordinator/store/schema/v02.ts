/**
 * Migration 2, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Automatic rollback: the group's policy, a per-deployment override, and the links both ways.
 */
export const V2 = `
ALTER TABLE deployment_groups ADD COLUMN auto_rollback TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(auto_rollback));
ALTER TABLE deployments ADD COLUMN auto_rollback TEXT CHECK (auto_rollback IS NULL OR json_valid(auto_rollback));
ALTER TABLE deployments ADD COLUMN rollback_of TEXT REFERENCES deployments (id);
ALTER TABLE deployments ADD COLUMN rolled_back_by TEXT REFERENCES deployments (id);
`;
