/**
 * A deployment group's lock across coordinator replicas (coordinator/replicas/group-lock.ts): each replica is a
 * KeyedMutex over its own pool, the way two coordinator processes on one database are. Real PostgreSQL.
 * - Two replicas' read-modify-writes of one group, each awaiting between its read and its write, never
 *   interleave: no update is lost.
 * - A holder that stalls inside its section (a paused process: its connection idle in the transaction) is cut
 *   by PostgreSQL after the idle limit: the other replica gets the lock, and nothing the stalled one wrote
 *   lands, neither before the stall nor after it woke.
 * - A change notification made inside the section is emitted only once it is committed.
 */
import t from 'tap';
import { KeyedMutex } from '../../coordinator/async.js';
import { Changes } from '../../coordinator/changes.js';
import { pgGroupLock } from '../../coordinator/replicas/group-lock.js';
import { afterTransaction, createPool, one, run } from '../../coordinator/store/pg-db.js';
import { startPostgres } from '../helpers/postgres.js';

const server = await startPostgres(t);
const url = server.url(await server.createDatabase());
const pools = [createPool({ connectionString: url, max: 4 }), createPool({ connectionString: url, max: 4 })];
t.teardown(() => Promise.all(pools.map(p => p.end())));
const [a, b] = pools as [typeof pools[0], typeof pools[0]];
await a.query('CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)');
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));
const read = async (pool: typeof a, name: string) => (await one<{ n: number }>(pool, 'SELECT n FROM counters WHERE name = @name', { name }))?.n;

t.test('two replicas incrementing one group\'s counter, each awaiting between read and write: no update is lost', async t => {
  await a.query("INSERT INTO counters VALUES ('g1', 0)");
  const replicas = [new KeyedMutex(pgGroupLock(a)), new KeyedMutex(pgGroupLock(b))];
  const spans: [number, number][] = [];
  const increment = (i: number) => replicas[i % 2]!.run('g1', async () => {
    const start = performance.now();
    const n = (await read(pools[i % 2]!, 'g1'))!;
    await sleep(30);
    await run(pools[i % 2]!, 'UPDATE counters SET n = @n WHERE name = @name', { n: n + 1, name: 'g1' });
    spans.push([start, performance.now()]);
  });
  await Promise.all(Array.from({ length: 8 }, (_, i) => increment(i)));
  t.equal(await read(a, 'g1'), 8, 'eight increments, eight counted');
  spans.sort((x, y) => x[0] - y[0]);
  t.ok(spans.every((s, i) => i === 0 || s[0] >= spans[i - 1]![1] - 1), 'no two sections overlapped');
  // Without the lock across replicas (each process' own mutex only), the same run loses updates.
  await a.query("UPDATE counters SET n = 0 WHERE name = 'g1'");
  const local = [new KeyedMutex(), new KeyedMutex()];
  await Promise.all(Array.from({ length: 8 }, (_, i) => local[i % 2]!.run('g1', async () => {
    const n = (await read(pools[i % 2]!, 'g1'))!;
    await sleep(30);
    await run(pools[i % 2]!, 'UPDATE counters SET n = @n WHERE name = @name', { n: n + 1, name: 'g1' });
  })));
  t.ok((await read(a, 'g1'))! < 8, 'process-local locks alone lose updates (what the lock across replicas prevents)');
});

t.test('a holder stalled past the idle limit loses the lock to the other replica, and none of its writes land', async t => {
  await a.query("INSERT INTO counters VALUES ('g2', 0)");
  const stalled = new KeyedMutex(pgGroupLock(a, 1000));
  const other = new KeyedMutex(pgGroupLock(b, 1000));
  const first = stalled.run('g2', async () => {
    await run(a, "UPDATE counters SET n = 100 WHERE name = 'g2'");
    await sleep(3000); // paused: nothing sent to PostgreSQL for 3 s
    await run(a, "UPDATE counters SET n = 200 WHERE name = 'g2'");
  });
  const firstOutcome = first.then(() => 'committed', (err: Error) => `failed: ${err.message}`);
  await sleep(100);
  const t0 = performance.now();
  const seen = await other.run('g2', () => read(b, 'g2'));
  const waited = performance.now() - t0;
  t.equal(seen, 0, 'the other replica got the lock and saw none of the stalled holder\'s writes');
  t.ok(waited < 2900, `it did not wait for the stalled holder to wake (${Math.round(waited)} ms)`);
  t.match(await firstOutcome, /^failed: /, 'the stalled holder\'s section failed when it woke');
  t.equal(await read(a, 'g2'), 0, 'and nothing it wrote landed');
});

t.test('a change notification made inside a group\'s section is emitted after its commit, when the change is visible', async t => {
  await a.query("INSERT INTO counters VALUES ('g3', 0)");
  const changes = new Changes(afterTransaction);
  const lock = new KeyedMutex(pgGroupLock(a));
  const seen: (number | undefined)[] = [];
  const woke = new Promise<void>(resolve => changes.onDeployment('d1', () => void read(b, 'g3').then(n => { seen.push(n); resolve(); })));
  await lock.run('g3', async () => {
    await run(a, "UPDATE counters SET n = 1 WHERE name = 'g3'");
    changes.deployment('d1');
    await sleep(200); // long enough for an early notification to be read before the commit
  });
  await woke;
  t.same(seen, [1], 'the watcher\'s read (another connection) saw the committed change');
});
