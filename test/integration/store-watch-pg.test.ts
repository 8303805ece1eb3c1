/**
 * A replica that cannot reach PostgreSQL for as long as an agent may be silent closes its agents' streams and
 * wakes its watchers once (coordinator/replicas/store-watch.ts), so agents and `--wait` move to a replica that
 * can; a shorter outage keeps them. The same checks keep the replica's presence and delete presences lapsed
 * over an hour ago. Real PostgreSQL, crash-stopped; the replica's registry holds stand-in sessions (the
 * streams themselves are the e2e tests').
 */
import t from 'tap';
import { AgentRegistry, type AgentSession } from '../../coordinator/agents/registry.js';
import { Changes } from '../../coordinator/changes.js';
import type { Context } from '../../coordinator/context.js';
import { createLogger } from '../../coordinator/log.js';
import { watchStore } from '../../coordinator/replicas/store-watch.js';
import { createPool } from '../../coordinator/store/pg-db.js';
import { migratePg } from '../../coordinator/store/pg-migrations.js';
import { startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/fleet.js';

const server = await startPostgres(t);
const pool = createPool({ connectionString: server.url(await server.createDatabase()), max: 2, connectionTimeoutMillis: 500 });
t.teardown(() => pool.end());

function replica() {
  const closed: string[] = [];
  const registry = new AgentRegistry();
  for (const id of ['h1', 'h2']) {
    const s: AgentSession = { hostId: id, connectedAt: 0, send: () => true, close: reason => closed.push(`${id}: ${reason}`) };
    registry.add(s);
  }
  const changes = new Changes();
  let woken = 0;
  changes.onDeployment('d-1', () => woken++);
  const ctx = { registry, changes, monotonic: () => performance.now(), log: createLogger({ level: 'error', console: false }) } as unknown as Context;
  return { ctx, registry, closed, woken: () => woken };
}

t.test('an outage shorter than the limit keeps the streams', async t => {
  const r = replica();
  const watch = watchStore(r.ctx, pool, 4000, undefined, 200);
  t.teardown(() => watch.stop());
  server.halt();
  await new Promise(resolve => setTimeout(resolve, 1500));
  server.resume();
  await new Promise(resolve => setTimeout(resolve, 4000));
  t.same(r.closed, [], 'no stream closed');
  t.same(r.registry.localHostIds().sort(), ['h1', 'h2'], 'both agents still here');
  t.equal(r.woken(), 0, 'no watcher woken');
});

t.test('cut off past the limit: the agents\' streams are closed and watchers woken once', async t => {
  const r = replica();
  const watch = watchStore(r.ctx, pool, 1500, undefined, 200);
  t.teardown(() => watch.stop());
  server.halt();
  t.teardown(() => server.resume());
  await waitFor('the streams closed', async () => r.closed.length === 2, 20_000);
  t.match(r.closed, [/cannot reach its database/, /cannot reach its database/], 'each closed, saying why');
  t.same(r.registry.localHostIds(), [], 'no agent left on this replica');
  await new Promise(resolve => setTimeout(resolve, 1000));
  t.equal(r.woken(), 1, 'watchers woken once (their re-read fails, and their clients move)');
});

t.test('a replica\'s checks keep its presence and delete the presence of replicas gone for over an hour', async t => {
  await migratePg(pool);
  await pool.query(`INSERT INTO leases (name, holder, epoch, expires_at, acquired_at) VALUES
    ('replica:r-gone', 'r-gone', 1, now() - interval '2 hours', now() - interval '3 hours'),
    ('replica:r-recent', 'r-recent', 1, now() - interval '10 minutes', now() - interval '1 hour'),
    ('coordinator', 'r-gone', 1, now() - interval '2 hours', now() - interval '3 hours')`);
  const r = replica();
  const watch = watchStore(r.ctx, pool, 4000, 'r-new', 200);
  t.teardown(() => watch.stop());
  const names = async () => (await pool.query<{ name: string }>('SELECT name FROM leases ORDER BY name')).rows.map(x => x.name);
  await waitFor('its own presence, and the old one gone', async () => {
    const now = await names();
    return now.includes('replica:r-new') && !now.includes('replica:r-gone');
  });
  t.same(await names(), ['coordinator', 'replica:r-new', 'replica:r-recent'],
    'the presence lapsed 2 h ago is gone; one lapsed 10 min ago, and leases that are not presences, stay');
});
