import Database from 'better-sqlite3';
import { FerryError } from '../../common/errors.js';

/** A parent row a write refers to, by name, with a look-up that is `undefined` when it is missing. */
export type Parent = readonly [name: string, lookUp: () => unknown];

/**
 * Runs one write and turns constraint failures into FerryErrors that name `what`: a duplicate
 * key is ALREADY_EXISTS, a missing parent NOT_FOUND (naming the first of `parents` that is
 * absent), a second active deployment of a group CONFLICT, a failed CHECK or NOT NULL
 * INVALID_ARGUMENT. Anything else is rethrown as is.
 */
export function guard(what: string, run: () => unknown, parents: readonly Parent[] = []): void {
  try {
    run();
  } catch (err) {
    throw explain(err, what, parents) ?? err;
  }
}

function explain(err: unknown, what: string, parents: readonly Parent[]): FerryError | undefined {
  if (!(err instanceof Database.SqliteError)) return undefined;
  switch (err.code) {
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
    case 'SQLITE_CONSTRAINT_UNIQUE':
      if (isActiveDeploymentConflict(err)) {
        return new FerryError('CONFLICT', `${what}: its group already has an active deployment`, { cause: err });
      }
      return new FerryError('ALREADY_EXISTS', `${what} already exists`, { cause: err });
    case 'SQLITE_CONSTRAINT_FOREIGNKEY': {
      const missing = parents.find(([, lookUp]) => lookUp() === undefined);
      const message = missing === undefined ? `${what} refers to something that does not exist` : `${missing[0]} not found`;
      return new FerryError('NOT_FOUND', message, { cause: err });
    }
    case 'SQLITE_CONSTRAINT_CHECK':
    case 'SQLITE_CONSTRAINT_NOTNULL':
      return new FerryError('INVALID_ARGUMENT', `${what} is invalid (${err.message})`, { cause: err });
    default:
      return undefined;
  }
}

/** The partial unique index "one active deployment per group" refused a change. */
export function isActiveDeploymentConflict(err: unknown): boolean {
  return err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    err.message.includes('deployments.group_id');
}
