/**
 * The synchronous SQLite store behind the `AsyncStore` interface, for the contract suite that runs
 * against both engines (test/contract/). Each call runs at once and its result (or error) comes back
 * as a promise. It goes away when the coordinator's Store itself is asynchronous.
 */
import type { AsyncStore } from '../../coordinator/store/async-store.js';
import type { Store } from '../../coordinator/store/store.js';

export function asyncSqlite(store: Store): AsyncStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  }) as unknown as AsyncStore;
}
