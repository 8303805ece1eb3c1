/**
 * Migration 10, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 *
 * Deployment windows per group (JSON: cron, durationMs, timezone); a deployment's emergency switch
 * and its window pause; scheduled deployments. A deployment created by a schedule is stored with
 * creator 'user' and its schedule_id (the V1 CHECK on creator cannot change without rebuilding
 * deployments, which five tables reference); the rows layer reads it back as creator 'schedule'.
 */
export const V10 = `
ALTER TABLE deployment_groups ADD COLUMN windows TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(windows));
ALTER TABLE deployments ADD COLUMN ignore_window INTEGER NOT NULL DEFAULT 0 CHECK (ignore_window IN (0, 1));
ALTER TABLE deployments ADD COLUMN paused_for_window INTEGER NOT NULL DEFAULT 0 CHECK (paused_for_window IN (0, 1));
CREATE TABLE schedules (
  id                 TEXT PRIMARY KEY,
  application        TEXT NOT NULL REFERENCES applications (name),
  group_id           TEXT NOT NULL REFERENCES deployment_groups (id),
  group_name         TEXT NOT NULL,
  revision           TEXT NOT NULL,
  options            TEXT NOT NULL CHECK (json_valid(options)),
  run_at             TEXT,
  cron               TEXT,
  timezone           TEXT NOT NULL,
  state              TEXT NOT NULL CHECK (state IN ('Active', 'Done', 'Cancelled')),
  next_run_at        TEXT,
  last_run_at        TEXT,
  last_deployment_id TEXT REFERENCES deployments (id),
  last_error         TEXT,
  created_by         TEXT NOT NULL,
  created_at         TEXT NOT NULL,
  CHECK ((run_at IS NULL) <> (cron IS NULL)),
  CHECK (state <> 'Active' OR next_run_at IS NOT NULL)
);
CREATE INDEX schedules_due ON schedules (state, next_run_at);
ALTER TABLE deployments ADD COLUMN schedule_id TEXT REFERENCES schedules (id);
`;
