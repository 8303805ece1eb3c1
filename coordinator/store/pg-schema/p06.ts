/**
 * PostgreSQL migration 6, frozen: applied databases hold exactly this text (test/unit/pg-migrations-frozen.test.ts).
 * Never edit it; add the next one. SQLite's migration 22 (store/schema/v22.ts) in PostgreSQL's terms:
 * deployment_host_counts, how many of a deployment's host deployments are in each status, kept by a row
 * trigger in the transaction that inserts, moves or deletes them, backfilled here from the rows. One row
 * per deployment, so one row lock: the triggers are deferred to the commit (constraint triggers), when
 * the transaction holds every host deployment row it changed and needs no other, so two transactions
 * changing one deployment's hosts (two replicas' agent reports, a stop) queue on that lock only for
 * their commits and cannot deadlock over it; a transaction's own counts show its changes once it
 * commits. The row goes with the deployment's last host deployment. CHECKs hold every count at ≥ 0.
 */
export const P6 = `
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
  SELECT deployment_id, COUNT(*) FILTER (WHERE status = 'Pending'), COUNT(*) FILTER (WHERE status = 'InProgress'),
    COUNT(*) FILTER (WHERE status = 'Succeeded'), COUNT(*) FILTER (WHERE status = 'Failed'),
    COUNT(*) FILTER (WHERE status = 'Skipped'), COUNT(*) FILTER (WHERE status = 'Unknown')
  FROM host_deployments GROUP BY deployment_id;

CREATE FUNCTION host_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  IF TG_OP = 'UPDATE' AND NEW.deployment_id = OLD.deployment_id THEN
    UPDATE deployment_host_counts SET
      pending = pending + (NEW.status = 'Pending')::int - (OLD.status = 'Pending')::int,
      in_progress = in_progress + (NEW.status = 'InProgress')::int - (OLD.status = 'InProgress')::int,
      succeeded = succeeded + (NEW.status = 'Succeeded')::int - (OLD.status = 'Succeeded')::int,
      failed = failed + (NEW.status = 'Failed')::int - (OLD.status = 'Failed')::int,
      skipped = skipped + (NEW.status = 'Skipped')::int - (OLD.status = 'Skipped')::int,
      unknown = unknown + (NEW.status = 'Unknown')::int - (OLD.status = 'Unknown')::int
    WHERE deployment_id = NEW.deployment_id;
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE deployment_host_counts SET
      pending = pending - (OLD.status = 'Pending')::int, in_progress = in_progress - (OLD.status = 'InProgress')::int,
      succeeded = succeeded - (OLD.status = 'Succeeded')::int, failed = failed - (OLD.status = 'Failed')::int,
      skipped = skipped - (OLD.status = 'Skipped')::int, unknown = unknown - (OLD.status = 'Unknown')::int
    WHERE deployment_id = OLD.deployment_id;
    DELETE FROM deployment_host_counts WHERE deployment_id = OLD.deployment_id
      AND pending + in_progress + succeeded + failed + skipped + unknown = 0;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO deployment_host_counts AS c (deployment_id, pending, in_progress, succeeded, failed, skipped, unknown)
    VALUES (NEW.deployment_id, (NEW.status = 'Pending')::int, (NEW.status = 'InProgress')::int, (NEW.status = 'Succeeded')::int,
      (NEW.status = 'Failed')::int, (NEW.status = 'Skipped')::int, (NEW.status = 'Unknown')::int)
    ON CONFLICT (deployment_id) DO UPDATE SET
      pending = c.pending + EXCLUDED.pending, in_progress = c.in_progress + EXCLUDED.in_progress,
      succeeded = c.succeeded + EXCLUDED.succeeded, failed = c.failed + EXCLUDED.failed,
      skipped = c.skipped + EXCLUDED.skipped, unknown = c.unknown + EXCLUDED.unknown;
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER host_counts_insert_delete AFTER INSERT OR DELETE ON host_deployments
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION host_counts_change();
CREATE CONSTRAINT TRIGGER host_counts_update AFTER UPDATE OF status, deployment_id ON host_deployments
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.deployment_id IS DISTINCT FROM OLD.deployment_id) EXECUTE FUNCTION host_counts_change();
`;
