import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { MIGRATIONS, migrate } from '../../coordinator/store/migrations.js';
import { openStore } from '../../coordinator/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';
import { storeContract } from './store-contract.js';
import { givenDeploymentsInEveryStatus, recount } from './store-contract-counts.js';

const dir = await tempDir(t, 'ferry-store-');
let files = 0;
const nextFile = (): string => path.join(dir, `store-${++files}`, 'ferry.db');

// The same contract on PostgreSQL: store-pg.test.ts.
storeContract(t, async () => {
  const file = nextFile();
  return { store: openStore(file), reopen: async () => openStore(file) };
});

/** A database as the first coordinator made it (migration 1 only), then opened by this one. */
function fromOldestSchema(): string {
  const file = nextFile();
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('foreign_keys = ON');
  migrate(db, MIGRATIONS.slice(0, 1));
  db.close();
  return file;
}

t.test('the contract on a database migrated from the oldest schema', async t => {
  storeContract(t, async () => {
    const file = fromOldestSchema();
    return { store: openStore(file), reopen: async () => openStore(file) };
  });
});

t.test('the SQLite store', async t => {
  t.test('creates its directory and runs in WAL mode', async t => {
    const store = openStore(nextFile());
    t.teardown(async () => await store.close());
    t.equal(store.journalMode(), 'wal');
  });

  t.test('migrates a new file once; reopening applies nothing', async t => {
    const file = nextFile();
    const latest = MIGRATIONS.at(-1)?.version;
    const first = openStore(file);
    t.same(first.appliedMigrations, MIGRATIONS.map(m => m.version));
    t.equal(first.schemaVersion(), latest);
    await first.close();
    const again = openStore(file);
    t.teardown(async () => await again.close());
    t.same(again.appliedMigrations, [], 'no migration re-ran');
    t.equal(again.schemaVersion(), latest, 'user_version unchanged');
  });

  t.test('migration 22 backfills the host counts of an existing database from its rows', async t => {
    const file = nextFile();
    const store = openStore(file);
    const ids = await givenDeploymentsInEveryStatus(store);
    await store.close();
    // Back to the database migration 21 left (rows, no counts, no delivery claims), as a coordinator before it would hold.
    const db = new Database(file);
    db.exec('ALTER TABLE deliveries DROP COLUMN claimed_at');
    db.exec('DROP TABLE deployment_host_counts');
    for (const name of ['host_counts_insert', 'host_counts_status', 'host_counts_delete', 'host_deployments_stay']) db.exec(`DROP TRIGGER ${name}`);
    db.pragma('user_version = 21');
    db.close();
    const again = openStore(file);
    t.teardown(async () => await again.close());
    t.same(again.appliedMigrations, [22, 23]);
    for (const id of ids) t.strictSame(await again.hostDeploymentCounts(id), await recount(again, id), `deployment ${id}`);
    t.same(await again.hostDeploymentCounts(ids[0]!), { Pending: 1, InProgress: 1, Succeeded: 1, Failed: 1, Skipped: 1, Unknown: 1 });
  });

  t.test('refuses a database newer than its migrations', async t => {
    const file = nextFile();
    await openStore(file).close();
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

  t.test('a database migrated from the oldest schema has the same schema as a new one', async t => {
    const schema = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all();
      } finally {
        db.close();
      }
    };
    const old = fromOldestSchema();
    await openStore(old).close();
    const fresh = nextFile();
    await openStore(fresh).close();
    t.same(schema(old), schema(fresh));
  });

  t.test('migration 14 stores a scheduled deployment as creator schedule, keeps every reference and the event triggers', async t => {
    const file = nextFile();
    mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    t.teardown(() => db.close());
    db.pragma('foreign_keys = ON');
    migrate(db, MIGRATIONS.slice(0, 13));
    const later = MIGRATIONS.slice(14).map(m => m.version);
    const now = '2026-01-01T00:00:00.000Z';
    db.exec(`
      INSERT INTO applications VALUES ('shop', '${now}');
      INSERT INTO deployment_groups (id, application, name, tag_sets, config_name, created_at) VALUES ('g1', 'shop', 'web', '[]', 'AllAtOnce', '${now}');
      INSERT INTO revisions VALUES ('shop', 'abc', 1, 'tar', '', NULL, '${now}');
      INSERT INTO hosts VALUES ('h1', 'web-1', '{}', NULL, '0.1.0', '{}', 1, '${now}', '${now}');
      INSERT INTO schedules (id, application, group_id, group_name, revision, options, run_at, timezone, state, created_by, created_at)
        VALUES ('s1', 'shop', 'g1', 'web', 'abc', '{}', '${now}', 'UTC', 'Done', 'me', '${now}');
      INSERT INTO deployments (id, application, group_id, group_name, revision_digest, config_name, status, creator, description,
        file_exists_behavior, ignore_application_stop_failures, created_at, schedule_id)
        VALUES ('d1', 'shop', 'g1', 'web', 'abc', 'AllAtOnce', 'Succeeded', 'user', '', 'DISALLOW', 0, '${now}', 's1'),
               ('d2', 'shop', 'g1', 'web', 'abc', 'AllAtOnce', 'Succeeded', 'user', '', 'DISALLOW', 0, '${now}', NULL);
      INSERT INTO host_deployments (deployment_id, host_id, status, position) VALUES ('d1', 'h1', 'Succeeded', 0);
    `);
    const eventsBefore = db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number };
    t.same(migrate(db, MIGRATIONS), [14, ...later]);
    t.same(db.prepare('SELECT id, creator FROM deployments ORDER BY id').all(), [{ id: 'd1', creator: 'schedule' }, { id: 'd2', creator: 'user' }]);
    t.same(db.prepare('SELECT COUNT(*) AS n FROM events').get(), eventsBefore, 'the copy appended no events');
    t.same(db.pragma('foreign_key_check'), [], 'every reference holds');
    t.equal(db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys are on again');
    t.throws(() => db.exec(`INSERT INTO host_deployments (deployment_id, host_id, status, position) VALUES ('nope', 'h1', 'Pending', 1)`), /FOREIGN KEY/);
    db.exec(`UPDATE deployments SET status = 'Failed' WHERE id = 'd2'`);
    t.equal((db.prepare(`SELECT COUNT(*) AS n FROM events WHERE deployment_id = 'd2' AND kind = 'DeploymentFailure'`).get() as { n: number }).n, 1, 'the status trigger is back');
    t.throws(() => db.exec(`UPDATE deployments SET creator = 'nobody' WHERE id = 'd2'`), /CHECK/);
  });
});
