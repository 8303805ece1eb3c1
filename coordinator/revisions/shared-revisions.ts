/**
 * Where revision bytes live when several coordinator replicas share one store
 * (docs/high-availability.md, "Revisions"): every replica can read them and no replica's disk is the only
 * copy. `RevisionStore` keeps its files under the data dir as a cache in front of this and writes an
 * upload here before it acknowledges it. The PostgreSQL implementation is `store/pg-revisions.ts`.
 */
export interface SharedRevisions {
  /** The size of the stored bytes, or `undefined` when the shared store does not hold them (all of them). */
  size(digest: string): Promise<number | undefined>;
  /** Stores the bytes of `file` (already hashed to `digest` by the caller); nothing when they are there already. */
  put(digest: string, file: string): Promise<void>;
  /** Hands the stored bytes to `sink` in order, one chunk at a time (the next is read when `sink` resolves). */
  read(digest: string, sink: (chunk: Buffer) => Promise<void>): Promise<void>;
  /** Removes the bytes (nothing when absent). */
  delete(digest: string): Promise<void>;
}
