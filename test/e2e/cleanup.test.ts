import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { gate } from '../helpers/bundle.js';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor } from '../helpers/fleet.js';

/**
 * Clean-up commands against a real coordinator and agents (docs/operations.md "Cleaning up"):
 * group and application delete, group update of the health settings
 * (hosts remove: hosts-remove.test.ts; revision retention: revision-retention.test.ts).
 */

const revisionFile = (data: string, digest: string) => path.join(data, 'revisions', 'sha256', digest.slice(0, 2), digest);

t.test('group delete is refused while a deployment runs, then says what it removed; app delete removes the rest (mount namespace)', async t => {
  const f = await startFleet(t, ['h1'], { coordinatorArgs: ['--webhook-allow', 'loopback'] });
  const a = f.coordinator.address;
  const release = path.join(f.dir, 'release');
  const v1 = await f.push(await f.bundle('v1', { ApplicationStart: gate(release) }));
  t.equal((await ferry(a, ['group', 'create', '--app', 'shop', '--name', 'canary', '--tag-set', 'role=web'])).code, 0);
  t.equal((await ferry(a, ['group', 'set-trigger', '--app', 'shop', '--group', 'web', '--name', 'ops', '--url', 'http://127.0.0.1:9/hook', '--events', 'DeploymentFailure'])).code, 0);
  const created = await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--json']);
  const id = created.json.deployment.id as string;
  await waitFor('h1 to start', async () => (await ferry(a, ['deploy', 'status', id, '--json'])).json?.deployment.status === 'InProgress');

  const refused = await ferry(a, ['group', 'delete', '--app', 'shop', '--name', 'web']);
  t.equal(refused.code, 1, 'refused while its deployment runs');
  t.match(refused.stderr, `cannot delete group shop/web: group shop/web has deployment ${id} InProgress; stop it first (ferry deploy stop ${id}) or wait for it`);
  const appRefused = await ferry(a, ['app', 'delete', 'shop']);
  t.equal(appRefused.code, 1);
  t.match(appRefused.stderr, `cannot delete application shop: group shop/web has deployment ${id} InProgress`);
  await fs.writeFile(release, '');
  t.equal((await ferry(a, ['deploy', 'wait', id, '--timeout', '60s'], { timeoutMs: 90_000 })).code, 0);

  const deleted = await ferry(a, ['group', 'delete', '--app', 'shop', '--name', 'web', '--json']);
  t.equal(deleted.code, 0, deleted.stderr);
  t.match(deleted.json, { groups: 1, deployments: 1, triggers: 1, schedules: 0, plans: 0 });
  t.equal((await ferry(a, ['group', 'show', '--app', 'shop', '--name', 'web'])).code, 1, 'the group is gone');
  t.same((await ferry(a, ['deploy', 'list', '--app', 'shop', '--json'])).json.deployments, [], 'with its history');
  t.equal((await ferry(a, ['hosts', 'list', '--json'])).json.hosts.length, 1, 'its host stays');
  t.ok((await f.proof('h1')).includes('v1:installed:v1'), 'and keeps what is installed');

  t.ok(existsSync(revisionFile(path.join(f.dir, 'data'), v1)), 'the revision is still stored');
  const app = await ferry(a, ['app', 'delete', 'shop']);
  t.equal(app.code, 0, app.stderr);
  t.equal(app.stdout, 'deleted application shop: removed 1 deployment group, 0 deployments (history and logs), 0 webhook triggers, 0 schedules, 0 plans, 1 revision\nhosts keep what is installed; their agents keep running\n');
  t.notOk(existsSync(revisionFile(path.join(f.dir, 'data'), v1)), 'its revision bytes are gone');
  t.same((await ferry(a, ['app', 'list', '--json'])).json.applications, []);
  t.equal((await ferry(a, ['app', 'create', 'shop'])).code, 0, 'the name can be used again');
  const missing = await ferry(a, ['app', 'delete', 'nope']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, 'application nope does not exist; see ferry app list');
});

t.test('group update sets auto-rollback and alarms; group show prints them (mount namespace)', async t => {
  const f = await startFleet(t, ['h1'], { coordinatorArgs: ['--webhook-allow', 'loopback'] });
  const a = f.coordinator.address;
  const r = await ferry(a, ['group', 'update', '--app', 'shop', '--name', 'web', '--auto-rollback', 'failure,alarm', '--alarms', 'http GET http://127.0.0.1:9/health for 30s']);
  t.equal(r.code, 0, r.stderr);
  const shown = await ferry(a, ['group', 'show', '--app', 'shop', '--name', 'web']);
  t.match(shown.stdout, /Auto-rollback:\s+failure,alarm/);
  t.match(shown.stdout, /Alarms:\s+http GET http:\/\/127\.0\.0\.1:9\/health for 30s/);
  const both = await ferry(a, ['group', 'update', '--app', 'shop', '--name', 'web', '--alarms', 'none', '--alarm', 'x']);
  t.equal(both.code, 2);
  t.match(both.stderr, '--alarms: not with --alarm');
  t.equal((await ferry(a, ['group', 'update', '--app', 'shop', '--name', 'web', '--alarms', 'none'])).code, 0);
  t.same((await ferry(a, ['group', 'show', '--app', 'shop', '--name', 'web', '--json'])).json.alarms, []);
});
