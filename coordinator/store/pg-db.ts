/**
 * The PostgreSQL store's plumbing: a pool whose 64-bit integers come back as numbers, named parameters
 * (`@name`, as the SQLite statements write them) turned into `$n`, transactions on one pooled client,
 * and constraint failures turned into FerryErrors as `sqlite-errors.ts` does for SQLite.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { FerryError } from '../../common/errors.js';
import { sqlList } from './sqlite-statements.js';

export type Params = Record<string, unknown>;

/** Something that runs a query: the pool, or the client of an open transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** COUNT(*), identities and BIGINT columns (int8) as numbers: every value Ferry keeps is far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: string) => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

/**
 * How long PostgreSQL lets one of the coordinator's sessions sit idle inside a transaction before it ends
 * the session (`idle_in_transaction_session_timeout`). The coordinator's transactions wait on nothing but
 * their own statements (milliseconds), so a transaction idle this long belongs to a replica that is paused
 * or cut off from the database, and the server would otherwise keep its row locks until TCP noticed (hours):
 * every other replica's write to those rows (an agent's result re-sent to another replica) would wait.
 */
export const IDLE_IN_TRANSACTION_MS = 5000;

/** How long one statement may go unanswered before it fails (createPool). */
export const QUERY_TIMEOUT_MS = 30_000;

export function createPool(config: pg.PoolConfig): pg.Pool {
  // A database that does not answer (cut network, hung server) fails a new connection after 10 s instead of
  // leaving the caller waiting forever (pg's default): leases and retries need an answer, even "no".
  // A statement with no answer for QUERY_TIMEOUT_MS (a partition: the connection's packets go nowhere, and TCP
  // takes minutes to say so) fails, and its connection leaves the pool, instead of hanging its caller.
  const pool = new pg.Pool({
    max: 10, connectionTimeoutMillis: 10_000, idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS, query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true, ...config, types,
  });
  // An idle client losing its server (a restart, a failover) must not crash the coordinator: the pool drops it.
  pool.on('error', () => undefined);
  return pool;
}

const compiled = new Map<string, { text: string; names: string[] }>();

/** `WHERE id = @id` → `WHERE id = $1` with its names in order (cached per statement text). */
function compile(sql: string): { text: string; names: string[] } {
  let found = compiled.get(sql);
  if (found === undefined) {
    const names: string[] = [];
    const text = sql.replace(/@([a-z_][a-z0-9_]*)/gi, (_, name: string) => {
      let i = names.indexOf(name);
      if (i < 0) i = names.push(name) - 1;
      return `$${i + 1}`;
    });
    found = { text, names };
    compiled.set(sql, found);
  }
  return found;
}

/** Runs `sql` with named parameters; a name missing from `params` is an error (a typo, not NULL). */
export async function run<R extends pg.QueryResultRow = Record<string, unknown>>(q: Queryable, sql: string, params: Params = {}): Promise<pg.QueryResult<R>> {
  const { text, names } = compile(sql);
  const values = names.map(n => {
    if (!(n in params)) throw new FerryError('INTERNAL', `query parameter @${n} not given`);
    return params[n];
  });
  const tx = q instanceof pg.Pool ? open.getStore() : undefined;
  const client = tx?.live ? tx.client : undefined;
  if (client === undefined) return q.query<R>(text, values);
  // A statement of an open `withTransaction(fn)`: on its client, in a savepoint, so a failure the caller
  // catches does not abort the rest of the transaction (as a failed statement does not on SQLite).
  return inSavepoint(client, () => client.query<R>(text, values));
}

/**
 * The client of the `withTransaction(fn)` the caller runs in, if any, while it is open. Work started from
 * inside and still running after it ended (a timer, a promise left running) sees `live` false and uses the
 * pool: it was never part of the transaction (coordinator/async.ts `detached`).
 */
const open = new AsyncLocalStorage<{ client: pg.PoolClient; live: boolean; ended?: (() => void)[] }>();

/**
 * Runs `fn` once the `withTransaction` the caller runs in has ended (committed or rolled back), or now
 * outside one: a change notification made inside a transaction must not wake a watcher (on this replica
 * or, through the bus, another) before what changed is visible to its reads.
 */
export function afterTransaction(fn: () => void): void {
  const tx = open.getStore();
  if (tx?.live !== true) fn();
  else (tx.ended ??= []).push(fn);
}
let savepoints = 0;

async function inSavepoint<T>(client: pg.PoolClient, body: () => Promise<T>): Promise<T> {
  const name = `ferry_${++savepoints}`;
  await client.query(`SAVEPOINT ${name}`);
  try {
    const result = await body();
    await client.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (err) {
    await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
    throw err;
  }
}

/**
 * Runs `fn` in one transaction on one pooled client: every query on the pool made from `fn`'s async
 * context (`run` and friends, `transaction`) goes to that client, a `transaction` inside as a savepoint.
 * COMMIT when `fn` resolves, ROLLBACK when it rejects. Inside one already, `fn` is part of it.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: () => Promise<T>): Promise<T> {
  if (open.getStore()?.live === true) return fn();
  const ended: (() => void)[] = [];
  try {
    return await transaction(pool, async client => {
      const tx = { client, live: true, ended };
      try {
        return await open.run(tx, fn);
      } finally {
        tx.live = false;
      }
    });
  } finally {
    for (const then of ended) then();
  }
}

export async function rows<R extends pg.QueryResultRow = Record<string, unknown>>(q: Queryable, sql: string, params?: Params): Promise<R[]> {
  return (await run<R>(q, sql, params)).rows;
}

export async function one<R extends pg.QueryResultRow = Record<string, unknown>>(q: Queryable, sql: string, params?: Params): Promise<R | undefined> {
  return (await run<R>(q, sql, params)).rows[0];
}

export async function changes(q: Queryable, sql: string, params?: Params): Promise<number> {
  return (await run(q, sql, params)).rowCount ?? 0;
}

/** Runs `body` in one transaction on a dedicated client: COMMIT when it returns, ROLLBACK when it throws. */
export async function transaction<T>(pool: pg.Pool, body: (q: pg.PoolClient) => Promise<T>): Promise<T> {
  const tx = open.getStore();
  const outer = tx?.live ? tx.client : undefined;
  if (outer !== undefined) return inSavepoint(outer, () => body(outer));
  const client = await pool.connect();
  let broken = false;
  // While checked out, a client whose server goes away (a restart, a failover, a cut network, the
  // idle-in-transaction limit after this process was paused) emits
  // 'error'; unheard, that event would take the whole coordinator down. Its next query rejects anyway.
  const lost = (): void => { broken = true; };
  client.on('error', lost);
  try {
    await client.query('BEGIN');
    try {
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone: do not give it back to the pool
      }
      throw err;
    }
  } finally {
    client.off('error', lost);
    client.release(broken);
  }
}

/** A parent row a write refers to, by name, with a look-up that is `undefined` when it is missing. */
export type PgParent = readonly [name: string, lookUp: () => Promise<unknown>];

interface PgError { code?: string; constraint?: string; message: string }

const pgError = (err: unknown): PgError | undefined =>
  err instanceof Error && typeof (err as PgError).code === 'string' && /^[0-9A-Z]{5}$/.test((err as PgError).code!) ? (err as PgError) : undefined;

/** The partial unique index "one active deployment per group" refused a change. */
export function isActiveDeploymentConflict(err: unknown): boolean {
  const e = pgError(err);
  return e?.code === '23505' && e.constraint === 'deployments_one_active_per_group';
}

/**
 * Runs one write and turns constraint failures into FerryErrors naming `what`, as SQLite's `guard`: a
 * duplicate key ALREADY_EXISTS, a missing parent NOT_FOUND (the first of `parents` absent, looked up
 * outside any failed transaction), a second active deployment CONFLICT, a failed CHECK, NOT NULL or
 * JSON INVALID_ARGUMENT. Anything else is rethrown as is.
 */
export async function guard<T>(what: string, write: () => Promise<T>, parents: readonly PgParent[] = []): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw (await explain(err, what, parents)) ?? err;
  }
}

async function explain(err: unknown, what: string, parents: readonly PgParent[]): Promise<FerryError | undefined> {
  const e = pgError(err);
  switch (e?.code) {
    case '23505':
      if (isActiveDeploymentConflict(err)) return new FerryError('CONFLICT', `${what}: its group already has an active deployment`, { cause: err });
      return new FerryError('ALREADY_EXISTS', `${what} already exists`, { cause: err });
    case '23503': {
      for (const [name, lookUp] of parents) {
        if ((await lookUp()) === undefined) return new FerryError('NOT_FOUND', `${name} not found`, { cause: err });
      }
      return new FerryError('NOT_FOUND', `${what} refers to something that does not exist`, { cause: err });
    }
    case '23514':
    case '23502':
    case '22P02':
      return new FerryError('INVALID_ARGUMENT', `${what} is invalid (${e.message})`, { cause: err });
    default:
      return undefined;
  }
}

/** `INSERT INTO table (a, b) VALUES (@a, @b)`. */
export const insertSql = (table: string, columns: readonly string[]): string =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(c => `@${c}`).join(', ')})`;

/** `column IN ('a', 'b')`, or FALSE for no values (PostgreSQL, unlike SQLite, refuses an empty IN list). */
export const inList = (column: string, values: readonly string[]): string =>
  (values.length === 0 ? 'FALSE' : `${column} IN (${sqlList(values)})`);
