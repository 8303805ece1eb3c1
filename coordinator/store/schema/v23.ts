/**
 * Migration 23, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * deliveries.claimed_at: when (epoch ms) a coordinator claimed the delivery for an attempt (Store.claimDeliveries),
 * NULL once that attempt is recorded. A claim moves next_attempt_at past the attempt's time limit, like a retry's
 * backoff does; this column tells the two apart, so a coordinator starting on this database (the only one: the
 * data-dir lock) can release the claims of the process before it (Store.releaseDeliveryClaims) without cutting
 * any backoff short. Claims taken before this migration have no claimed_at and lapse as before.
 */
export const V23 = `
ALTER TABLE deliveries ADD COLUMN claimed_at INTEGER;
`;
