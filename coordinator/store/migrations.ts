import type { Database } from 'better-sqlite3';
import { FILE_EXISTS_BEHAVIORS } from '../../agent/appspec/types.js';
import { FerryError } from '../../agent/errors.js';
import {
  ACTIVE_DEPLOYMENT_STATUSES, DEPLOYMENT_STATUSES, EVENT_RECORD_STATUSES, HOST_DEPLOYMENT_STATUSES,
} from '../domain/status.js';
import { SCHEDULE_STATES } from '../domain/schedules.js';
import type { DeploymentCreator } from '../domain/types.js';
import { EVENTS_MIGRATION } from './migration-events.js';

/**
 * Numbered schema migrations, applied in order, one transaction each, tracked in
 * `PRAGMA user_version`. Never edit an applied migration: add the next one. SQLite cannot alter a
 * CHECK, so adding a status means a migration that rebuilds the table.
 */
export interface Migration {
  version: number;
  up: string;
}

/** `'a', 'b'` for an `IN (…)` or CHECK; values are our own constants, quoted anyway. */
export function sqlList(values: readonly string[]): string {
  return values.map(v => `'${v.replaceAll("'", "''")}'`).join(', ');
}

const CREATORS: readonly DeploymentCreator[] = ['user', 'autoscaling', 'rollback'];

const V1 = `
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
  status              TEXT NOT NULL CHECK (status IN (${sqlList(DEPLOYMENT_STATUSES)})),
  creator             TEXT NOT NULL CHECK (creator IN (${sqlList(CREATORS)})),
  description         TEXT NOT NULL,
  file_exists_behavior TEXT NOT NULL CHECK (file_exists_behavior IN (${sqlList(FILE_EXISTS_BEHAVIORS)})),
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
  WHERE status IN (${sqlList(ACTIVE_DEPLOYMENT_STATUSES)});
CREATE INDEX deployments_by_group ON deployments (group_id, status, created_at);
CREATE INDEX deployments_by_created ON deployments (created_at);

CREATE TABLE host_deployments (
  deployment_id TEXT NOT NULL REFERENCES deployments (id),
  host_id       TEXT NOT NULL REFERENCES hosts (id),
  status        TEXT NOT NULL CHECK (status IN (${sqlList(HOST_DEPLOYMENT_STATUSES)})),
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
  status        TEXT NOT NULL CHECK (status IN (${sqlList(EVENT_RECORD_STATUSES)})),
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

/** Automatic rollback: the group's policy, a per-deployment override, and the links both ways. */
const V2 = `
ALTER TABLE deployment_groups ADD COLUMN auto_rollback TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(auto_rollback));
ALTER TABLE deployments ADD COLUMN auto_rollback TEXT CHECK (auto_rollback IS NULL OR json_valid(auto_rollback));
ALTER TABLE deployments ADD COLUMN rollback_of TEXT REFERENCES deployments (id);
ALTER TABLE deployments ADD COLUMN rolled_back_by TEXT REFERENCES deployments (id);
`;

/** Approval gates and pauses. */
const V3 = `
ALTER TABLE deployments ADD COLUMN approve_after INTEGER CHECK (approve_after IS NULL OR approve_after >= 0);
ALTER TABLE deployments ADD COLUMN approved INTEGER NOT NULL DEFAULT 0 CHECK (approved IN (0, 1));
ALTER TABLE deployments ADD COLUMN pause_reason TEXT;
`;

/** Health alarms per group; bake time and the emergency switch per deployment. */
const V4 = `
ALTER TABLE deployment_groups ADD COLUMN alarms TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(alarms));
ALTER TABLE deployments ADD COLUMN ignore_alarms INTEGER NOT NULL DEFAULT 0 CHECK (ignore_alarms IN (0, 1));
ALTER TABLE deployments ADD COLUMN min_healthy_time_ms INTEGER NOT NULL DEFAULT 0 CHECK (min_healthy_time_ms >= 0);
`;

/** Zonal rollouts: the config's zonal settings; the zonal approval gate (`--approve-after first-zone`). */
const V5 = `
ALTER TABLE deployment_configs ADD COLUMN zonal TEXT CHECK (zonal IS NULL OR json_valid(zonal));
ALTER TABLE deployments ADD COLUMN approve_after_zones INTEGER CHECK (approve_after_zones IS NULL OR approve_after_zones >= 1);
`;

/** A group's rollback config. */
const V6 = `
ALTER TABLE deployment_groups ADD COLUMN rollback_config TEXT REFERENCES deployment_configs (name);
`;

/** API and join tokens (issue 6): only the secret's SHA-256 is kept. */
const V7 = `
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'deployer', 'admin', 'agent')),
  secret_hash TEXT NOT NULL CHECK (length(secret_hash) = 64),
  description TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  expires_at TEXT,
  uses_left INTEGER CHECK (uses_left IS NULL OR uses_left >= 0),
  revoked_at TEXT,
  created_by TEXT NOT NULL
) STRICT;
`;

/** Deployment plans (issue 5, `ferry deploy plan`): executable once, within 24 hours, by `--from-plan`. */
const V9 = `
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

/**
 * Deployment windows per group (JSON: cron, durationMs, timezone); a deployment's emergency switch
 * and its window pause; scheduled deployments. A deployment created by a schedule is stored with
 * creator 'user' and its schedule_id (the V1 CHECK on creator cannot change without rebuilding
 * deployments, which five tables reference); the rows layer reads it back as creator 'schedule'.
 */
const V10 = `
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
  state              TEXT NOT NULL CHECK (state IN (${sqlList(SCHEDULE_STATES)})),
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

/** Client certificates issued to hosts at enrollment, by SHA-256 fingerprint; revocable. */
const V11 = `
CREATE TABLE host_certificates (
  fingerprint TEXT PRIMARY KEY,
  host_id TEXT NOT NULL,
  issued_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  token_id TEXT NOT NULL,
  revoked_at TEXT
) STRICT;
CREATE INDEX host_certificates_host ON host_certificates (host_id);
`;

/** The audit log (domain/audit.ts): append-only; refusals may fold (count, last_at). */
const V12 = `
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

/** Audit retention (security/audit-retention.ts) deletes by last occurrence, oldest first. */
const V13 = `
CREATE INDEX audit_last_at ON audit (last_at);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, up: V1 }, { version: 2, up: V2 }, { version: 3, up: V3 }, { version: 4, up: V4 }, { version: 5, up: V5 },
  { version: 6, up: V6 }, { version: 7, up: V7 }, { version: 8, up: EVENTS_MIGRATION }, { version: 9, up: V9 }, { version: 10, up: V10 }, { version: 11, up: V11 },
  { version: 12, up: V12 }, { version: 13, up: V13 },
];

/**
 * Applies the migrations newer than the database's `user_version`, each in its own transaction
 * (a failing one leaves the database at the previous version). Returns the versions applied.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new FerryError('INVALID_ARGUMENT', `migration ${i + 1} is numbered ${m.version}`);
  });
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new FerryError(
      'FAILED_PRECONDITION',
      `database schema version ${current} is newer than this coordinator's (${migrations.length})`,
    );
  }
  const applied: number[] = [];
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(m.up);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
