/**
 * The Store contract on PostgreSQL (the SQLite run is store.test.ts): one server for this file, from
 * Debian's packages (test/helpers/postgres.ts), a fresh schema per case; and what only PostgreSQL has:
 * migrations under an advisory lock, recorded in schema_migrations.
 */
import pg from 'pg';
import t from 'tap';
import { PG_MIGRATIONS } from '../../coordinator/store/pg-migrations.js';
import { openPgStore } from '../../coordinator/store/pg-store.js';
import { startPostgres } from '../helpers/postgres.js';
import { storeContract } from './store-contract.js';
import { givenDeploymentsInEveryStatus, recount } from './store-contract-counts.js';
import { givenHosts, givenStarted, givenWorld } from './store-builders.js';

const server = await startPostgres(t);
const database = await server.createDatabase();
const url = server.url(database);
let schemas = 0;

async function freshSchema(): Promise<string> {
  const name = `case_${++schemas}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${name}`);
  } finally {
    await client.end();
  }
  return name;
}

// Each case has its own schema: they run side by side (PostgreSQL serves them while one waits on another).
t.jobs = 4;
storeContract(t, async () => {
  const schema = await freshSchema();
  const open = () => openPgStore({ connectionString: url, schema, max: 4 });
  return { store: await open(), reopen: open };
});

t.test('the PostgreSQL store', async t => {
  t.test('migrates a new schema once, recorded in schema_migrations; reopening applies nothing', async t => {
    const schema = await freshSchema();
    const first = await openPgStore({ connectionString: url, schema });
    t.same(first.appliedMigrations, PG_MIGRATIONS.map(m => m.version));
    t.equal(await first.schemaVersion(), PG_MIGRATIONS.length);
    await first.close();
    const again = await openPgStore({ connectionString: url, schema });
    t.teardown(() => again.close());
    t.same(again.appliedMigrations, [], 'no migration re-ran');
  });

  t.test('replicas starting together migrate once: the advisory lock orders them', async t => {
    const schema = await freshSchema();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPgStore({ connectionString: url, schema, max: 2 })));
    t.teardown(() => Promise.all(stores.map(s => s.close())));
    t.same(stores.map(s => s.appliedMigrations.length).sort(), [0, 0, 0, PG_MIGRATIONS.length], 'one applied them, the others found them applied');
    t.equal((await stores[0]!.listConfigs()).filter(c => c.builtIn).length, 3, 'the built-in configs were seeded once');
  });

  t.test('migration 6 backfills the host counts of an existing database from its rows', async t => {
    const schema = await freshSchema();
    const store = await openPgStore({ connectionString: url, schema });
    const ids = await givenDeploymentsInEveryStatus(store);
    await store.close();
    // Back to the database migration 5 left (rows, no counts, no delivery claims), as a coordinator before it would hold.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`SET search_path = ${schema}`);
    await client.query(`ALTER TABLE deliveries DROP COLUMN claimed_at; DROP TABLE deployment_host_counts; DROP FUNCTION host_counts_change() CASCADE;
      DELETE FROM schema_migrations WHERE version >= 6`);
    await client.end();
    const again = await openPgStore({ connectionString: url, schema });
    t.teardown(() => again.close());
    t.same(again.appliedMigrations, [6, 7]);
    for (const id of ids) t.strictSame(await again.hostDeploymentCounts(id), await recount(again, id), `deployment ${id}`);
    t.same(await again.hostDeploymentCounts(ids[0]!), { Pending: 1, InProgress: 1, Succeeded: 1, Failed: 1, Skipped: 1, Unknown: 1 });
  });

  t.test('two transactions changing one deployment\'s hosts, one waiting for a row the other holds, do not deadlock over its counts', async t => {
    const schema = await freshSchema();
    const store = await openPgStore({ connectionString: url, schema, max: 4 });
    t.teardown(() => store.close());
    const hosts = await givenHosts(store, 3);
    const [a, b, c] = hosts.map(h => h.id) as [string, string, string];
    const d = await givenStarted(store, await givenWorld(store), hosts);
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    t.teardown(() => watcher.end());
    /** Until some backend of this database waits for a row lock: the first transaction, on b. */
    const someoneWaits = async () => {
      for (;;) {
        const { rows } = await watcher.query("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        if (rows[0].n > 0) return;
        await new Promise(resolve => setImmediate(resolve));
      }
    };
    let holdsB!: () => void;
    const bHeld = new Promise<void>(resolve => (holdsB = resolve));
    // The first moves a's status (the counts change), then needs b, which the second holds; the second
    // then moves c's status. Counts kept at each change would have the first hold the counts row while
    // it waits for b, and the second wait for the counts row while it holds b: a deadlock.
    const first = store.transaction(async () => {
      await store.transitionHostDeployment(d.id, a, 'InProgress');
      await bHeld;
      await store.patchHostDeployment(d.id, b, { currentEvent: 'Install' });
    });
    const second = store.transaction(async () => {
      await store.patchHostDeployment(d.id, b, { currentEvent: 'BeforeInstall' });
      holdsB();
      await someoneWaits();
      await store.transitionHostDeployment(d.id, c, 'InProgress');
    });
    await Promise.all([first, second]);
    t.strictSame(await store.hostDeploymentCounts(d.id), await recount(store, d.id));
    t.equal((await store.hostDeploymentCounts(d.id)).InProgress, 2, 'both moves counted');
  });

  t.test('refuses a database newer than its migrations', async t => {
    const schema = await freshSchema();
    (await openPgStore({ connectionString: url, schema })).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`INSERT INTO ${schema}.schema_migrations (version, applied_at) VALUES ($1, 'later')`, [PG_MIGRATIONS.length + 1]);
    await client.end();
    await t.rejects(openPgStore({ connectionString: url, schema }), { code: 'FAILED_PRECONDITION', message: /newer/ });
  });

  t.test('a wrong password is refused with the server\'s message, not a hang', async t => {
    const wrong = url.replace(encodeURIComponent(server.password), 'not-the-password');
    await t.rejects(openPgStore({ connectionString: wrong }), /password authentication failed/);
  });
});
