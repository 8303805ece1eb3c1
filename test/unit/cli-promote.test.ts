import t from 'tap';
import { T0, detail, runFerry, startFakeControl } from '../helpers/fake-control.js';

/** `ferry promote` against a fake ControlService: the request it sends, its output, its usage errors. */

const promote = (address: string, ...extra: string[]) =>
  runFerry(['--coordinator', address, 'promote', '--app', 'shop', '--from', 'staging', '--to', 'prod', ...extra]);

t.test('promote sends the groups and deploy create\'s options, decoded by the same code', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({ id: 'd-PROD1', groupName: 'prod', status: 'Queued' });
  const r = await promote(fake.address, '--config', 'AllAtOnce', '--description', 'release 7', '--approve-after', '2',
    '--auto-rollback', 'failure,stop', '--ignore-alarms', '--min-healthy-time', '30s', '--file-exists-behavior', 'overwrite');
  t.equal(r.code, 0, r.stderr);
  t.match(fake.requests('PromoteDeployment'), [{
    application: 'shop', fromGroup: 'staging', toGroup: 'prod', configName: 'AllAtOnce', description: 'release 7',
    approveAfter: 2, hasApproveAfter: true, autoRollback: ['failure', 'stop'], overrideAutoRollback: true, ignoreAlarms: true,
    minHealthyTimeMs: 30_000, fileExistsBehavior: 'OVERWRITE',
  }]);
  t.match(r.stdout, /^d-PROD1\npromoted revision [0-9a-f]+ from staging \(deployment d-SOURCE\) to shop\/prod: deployment d-PROD1 \(Queued\)\nfollow it: ferry deploy status d-PROD1/);
  t.equal(fake.requests('CreateDeployment').length, 0, 'the coordinator picks the revision: no CreateDeployment');
});

t.test('promote --json prints the new deployment and its source', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({ id: 'd-PROD1', groupName: 'prod' });
  const r = await promote(fake.address, '--json');
  t.equal(r.code, 0, r.stderr);
  t.match(r.json, { detail: { deployment: { id: 'd-PROD1' } }, source: { id: 'd-SOURCE', groupName: 'staging', status: 'Succeeded' } });
});

t.test('promote --wait --json: one document with promotedFrom, exitCode and outcome; progress on stderr', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({ id: 'd-TEST1', groupName: 'prod', status: 'Queued' });
  fake.watch = [
    { detail: detail({ id: 'd-TEST1', status: 'InProgress', startedAt: T0 }) },
    { detail: detail({ id: 'd-TEST1', status: 'Stopped', startedAt: T0, completedAt: T0 }) },
  ];
  const r = await promote(fake.address, '--wait', '--json');
  t.equal(r.code, 3, r.stderr);
  t.match(r.json, { exitCode: 3, outcome: 'stopped', promotedFrom: { id: 'd-SOURCE', groupName: 'staging' }, deployment: { status: 'Stopped' } });
  t.match(r.stderr, 'promoting revision');
  t.match(r.stderr, 'deployment d-TEST1: Stopped');
});

t.test('promote usage errors exit 2, name the flag and send nothing', async t => {
  const fake = await startFakeControl(t);
  for (const [args, message] of [
    [['--to', 'staging'], "--to: 'staging' is also --from"],
    [['--timeout', '5m'], '--timeout: only with --wait'],
    [['--approve-after', 'half'], "--approve-after: 'half' must be a number of hosts or first-zone"],
    [['--auto-rollback', 'never'], "--auto-rollback: 'never' must be"],
  ] as const) {
    const r = await promote(fake.address, ...args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, message);
  }
  const missing = await runFerry(['--coordinator', fake.address, 'promote', '--app', 'shop', '--from', 'staging']);
  t.equal(missing.code, 2);
  t.match(missing.stderr, "required option '--to <group>' not specified");
  t.equal(fake.requests('PromoteDeployment').length, 0);
});
