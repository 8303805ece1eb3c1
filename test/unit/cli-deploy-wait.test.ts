import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { runCli } from '../../cli/program.js';
import { type FakeControl, T0, detail, hostDeployment, lifecycleEvent, runFerry, startFakeControl } from '../helpers/fake-control.js';

/** `ferry deploy create --wait` against a scripted WatchDeployment stream: progress and exit codes. */

const create = (fake: FakeControl, ...extra: string[]) =>
  runFerry(['--coordinator', fake.address, 'deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait', ...extra]);

const web1 = (o = {}) => hostDeployment({ hostId: 'h-1', hostname: 'web-1', ...o });
const web2 = (o = {}) => hostDeployment({ hostId: 'h-2', hostname: 'web-2', ...o });
const running = { status: 'InProgress', startedAt: T0 };
const ended = (status: string, o = {}) => ({ status, startedAt: T0, completedAt: '2025-01-01T12:00:42.000Z', ...o });

/** Two hosts, one at a time: web-1 goes through two events and succeeds, then web-2 ends with `last`. */
function script(fake: FakeControl, last: { deployment: object; web2: object }): void {
  fake.watch = [
    { detail: detail(running, [web1(), web2()]) },
    { detail: detail(running, [web1({ status: 'InProgress', currentEvent: 'BeforeInstall' }), web2()]) },
    { detail: detail(running, [web1({ status: 'InProgress', currentEvent: 'Install' }), web2()]) },
    { detail: detail(running, [web1({ status: 'InProgress', currentEvent: 'Install' }), web2()]) },
    { detail: detail(running, [web1({ status: 'Succeeded' }), web2({ status: 'InProgress', currentEvent: 'ApplicationStart' })]) },
    { detail: detail(last.deployment, [web1({ status: 'Succeeded' }), web2(last.web2)]) },
  ];
}

t.test('a Succeeded deployment exits 0, with a line per change on stdout', async t => {
  const fake = await startFakeControl(t);
  script(fake, { deployment: ended('Succeeded'), web2: { status: 'Succeeded' } });
  const r = await create(fake);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, [
    'd-TEST1',
    'deployment d-TEST1: InProgress (2 hosts)',
    'host h-1 (web-1): event BeforeInstall',
    'host h-1 (web-1): event Install',
    'host h-1 (web-1): Succeeded',
    'host h-2 (web-2): event ApplicationStart',
    'deployment d-TEST1: Succeeded',
    'host h-2 (web-2): Succeeded',
    'Deployment d-TEST1 Succeeded in 42.0s: 2 succeeded · 0 in flight · 0 failed · 0 pending',
    '',
  ].join('\n'));
  t.same(fake.requests('WatchDeployment'), [{ id: 'd-TEST1' }]);
});

t.test('a Failed deployment exits 1 and says which host failed where and why', async t => {
  const fake = await startFakeControl(t);
  const failedHost = {
    status: 'Failed', errorCode: 'ScriptFailed', errorMessage: 'check.sh exited 1',
    events: [lifecycleEvent({ name: 'ValidateService', status: 'Failed', errorCode: 'ScriptFailed', exitCode: 1 })],
  };
  script(fake, { deployment: ended('Failed', { errorCode: 'HEALTH_CONSTRAINTS', errorMessage: 'too many hosts failed' }), web2: failedHost });
  const r = await create(fake);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, 'host h-2 (web-2): Failed at ValidateService: ScriptFailed: check.sh exited 1\n');
  t.match(r.stdout, 'Deployment d-TEST1 Failed after 42.0s: 1 succeeded · 0 in flight · 1 failed · 0 pending\n');
  t.match(r.stdout, '  HEALTH_CONSTRAINTS: too many hosts failed\n');
  t.match(r.stdout, 'details: ferry deploy status d-TEST1   hook output: ferry deploy logs d-TEST1 --host h-2\n');
});

t.test('a Stopped deployment exits 3', async t => {
  const fake = await startFakeControl(t);
  script(fake, { deployment: ended('Stopped'), web2: { status: 'Skipped' } });
  const r = await create(fake);
  t.equal(r.code, 3, r.stderr);
  t.match(r.stdout, 'Deployment d-TEST1 Stopped after 42.0s');
});

t.test('on a terminal, one progress line is redrawn in place, in colour', async t => {
  const fake = await startFakeControl(t);
  script(fake, { deployment: ended('Succeeded'), web2: { status: 'Succeeded' } });
  let out = '';
  let err = '';
  const code = await runCli(['--coordinator', fake.address, 'deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait'], {
    writer: { out: s => void (out += s), err: s => void (err += s) },
    env: { noColor: false, stdoutIsTTY: true, stderrIsTTY: true, columns: 200 },
    now: () => Date.parse(T0) + 42_000,
    cwd: process.cwd(),
  });
  t.equal(code, 0, err);
  const frames = out.split('\r\x1b[2K').slice(1);
  t.equal(frames.length, 6, 'one redraw per watch message');
  t.match(frames[2], /^\[.*\] 0\/2 42\.0s · 0 succeeded, 1 in flight, 0 failed, 1 pending \(h-1 \(web-1\): Install\)$/);
  t.match(frames[4], '(h-2 (web-2): ApplicationStart)');
  t.notMatch(out, 'host h-1 (web-1): event', 'no plain progress lines on a terminal');
  t.match(frames[5], /2\/2 Succeeded[^\n]*\n\x1b\[32mDeployment d-TEST1 Succeeded in 42\.0s\x1b\[0m/, 'the live line ends before the verdict');
  t.equal(out.split('\n')[0], 'd-TEST1');
});

t.test('--timeout gives up with exit 5 while the deployment goes on', async t => {
  const fake = await startFakeControl(t);
  fake.watch = [{ detail: detail(running, [web1({ status: 'InProgress', currentEvent: 'Install' })]) }];
  fake.watchHold = true;
  const r = await create(fake, '--timeout', '500ms');
  t.equal(r.code, 5, r.stderr);
  t.match(r.stdout, 'host h-1 (web-1): event Install');
  t.equal(r.stderr, 'ferry: gave up waiting after 500ms: deployment d-TEST1 is still InProgress and goes on; follow it with ferry deploy status d-TEST1\n');
  const json = await create(fake, '--timeout', '500ms', '--json');
  t.equal(json.code, 5);
  t.equal(json.json.deployment.status, 'InProgress', 'the last state seen is the document');
  t.match(json.json, { exitCode: 5, outcome: 'timed-out' });
});

t.test('--json prints the final DeploymentDetail alone on stdout, progress on stderr', async t => {
  const fake = await startFakeControl(t);
  script(fake, { deployment: ended('Succeeded'), web2: { status: 'Succeeded' } });
  const r = await create(fake, '--json');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.json.deployment.status, 'Succeeded');
  t.same(r.json.hosts.map((h: any) => h.status), ['Succeeded', 'Succeeded']);
  t.match(r.stderr, 'host h-1 (web-1): event BeforeInstall\n');
  t.notMatch(r.stdout, 'host web-1');
  t.match(r.json, { exitCode: 0, outcome: 'succeeded' }, 'how the wait ended is in the document');
});

t.test('--json: each outcome has its exit code and outcome in the one document', async t => {
  const cases = [
    { deployment: ended('Failed'), web2: { status: 'Failed' }, code: 1, outcome: 'failed' },
    { deployment: ended('Stopped'), web2: { status: 'Failed' }, code: 3, outcome: 'stopped' },
    { deployment: ended('Failed', { rolledBackBy: 'd-RB' }), web2: { status: 'Failed' }, code: 4, outcome: 'rolled-back' },
  ];
  for (const c of cases) {
    const fake = await startFakeControl(t);
    script(fake, c);
    const r = await create(fake, '--json');
    t.equal(r.code, c.code, c.outcome);
    t.match(r.json, { exitCode: c.code, outcome: c.outcome }, c.outcome);
    t.equal(r.stdout.trim().split('\n')[0], '{', 'stdout starts with the document');
  }
});

t.test('a watch that ends before the deployment does exits 6', async t => {
  const fake = await startFakeControl(t);
  fake.watch = [{ detail: detail(running, [web1()]) }];
  const r = await create(fake);
  t.equal(r.code, 6);
  t.match(r.stderr, 'the coordinator stopped sending progress of deployment d-TEST1 before it finished (last status InProgress)');
});

t.test('a refused deployment exits 1 with the coordinator\'s reason and is not watched', async t => {
  const fake = await startFakeControl(t);
  fake.fail('CreateDeployment', grpc.status.FAILED_PRECONDITION, 'no revision in application shop: push one first');
  const r = await create(fake);
  t.equal(r.code, 1);
  t.equal(r.stderr, 'ferry: no revision in application shop: push one first\n');
  t.same(fake.requests('WatchDeployment'), []);
});

t.test('bad flags exit 2, name the flag and send nothing', async t => {
  const fake = await startFakeControl(t);
  const c = ['--coordinator', fake.address];
  const cases: { args: string[]; message: string | RegExp }[] = [
    { args: [...c, 'config', 'create', 'X', '--min-healthy', '75'.concat('%%')], message: "--min-healthy: '75%%' is not a host count" },
    { args: [...c, 'config', 'create', 'X', '--min-healthy', '100%'], message: '--min-healthy: \'100%\' leaves no host free' },
    { args: [...c, 'config', 'create', 'X', '--min-healthy', '-1'], message: /--min-healthy|option requires argument/ },
    { args: [...c, 'config', 'create', 'X'], message: "required option '--min-healthy <n|p%>' not specified" },
    { args: [...c, 'group', 'create', '--app', 'a', '--name', 'g', '--tag-set', 'role=web,,env=prod'], message: "--tag-set: 'role=web,,env=prod': filter 2 is empty" },
    { args: [...c, 'group', 'create', '--app', 'a', '--name', 'g', '--tag-set', '='], message: "--tag-set: '=' names neither a key nor a value" },
    { args: [...c, 'group', 'create', '--app', 'a', '--name', 'g'], message: '--tag-set: give at least one tag set' },
    { args: [...c, 'deploy', 'create', '--app', 'a', '--group', 'g', '--revision', 'latest', '--file-exists-behavior', 'CLOBBER'], message: "--file-exists-behavior: 'CLOBBER' is not one of DISALLOW, OVERWRITE, RETAIN" },
    { args: [...c, 'deploy', 'create', '--app', 'a', '--group', 'g', '--revision', 'abc'], message: "--revision: 'abc' is not a digest" },
    { args: [...c, 'deploy', 'create', '--app', 'a', '--group', 'g', '--revision', 'latest', '--timeout', '5m'], message: '--timeout: only with --wait' },
    { args: [...c, 'deploy', 'create', '--app', 'a', '--group', 'g', '--revision', 'latest', '--wait', '--timeout', 'soon'], message: "--timeout: 'soon' is not a duration" },
    { args: [...c, 'deploy', 'list', '--limit', '0'], message: "--limit: '0' must be a whole number of at least 1" },
    { args: [...c, 'deploy', 'list', '--group', 'web'], message: '--group: give --app too' },
    { args: [...c, 'hosts', 'list', '--verbose'], message: "unknown option '--verbose'" },
    { args: ['--coordinator', 'nowhere', 'hosts', 'list'], message: "--coordinator: 'nowhere' is not HOST:PORT" },
  ];
  for (const { args, message } of cases) {
    const r = await runFerry(args);
    t.equal(r.code, 2, args.slice(2).join(' '));
    t.match(r.stderr, message, args.slice(2).join(' '));
  }
  const env = await runFerry(['hosts', 'list'], { env: { FERRY_COORDINATOR: 'host:99999' } });
  t.equal(env.code, 2);
  t.match(env.stderr, "FERRY_COORDINATOR: 'host:99999' is not HOST:PORT");
  t.same(fake.calls, [], 'no request reached the coordinator');
});
