import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { MIGRATIONS, migrate } from '../../coordinator/store/migrations.js';
import { openStore } from '../../coordinator/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';
import { storeContract } from './store-contract.js';

const dir = await tempDir(t, 'ferry-store-');
let files = 0;
const nextFile = (): string => path.join(dir, `store-${++files}`, 'ferry.db');

storeContract(t, async () => {
  const file = nextFile();
  return { store: openStore(file), reopen: () => openStore(file) };
});

t.test('the SQLite store', async t => {
  t.test('creates its directory and runs in WAL mode', async t => {
    const store = openStore(nextFile());
    t.teardown(() => store.close());
    t.equal(store.journalMode(), 'wal');
  });

  t.test('migrates a new file once; reopening applies nothing', async t => {
    const file = nextFile();
    const latest = MIGRATIONS.at(-1)?.version;
    const first = openStore(file);
    t.same(first.appliedMigrations, MIGRATIONS.map(m => m.version));
    t.equal(first.schemaVersion(), latest);
    first.close();
    const again = openStore(file);
    t.teardown(() => again.close());
    t.same(again.appliedMigrations, [], 'no migration re-ran');
    t.equal(again.schemaVersion(), latest, 'user_version unchanged');
  });

  t.test('refuses a database newer than its migrations', async t => {
    const file = nextFile();
    openStore(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    t.throws(() => openStore(file), { code: 'FAILED_PRECONDITION', message: /newer/ });
  });

  t.test('a failing migration leaves the database at the version before it', async t => {
    const db = new Database(':memory:');
    t.teardown(() => db.close());
    const one = { version: 1, up: 'CREATE TABLE a (x)' };
    t.throws(() => migrate(db, [one, { version: 2, up: 'CREATE TABLE b (x); NOT SQL' }]));
    t.equal(db.pragma('user_version', { simple: true }), 1);
    t.same(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all(), [{ name: 'a' }]);
    t.same(migrate(db, [one, { version: 2, up: 'CREATE TABLE b (x)' }]), [2]);
  });
});
