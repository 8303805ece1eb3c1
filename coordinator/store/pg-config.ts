/**
 * Where the coordinator keeps its state (`--store`, config key `store`): SQLite in the data dir (the
 * default) or a PostgreSQL database (`postgres://user@host:5432/db`, docs/high-availability.md). The
 * password never sits in the URL (it would show in `ps` and in logs): it comes from a file
 * (`--store-password-file`, key `storePasswordFile`, env FERRY_STORE_PASSWORD_FILE) or from the
 * environment (FERRY_STORE_PASSWORD). TLS to PostgreSQL: `sslmode` (disable, require, verify-ca,
 * verify-full; default verify-full, or disable for a loopback server) and a CA file (`--store-ca-file`,
 * key `storeCaFile`, or `sslrootcert=` in the URL).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { FerryError, describeError } from '../../common/errors.js';
import { isLoopbackHost } from '../../common/loopback.js';
import { DATABASE_FILE } from './data-dir.js';

export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The config file keys of the store (merged into the coordinator's FILE_KEYS). */
export const STORE_FILE_KEYS = ['store', 'storePasswordFile', 'storeSslmode', 'storeCaFile'] as const;

export interface StoreFlags {
  store?: string;
  storePasswordFile?: string;
  storeSslmode?: string;
  storeCaFile?: string;
}

/** How to reach PostgreSQL: pg's connection settings, the password resolved, TLS decided. */
export interface PgConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  sslmode: SslMode;
  ssl: false | ConnectionOptions;
  /** The schema holding Ferry's tables (URL `?schema=`; default: the user's search_path). */
  schema?: string;
  /** The URL without any secret, for messages and logs. */
  display: string;
}

export type StoreConfig =
  | { engine: 'sqlite'; file: string }
  | { engine: 'postgres'; connection: PgConnection };

const QUERY_KEYS = ['sslmode', 'sslrootcert', 'schema'];

/**
 * The store to open: `store` from a flag, FERRY_STORE or the config file; none or `sqlite` means
 * DATA/ferry.db. `file` holds the config file's values (relative paths in it are relative to `fileDir`).
 */
export function resolveStoreConfig(flags: StoreFlags, env: NodeJS.ProcessEnv, file: Record<string, unknown>, dataDir: string, cwd: string, fileDir = cwd): StoreConfig {
  const pick = (flag: string | undefined, envName: string, key: string): { value: string; base: string } | undefined => {
    if (flag !== undefined) return { value: flag, base: cwd };
    if (env[envName] !== undefined && env[envName] !== '') return { value: env[envName], base: cwd };
    return file[key] !== undefined ? { value: String(file[key]), base: fileDir } : undefined;
  };
  const store = pick(flags.store, 'FERRY_STORE', 'store')?.value;
  if (store === undefined || store === '' || store === 'sqlite') return { engine: 'sqlite', file: path.join(dataDir, DATABASE_FILE) };
  const passwordFile = pick(flags.storePasswordFile, 'FERRY_STORE_PASSWORD_FILE', 'storePasswordFile');
  const caFile = pick(flags.storeCaFile, 'FERRY_STORE_CA_FILE', 'storeCaFile');
  return {
    engine: 'postgres',
    connection: parsePostgresUrl(store, {
      '--store': true,
      ...(passwordFile && { passwordFile: path.resolve(passwordFile.base, passwordFile.value) }),
      ...(env.FERRY_STORE_PASSWORD !== undefined && env.FERRY_STORE_PASSWORD !== '' && { passwordEnv: env.FERRY_STORE_PASSWORD }),
      ...(pick(flags.storeSslmode, 'FERRY_STORE_SSLMODE', 'storeSslmode') && { sslmode: pick(flags.storeSslmode, 'FERRY_STORE_SSLMODE', 'storeSslmode')!.value }),
      ...(caFile && { caFile: path.resolve(caFile.base, caFile.value) }),
    }),
  };
}

export interface PgSecrets {
  /** The flag or key the URL came from, for messages. */
  '--store'?: true;
  passwordFile?: string;
  passwordEnv?: string;
  sslmode?: string;
  caFile?: string;
}

/** `postgres://user@host:port/database?sslmode=…&sslrootcert=…&schema=…` → a PgConnection; every mistake named. */
export function parsePostgresUrl(raw: string, secrets: PgSecrets = {}, what = '--store'): PgConnection {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FerryError('INVALID_ARGUMENT', `${what}: '${redact(raw)}' is neither sqlite nor a postgres://user@host:port/database URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new FerryError('INVALID_ARGUMENT', `${what}: unknown store '${url.protocol.replace(/:$/, '')}' (${redact(raw)}): use sqlite (the default) or postgres://user@host:port/database`);
  }
  if (url.password !== '') {
    throw new FerryError('INVALID_ARGUMENT', `${what}: the URL holds a password, which would show in ps and logs: put it in a file named by --store-password-file (config key storePasswordFile) or in FERRY_STORE_PASSWORD`);
  }
  if (url.hostname === '') throw new FerryError('INVALID_ARGUMENT', `${what}: ${redact(raw)} names no host`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) throw new FerryError('INVALID_ARGUMENT', `${what}: ${redact(raw)} names no database (postgres://user@host:port/database)`);
  const user = decodeURIComponent(url.username);
  if (user === '') throw new FerryError('INVALID_ARGUMENT', `${what}: ${redact(raw)} names no user (postgres://user@host:port/database)`);
  for (const key of url.searchParams.keys()) {
    if (!QUERY_KEYS.includes(key)) throw new FerryError('INVALID_ARGUMENT', `${what}: unknown URL parameter '${key}' (known: ${QUERY_KEYS.join(', ')})`);
  }
  const port = url.port === '' ? 5432 : Number(url.port);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const modeRaw = secrets.sslmode ?? url.searchParams.get('sslmode') ?? (isLoopbackHost(host) ? 'disable' : 'verify-full');
  if (!(SSL_MODES as readonly string[]).includes(modeRaw)) {
    throw new FerryError('INVALID_ARGUMENT', `${what}: sslmode '${modeRaw}' is not one of ${SSL_MODES.join(', ')}`);
  }
  const sslmode = modeRaw as SslMode;
  const caFile = secrets.caFile ?? url.searchParams.get('sslrootcert') ?? undefined;
  if (caFile !== undefined && (sslmode === 'disable' || sslmode === 'require')) {
    throw new FerryError('INVALID_ARGUMENT', `${what}: a CA file (${caFile}) is used only to verify the server: set sslmode verify-ca or verify-full, not ${sslmode}`);
  }
  const ca = caFile === undefined ? undefined : readSecretFile(caFile, 'the PostgreSQL CA file (--store-ca-file, storeCaFile, sslrootcert)');
  const ssl: false | ConnectionOptions = sslmode === 'disable' ? false
    : sslmode === 'require' ? { rejectUnauthorized: false }
    : sslmode === 'verify-ca' ? { rejectUnauthorized: true, ...(ca !== undefined && { ca }), checkServerIdentity: () => undefined }
    : { rejectUnauthorized: true, ...(ca !== undefined && { ca }), servername: host };
  if (secrets.passwordFile !== undefined && secrets.passwordEnv !== undefined) {
    throw new FerryError('INVALID_ARGUMENT', `${what}: both a password file (${secrets.passwordFile}) and FERRY_STORE_PASSWORD are set: keep one`);
  }
  const password = secrets.passwordFile !== undefined
    ? readSecretFile(secrets.passwordFile, 'the PostgreSQL password file (--store-password-file, storePasswordFile)').replace(/\r?\n$/, '')
    : secrets.passwordEnv;
  if (password === '') throw new FerryError('INVALID_ARGUMENT', `${what}: the password file ${secrets.passwordFile} is empty`);
  const schema = url.searchParams.get('schema') ?? undefined;
  return {
    host, port, user, database, sslmode, ssl,
    ...(password !== undefined && { password }),
    ...(schema !== undefined && { schema }),
    display: redact(raw),
  };
}

function readSecretFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new FerryError('INVALID_ARGUMENT', `cannot read ${what} ${file}: ${describeError(err)}`);
  }
}

/** The URL with any password replaced by ***, fit for a message. */
export function redact(raw: string): string {
  return raw.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
