/**
 * Opens the store the configuration names (pg-config.ts): SQLite in the data dir, or PostgreSQL.
 * Both come back as an `AsyncStore`; the SQLite store, still synchronous, through a promise adapter
 * (it goes away once the coordinator's Store is asynchronous).
 */
import type { AsyncStore } from './async-store.js';
import type { PgConnection, StoreConfig } from './pg-config.js';
import { type PgStore, openPgStore } from './pg-store.js';
import { openStore as openSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

export async function openStore(config: StoreConfig): Promise<AsyncStore> {
  if (config.engine === 'sqlite') return promised(openSqliteStore(config.file));
  return openPostgres(config.connection);
}

/** The PostgreSQL store for a connection (migrated, under the advisory lock). */
export function openPostgres(c: PgConnection, max?: number): Promise<PgStore> {
  return openPgStore({
    host: c.host, port: c.port, user: c.user, database: c.database, ssl: c.ssl,
    ...(c.password !== undefined && { password: c.password }),
    ...(c.schema !== undefined && { schema: c.schema }),
    ...(max !== undefined && { max }),
  });
}

/**
 * A synchronous store behind the AsyncStore interface: each call runs at once, its result or error as a
 * promise. `transaction(fn)` runs `fn` and awaits what it returns, as PgStore's: the calls inside (each
 * a promise) cannot share better-sqlite3's synchronous transaction.
 */
export function promised(store: Store): AsyncStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'transaction') return async (fn: () => unknown) => await fn();
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  }) as unknown as AsyncStore;
}
