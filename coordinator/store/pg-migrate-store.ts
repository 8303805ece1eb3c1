/**
 * `ferry-coordinator migrate-store --from DIR --to postgres://…`: copies a stopped coordinator's whole
 * state from its SQLite data dir into an empty PostgreSQL database (docs/high-availability.md), every
 * table in one transaction, then verifies the row count of each before it commits.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Command, CommanderError } from 'commander';
import { FerryError, describeError, isFerryError } from '../../common/errors.js';
import { DATABASE_FILE, checkDatabaseFile, lockDataDir } from './data-dir.js';
import { MIGRATIONS } from './migrations.js';
import { type PgConnection, parsePostgresUrl } from './pg-config.js';
import { type Queryable, transaction } from './pg-db.js';
import type { PgStore } from './pg-store.js';
import { openPostgres } from './open.js';
import { PgRevisions } from './pg-revisions.js';

/** Every table of the store, parents before children; `ord`: the table keeps SQLite's rowid order in an `ord` column. */
export const STORE_TABLES: readonly { name: string; ord?: true }[] = [
  { name: 'applications' }, { name: 'deployment_configs' }, { name: 'deployment_groups' }, { name: 'revisions', ord: true },
  { name: 'hosts' }, { name: 'schedules', ord: true }, { name: 'deployments', ord: true }, { name: 'host_deployments', ord: true },
  { name: 'deployment_host_counts' },
  { name: 'lifecycle_events', ord: true }, { name: 'log_lines' }, { name: 'host_revisions' }, { name: 'auto_deployments' },
  { name: 'tokens' }, { name: 'console_sessions', ord: true }, { name: 'host_certificates' }, { name: 'host_tags' }, { name: 'plans' }, { name: 'audit' },
  { name: 'events' }, { name: 'triggers' }, { name: 'deliveries' },
];

/** Identity columns and where their next value must start (past every copied one, and past SQLite's sqlite_sequence). */
const IDENTITIES: readonly [table: string, column: string][] = [
  ['revisions', 'ord'], ['schedules', 'ord'], ['deployments', 'ord'], ['host_deployments', 'ord'], ['lifecycle_events', 'ord'],
  ['console_sessions', 'ord'], ['log_lines', 'seq'], ['audit', 'seq'], ['events', 'seq'], ['triggers', 'id'], ['deliveries', 'id'],
];

/** Tables whose triggers append events or keep counts: off while copying (the copied events and deployment_host_counts are the history). */
const TRIGGERED = ['deployments', 'host_deployments', 'lifecycle_events', 'events'];

const BATCH = 500;

export interface MigrateStoreResult {
  from: string;
  to: string;
  /** Rows per table, equal in both stores. */
  tables: Record<string, number>;
  total: number;
  /** The revisions' bytes copied into the database (revision_blobs), one per digest, each hashed again first. */
  revisionBytes: { digests: number; bytes: number };
}

/** Copies DIR/ferry.db into the (empty) PostgreSQL database; refuses a running source or a non-empty target. */
export async function migrateStore(dataDir: string, target: PgConnection): Promise<MigrateStoreResult> {
  checkDatabaseFile(dataDir);
  const file = path.join(dataDir, DATABASE_FILE);
  const lock = await lockDataDir(dataDir);
  try {
    const source = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const version = source.pragma('user_version', { simple: true }) as number;
      if (version !== MIGRATIONS.length) {
        throw new FerryError('FAILED_PRECONDITION', `${file} is at schema version ${version}, this coordinator's is ${MIGRATIONS.length}: ` +
          'start this version of ferry-coordinator on it once (it migrates the file), stop it, then run migrate-store');
      }
      const store = await openPostgres(target, 2);
      try {
        await transaction(store.pool, refuseNonEmpty);
        // The bytes first, each in its own transaction and skipped when there: a copy that fails halfway
        // commits no table, so migrate-store can simply run again.
        const revisionBytes = await copyRevisionBytes(source, dataDir, new PgRevisions(store.pool));
        return { from: file, to: target.display, ...(await copy(source, store)), revisionBytes };
      } finally {
        await store.close();
      }
    } finally {
      source.close();
    }
  } finally {
    await lock.release();
  }
}

/** The source's tables this copy would leave behind (none: a migration adding a table adds it to STORE_TABLES). */
export function uncopiedTables(source: Database.Database): string[] {
  const names = (source.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all() as { name: string }[]).map(r => r.name);
  return names.filter(name => !STORE_TABLES.some(t => t.name === name));
}

async function copy(source: Database.Database, store: PgStore): Promise<{ tables: Record<string, number>; total: number }> {
  const left = uncopiedTables(source);
  if (left.length > 0) throw new FerryError('INTERNAL', `migrate-store does not know how to copy table(s) ${left.join(', ')} of the SQLite store; nothing was copied`);
  return transaction(store.pool, async q => {
    await refuseNonEmpty(q);
    await q.query("DELETE FROM deployment_configs WHERE built_in = 1"); // the source's own built-ins come with the copy
    await q.query('SET CONSTRAINTS ALL DEFERRED');
    for (const table of TRIGGERED) await q.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
    const tables: Record<string, number> = {};
    for (const { name, ord } of STORE_TABLES) {
      const columns = (source.pragma(`table_info(${name})`) as { name: string }[]).map(c => c.name);
      const targetColumns = [...columns, ...(ord ? ['ord'] : [])];
      const read = source.prepare(`SELECT ${ord ? 'rowid AS ord, ' : ''}${columns.join(', ')} FROM ${name} ORDER BY rowid`);
      let batch: unknown[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        await q.query(`INSERT INTO ${name} (${targetColumns.join(', ')})
          SELECT ${targetColumns.join(', ')} FROM json_populate_recordset(NULL::${name}, $1::json)`, [JSON.stringify(batch)]);
        batch = [];
      };
      for (const row of read.iterate()) {
        batch.push(row);
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      const copied = Number((await q.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${name}`)).rows[0]!.n);
      const expected = (source.prepare(`SELECT COUNT(*) AS n FROM ${name}`).get() as { n: number }).n;
      if (copied !== expected) throw new FerryError('INTERNAL', `table ${name}: ${expected} rows in SQLite but ${copied} in PostgreSQL after the copy; nothing was committed`);
      tables[name] = copied;
    }
    // Every deferred reference checked now (a broken one fails the copy), then the event triggers back on.
    await q.query('SET CONSTRAINTS ALL IMMEDIATE');
    for (const table of TRIGGERED) await q.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    const sequences = new Map((source.prepare('SELECT name, seq FROM sqlite_sequence').all() as { name: string; seq: number }[]).map(r => [r.name, r.seq]));
    for (const [table, column] of IDENTITIES) {
      await q.query(`SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT COALESCE(MAX(${column}), 0) FROM ${table}), $3::bigint) + 1, false)`,
        [table, column, sequences.get(table) ?? 0]);
    }
    await q.query("SELECT setval('deployment_finish_seq', (SELECT COALESCE(MAX(finish_seq), 0) FROM deployments) + 1, false)");
    return { tables, total: Object.values(tables).reduce((a, b) => a + b, 0) };
  });
}

/**
 * Every live revision's bytes from DIR/revisions into the database, hashed again on the way (a damaged
 * file is refused, naming it). A live revision whose file is missing fails the copy: the coordinators
 * could not serve it either (delete it first: ferry revision delete).
 */
async function copyRevisionBytes(source: Database.Database, dataDir: string, shared: PgRevisions): Promise<{ digests: number; bytes: number }> {
  const live = source.prepare('SELECT DISTINCT digest FROM revisions WHERE deleted_at IS NULL ORDER BY digest').all() as { digest: string }[];
  let bytes = 0;
  for (const { digest } of live) {
    const file = path.join(dataDir, 'revisions', 'sha256', digest.slice(0, 2), digest);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of createReadStream(file)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } catch (err) {
      const name = source.prepare('SELECT application, name FROM revisions WHERE digest = ? AND deleted_at IS NULL LIMIT 1').get(digest) as { application: string; name: string };
      throw new FerryError('FAILED_PRECONDITION', `revision ${name.application}/${name.name} (${digest}) has no readable bytes at ${file} (${describeError(err)}); ` +
        `restore the file, or delete the revision first (ferry revision delete ${digest.slice(0, 12)} --app ${name.application}); nothing was copied`);
    }
    if (hash.digest('hex') !== digest) {
      throw new FerryError('CHECKSUM_MISMATCH', `${file} does not hash to ${digest}: the revision's bytes are damaged on disk; nothing was copied`);
    }
    await shared.put(digest, file);
    if ((await shared.size(digest)) !== size) throw new FerryError('INTERNAL', `revision ${digest}: ${size} bytes on disk but not as many in PostgreSQL after the copy`);
    bytes += size;
  }
  return { digests: live.length, bytes };
}

/** Anything but the built-in deployment configs means the database is in use: refused, nothing changed. */
async function refuseNonEmpty(q: Queryable): Promise<void> {
  const found: string[] = [];
  for (const { name } of STORE_TABLES) {
    const where = name === 'deployment_configs' ? ' WHERE built_in = 0' : '';
    const n = Number((await q.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${name}${where}`)).rows[0]!.n);
    if (n > 0) found.push(`${name} (${n})`);
  }
  if (found.length > 0) {
    throw new FerryError('FAILED_PRECONDITION', `the target database is not empty: ${found.join(', ')}; migrate-store copies into an empty database only (create a new one, or drop Ferry's tables)`);
  }
}

export function migrateStoreCommand(): Command {
  return new Command('migrate-store')
    .description('copy a stopped coordinator\'s whole state from its SQLite data dir into an empty PostgreSQL database, verifying the rows of every table')
    .requiredOption('--from <dir>', 'the data directory of the (stopped) coordinator (env FERRY_DATA_DIR)', process.env.FERRY_DATA_DIR)
    .requiredOption('--to <url>', 'the PostgreSQL database: postgres://user@host:port/database[?sslmode=verify-full&sslrootcert=FILE]')
    .option('--store-password-file <file>', 'a file holding the PostgreSQL password (or set FERRY_STORE_PASSWORD)')
    .option('--store-sslmode <mode>', 'TLS to PostgreSQL: disable, require, verify-ca, verify-full (default verify-full; disable on loopback)')
    .option('--store-ca-file <file>', 'the CA certificate(s) that signed the PostgreSQL server\'s certificate')
    .option('--json', 'print { from, to, tables: { name: rows }, total, revisionBytes: { digests, bytes } } as JSON')
    .exitOverride()
    .addHelpText('after', `
Stop the coordinator first (the data dir's lock is taken while copying). Everything is copied in one
transaction: applications, groups, revisions (their bytes too, hashed again), deployments,
host deployments, lifecycle events, logs, hosts and their tags, events with their sequence numbers,
triggers and pending webhook deliveries, tokens, web console sessions, certificates, audit, schedules and plans. An
empty target is required. Then start the coordinators with --store and the same URL.

Example:
  ferry-coordinator migrate-store --from /var/lib/ferry \\
    --to 'postgres://ferry@db.internal:5432/ferry' --store-password-file /etc/ferry/pg-password --store-ca-file /etc/ferry/pg-ca.crt`);
}

export async function runMigrateStoreCommand(args: string[], env: NodeJS.ProcessEnv, write: (s: string) => void, writeErr: (s: string) => void): Promise<number> {
  const program = migrateStoreCommand().configureOutput({ writeOut: write, writeErr });
  try {
    program.parse(args, { from: 'user' });
  } catch (err) {
    return err instanceof CommanderError && err.exitCode === 0 ? 0 : 2;
  }
  const opts = program.opts<{ from: string; to: string; storePasswordFile?: string; storeSslmode?: string; storeCaFile?: string; json?: boolean }>();
  try {
    const passwordFile = opts.storePasswordFile ?? (env.FERRY_STORE_PASSWORD_FILE || undefined);
    const connection = parsePostgresUrl(opts.to, {
      ...(passwordFile !== undefined && { passwordFile: path.resolve(passwordFile) }),
      ...(env.FERRY_STORE_PASSWORD && { passwordEnv: env.FERRY_STORE_PASSWORD }),
      ...(opts.storeSslmode !== undefined && { sslmode: opts.storeSslmode }),
      ...(opts.storeCaFile !== undefined && { caFile: path.resolve(opts.storeCaFile) }),
    }, '--to');
    const r = await migrateStore(path.resolve(opts.from), connection);
    if (opts.json) {
      write(`${JSON.stringify(r)}\n`);
    } else {
      const width = Math.max(...Object.keys(r.tables).map(n => n.length));
      write(`copied ${r.from} to ${r.to} (every table's rows counted in both, equal):\n`);
      for (const [name, n] of Object.entries(r.tables)) write(`  ${name.padEnd(width)}  ${n}\n`);
      write(`  ${'total'.padEnd(width)}  ${r.total}\n`);
      write(`revision bytes: ${r.revisionBytes.digests} revision(s), ${r.revisionBytes.bytes} bytes, each hashed again, stored in the database\n`);
    }
    return 0;
  } catch (err) {
    writeErr(`ferry-coordinator migrate-store: ${describeError(err)}\n`);
    return isFerryError(err, 'INVALID_ARGUMENT') || isFerryError(err, 'NOT_FOUND') ? 2 : 1;
  }
}
