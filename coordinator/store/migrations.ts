import type { Database } from 'better-sqlite3';
import { FerryError } from '../../common/errors.js';
import { V1 } from './schema/v01.js';
import { V2 } from './schema/v02.js';
import { V3 } from './schema/v03.js';
import { V4 } from './schema/v04.js';
import { V5 } from './schema/v05.js';
import { V6 } from './schema/v06.js';
import { V7 } from './schema/v07.js';
import { V8 } from './schema/v08.js';
import { V9 } from './schema/v09.js';
import { V10 } from './schema/v10.js';
import { V11 } from './schema/v11.js';
import { V12 } from './schema/v12.js';
import { V13 } from './schema/v13.js';
import { V14 } from './schema/v14.js';
import { V15 } from './schema/v15.js';
import { V16 } from './schema/v16.js';
import { V17 } from './schema/v17.js';
import { V18 } from './schema/v18.js';
import { V19 } from './schema/v19.js';
import { V20 } from './schema/v20.js';
import { V21 } from './schema/v21.js';
import { V22 } from './schema/v22.js';
import { V23 } from './schema/v23.js';
/**
 * Numbered schema migrations, applied in order, one transaction each, tracked in
 * `PRAGMA user_version`. Each migration's SQL is literal text in schema/vNN.ts, frozen: a database
 * migrated years ago and one made today hold the same schema. Never edit an applied migration
 * (a test holds their hashes): add the next one. SQLite cannot alter a CHECK, so adding a status or
 * a creator means a migration that rebuilds the table (`rebuild`, as V14).
 */
export interface Migration {
  version: number;
  up: string;
  /**
   * A table rebuild (SQLite's way to change a CHECK): create the new table, copy, drop the old,
   * rename. Run with foreign keys off and legacy renames (so references to the table, which five
   * others hold, stay as they are), then `foreign_key_check` must find nothing before commit.
   */
  rebuild?: boolean;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, up: V1 }, { version: 2, up: V2 }, { version: 3, up: V3 }, { version: 4, up: V4 }, { version: 5, up: V5 },
  { version: 6, up: V6 }, { version: 7, up: V7 }, { version: 8, up: V8 }, { version: 9, up: V9 }, { version: 10, up: V10 }, { version: 11, up: V11 },
  { version: 12, up: V12 }, { version: 13, up: V13 }, { version: 14, up: V14, rebuild: true },
  { version: 15, up: V15 },
  { version: 16, up: V16 },
  { version: 17, up: V17 },
  { version: 18, up: V18 },
  { version: 19, up: V19 },
  { version: 20, up: V20 },
  { version: 21, up: V21 },
  { version: 22, up: V22 },
  { version: 23, up: V23 },
];

/**
 * Applies the migrations newer than the database's `user_version`, each in its own transaction
 * (a failing one leaves the database at the previous version). Returns the versions applied.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new FerryError('INVALID_ARGUMENT', `migration ${i + 1} is numbered ${m.version}`);
  });
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new FerryError(
      'FAILED_PRECONDITION',
      `database schema version ${current} is newer than this coordinator's (${migrations.length})`,
    );
  }
  const applied: number[] = [];
  for (const m of migrations.slice(current)) {
    const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
    if (m.rebuild) {
      db.pragma('foreign_keys = OFF'); // no effect inside a transaction: set before it
      db.pragma('legacy_alter_table = ON');
    }
    try {
      db.transaction(() => {
        db.exec(m.up);
        if (m.rebuild) {
          const broken = db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
          if (broken.length > 0) {
            throw new FerryError('INTERNAL', `migration ${m.version} would break ${broken.length} foreign key(s), e.g. ${broken[0]!.table} row ${broken[0]!.rowid} → ${broken[0]!.parent}`);
          }
        }
        db.pragma(`user_version = ${m.version}`);
      })();
    } finally {
      if (m.rebuild) {
        db.pragma('legacy_alter_table = OFF');
        db.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
      }
    }
    applied.push(m.version);
  }
  return applied;
}
