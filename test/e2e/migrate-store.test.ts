/**
 * `ferry-coordinator migrate-store`: a coordinator runs a real deployment on two real agents (SQLite),
 * stops, and its whole state is copied into PostgreSQL (a server this test starts from Debian's
 * packages); every table's rows are counted equal and the PostgreSQL store reads back what the SQLite
 * store holds, sequences continuing where they were. A second copy into the same database is refused.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { STORE_TABLES, uncopiedTables } from '../../coordinator/store/pg-migrate-store.js';
import { PgRevisions } from '../../coordinator/store/pg-revisions.js';
import { openPgStore } from '../../coordinator/store/pg-store.js';
import { openStore as openSqliteStore } from '../../coordinator/store/sqlite-store.js';
import { runBin } from '../helpers/agent-cli.js';
import { ferry } from '../helpers/fleet.js';
import { startFleet } from '../helpers/fleet-fixture.js';
import { startPostgres } from '../helpers/postgres.js';

t.test('a coordinator that ran a deployment is copied whole into PostgreSQL, verified, and read back equal', async t => {
  const f = await startFleet(t, ['h1', 'h2'], { coordinatorArgs: ['--webhook-allow', 'loopback'] });
  const digest = await f.push(await f.bundle('v1', { BeforeInstall: 'echo "installing v1"; echo "a warning" >&2' }));
  const deployed = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--wait', '--json'], { timeoutMs: 90_000 });
  t.equal(deployed.code, 0, deployed.stderr);
  const trigger = await ferry(f.coordinator.address, ['group', 'set-trigger', '--app', 'shop', '--group', 'web', '--name', 'ops', '--url', 'http://127.0.0.1:9/hook', '--events', 'DeploymentSuccess', '--format', 'slack']);
  t.equal(trigger.code, 0, `a webhook trigger with a pending delivery: ${trigger.stderr}`);
  await f.coordinator.kill('SIGTERM');
  for (const agent of f.agents.values()) await agent.kill('SIGTERM');
  const data = f.coordinator.dataDir;
  // A web console sign-in the coordinator kept (insecure-local: no token), to be copied with the rest.
  const signedIn = openSqliteStore(path.join(data, 'ferry.db'));
  const consoleSession = {
    idHash: 'c0'.repeat(32), tokenId: null, actor: 'insecure-local', role: 'admin', createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  };
  await signedIn.createConsoleSession(consoleSession, 10);
  await signedIn.close();

  const server = await startPostgres(t);
  const database = await server.createDatabase();
  const to = `postgres://${server.user}@127.0.0.1:${server.port}/${database}`;
  const passwordFile = path.join(f.dir, 'pg-password');
  await fs.writeFile(passwordFile, `${server.password}\n`, { mode: 0o600 });
  const run = (args: string[]) => runBin('ferry-coordinator', ['migrate-store', '--from', data, '--to', to, '--store-password-file', passwordFile, ...args], { timeoutMs: 60_000 });

  const migrated = await run(['--json']);
  t.equal(migrated.code, 0, migrated.stderr);
  const result = JSON.parse(migrated.stdout) as { from: string; to: string; tables: Record<string, number>; total: number; revisionBytes: { digests: number; bytes: number } };
  const revisionFile = path.join(data, 'revisions', 'sha256', digest.slice(0, 2), digest);
  t.same(result.revisionBytes, { digests: 1, bytes: (await fs.stat(revisionFile)).size }, 'the revision\'s bytes are copied too');
  t.equal(result.to, to, 'the target is named without its password');
  t.notMatch(migrated.stdout + migrated.stderr, server.password, 'the password is never printed');
  const sqlite = new Database(path.join(data, 'ferry.db'), { readonly: true });
  t.same(uncopiedTables(sqlite), [], 'every table of the SQLite store is one migrate-store copies and counts');
  const expected = Object.fromEntries(STORE_TABLES.map(({ name }) => [name, (sqlite.prepare(`SELECT COUNT(*) AS n FROM ${name}`).get() as { n: number }).n]));
  sqlite.close();
  t.same(result.tables, expected, 'every table, its rows counted in both stores');
  for (const table of ['applications', 'deployment_groups', 'revisions', 'deployments', 'host_deployments', 'lifecycle_events', 'log_lines', 'hosts', 'events', 'audit', 'triggers', 'deliveries', 'console_sessions']) {
    t.ok((result.tables[table] ?? 0) > 0, `${table} had rows to copy (${result.tables[table]})`);
  }

  const before = openSqliteStore(path.join(data, 'ferry.db'));
  const after = await openPgStore({ connectionString: server.url(database) });
  t.teardown(async () => {
    await before.close();
    await after.close();
  });
  t.same(await after.listApplications(), await before.listApplications(), 'applications');
  t.same(await after.listConfigs(), await before.listConfigs(), 'deployment configs, the built-ins as the source had them');
  t.same(await after.listGroups(), await before.listGroups(), 'groups');
  t.same(await after.listRevisions('shop'), await before.listRevisions('shop'), 'revisions');
  t.same(await after.listHosts(), await before.listHosts(), 'hosts');
  const deployments = await before.listDeployments({ limit: 1000 });
  t.same(await after.listDeployments({ limit: 1000 }), deployments, 'deployments, newest first as before');
  for (const d of deployments) {
    t.same(await after.listHostDeployments(d.id), await before.listHostDeployments(d.id), `host deployments of ${d.id}`);
    t.same(await after.listEventRecords(d.id), await before.listEventRecords(d.id), `lifecycle events of ${d.id}`);
    t.same(await after.listLogs(d.id), await before.listLogs(d.id), `hook output of ${d.id}, with its seqs`);
  }
  t.same(await after.listEvents({ limit: 100_000 }), await before.listEvents({ limit: 100_000 }), 'the event log, with its seqs');
  t.same(await after.listAudit(), await before.listAudit(), 'the audit log');
  t.same(await after.listTokens(), await before.listTokens(), 'tokens');
  t.same(await after.getConsoleSession(consoleSession.idHash, consoleSession.createdAt), consoleSession, 'the console session');
  t.ok(deployments.length > 0 && deployments.every(d => d.createdBy === 'insecure-local'), 'who created each deployment');
  const group = (await before.getGroup('shop', 'web'))!;
  t.same(await after.listTriggers(group.id), await before.listTriggers(group.id), 'triggers');
  t.equal((await after.listTriggers(group.id))[0]?.format, 'slack', 'with their format');
  const later = Date.now() + 86_400_000;
  t.same(await after.dueDeliveries(later, 100), await before.dueDeliveries(later, 100), 'pending webhook deliveries');
  t.equal(await after.nextDeliveryAt(), await before.nextDeliveryAt(), 'when the next one is due');
  t.same(await after.hostRevisions(group.id), await before.hostRevisions(group.id), 'what each host runs');
  t.equal((await after.lastSuccessfulDeployment(group.id))?.id, (await before.lastSuccessfulDeployment(group.id))?.id, 'the group\'s target');

  const lastSeq = await before.lastEventSeq();
  const next = await after.appendEvent({ at: new Date().toISOString(), kind: 'DeploymentAwaitingApproval', application: 'shop', groupId: group.id, groupName: 'web', status: 'Test', payload: {} });
  t.equal(next, lastSeq + 1, 'the event sequence continues after the copied events');

  const bytes: Buffer[] = [];
  await new PgRevisions(after.pool).read(digest, async chunk => void bytes.push(chunk));
  t.equal(createHash('sha256').update(Buffer.concat(bytes)).digest('hex'), digest, 'the bytes in PostgreSQL hash to the revision\'s digest');

  const again = await run([]);
  t.equal(again.code, 1, 'a second copy is refused');
  t.match(again.stderr, /target database is not empty: applications \(1\)/);

  // A revision damaged on disk is not copied as if it were good: refused, naming the file, nothing committed.
  const fresh = await server.createDatabase();
  const damaged = await fs.readFile(revisionFile);
  damaged[damaged.length >> 1]! ^= 0xff;
  await fs.writeFile(revisionFile, damaged);
  const refused = await runBin('ferry-coordinator', ['migrate-store', '--from', data, '--to', `postgres://${server.user}@127.0.0.1:${server.port}/${fresh}`, '--store-password-file', passwordFile], { timeoutMs: 60_000 });
  t.equal(refused.code, 1, refused.stderr);
  t.match(refused.stderr, `${revisionFile} does not hash to ${digest}`);
  const empty = await openPgStore({ connectionString: server.url(fresh) });
  t.same(await empty.listApplications(), [], 'nothing was copied');
  await empty.close();
});
