/**
 * Migration 9, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Deployment plans (`ferry deploy plan`): executable once, within 24 hours, by `--from-plan`.
 */
export const V9 = `
CREATE TABLE plans (
  id              TEXT PRIMARY KEY,
  application     TEXT NOT NULL REFERENCES applications (name),
  group_id        TEXT NOT NULL REFERENCES deployment_groups (id),
  group_name      TEXT NOT NULL,
  revision_digest TEXT NOT NULL,
  config_name     TEXT NOT NULL REFERENCES deployment_configs (name),
  options         TEXT NOT NULL CHECK (json_valid(options)),
  fingerprint     TEXT NOT NULL,
  body            TEXT NOT NULL CHECK (json_valid(body)),
  created_at      TEXT NOT NULL,
  expires_at      TEXT NOT NULL,
  used_by         TEXT REFERENCES deployments (id)
);
`;
