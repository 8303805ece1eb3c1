import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type * as Tap from 'tap';
import { list as listTar } from 'tar';
import { writeBundle } from '../helpers/bundle.js';
import { tempDir } from '../helpers/temp.js';
import { type FakeControl, T0, detail, group, hostDeployment, hostInfo, runFerry, startFakeControl } from '../helpers/fake-control.js';

/** Day-2 commands (docs/operations.md) of the real `bin/ferry` against the fake ControlService: what they send, print and exit with. */

const ferry = (fake: FakeControl, ...args: string[]) => runFerry(['--coordinator', fake.address, ...args]);
const ended = (status: string, o = {}) => ({ status, startedAt: T0, completedAt: '2025-01-01T12:00:42.000Z', ...o });
const web1 = (o = {}) => hostDeployment({ hostId: 'h-1', hostname: 'web-1', ...o });

t.test('deploy list --host sends the host and prints its part in each deployment', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail(ended('Failed'), [web1({ status: 'Failed', errorCode: 'ScriptFailed', errorMessage: 'check.sh exited 3\nmore', completedAt: T0 })]);
  const text = await ferry(fake, 'deploy', 'list', '--host', 'web-1');
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /DEPLOYMENT\s+GROUP\s+REVISION\s+ON HOST\s+DEPLOYMENT STATUS\s+ERROR\s+WHEN\n/);
  t.match(text.stdout, /d-TEST1\s+shop\/web\s+abababababab\s+Failed\s+Failed\s+ScriptFailed: check.sh exited 3\s+2025-01-01 12:00:00Z\n/);
  const json = await ferry(fake, 'deploy', 'list', '--host', 'web-1', '--json');
  t.equal(json.json.hostResults[0].errorCode, 'ScriptFailed');
  t.same(fake.requests('ListDeployments').map(r => r.host), ['web-1', 'web-1']);
  const none = await ferry(fake, 'deploy', 'list', '--host', 'web-9');
  t.equal(none.stdout, 'no deployment has targeted host web-9 yet\n');
  const empty = await ferry(fake, 'deploy', 'list', '--host', '');
  t.equal(empty.code, 2);
  t.match(empty.stderr, /--host/);
});

t.test('hosts show lists the host\'s deployments, by id or hostname; --json adds history', async t => {
  const fake = await startFakeControl(t);
  fake.hosts = [hostInfo({ id: 'h-1', hostname: 'web-1' })];
  fake.deployment = detail(ended('Succeeded'), [web1({ status: 'Succeeded', completedAt: T0 })]);
  const text = await ferry(fake, 'hosts', 'show', 'web-1');
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, 'Deployments (newest first, at most 10; more with ferry deploy list --host h-1 --limit N):\n');
  t.match(text.stdout, /  d-TEST1\s+shop\/web\s+abababababab\s+Succeeded\s+Succeeded\s+-\s+2025-01-01 12:00:00Z\n/);
  const json = await ferry(fake, 'hosts', 'show', 'h-1', '--json', '--limit', '3');
  t.equal(json.code, 0, json.stderr);
  t.equal(json.json.id, 'h-1');
  t.same(json.json.history.map((e: any) => [e.deployment.id, e.result.status]), [['d-TEST1', 'Succeeded']]);
  t.same(fake.requests('ListDeployments').map(r => [r.host, r.limit]), [['h-1', 10], ['h-1', 3]]);
  const missing = await ferry(fake, 'hosts', 'show', 'nope');
  t.equal(missing.code, 1);
  t.match(missing.stderr, /host nope not found/);
  fake.hosts = [hostInfo({ id: 'h-1', hostname: 'vm' }), hostInfo({ id: 'h-2', hostname: 'vm' })];
  const ambiguous = await ferry(fake, 'hosts', 'show', 'vm');
  t.equal(ambiguous.code, 2);
  t.match(ambiguous.stderr, /hostname vm is shared by hosts h-1, h-2; give the host id/);
});

t.test('deploy retry sends RetryDeployment; --wait follows the new deployment', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({ id: 'd-RETRY', status: 'Queued', description: 'retry of d-OLD on 1 host that did not succeed' }, [web1()]);
  const plain = await ferry(fake, 'deploy', 'retry', 'd-RETRY');
  t.equal(plain.code, 0, plain.stderr);
  t.match(plain.stdout, /^d-RETRY\nretry d-RETRY: revision abababababab to shop\/web, retry of d-OLD on 1 host that did not succeed \(Queued\)\nfollow it: ferry deploy wait d-RETRY/);
  t.match(fake.requests('RetryDeployment')[0], { id: 'd-RETRY', requestedBy: /@/ });
  fake.watch = [{ detail: detail({ id: 'd-RETRY', ...ended('Succeeded') }, [web1({ status: 'Succeeded' })]) }];
  const waited = await ferry(fake, 'deploy', 'retry', 'd-RETRY', '--wait', '--json');
  t.equal(waited.code, 0, waited.stderr);
  t.match(waited.json, { exitCode: 0, outcome: 'succeeded', deployment: { id: 'd-RETRY' } });
  const usage = await ferry(fake, 'deploy', 'retry', 'd-RETRY', '--follow-rollback');
  t.equal(usage.code, 2);
  t.match(usage.stderr, /--follow-rollback: only with --wait/);
});

t.test('deploy rollback and redeploy take --wait, --timeout and --json like deploy create', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({ id: 'd-RB', creator: 'rollback', rollbackOf: 'd-BAD', status: 'Queued' }, [web1()]);
  fake.watch = [{ detail: detail({ id: 'd-RB', ...ended('Failed') }, [web1({ status: 'Failed' })]) }];
  const rb = await ferry(fake, 'deploy', 'rollback', 'd-RB', '--wait', '--json');
  t.equal(rb.code, 1, 'the rollback failed: exit 1');
  t.match(rb.json, { exitCode: 1, outcome: 'failed', deployment: { id: 'd-RB' } });
  fake.watch = [{ detail: detail({ id: 'd-RB', status: 'InProgress' }, [web1({ status: 'InProgress' })]) }];
  fake.watchHold = true;
  const slow = await ferry(fake, 'deploy', 'redeploy', 'd-RB', '--wait', '--timeout', '300ms');
  t.equal(slow.code, 5, 'timed out');
  t.match(slow.stderr, /gave up waiting after 300ms: deployment d-RB is still InProgress/);
  const bad = await ferry(fake, 'deploy', 'redeploy', 'd-RB', '--timeout', '1m');
  t.equal(bad.code, 2);
  t.same(fake.requests('RedeployDeployment').length, 1, 'nothing sent for a usage error');
});

t.test('deploy create --wait --follow-rollback follows the rollback and reports both outcomes', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({ status: 'Queued' }, [web1()]);
  fake.watch = [{ detail: detail(ended('Failed', { rolledBackBy: 'd-RB', errorMessage: 'rolled back by d-RB' }), [web1({ status: 'Failed' })]) }];
  const args = ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait', '--follow-rollback'];

  fake.watchById.set('d-RB', [
    { detail: detail({ id: 'd-RB', status: 'InProgress', rollbackOf: 'd-TEST1' }, [web1({ status: 'InProgress' })]) },
    { detail: detail({ id: 'd-RB', ...ended('Succeeded'), rollbackOf: 'd-TEST1' }, [web1({ status: 'Succeeded' })]) },
  ]);
  const good = await ferry(fake, ...args);
  t.equal(good.code, 4, good.stderr);
  t.match(good.stdout, 'following rollback d-RB of d-TEST1\n');
  t.match(good.stdout, 'Deployment d-RB Succeeded');
  t.match(good.stdout, 'Deployment d-TEST1 failed and was rolled back: rollback d-RB Succeeded (exit 4)\n');
  t.same(fake.requests('WatchDeployment'), [{ id: 'd-TEST1' }, { id: 'd-RB' }]);

  fake.watchById.set('d-RB', [{ detail: detail({ id: 'd-RB', ...ended('Failed'), rollbackOf: 'd-TEST1' }, [web1({ status: 'Failed' })]) }]);
  const bad = await ferry(fake, ...args, '--json');
  t.equal(bad.code, 1, 'the rollback failed too');
  t.match(bad.json, { exitCode: 1, outcome: 'failed', deployment: { id: 'd-TEST1', status: 'Failed' }, rollback: { exitCode: 1, outcome: 'failed', deployment: { id: 'd-RB' } } });
  t.match(bad.stderr, 'following rollback d-RB of d-TEST1', 'progress on stderr with --json');

  const without = await ferry(fake, ...args.filter(a => a !== '--follow-rollback'), '--json');
  t.equal(without.code, 4, 'without --follow-rollback: exit 4 at once');
  t.notOk('rollback' in without.json);

  fake.watchById.set('d-RB', [{ detail: detail({ id: 'd-RB', status: 'InProgress' }, [web1({ status: 'InProgress' })]) }]);
  fake.watchHold = true;
  const slow = await ferry(fake, ...args, '--timeout', '500ms', '--json');
  t.equal(slow.code, 5);
  t.match(slow.json, { outcome: 'timed-out', rollback: { deployment: { id: 'd-RB', status: 'InProgress' } } });
  t.match(slow.stderr, /its rollback d-RB is still InProgress/);
});

t.test('group update --tag-set replaces the tag sets, --config sets the config', async t => {
  const fake = await startFakeControl(t);
  const r = await ferry(fake, 'group', 'update', '--app', 'shop', '--name', 'web', '--tag-set', 'role=api', '--tag-set', 'env=prod', '--config', 'HalfAtATime');
  t.equal(r.code, 0, r.stderr);
  t.match(fake.requests('UpdateDeploymentGroup')[0], {
    setTagSets: true, configName: 'HalfAtATime', setAlarms: false, setWindows: false,
    tagSets: [{ filters: [{ key: 'role', value: 'api' }] }, { filters: [{ key: 'env', value: 'prod' }] }],
  });
  t.match(r.stdout, /\n  hosts: .*\n  config: /);
  const none = await ferry(fake, 'group', 'update', '--app', 'shop', '--name', 'web');
  t.equal(none.code, 2);
  t.match(none.stderr, /--tag-set or --config/);
  const bad = await ferry(fake, 'group', 'update', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web,');
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--tag-set: 'role=web,': filter 2 is empty/);
  t.equal(fake.requests('UpdateDeploymentGroup').length, 1, 'nothing sent for a bad flag');
});

async function appWithJunk(t: Tap.Test, ferryignore?: string): Promise<string> {
  const dir = path.join(await tempDir(t), 'app');
  await writeBundle(dir, {
    appspec: { version: 0.0, os: 'linux', hooks: { ApplicationStart: [{ location: 'scripts/start.sh' }] } },
    files: {
      'web/index.html': 'v1', 'web/debug.log': 'noise', 'node_modules/x/index.js': 'dep', '.git/HEAD': 'ref: main', 'web/.git': 'gitdir: ../x',
      'build/keep.txt': 'kept', '.env': 'SECRET=1',
    },
    scripts: { 'scripts/start.sh': 'echo started' },
  });
  if (ferryignore !== undefined) await fs.writeFile(path.join(dir, '.ferryignore'), ferryignore);
  return dir;
}

async function tarPaths(t: Tap.Test, bytes: Buffer): Promise<string[]> {
  const file = path.join(await tempDir(t), 'check.tgz');
  await fs.writeFile(file, bytes);
  const paths: string[] = [];
  await listTar({ file, onReadEntry: e => void paths.push(e.path) });
  return paths;
}

t.test('revision push leaves out .git always and what .ferryignore lists (gitignore syntax)', async t => {
  const fake = await startFakeControl(t);
  const app = await appWithJunk(t, '# build output stays\n*.log\nnode_modules/\n/.env\n');
  const r = await ferry(fake, 'revision', 'push', app, '--app', 'shop');
  t.equal(r.code, 0, r.stderr);
  t.same(await tarPaths(t, fake.uploads[0]!.bytes), [
    'appspec.yml', 'build/', 'build/keep.txt', 'scripts/', 'scripts/start.sh', 'web/', 'web/index.html',
  ]);
  const plain = await appWithJunk(t);
  const r2 = await ferry(fake, 'revision', 'push', plain, '--app', 'shop');
  t.equal(r2.code, 0, r2.stderr);
  t.notOk((await tarPaths(t, fake.uploads[1]!.bytes)).some(p => p.includes('.git')), 'no .git, at any depth, without a .ferryignore');
  const back = await appWithJunk(t, '!.git\n');
  t.equal((await ferry(fake, 'revision', 'push', back, '--app', 'shop')).code, 0);
  t.ok((await tarPaths(t, fake.uploads[2]!.bytes)).includes('.git/HEAD'), '!.git takes it back');
});

t.test('revision push --dry-run lists what was packed and left out, and sends nothing', async t => {
  const fake = await startFakeControl(t);
  const app = await appWithJunk(t, '*.log\nnode_modules/\n');
  const text = await ferry(fake, 'revision', 'push', app, '--dry-run');
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /^dry run: nothing sent\. tgz \S+ \S+, sha256 [0-9a-f]{64}\npacked \(\d+\):\n  \.env\n  appspec\.yml\n/);
  t.match(text.stdout, 'left out (5; .git and .ferryignore, plus the patterns in .ferryignore):\n  .ferryignore\n  .git/\n  node_modules/\n  web/.git\n  web/debug.log\n');
  const json = await ferry(fake, 'revision', 'push', app, '--dry-run', '--json');
  t.match(json.json, { dryRun: true, bundleType: 'tgz', digest: /^[0-9a-f]{64}$/, ignored: ['.ferryignore', '.git/', 'node_modules/', 'web/.git', 'web/debug.log'] });
  t.ok(json.json.entries.includes('web/index.html'));
  t.equal(fake.uploads.length, 0, 'nothing was sent');
  t.same(fake.calls, []);
  const noApp = await ferry(fake, 'revision', 'push', app);
  t.equal(noApp.code, 2);
  t.match(noApp.stderr, /--app: required/);
});

t.test('a .ferryignore that leaves out the appspec is refused, naming the file', async t => {
  const fake = await startFakeControl(t);
  const app = await appWithJunk(t, '*.yml\n');
  const r = await ferry(fake, 'revision', 'push', app, '--app', 'shop');
  t.equal(r.code, 2);
  t.match(r.stderr, /\.ferryignore: it leaves out appspec\.yml, which a revision needs at its root/);
  t.equal(fake.uploads.length, 0);
});

t.test('group show prints auto-rollback, rollback config and alarms in text too', async t => {
  const fake = await startFakeControl(t);
  fake.groups = [group({ autoRollback: ['failure', 'alarm'], alarms: ['http GET http://127.0.0.1:8080/health for 30s', 'cpu > 90% for 1m'], rollbackConfig: 'AllAtOnce' })];
  const r = await ferry(fake, 'group', 'show', '--app', 'shop', '--name', 'web');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Auto-rollback: +failure,alarm\n/);
  t.match(r.stdout, /Rollback config: +AllAtOnce\n/);
  t.match(r.stdout, /Alarms: +http GET http:\/\/127\.0\.0\.1:8080\/health for 30s; cpu > 90% for 1m\n/);
  fake.groups = [group()];
  const plain = await ferry(fake, 'group', 'show', '--app', 'shop', '--name', 'web');
  t.match(plain.stdout, /Auto-rollback: +none\n/);
  t.match(plain.stdout, /Alarms: +none\n/);
});

t.test('hosts list and show: a revoked host says so, and alarm states with since when', async t => {
  const fake = await startFakeControl(t);
  fake.hosts = [
    hostInfo({ id: 'h-1', hostname: 'web-1', alarms: [{ name: 'health', state: 'ALARM', reason: 'HTTP 503', since: '2025-01-01T12:00:00.000Z' }] }),
    hostInfo({ id: 'h-2', hostname: 'web-2', connected: false, state: 'revoked' }),
  ];
  const list = await runFerry(['--coordinator', fake.address, 'hosts', 'list']);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /STATE\s+AGENT\s+REVISIONS\s+ALARMS\n/);
  t.match(list.stdout, /h-1 .*connected .* health ALARM since 2025-01-01 12:00:00Z\n/);
  t.match(list.stdout, /h-2 .*revoked \(enroll again to come back\)/);
  const show = await runFerry(['--coordinator', fake.address, 'hosts', 'show', 'h-1']);
  t.match(show.stdout, /Alarms:\n\s+ALARM\s+STATE\s+SINCE\s+REASON\n\s+health\s+ALARM\s+2025-01-01 12:00:00Z\s+HTTP 503\n/);
});
