/**
 * Opens the store the configuration names (pg-config.ts): SQLite in the data dir, or PostgreSQL.
 */
import type { PgConnection, StoreConfig } from './pg-config.js';
import { type PgStore, openPgStore } from './pg-store.js';
import { openStore as openSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.engine === 'sqlite') return openSqliteStore(config.file);
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
