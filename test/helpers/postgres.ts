/**
 * A throwaway PostgreSQL server for tests, from Debian's packages (no Docker): initdb + pg_ctl in a
 * temporary directory, on a free loopback port, as the unprivileged `postgres` user when the tests
 * run as root (CI). One server per test file (`startPostgres(t)`), a fresh database per case
 * (`createDatabase`). Stopped and removed when the test ends, and on exit if it ends badly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { isRoot } from './temp.js';

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** postgres://user:password@127.0.0.1:port/<database> */
  url(database: string): string;
  /** Creates an empty database (a unique name when none is given) and returns its name. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server as a crash would (`-m immediate`), keeping its data: connections drop, new ones are refused. */
  halt(): void;
  /** Starts it again on the same port after `halt()`. */
  resume(): void;
  stop(): void;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The directory holding initdb/pg_ctl: Debian's newest /usr/lib/postgresql/<major>/bin, else PATH. */
export function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter(d => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const major of majors) {
    const dir = path.join(base, major, 'bin');
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  }
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (onPath.status === 0) return path.dirname(onPath.stdout.trim());
  throw new Error('PostgreSQL is not installed: initdb not found in /usr/lib/postgresql/*/bin nor on PATH (Debian package postgresql: `apt-get install postgresql`)');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

let counter = 0;

export interface PostgresOptions {
  /**
   * Commits wait for their WAL to be written (PostgreSQL's default). Off by default here, for speed; a
   * test that crash-stops the server (`halt()`) and expects what it committed to be there after `resume()`
   * needs it on, as a production server has it.
   */
  durableCommits?: boolean;
  /** More addresses to listen on besides 127.0.0.1 (e.g. a veth's, for a replica in a network namespace). */
  listen?: string[];
  /** Client addresses (CIDR) allowed to log in with the password besides loopback's. */
  allow?: string[];
}

/** Starts a server for this test file; it is stopped and its directory removed at teardown. */
export async function startPostgres(t: Teardown, opts: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-pg-'));
  const data = path.join(dir, 'data');
  const password = `pw-${process.pid}-${Date.now()}`;
  const user = 'ferry';
  mkdirSync(data, { mode: 0o700 });
  writeFileSync(path.join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
  // PostgreSQL refuses to run as root: the server's files belong to `postgres`, and it runs as that user.
  const owner = isRoot ? { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) } : undefined;
  if (owner) for (const p of [dir, data, path.join(dir, 'pwfile')]) chownSync(p, owner.uid, owner.gid);
  const run = (tool: string, args: string[]): void => {
    const [cmd, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]] : [path.join(bin, tool), args];
    const r = spawnSync(cmd as string, argv as string[], { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  let started = false;
  const stop = (): void => {
    if (started) {
      started = false;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', stop);
  };
  process.on('exit', stop);
  try {
    run('initdb', ['-D', data, '-U', user, `--pwfile=${path.join(dir, 'pwfile')}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    if (opts.allow?.length) appendFileSync(path.join(data, 'pg_hba.conf'), opts.allow.map(a => `host all all ${a} scram-sha-256\n`).join(''));
    let port = 0;
    const start = (): void => {
      const listen = ['127.0.0.1', ...(opts.listen ?? [])].join(',');
      const options = `-p ${port} -k ${dir} -c listen_addresses=${listen} -c fsync=off${opts.durableCommits ? '' : ' -c synchronous_commit=off'} -c full_page_writes=off -c max_connections=200`;
      run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
      started = true;
    };
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        start();
        break;
      } catch (err) {
        if (attempt >= 2) throw err; // the port was taken between the probe and the start: try another
      }
    }
    const url = (database: string): string => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
    const server: PostgresServer = {
      host: '127.0.0.1', port, user, password, url,
      async createDatabase(name = `ferry_${process.pid}_${++counter}`) {
        const client = new pg.Client({ connectionString: url('postgres') });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE "${name}"`);
        } finally {
          await client.end();
        }
        return name;
      },
      halt() {
        if (!started) return;
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        started = false;
      },
      resume() {
        if (!started) start();
      },
      stop,
    };
    t.teardown(stop);
    return server;
  } catch (err) {
    stop();
    throw err;
  }
}

/**
 * A fresh database on `server` and the coordinator flags for it: `--store postgres://user@…/db
 * --store-password-file FILE`, the password in a 0600 file under `dir` (never on a command line).
 */
export async function storeFlags(server: PostgresServer, dir: string): Promise<string[]> {
  const database = await server.createDatabase();
  const passwordFile = path.join(dir, 'pg-password');
  writeFileSync(passwordFile, `${server.password}\n`, { mode: 0o600 });
  return ['--store', `postgres://${server.user}@127.0.0.1:${server.port}/${database}`, '--store-password-file', passwordFile];
}
