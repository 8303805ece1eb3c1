/**
 * PostgreSQL migration 7, frozen: applied databases hold exactly this text (test/unit/pg-migrations-frozen.test.ts).
 * Never edit it; add the next one. SQLite's migration 23 (store/schema/v23.ts) in PostgreSQL's terms:
 * deliveries.claimed_at, when (epoch ms) a replica claimed the delivery for an attempt, NULL once the attempt is
 * recorded (the same columns on both engines, for migrate-store).
 */
export const P7 = `
ALTER TABLE deliveries ADD COLUMN claimed_at BIGINT;
`;
