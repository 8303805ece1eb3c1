import type { Store } from './store.js';

/**
 * The Store with every method returning a Promise: what the PostgreSQL store implements
 * (pg-store.ts) and `openStore` (open.ts) returns. Once the coordinator's own Store is asynchronous,
 * this becomes an alias of it.
 */
export type AsyncStore = {
  [K in keyof Store as K extends 'transaction' ? never : K]: Store[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : Store[K]
} & {
  /**
   * Runs `fn` (which calls this store's methods) and resolves to what it returns. Not one transaction
   * yet: each call inside runs in its own (PgStore.transaction, docs/high-availability.md).
   */
  transaction<T>(fn: () => T): Promise<Awaited<T>>;
};
