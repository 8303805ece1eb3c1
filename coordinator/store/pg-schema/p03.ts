/**
 * PostgreSQL migration 3, frozen: applied databases hold exactly this text (test/unit/pg-migrations-frozen.test.ts).
 * Never edit it; add the next one. Revision bytes in the database, so that every coordinator replica can serve
 * them and no replica's disk is the only copy (coordinator/store/pg-revisions.ts, docs/high-availability.md):
 * - revision_blobs: one row per stored digest, written in the same transaction as all its chunks, so a row
 *   means the bytes are complete;
 * - revision_chunks: the bytes in order, 1 MiB per row (stored out of line by TOAST, uncompressed:
 *   revisions are already compressed archives).
 */
export const P3 = `
CREATE TABLE revision_blobs (
  digest    TEXT PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{64}$'),
  size      BIGINT NOT NULL CHECK (size >= 0),
  chunks    INTEGER NOT NULL CHECK (chunks >= 0),
  stored_at TEXT NOT NULL
);

CREATE TABLE revision_chunks (
  digest TEXT NOT NULL REFERENCES revision_blobs (digest) ON DELETE CASCADE,
  seq    INTEGER NOT NULL CHECK (seq >= 0),
  data   BYTEA NOT NULL,
  PRIMARY KEY (digest, seq)
);
ALTER TABLE revision_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
`;
