import type pg from 'pg';
import { FerryError } from '../../common/errors.js';
import { P1 } from './pg-schema/p01.js';
import { P2 } from './pg-schema/p02.js';
import { P3 } from './pg-schema/p03.js';
import { P4 } from './pg-schema/p04.js';
import { P5 } from './pg-schema/p05.js';
import { P6 } from './pg-schema/p06.js';
import { P7 } from './pg-schema/p07.js';

/**
 * The PostgreSQL store's own numbered migrations (SQLite's are store/migrations.ts): frozen SQL text in
 * pg-schema/pNN.ts (a test holds their hashes), applied in order, one transaction each, recorded in
 * `schema_migrations`. Several replicas may start at once: they take one advisory lock first, so one
 * migrates and the others then find nothing to do.
 */
export interface PgMigration {
  version: number;
  up: string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 1, up: P1 },
  { version: 2, up: P2 },
  { version: 3, up: P3 },
  { version: 4, up: P4 },
  { version: 5, up: P5 },
  { version: 6, up: P6 },
  { version: 7, up: P7 },
];

/** pg_advisory_lock key of the migrations: "ferry-mi" as a number, the same for every replica. */
export const MIGRATION_LOCK = 0x66657272792d6d69n;

/** Applies the migrations the database lacks; returns the versions applied (empty when it was current). */
export async function migratePg(pool: pg.Pool, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number[]> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new FerryError('INVALID_ARGUMENT', `migration ${i + 1} is numbered ${m.version}`);
  });
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`);
      const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
      const current = rows[0]?.v ?? 0;
      if (current > migrations.length) {
        throw new FerryError('FAILED_PRECONDITION', `database schema version ${current} is newer than this coordinator's (${migrations.length})`);
      }
      const applied: number[] = [];
      for (const m of migrations.slice(current)) {
        await client.query('BEGIN');
        try {
          await client.query(m.up);
          await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, new Date().toISOString()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
        applied.push(m.version);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]);
    }
  } finally {
    client.release();
  }
}
