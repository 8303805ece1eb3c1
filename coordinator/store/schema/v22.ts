/**
 * Migration 22, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * deployment_host_counts: how many of a deployment's host deployments are in each status, kept by triggers
 * in the transaction that inserts, moves or deletes them (so every writer keeps them, retention and
 * group deletion included), backfilled here from the rows. The scheduler and the status summaries read
 * one row instead of counting a deployment's rows (10,000 at 10,000 hosts). A deployment with no host
 * deployments has no row (the row goes with its last host deployment); CHECKs hold every count at ≥ 0, and
 * a trigger refuses to move a host deployment to another deployment (nothing does; the counts assume it).
 * A REPLACE into host_deployments would bypass the delete trigger (recursive_triggers is off): none exists; keep it so.
 */
export const V22 = `
CREATE TABLE deployment_host_counts (
  deployment_id TEXT PRIMARY KEY,
  pending       INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
  in_progress   INTEGER NOT NULL DEFAULT 0 CHECK (in_progress >= 0),
  succeeded     INTEGER NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
  failed        INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
  skipped       INTEGER NOT NULL DEFAULT 0 CHECK (skipped >= 0),
  unknown       INTEGER NOT NULL DEFAULT 0 CHECK (unknown >= 0)
);

INSERT INTO deployment_host_counts (deployment_id, pending, in_progress, succeeded, failed, skipped, unknown)
  SELECT deployment_id, SUM(status = 'Pending'), SUM(status = 'InProgress'), SUM(status = 'Succeeded'),
    SUM(status = 'Failed'), SUM(status = 'Skipped'), SUM(status = 'Unknown')
  FROM host_deployments GROUP BY deployment_id;

CREATE TRIGGER host_counts_insert AFTER INSERT ON host_deployments BEGIN
  INSERT INTO deployment_host_counts (deployment_id, pending, in_progress, succeeded, failed, skipped, unknown)
  VALUES (NEW.deployment_id, NEW.status = 'Pending', NEW.status = 'InProgress', NEW.status = 'Succeeded',
    NEW.status = 'Failed', NEW.status = 'Skipped', NEW.status = 'Unknown')
  ON CONFLICT (deployment_id) DO UPDATE SET
    pending = pending + excluded.pending, in_progress = in_progress + excluded.in_progress,
    succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed,
    skipped = skipped + excluded.skipped, unknown = unknown + excluded.unknown;
END;

CREATE TRIGGER host_counts_status AFTER UPDATE OF status ON host_deployments
  WHEN NEW.status IS NOT OLD.status BEGIN
  UPDATE deployment_host_counts SET
    pending = pending + (NEW.status = 'Pending') - (OLD.status = 'Pending'),
    in_progress = in_progress + (NEW.status = 'InProgress') - (OLD.status = 'InProgress'),
    succeeded = succeeded + (NEW.status = 'Succeeded') - (OLD.status = 'Succeeded'),
    failed = failed + (NEW.status = 'Failed') - (OLD.status = 'Failed'),
    skipped = skipped + (NEW.status = 'Skipped') - (OLD.status = 'Skipped'),
    unknown = unknown + (NEW.status = 'Unknown') - (OLD.status = 'Unknown')
  WHERE deployment_id = NEW.deployment_id;
END;

CREATE TRIGGER host_counts_delete AFTER DELETE ON host_deployments BEGIN
  UPDATE deployment_host_counts SET
    pending = pending - (OLD.status = 'Pending'), in_progress = in_progress - (OLD.status = 'InProgress'),
    succeeded = succeeded - (OLD.status = 'Succeeded'), failed = failed - (OLD.status = 'Failed'),
    skipped = skipped - (OLD.status = 'Skipped'), unknown = unknown - (OLD.status = 'Unknown')
  WHERE deployment_id = OLD.deployment_id;
  DELETE FROM deployment_host_counts WHERE deployment_id = OLD.deployment_id
    AND pending + in_progress + succeeded + failed + skipped + unknown = 0;
END;

CREATE TRIGGER host_deployments_stay AFTER UPDATE OF deployment_id ON host_deployments
  WHEN NEW.deployment_id IS NOT OLD.deployment_id BEGIN
  SELECT RAISE(ABORT, 'a host deployment never moves to another deployment');
END;
`;
