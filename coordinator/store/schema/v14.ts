/**
 * Migration 14, frozen (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Rebuilds `deployments` so every creator is stored as itself: a deployment made by a schedule was
 * stored as 'user' with its schedule_id (V1's CHECK on creator could not change in place); it is
 * now 'schedule'. A rebuild: run with foreign keys off and checked before commit (migrations.ts).
 */
export const V14 = `
CREATE TABLE deployments_v14 (
  id                  TEXT PRIMARY KEY,
  application         TEXT NOT NULL REFERENCES applications (name),
  group_id            TEXT NOT NULL REFERENCES deployment_groups (id),
  group_name          TEXT NOT NULL,
  revision_digest     TEXT NOT NULL,
  config_name         TEXT NOT NULL REFERENCES deployment_configs (name),
  status              TEXT NOT NULL CHECK (status IN ('Created', 'Queued', 'InProgress', 'Paused', 'Succeeded', 'Failed', 'Stopped')),
  creator             TEXT NOT NULL CHECK (creator IN ('user', 'autoscaling', 'rollback', 'schedule')),
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
  auto_rollback TEXT CHECK (auto_rollback IS NULL OR json_valid(auto_rollback)),
  rollback_of TEXT REFERENCES deployments (id),
  rolled_back_by TEXT REFERENCES deployments (id),
  approve_after INTEGER CHECK (approve_after IS NULL OR approve_after >= 0),
  approved INTEGER NOT NULL DEFAULT 0 CHECK (approved IN (0, 1)),
  pause_reason TEXT,
  ignore_alarms INTEGER NOT NULL DEFAULT 0 CHECK (ignore_alarms IN (0, 1)),
  min_healthy_time_ms INTEGER NOT NULL DEFAULT 0 CHECK (min_healthy_time_ms >= 0),
  approve_after_zones INTEGER CHECK (approve_after_zones IS NULL OR approve_after_zones >= 1),
  ignore_window INTEGER NOT NULL DEFAULT 0 CHECK (ignore_window IN (0, 1)),
  paused_for_window INTEGER NOT NULL DEFAULT 0 CHECK (paused_for_window IN (0, 1)),
  schedule_id TEXT REFERENCES schedules (id),
  FOREIGN KEY (application, revision_digest) REFERENCES revisions (application, digest)
);
INSERT INTO deployments_v14 (id, application, group_id, group_name, revision_digest, config_name, status, creator, description, file_exists_behavior, ignore_application_stop_failures, target_host_ids, min_healthy_hosts, error_code, error_message, created_at, started_at, completed_at, auto_rollback, rollback_of, rolled_back_by, approve_after, approved, pause_reason, ignore_alarms, min_healthy_time_ms, approve_after_zones, ignore_window, paused_for_window, schedule_id)
  SELECT id, application, group_id, group_name, revision_digest, config_name, status, CASE WHEN creator = 'user' AND schedule_id IS NOT NULL THEN 'schedule' ELSE creator END, description, file_exists_behavior, ignore_application_stop_failures, target_host_ids, min_healthy_hosts, error_code, error_message, created_at, started_at, completed_at, auto_rollback, rollback_of, rolled_back_by, approve_after, approved, pause_reason, ignore_alarms, min_healthy_time_ms, approve_after_zones, ignore_window, paused_for_window, schedule_id
  FROM deployments;
DROP TABLE deployments;
ALTER TABLE deployments_v14 RENAME TO deployments;

CREATE UNIQUE INDEX deployments_one_active_per_group ON deployments (group_id)
  WHERE status IN ('InProgress', 'Paused');

CREATE INDEX deployments_by_group ON deployments (group_id, status, created_at);

CREATE INDEX deployments_by_created ON deployments (created_at);

CREATE TRIGGER events_deployment_created AFTER INSERT ON deployments BEGIN
  INSERT INTO events
    (at, kind, application, group_id, group_name, deployment_id, status, payload)
  VALUES (NEW.created_at, 'DeploymentCreated', NEW.application, NEW.group_id, NEW.group_name, NEW.id, NEW.status, json_object(
  'creator', NEW.creator, 'revision', NEW.revision_digest, 'description', NEW.description,
  'createTime', NEW.created_at, 'startTime', NEW.started_at, 'completeTime', NEW.completed_at,
  'errorCode', NEW.error_code, 'errorMessage', NEW.error_message, 'pauseReason', NEW.pause_reason,
  'rollbackOf', NEW.rollback_of, 'rolledBackBy', NEW.rolled_back_by, 'overview', json((SELECT json_group_object(status, n) FROM
  (SELECT status, COUNT(*) AS n FROM host_deployments WHERE deployment_id = NEW.id GROUP BY status)))));
END;

CREATE TRIGGER events_deployment_status AFTER UPDATE OF status ON deployments WHEN NEW.status IS NOT OLD.status BEGIN
  INSERT INTO events
    (at, kind, application, group_id, group_name, deployment_id, status, payload)
  VALUES (COALESCE(CASE
    WHEN NEW.status IN ('Succeeded', 'Failed', 'Stopped') THEN NEW.completed_at
    WHEN NEW.status = 'InProgress' AND OLD.status IN ('Created', 'Queued') THEN NEW.started_at END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), CASE NEW.status
    WHEN 'InProgress' THEN CASE WHEN OLD.status = 'Paused' THEN 'DeploymentResume' ELSE 'DeploymentStart' END
    WHEN 'Succeeded' THEN 'DeploymentSuccess' WHEN 'Failed' THEN 'DeploymentFailure' WHEN 'Stopped' THEN 'DeploymentStop'
    WHEN 'Paused' THEN 'DeploymentPause' WHEN 'Queued' THEN 'DeploymentQueued' ELSE 'Deployment' || NEW.status END, NEW.application, NEW.group_id, NEW.group_name, NEW.id, NEW.status, json_object(
  'creator', NEW.creator, 'revision', NEW.revision_digest, 'description', NEW.description,
  'createTime', NEW.created_at, 'startTime', NEW.started_at, 'completeTime', NEW.completed_at,
  'errorCode', NEW.error_code, 'errorMessage', NEW.error_message, 'pauseReason', NEW.pause_reason,
  'rollbackOf', NEW.rollback_of, 'rolledBackBy', NEW.rolled_back_by, 'overview', json((SELECT json_group_object(status, n) FROM
  (SELECT status, COUNT(*) AS n FROM host_deployments WHERE deployment_id = NEW.id GROUP BY status)))));
END;

CREATE TRIGGER events_deployment_rollback AFTER UPDATE OF rolled_back_by ON deployments
  WHEN NEW.rolled_back_by IS NOT NULL AND OLD.rolled_back_by IS NULL BEGIN
  INSERT INTO events
    (at, kind, application, group_id, group_name, deployment_id, status, payload)
  VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'DeploymentRollback', NEW.application, NEW.group_id, NEW.group_name, NEW.id, NEW.status, json_object(
  'creator', NEW.creator, 'revision', NEW.revision_digest, 'description', NEW.description,
  'createTime', NEW.created_at, 'startTime', NEW.started_at, 'completeTime', NEW.completed_at,
  'errorCode', NEW.error_code, 'errorMessage', NEW.error_message, 'pauseReason', NEW.pause_reason,
  'rollbackOf', NEW.rollback_of, 'rolledBackBy', NEW.rolled_back_by, 'overview', json((SELECT json_group_object(status, n) FROM
  (SELECT status, COUNT(*) AS n FROM host_deployments WHERE deployment_id = NEW.id GROUP BY status)))));
END;
`;
