import type { Store } from './store.js';

/**
 * The Store with every method returning a Promise: what the PostgreSQL store implements
 * (pg-store.ts) and `openStore` (open.ts) returns. Once the coordinator's own Store is asynchronous,
 * this becomes an alias of it.
 */
export type AsyncStore = { [K in keyof Store]: Store[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : Store[K] };
