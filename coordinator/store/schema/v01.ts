/**
 * Migration 1, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * The first schema: applications, configs, groups, revisions, hosts, deployments, host deployments, lifecycle events, logs, install records.
 */
export const V1 = `
CREATE TABLE applications (
  name       TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);

CREATE TABLE deployment_configs (
  name            TEXT PRIMARY KEY,
  minimum_healthy TEXT NOT NULL CHECK (json_valid(minimum_healthy)),
  built_in        INTEGER NOT NULL CHECK (built_in IN (0, 1)),
  created_at      TEXT NOT NULL
);
INSERT INTO deployment_configs (name, minimum_healthy, built_in, created_at) VALUES
  ('OneAtATime',  '{"type":"ONE_AT_A_TIME"}',             1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  ('HalfAtATime', '{"type":"FLEET_PERCENT","value":50}', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  ('AllAtOnce',   '{"type":"HOST_COUNT","value":0}',     1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE deployment_groups (
  id          TEXT PRIMARY KEY,
  application TEXT NOT NULL REFERENCES applications (name),
  name        TEXT NOT NULL,
  tag_sets    TEXT NOT NULL CHECK (json_valid(tag_sets)),
  config_name TEXT NOT NULL REFERENCES deployment_configs (name),
  created_at  TEXT NOT NULL,
  UNIQUE (application, name)
);

CREATE TABLE revisions (
  application TEXT NOT NULL REFERENCES applications (name),
  digest      TEXT NOT NULL,
  size        INTEGER NOT NULL CHECK (size >= 0),
  bundle_type TEXT NOT NULL CHECK (bundle_type IN ('tar', 'tgz', 'zip')),
  description TEXT NOT NULL,
  git_commit  TEXT,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (application, digest)
);
CREATE INDEX revisions_by_digest ON revisions (digest);

CREATE TABLE hosts (
  id            TEXT PRIMARY KEY,
  hostname      TEXT NOT NULL,
  tags          TEXT NOT NULL CHECK (json_valid(tags)),
  zone          TEXT,
  agent_version TEXT NOT NULL,
  facts         TEXT NOT NULL CHECK (json_valid(facts)),
  connected     INTEGER NOT NULL CHECK (connected IN (0, 1)),
  last_seen_at  TEXT NOT NULL,
  registered_at TEXT NOT NULL
);

CREATE TABLE deployments (
  id                  TEXT PRIMARY KEY,
  application         TEXT NOT NULL REFERENCES applications (name),
  group_id            TEXT NOT NULL REFERENCES deployment_groups (id),
  group_name          TEXT NOT NULL,
  revision_digest     TEXT NOT NULL,
  config_name         TEXT NOT NULL REFERENCES deployment_configs (name),
  status              TEXT NOT NULL CHECK (status IN ('Created', 'Queued', 'InProgress', 'Paused', 'Succeeded', 'Failed', 'Stopped')),
  creator             TEXT NOT NULL CHECK (creator IN ('user', 'autoscaling', 'rollback')),
  description         TEXT NOT NULL,
  file_exists_behavior TEXT NOT NULL CHECK (file_exists_behavior IN ('DISALLOW', 'OVERWRITE', 'RETAIN')),
  ignore_application_stop_failures INTEGER NOT NULL CHECK (ignore_application_stop_failures IN (0, 1)),
  target_host_ids     TEXT CHECK (target_host_ids IS NULL OR json_valid(target_host_ids)),
  min_healthy_hosts   INTEGER,
  error_code          TEXT,
  error_message       TEXT,
  created_at          TEXT NOT NULL,
  started_at          TEXT,
  completed_at        TEXT,
  FOREIGN KEY (application, revision_digest) REFERENCES revisions (application, digest)
);
-- One active deployment per group; the others wait in Queued.
CREATE UNIQUE INDEX deployments_one_active_per_group ON deployments (group_id)
  WHERE status IN ('InProgress', 'Paused');
CREATE INDEX deployments_by_group ON deployments (group_id, status, created_at);
CREATE INDEX deployments_by_created ON deployments (created_at);

CREATE TABLE host_deployments (
  deployment_id TEXT NOT NULL REFERENCES deployments (id),
  host_id       TEXT NOT NULL REFERENCES hosts (id),
  status        TEXT NOT NULL CHECK (status IN ('Pending', 'InProgress', 'Succeeded', 'Failed', 'Skipped', 'Unknown')),
  current_event TEXT,
  error_code    TEXT,
  error_message TEXT,
  position      INTEGER NOT NULL,
  started_at    TEXT,
  completed_at  TEXT,
  PRIMARY KEY (deployment_id, host_id)
);
CREATE INDEX host_deployments_by_host ON host_deployments (host_id, status);

CREATE TABLE lifecycle_events (
  deployment_id TEXT NOT NULL,
  host_id       TEXT NOT NULL,
  event         TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('Pending', 'InProgress', 'Succeeded', 'Failed', 'Skipped')),
  error_code    TEXT,
  exit_code     INTEGER,
  message       TEXT,
  started_at    TEXT,
  ended_at      TEXT,
  duration_ms   INTEGER,
  PRIMARY KEY (deployment_id, host_id, event),
  FOREIGN KEY (deployment_id, host_id) REFERENCES host_deployments (deployment_id, host_id)
);

CREATE TABLE log_lines (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  deployment_id TEXT NOT NULL,
  host_id       TEXT NOT NULL,
  at            TEXT NOT NULL,
  event         TEXT NOT NULL,
  stream        TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr')),
  line          TEXT NOT NULL,
  bytes         INTEGER NOT NULL,
  FOREIGN KEY (deployment_id, host_id) REFERENCES host_deployments (deployment_id, host_id)
);
CREATE INDEX log_lines_by_host ON log_lines (deployment_id, host_id, seq);

CREATE TABLE host_revisions (
  group_id        TEXT NOT NULL REFERENCES deployment_groups (id),
  host_id         TEXT NOT NULL REFERENCES hosts (id),
  revision_digest TEXT NOT NULL,
  last_status     TEXT NOT NULL CHECK (last_status IN ('Succeeded', 'Failed')),
  deployment_id   TEXT NOT NULL REFERENCES deployments (id),
  at              TEXT NOT NULL,
  PRIMARY KEY (group_id, host_id)
);

CREATE TABLE auto_deployments (
  group_id TEXT NOT NULL REFERENCES deployment_groups (id),
  host_id  TEXT NOT NULL REFERENCES hosts (id),
  digest   TEXT NOT NULL,
  PRIMARY KEY (group_id, host_id, digest)
);
`;
