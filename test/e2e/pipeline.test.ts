import t, { type Test } from 'tap';
import { freePort, startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitForHosts } from '../helpers/fleet.js';
import type { FerryError } from '../../common/errors.js';
import { ControlApi } from '../../cli/client.js';

/**
 * The pipeline step against a real coordinator and real agents: `ferry promote` (staging → prod),
 * the one --json document of `--wait` (exitCode, outcome), and the exit codes the other e2e files
 * do not already prove: 2 (usage), 6 (coordinator unreachable), 1 for a group with no hosts.
 * Proven elsewhere with real fleets: 0 and 1 (fleet.test.ts), 3 (failures.test.ts: deploy stop from
 * another process), 4 (rollback.test.ts: auto-rollback on failure), 5 (fleet-more.test.ts: --timeout
 * shorter than a sleeping hook); each of those also checks the document's exitCode and outcome.
 */

/** stdout holds exactly one JSON document (JSON.parse of the whole of it succeeded). */
function oneDocument(t: Test, r: { stdout: string; json?: unknown }, what: string): void {
  t.ok(r.json !== undefined, `${what}: stdout is one JSON document`);
  t.equal(r.stdout.trim().startsWith('{') && r.stdout.trim().endsWith('}'), true, `${what}: nothing else on stdout`);
}

t.test('the docs/pipelines.md flow: deploy to staging, wait at the approval gate, approve, promote to prod (mount namespace)', async t => {
  const f = await startFleet(t, []);
  const a = f.coordinator.address;
  await f.addAgent('s1', { role: 'web', env: 'staging' });
  await f.addAgent('s2', { role: 'web', env: 'staging' });
  await f.addAgent('p1', { role: 'web', env: 'prod' });
  await waitForHosts(a, ['s1', 's2', 'p1']);
  for (const [name, config] of [['staging', 'OneAtATime'], ['prod', 'AllAtOnce']]) {
    const r = await ferry(a, ['group', 'create', '--app', 'shop', '--name', name!, '--tag-set', `env=${name}`, '--config', config!]);
    t.equal(r.code, 0, r.stderr);
  }
  const v1 = await f.push(await f.bundle('v1'));

  const none = await ferry(a, ['promote', '--app', 'shop', '--from', 'staging', '--to', 'prod', '--wait', '--json']);
  t.equal(none.code, 1, 'nothing succeeded on staging yet: refused');
  t.equal(none.stdout, '', 'a refusal prints no document');
  t.match(none.stderr, 'ferry: staging has no successful deployment of app shop; deploy there first: ferry deploy create --app shop --group staging');

  const unknown = await ferry(a, ['promote', '--app', 'shop', '--from', 'staging', '--to', 'production']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, 'application shop has no deployment group production; see ferry group list --app shop');
  const self = await ferry(a, ['promote', '--app', 'shop', '--from', 'prod', '--to', 'prod']);
  t.equal(self.code, 2, 'promoting a group to itself is a usage error');
  t.match(self.stderr, '--to: \'prod\' is also --from');
  // The coordinator holds the rules itself, for any client of the API.
  const api = new ControlApi(a, 10_000);
  t.teardown(() => api.close());
  const refusal = (p: Promise<unknown>) => p.then(() => undefined, (err: FerryError) => [err.code, err.message]);
  const options = { configName: '', description: '', fileExistsBehavior: '', ignoreApplicationStopFailures: false, autoRollback: [] };
  t.match(await refusal(api.promoteDeployment({ application: 'shop', fromGroup: 'prod', toGroup: 'prod', ...options })),
    ['INVALID_ARGUMENT', /cannot promote group prod to itself/]);
  t.match(await refusal(api.promoteDeployment({ application: 'shop', fromGroup: 'qa', toGroup: 'prod', ...options })),
    ['NOT_FOUND', 'application shop has no deployment group qa; see ferry group list --app shop']);
  t.match(await refusal(api.promoteDeployment({ application: 'shop', fromGroup: 'staging', toGroup: 'prod', ...options })),
    ['FAILED_PRECONDITION', /^staging has no successful deployment of app shop; deploy there first/]);

  const created = await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'staging', '--revision', v1, '--approve-after', '1', '--json']);
  t.equal(created.code, 0, created.stderr);
  const id = created.json.deployment.id as string;
  const gate = await ferry(a, ['deploy', 'wait', id, '--until-approval', '--timeout', '60s', '--json'], { timeoutMs: 90_000 });
  t.equal(gate.code, 0, gate.stderr);
  oneDocument(t, gate, 'deploy wait --until-approval --json');
  t.match(gate.json, { exitCode: 0, outcome: 'awaiting-approval', deployment: { id, status: 'Paused', awaitingApproval: true } });
  t.match(gate.stderr, new RegExp(`deployment ${id}: Paused.*: awaiting approval: 1 host\\(s\\) succeeded \\(--approve-after 1\\); continue with ferry deploy approve ${id}`), 'progress, on stderr, says what to do');
  const early = await ferry(a, ['promote', '--app', 'shop', '--from', 'staging', '--to', 'prod']);
  t.equal(early.code, 1, 'staging has not succeeded yet: nothing to promote');
  t.equal((await ferry(a, ['deploy', 'approve', id])).code, 0);
  const staged = await ferry(a, ['deploy', 'wait', id, '--timeout', '60s', '--json'], { timeoutMs: 90_000 });
  t.equal(staged.code, 0, staged.stderr);
  oneDocument(t, staged, 'deploy wait --json');
  t.match(staged.json, { exitCode: 0, outcome: 'succeeded', deployment: { id, status: 'Succeeded', groupName: 'staging' } });
  t.match(staged.stderr, /host s\d( \(\S+\))?: Succeeded/, 'progress goes to stderr');

  // A newer revision exists, but only v1 succeeded on staging: promote takes v1, not latest.
  const v2 = await f.push(await f.bundle('v2'));
  t.not(v2, v1);
  const promoted = await ferry(a, ['promote', '--app', 'shop', '--from', 'staging', '--to', 'prod', '--description', 'release 1', '--wait', '--json'], { timeoutMs: 90_000 });
  t.equal(promoted.code, 0, promoted.stderr);
  oneDocument(t, promoted, 'promote --wait --json');
  t.match(promoted.json, {
    exitCode: 0, outcome: 'succeeded',
    deployment: { groupName: 'prod', revision: v1, status: 'Succeeded', description: `promoted from staging (deployment ${staged.json.deployment.id}, revision ${v1.slice(0, 12)}): release 1` },
    promotedFrom: { id: staged.json.deployment.id, groupName: 'staging', revision: v1 },
  });
  t.match(await f.proof('p1'), ['v1:BeforeInstall'], 'prod runs v1');
  t.ok((await f.proof('p1')).includes('v1:installed:v1'));

  const plain = await ferry(a, ['promote', '--app', 'shop', '--from', 'staging', '--to', 'prod']);
  t.equal(plain.code, 0, plain.stderr);
  t.match(plain.stdout, /^d-\S+\npromoted revision [0-9a-f]+ from staging \(deployment d-\S+\) to shop\/prod: deployment d-\S+/);
});

t.test('a group with no connected hosts: the deployment fails and says which tags matched nothing (mount namespace)', async t => {
  const f = await startFleet(t, ['h1']);
  const a = f.coordinator.address;
  t.equal((await ferry(a, ['group', 'create', '--app', 'shop', '--name', 'api', '--tag-set', 'role=api'])).code, 0);
  const v1 = await f.push(await f.bundle('v1'));
  const r = await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'api', '--revision', v1, '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(r.code, 1, r.stderr);
  t.match(r.json, { exitCode: 1, outcome: 'failed', deployment: { status: 'Failed', errorCode: 'NO_INSTANCES' } });
  t.equal(r.json.deployment.errorMessage, 'group api has no hosts: no known host matches role=api; see ferry hosts list (an agent gets its tags from ferry-agent start --tag KEY=VALUE)');
  const human = await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'api', '--revision', v1, '--wait'], { timeoutMs: 60_000 });
  t.equal(human.code, 1);
  t.match(human.stdout + human.stderr, 'group api has no hosts: no known host matches role=api; see ferry hosts list');
});

t.test('exit 2: a usage error against a real coordinator names the flag and creates nothing (mount namespace)', async t => {
  const f = await startFleet(t, ['h1']);
  const a = f.coordinator.address;
  for (const [args, message] of [
    [['--revision', 'latest', '--timeout', '5m'], '--timeout: only with --wait'],
    [['--revision', 'latest', '--wait', '--timeout', 'soon'], '--timeout: \'soon\' is not a duration'],
    [['--revision', 'nothex'], '--revision: \'nothex\' is not a digest'],
    [['--revision', 'latest', '--wait', '--bogus'], 'unknown option \'--bogus\''],
  ] as const) {
    const r = await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'web', ...args, '--json']);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, message);
    t.equal(r.stdout, '', 'no document on a usage error');
  }
  t.same((await ferry(a, ['deploy', 'list', '--json'])).json.deployments, [], 'nothing was created');
});

t.test('exit 6: an unreachable coordinator is named with where its address came from', async t => {
  const port = await freePort();
  const env = await ferry(`127.0.0.1:${port}`, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait', '--json']);
  t.equal(env.code, 6, env.stderr);
  t.equal(env.stdout, '');
  t.match(env.stderr, `ferry: cannot reach the coordinator at 127.0.0.1:${port} (from FERRY_COORDINATOR): is ferry-coordinator running there?`);
  const promote = await ferry(`127.0.0.1:${port}`, ['promote', '--app', 'shop', '--from', 'staging', '--to', 'prod', '--coordinator', `127.0.0.1:${port}`]);
  t.equal(promote.code, 6);
  t.match(promote.stderr, '(from --coordinator)');
});
