/**
 * Migration 6, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * A group's rollback config.
 */
export const V6 = `
ALTER TABLE deployment_groups ADD COLUMN rollback_config TEXT REFERENCES deployment_configs (name);
`;
