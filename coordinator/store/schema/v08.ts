/**
 * Migration 8, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * The persistent event log: triggers append an event in the same transaction as each status change.
 */
export const V8 = `
-- seq is the rowid: retention never removes the newest event, so a seq is never reused (no
-- AUTOINCREMENT, and no index beyond the key: both would cost every status change more pages).
CREATE TABLE events (
  seq             INTEGER PRIMARY KEY,
  at              TEXT NOT NULL,
  kind            TEXT NOT NULL,
  application     TEXT NOT NULL,
  group_id        TEXT NOT NULL,
  group_name      TEXT NOT NULL,
  deployment_id   TEXT,
  host_id         TEXT,
  lifecycle_event TEXT,
  status          TEXT NOT NULL,
  payload         TEXT NOT NULL
);

CREATE TABLE triggers (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  group_id          TEXT NOT NULL REFERENCES deployment_groups (id),
  name              TEXT NOT NULL,
  url               TEXT NOT NULL,
  events            TEXT NOT NULL CHECK (json_valid(events)),
  secret            TEXT NOT NULL,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  last_attempt_at   TEXT,
  last_status       INTEGER,
  last_error        TEXT,
  last_delivered_at TEXT,
  delivered         INTEGER NOT NULL DEFAULT 0,
  failed_attempts   INTEGER NOT NULL DEFAULT 0,
  given_up          INTEGER NOT NULL DEFAULT 0,
  UNIQUE (group_id, name)
);

CREATE TABLE deliveries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  trigger_id      INTEGER NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
  event_seq       INTEGER NOT NULL,
  created_at      TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  -- epoch milliseconds; 0: due now
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_status     INTEGER,
  last_error      TEXT,
  delivered_at    TEXT,
  gave_up_at      TEXT
);
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX deliveries_by_trigger ON deliveries (trigger_id);

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

-- Rolled back: the event is the replaced deployment's; its payload names the rollback.
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

CREATE TRIGGER events_host_status AFTER UPDATE OF status ON host_deployments WHEN NEW.status IS NOT OLD.status BEGIN
  INSERT INTO events (at, kind, application, group_id, group_name, deployment_id, host_id, status, payload)
  SELECT COALESCE(CASE WHEN NEW.status = 'InProgress' THEN NEW.started_at ELSE NEW.completed_at END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CASE NEW.status
    WHEN 'InProgress' THEN 'InstanceStart' WHEN 'Succeeded' THEN 'InstanceSuccess' WHEN 'Failed' THEN 'InstanceFailure'
    WHEN 'Skipped' THEN 'InstanceSkipped' WHEN 'Unknown' THEN 'InstanceUnknown' ELSE 'Instance' || NEW.status END, d.application, d.group_id, d.group_name, NEW.deployment_id, NEW.host_id, NEW.status, json_object(
  'hostname', (SELECT hostname FROM hosts WHERE id = NEW.host_id),
  'startTime', NEW.started_at, 'endTime', NEW.completed_at, 'errorCode', NEW.error_code, 'errorMessage', NEW.error_message,
  'lifecycleEvents', json((SELECT json_group_array(json_object(
      'event', event, 'status', status, 'startedAt', started_at, 'endedAt', ended_at, 'errorCode', error_code))
    FROM (SELECT * FROM lifecycle_events WHERE deployment_id = NEW.deployment_id AND host_id = NEW.host_id ORDER BY rowid))))
  FROM deployments d WHERE d.id = NEW.deployment_id;
END;

CREATE TRIGGER events_lifecycle_insert AFTER INSERT ON lifecycle_events WHEN NEW.status <> 'Pending' BEGIN
  INSERT INTO events
    (at, kind, application, group_id, group_name, deployment_id, host_id, lifecycle_event, status, payload)
  SELECT COALESCE(CASE WHEN NEW.status = 'InProgress' THEN NEW.started_at ELSE NEW.ended_at END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    'LifecycleEvent', d.application, d.group_id, d.group_name, NEW.deployment_id, NEW.host_id, NEW.event, NEW.status,
    json_object('startTime', NEW.started_at, 'endTime', NEW.ended_at, 'errorCode', NEW.error_code,
      'exitCode', NEW.exit_code, 'message', NEW.message, 'durationMs', NEW.duration_ms)
  FROM deployments d WHERE d.id = NEW.deployment_id;
END;

CREATE TRIGGER events_lifecycle_status AFTER UPDATE OF status ON lifecycle_events
  WHEN NEW.status IS NOT OLD.status AND NEW.status <> 'Pending' BEGIN
  INSERT INTO events
    (at, kind, application, group_id, group_name, deployment_id, host_id, lifecycle_event, status, payload)
  SELECT COALESCE(CASE WHEN NEW.status = 'InProgress' THEN NEW.started_at ELSE NEW.ended_at END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    'LifecycleEvent', d.application, d.group_id, d.group_name, NEW.deployment_id, NEW.host_id, NEW.event, NEW.status,
    json_object('startTime', NEW.started_at, 'endTime', NEW.ended_at, 'errorCode', NEW.error_code,
      'exitCode', NEW.exit_code, 'message', NEW.message, 'durationMs', NEW.duration_ms)
  FROM deployments d WHERE d.id = NEW.deployment_id;
END;

CREATE TRIGGER events_enqueue AFTER INSERT ON events BEGIN
  INSERT INTO deliveries (trigger_id, event_seq, created_at)
  SELECT t.id, NEW.seq, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM triggers t
  WHERE t.group_id = NEW.group_id AND EXISTS (SELECT 1 FROM json_each(t.events) WHERE value = NEW.kind);
END;
`;
