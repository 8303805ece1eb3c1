import { existsSync, promises as fs, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { FerryError, describeError } from '../../common/errors.js';
import { type HostLock, acquireHostLock } from '../../common/pid-lock.js';

/**
 * What keeps a coordinator's data dir safe: one coordinator per data dir (a lock file holding its
 * pid), no start on a damaged or emptied database next to existing state, and an online backup.
 * Restore is documented in docs/coordinator.md ("Backup and restore").
 */

export const DATABASE_FILE = 'ferry.db';
const LOCK_FILE = 'coordinator.lock';
const RESTORE = 'restore DATA/ferry.db from a backup (ferry-coordinator backup; see docs/coordinator.md, "Backup and restore")';

/** Takes the data dir for this process, or refuses naming the coordinator that has it. */
export function lockDataDir(dataDir: string): Promise<HostLock> {
  return acquireHostLock(path.join(dataDir, LOCK_FILE), {
    wait: false,
    busy: (holder, file) => `data dir ${dataDir} is in use by another ferry-coordinator (pid ${holder.pid}, since ${holder.since}): ` +
      `stop it first; two coordinators on one data dir would undo each other (lock file ${file})`,
  });
}

/** State a data dir holds besides the database: issued certificates, stored revisions. */
function existingState(dataDir: string): string | undefined {
  if (existsSync(path.join(dataDir, 'tls', 'ca.crt'))) return 'tls/ca.crt';
  const revisions = path.join(dataDir, 'revisions', 'sha256');
  try {
    if (readdirSync(revisions).length > 0) return 'revisions/';
  } catch {
    // no revisions yet
  }
  return undefined;
}

/**
 * Before the store opens: a missing or 0-byte database next to existing state is refused (it would
 * start as an empty coordinator, every deployment and host silently gone).
 */
export function checkDatabaseFile(dataDir: string): void {
  const file = path.join(dataDir, DATABASE_FILE);
  const size = existsSync(file) ? statSync(file).size : undefined;
  if (size !== undefined && size > 0) return;
  const state = existingState(dataDir);
  if (!state) return;
  throw new FerryError('FAILED_PRECONDITION',
    `${file} is ${size === undefined ? 'missing' : 'empty (0 bytes)'} but ${path.join(dataDir, state)} exists: this data dir had a database. ` +
    `Starting would begin again with no applications, deployments or hosts. ${RESTORE}; or, to really start over, move the data dir away`);
}

function damaged(dataDir: string, problems: string[]): FerryError {
  return new FerryError('FAILED_PRECONDITION',
    `${path.join(dataDir, DATABASE_FILE)} is damaged (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; ${problems.length - 3} more` : ''}): ${RESTORE}`);
}

/** SQLite said the file is corrupt or not a database (anywhere in the cause chain). */
function isCorruption(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') return true;
  }
  return false;
}

/**
 * Opens the store and runs `PRAGMA quick_check`: a database SQLite finds corrupt, on opening or in
 * the check, is refused with how to restore it (it would otherwise serve "malformed" errors).
 */
export function openVerifiedStore<S extends { quickCheck(): string[]; close(): void }>(dataDir: string, open: (file: string) => S): S {
  let store: S;
  try {
    store = open(path.join(dataDir, DATABASE_FILE));
  } catch (err) {
    throw isCorruption(err) ? damaged(dataDir, [describeError(err)]) : err;
  }
  let problems: string[];
  try {
    problems = store.quickCheck().filter(p => p !== 'ok');
  } catch (err) {
    problems = [describeError(err)];
  }
  if (problems.length === 0) return store;
  store.close();
  throw damaged(dataDir, problems);
}

/**
 * `ferry-coordinator backup`: a consistent copy of the database while the coordinator runs
 * (SQLite's online backup; WAL lets it read beside the writer). Written to a temporary file and
 * renamed, so `to` is whole or absent. Returns the pages copied.
 */
export async function backupDatabase(dataDir: string, to: string): Promise<{ file: string; bytes: number }> {
  const file = path.join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) throw new FerryError('NOT_FOUND', `${file} does not exist: --data must name a coordinator's data dir`);
  const target = path.resolve(to);
  if (target === path.resolve(file)) throw new FerryError('INVALID_ARGUMENT', '--to: that is the database itself');
  const partial = `${target}.partial-${process.pid}`;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(partial);
  } catch (err) {
    await fs.rm(partial, { force: true });
    throw new FerryError('INTERNAL', `backup of ${file} to ${target} failed: ${describeError(err)}`, { cause: err });
  } finally {
    db.close();
  }
  const copy = new Database(partial, { readonly: true });
  try {
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new FerryError('INTERNAL', `the backup in ${partial} does not verify: ${String(check)}`);
  } finally {
    copy.close();
  }
  await fs.chmod(partial, 0o600);
  await fs.rename(partial, target);
  return { file: target, bytes: (await fs.stat(target)).size };
}
