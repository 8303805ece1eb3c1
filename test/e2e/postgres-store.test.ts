/**
 * `ferry-coordinator --store postgres://…`: a real coordinator keeps its state in PostgreSQL (a server
 * this test starts from Debian's packages, test/helpers/postgres.ts), two real agents run a real
 * deployment to Succeeded, and after the coordinator is SIGKILLed and started again (same address,
 * same database) the deployment, its hosts and the group's target are still there: read back from
 * PostgreSQL, not from the data dir (which holds no ferry.db), and a second deployment runs on them.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import t from 'tap';
import { ferry, waitFor } from '../helpers/fleet.js';
import { startFleet } from '../helpers/fleet-fixture.js';
import { startPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';

t.test('a coordinator on PostgreSQL deploys to real agents; restarted, it finds the deployment and the hosts there', async t => {
  const server = await startPostgres(t);
  const database = await server.createDatabase();
  const secrets = await tempDir(t, 'ferry-pg-secret-');
  const passwordFile = path.join(secrets, 'pg-password');
  await fs.writeFile(passwordFile, `${server.password}\n`, { mode: 0o600 });
  const store = `postgres://${server.user}@127.0.0.1:${server.port}/${database}`;
  const f = await startFleet(t, ['h1', 'h2'], { fixedPort: true, coordinatorArgs: ['--store', store, '--store-password-file', passwordFile] });
  t.match(f.coordinator.output(), /store: PostgreSQL/, 'the coordinator says it runs on PostgreSQL');
  t.notMatch(f.coordinator.output(), server.password, 'the password is never logged');

  const v1 = await f.push(await f.bundle('v1'));
  const deployed = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--wait', '--json'], { timeoutMs: 120_000 });
  t.equal(deployed.code, 0, deployed.stderr);
  const id = deployed.json.deployment.id as string;
  t.equal(deployed.json.deployment.status, 'Succeeded');
  for (const h of ['h1', 'h2']) {
    t.ok((await f.proof(h)).includes('v1:installed:v1'), `${h} ran v1's hooks and installed v1`);
    t.match(await f.files(h), /^only-v1\.txt version\.txt [0-9a-f]{16}$/, `${h} holds v1's files`);
  }
  t.notOk(existsSync(path.join(f.coordinator.dataDir, 'ferry.db')), 'no SQLite database in the data dir');

  // What PostgreSQL holds, read with a client of its own.
  const client = new pg.Client({ connectionString: server.url(database) });
  await client.connect();
  t.teardown(() => client.end());
  const rows = await client.query<{ id: string; status: string }>('SELECT id, status FROM deployments');
  t.same(rows.rows, [{ id, status: 'Succeeded' }], 'the deployment is a row in PostgreSQL');
  const targets = await client.query<{ host_id: string; status: string }>('SELECT host_id, status FROM host_deployments WHERE deployment_id = $1 ORDER BY host_id', [id]);
  t.same(targets.rows, [{ host_id: 'h1', status: 'Succeeded' }, { host_id: 'h2', status: 'Succeeded' }], 'so are its hosts\' results');
  t.equal((await client.query('SELECT digest FROM revision_blobs WHERE digest = $1', [v1])).rowCount, 1, 'and the revision\'s bytes');

  await f.restartCoordinator();
  t.match(f.coordinator.output(), /store: PostgreSQL/);
  const status = await ferry(f.coordinator.address, ['deploy', 'status', id, '--json']);
  t.equal(status.code, 0, status.stderr);
  t.equal(status.json.deployment.status, 'Succeeded', 'the deployment is still there after the restart');
  t.same((status.json.hosts as { hostId: string; status: string }[]).map(h => [h.hostId, h.status]).sort(), [['h1', 'Succeeded'], ['h2', 'Succeeded']], 'with its hosts');
  await waitFor('both agents to reconnect', async () => {
    const hosts = (await ferry(f.coordinator.address, ['hosts', 'list', '--json'])).json?.hosts as { id: string; state: string }[] | undefined;
    return hosts?.length === 2 && hosts.every(h => h.state === 'connected');
  }, 60_000);
  const listed = await ferry(f.coordinator.address, ['hosts', 'list', '--json']);
  t.same((listed.json.hosts as { id: string; revisions: { revision: string; lastStatus: string }[] }[]).map(h => [h.id, h.revisions.map(r => [r.revision, r.lastStatus])]),
    [['h1', [[v1, 'Succeeded']]], ['h2', [[v1, 'Succeeded']]]], 'each host is known to run v1');

  // The restarted coordinator deploys again from what it read back.
  const v2 = await f.push(await f.bundle('v2'));
  const again = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2, '--wait', '--json'], { timeoutMs: 120_000 });
  t.equal(again.code, 0, again.stderr);
  t.equal(again.json.deployment.status, 'Succeeded');
  for (const h of ['h1', 'h2']) t.match(await f.files(h), /^only-v2\.txt version\.txt [0-9a-f]{16}$/, `${h} holds v2's files`);
});
