/**
 * Whether a store call failed because the database could not be reached (PostgreSQL stopped, restarting,
 * failing over, or cut off), as opposed to refusing the write: the same call may succeed once it is back,
 * so a caller that must not lose what it writes (an agent's report) retries it instead of giving up.
 * Recognises node-postgres's connection failures and PostgreSQL's connection-class SQLSTATEs, also when
 * wrapped (`cause`); a FerryError UNAVAILABLE counts too. SQLite (a local file) never reports this.
 */
import { isFerryError } from '../../common/errors.js';

/** SQLSTATE classes and codes of a lost or refused connection (PostgreSQL appendix A). */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006', '08007', '08P01']);
/** Socket errors of a connection that could not be made or was cut. */
const ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN', 'ECONNABORTED']);
/** node-postgres's own messages for the same (it sets no code on them). */
const MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed)/;

export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isFerryError(e, 'UNAVAILABLE')) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (SQLSTATES.has(code) || ERRNOS.has(code))) return true;
    if (MESSAGES.test(e.message)) return true;
    if (e instanceof AggregateError && e.errors.some(isStoreUnavailable)) return true;
  }
  return false;
}
