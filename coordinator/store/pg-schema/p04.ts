/**
 * PostgreSQL migration 4, frozen: applied databases hold exactly this text (test/unit/pg-migrations-frozen.test.ts).
 * Never edit it; add the next one. Leases, so that exactly one coordinator replica at a time does a piece of
 * work (a deployment group's scheduling, a cron job): coordinator/replicas/leases.ts, docs/high-availability.md.
 * - holder: the replica holding it (its replica id);
 * - epoch: raised each time the lease changes hands (or its holder takes it again after it expired), so a write
 *   fenced by an older epoch is refused;
 * - expires_at: on the database's clock (clock_timestamp()), so replicas' clocks do not matter.
 */
export const P4 = `
CREATE TABLE leases (
  name        TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
  holder      TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 200),
  epoch       BIGINT NOT NULL CHECK (epoch >= 1),
  expires_at  TIMESTAMPTZ NOT NULL,
  acquired_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX leases_holder ON leases (holder);
`;
