import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parsePostgresUrl, redact, resolveStoreConfig } from '../../coordinator/store/pg-config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-pg-config-'));
t.teardown(() => import('node:fs').then(fs => fs.rmSync(dir, { recursive: true, force: true })));
const passwordFile = path.join(dir, 'password');
writeFileSync(passwordFile, 's3cret\n');
const caFile = path.join(dir, 'ca.crt');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

t.test('SQLite in the data dir is the default: no store, empty, or sqlite', async t => {
  for (const store of [undefined, '', 'sqlite']) {
    t.same(resolveStoreConfig(store === undefined ? {} : { store }, {}, {}, '/var/lib/ferry', '/'), { engine: 'sqlite', file: '/var/lib/ferry/ferry.db' }, `store ${store}`);
  }
});

t.test('postgres:// from the flag, FERRY_STORE or the config file key store, in that order', async t => {
  const url = (host: string) => `postgres://ferry@${host}:5432/ferry`;
  const pick = (flags: object, env: NodeJS.ProcessEnv, file: Record<string, unknown>) => {
    const c = resolveStoreConfig(flags, { FERRY_STORE_PASSWORD: 'x', ...env }, file, '/d', '/');
    return c.engine === 'postgres' ? c.connection.host : 'sqlite';
  };
  t.equal(pick({ store: url('flag') }, { FERRY_STORE: url('env') }, { store: url('file') }), 'flag');
  t.equal(pick({}, { FERRY_STORE: url('env') }, { store: url('file') }), 'env');
  t.equal(pick({}, {}, { store: url('file') }), 'file');
});

t.test('the password comes from a file (relative to the config file) or FERRY_STORE_PASSWORD, never the URL', async t => {
  const fromFile = resolveStoreConfig({}, {}, { store: 'postgres://ferry@db.internal/ferry', storePasswordFile: 'password' }, '/d', '/', dir);
  t.equal(fromFile.engine === 'postgres' && fromFile.connection.password, 's3cret', 'the file\'s first line, its newline dropped');
  const fromEnv = resolveStoreConfig({ store: 'postgres://ferry@db.internal/ferry' }, { FERRY_STORE_PASSWORD: 'from-env' }, {}, '/d', '/');
  t.equal(fromEnv.engine === 'postgres' && fromEnv.connection.password, 'from-env');
  t.throws(() => parsePostgresUrl('postgres://ferry:hunter2@db/ferry'), { code: 'INVALID_ARGUMENT', message: /holds a password.*--store-password-file.*FERRY_STORE_PASSWORD/ });
  t.throws(() => parsePostgresUrl('postgres://ferry:hunter2@db/ferry'), { message: /^(?!.*hunter2)/ }, 'the message does not repeat it');
  t.throws(() => parsePostgresUrl('postgres://ferry@db/ferry', { passwordFile, passwordEnv: 'x' }), { code: 'INVALID_ARGUMENT', message: /both a password file .* and FERRY_STORE_PASSWORD/ });
  t.throws(() => parsePostgresUrl('postgres://ferry@db/ferry', { passwordFile: path.join(dir, 'missing') }), { code: 'INVALID_ARGUMENT', message: /cannot read the PostgreSQL password file .*missing/ });
});

t.test('TLS: verify-full by default, disable on loopback; sslmode and a CA file from the URL or the settings', async t => {
  const remote = parsePostgresUrl('postgres://ferry@db.internal/ferry', { passwordEnv: 'x' });
  t.equal(remote.sslmode, 'verify-full');
  t.match(remote.ssl, { rejectUnauthorized: true, servername: 'db.internal' });
  t.equal(parsePostgresUrl('postgres://ferry@127.0.0.1:5433/ferry').sslmode, 'disable');
  t.equal(parsePostgresUrl('postgres://ferry@127.0.0.1:5433/ferry').ssl, false);
  t.same(parsePostgresUrl('postgres://ferry@db/ferry?sslmode=require').ssl, { rejectUnauthorized: false });
  const ca = parsePostgresUrl(`postgres://ferry@db/ferry?sslmode=verify-ca&sslrootcert=${caFile}`);
  t.match(ca, { sslmode: 'verify-ca', ssl: { rejectUnauthorized: true, ca: /BEGIN CERTIFICATE/ } });
  t.equal(parsePostgresUrl('postgres://ferry@db/ferry', { sslmode: 'verify-ca', caFile }).sslmode, 'verify-ca', 'the setting wins over the URL');
  t.throws(() => parsePostgresUrl('postgres://ferry@db/ferry?sslmode=prefer'), { code: 'INVALID_ARGUMENT', message: /sslmode 'prefer' is not one of disable, require, verify-ca, verify-full/ });
  t.throws(() => parsePostgresUrl(`postgres://ferry@db/ferry?sslmode=disable&sslrootcert=${caFile}`), { code: 'INVALID_ARGUMENT', message: /CA file .* set sslmode verify-ca or verify-full/ });
});

t.test('a bad URL is refused, naming what is wrong', async t => {
  t.throws(() => parsePostgresUrl('mysql://u@h/d'), { message: /--store: unknown store 'mysql'/ });
  t.throws(() => parsePostgresUrl('not a url'), { message: /--store: 'not a url' is neither sqlite nor a postgres:\/\// });
  t.throws(() => parsePostgresUrl('postgres://db/ferry'), { message: /names no user/ });
  t.throws(() => parsePostgresUrl('postgres://ferry@db/'), { message: /names no database/ });
  t.throws(() => parsePostgresUrl('postgres://ferry@db/ferry?connect_timeout=1'), { message: /unknown URL parameter 'connect_timeout' \(known: sslmode, sslrootcert, schema\)/ });
  t.throws(() => parsePostgresUrl('postgres://ferry@db/ferry?x=1', {}, '--to'), { message: /^--to: / }, 'named by the flag it came from');
  t.match(parsePostgresUrl('postgres://ferry@db:6432/ferry?schema=ops'), { host: 'db', port: 6432, user: 'ferry', database: 'ferry', schema: 'ops', display: 'postgres://ferry@db:6432/ferry?schema=ops' });
  t.equal(redact('postgres://ferry:pw@db/ferry'), 'postgres://ferry:***@db/ferry');
});
