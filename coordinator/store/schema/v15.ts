/**
 * Migration 15, frozen (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Truthful rollouts: `finish_seq` orders deployments by when they ended with a sequence, not a
 * wall clock (the group's target revision is the last successful one by it; existing rows are
 * numbered by completed_at); `desired` is what the coordinator wants of a host deployment (run or
 * stop), apart from the status the agent reports; `require_all_hosts` makes an offline target fail
 * the deployment.
 */
export const V15 = `
ALTER TABLE deployments ADD COLUMN finish_seq INTEGER;
UPDATE deployments SET finish_seq = (
  SELECT COUNT(*) FROM deployments AS d2
  WHERE d2.completed_at IS NOT NULL
    AND (d2.completed_at < deployments.completed_at OR (d2.completed_at = deployments.completed_at AND d2.rowid <= deployments.rowid)))
WHERE completed_at IS NOT NULL;
CREATE INDEX deployments_by_finish ON deployments (group_id, status, finish_seq);
ALTER TABLE deployments ADD COLUMN require_all_hosts INTEGER NOT NULL DEFAULT 0 CHECK (require_all_hosts IN (0, 1));
ALTER TABLE host_deployments ADD COLUMN desired TEXT NOT NULL DEFAULT 'run' CHECK (desired IN ('run', 'stop'));
`;
