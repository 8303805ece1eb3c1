/**
 * "The store cannot be reached" (coordinator/store/unavailable.ts) and what a client hears of it: found by
 * test/e2e/pg-outage.test.ts, where `ferry deploy create --wait` gave up on "INTERNAL: read ECONNRESET"
 * when PostgreSQL was stopped under the coordinator's WatchDeployment; as UNAVAILABLE the CLI reconnects.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { FerryError } from '../../common/errors.js';
import { toServiceError } from '../../coordinator/api/errors.js';
import { isStoreUnavailable } from '../../coordinator/store/unavailable.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

const UNREACHABLE: [string, unknown][] = [
  ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
  ['a reset connection', withCode('read ECONNRESET', 'ECONNRESET')],
  ['node-postgres: the server went away', new Error('Connection terminated unexpectedly')],
  ['node-postgres: no connection in time', new Error('timeout exceeded when trying to connect')],
  ['node-postgres: a client that lost its connection', new Error('Client has encountered a connection error and is not queryable')],
  ['PostgreSQL shutting down (57P01)', withCode('terminating connection due to administrator command', '57P01')],
  ['PostgreSQL starting up (57P03)', withCode('the database system is starting up', '57P03')],
  ['a connection failure (08006)', withCode('connection failure', '08006')],
  ['wrapped, as a cause', new Error('recording the result failed', { cause: withCode('read ECONNRESET', 'ECONNRESET') })],
  ['a FerryError UNAVAILABLE', new FerryError('UNAVAILABLE', 'no database')],
];

const REFUSED: [string, unknown][] = [
  ['a duplicate key (23505)', withCode('duplicate key value violates unique constraint', '23505')],
  ['a syntax error (42601)', withCode('syntax error at or near "x"', '42601')],
  ['a full disk', withCode('no space left on device', 'ENOSPC')],
  ['a plain error', new Error('boom')],
  ['a FerryError NOT_FOUND', new FerryError('NOT_FOUND', 'no such host')],
  ['not an error', 'ECONNRESET'],
];

t.test('the store cannot be reached: connection failures, not refusals', async t => {
  for (const [what, err] of UNREACHABLE) t.ok(isStoreUnavailable(err), what);
  for (const [what, err] of REFUSED) t.notOk(isStoreUnavailable(err), what);
});

t.test('a client hears UNAVAILABLE when the store cannot be reached, INTERNAL for an unexpected error', async t => {
  const reset = toServiceError(withCode('read ECONNRESET', 'ECONNRESET'));
  t.equal(reset.code, grpc.status.UNAVAILABLE);
  t.match(reset.details, /database cannot be reached.*read ECONNRESET/);
  t.equal(toServiceError(new Error('boom')).code, grpc.status.INTERNAL);
  t.equal(toServiceError(new FerryError('NOT_FOUND', 'gone')).code, grpc.status.NOT_FOUND, 'FerryErrors keep their table status');
});
