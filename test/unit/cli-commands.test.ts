import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import {
  DIGEST, T0, detail, group, hostDeployment, hostInfo, lifecycleEvent, runFerry, startFakeControl,
} from '../helpers/fake-control.js';

/** The real `bin/ferry` against a fake ControlService: the requests it sends, what it prints. */

t.test('app create sends the name and prints it; --json prints the Application', async t => {
  const fake = await startFakeControl(t);
  const human = await runFerry(['--coordinator', fake.address, 'app', 'create', 'shop']);
  t.equal(human.code, 0, human.stderr);
  t.match(human.stdout, /^created application shop\n/);
  const json = await runFerry(['app', 'create', 'shop', '--json', '--coordinator', fake.address]);
  t.equal(json.code, 0);
  t.same(json.json, { name: 'shop', createdAt: T0 });
  t.same(fake.requests('CreateApplication'), [{ name: 'shop' }, { name: 'shop' }]);
});

t.test('FERRY_COORDINATOR is used when --coordinator is not given', async t => {
  const fake = await startFakeControl(t);
  const r = await runFerry(['app', 'list'], { env: { FERRY_COORDINATOR: fake.address } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /NAME\s+CREATED\nshop\s+2025-01-01 12:00:00Z/);
});

t.test('a refusal from the coordinator prints its message and exits 1', async t => {
  const fake = await startFakeControl(t);
  fake.fail('CreateApplication', grpc.status.ALREADY_EXISTS, "application 'shop' already exists");
  const r = await runFerry(['--coordinator', fake.address, 'app', 'create', 'shop']);
  t.equal(r.code, 1);
  t.equal(r.stderr, "ferry: application 'shop' already exists\n");
  t.equal(r.stdout, '');
});

t.test('an unexpected API error exits 7 and names the status', async t => {
  const fake = await startFakeControl(t);
  fake.fail('ListApplications', grpc.status.INTERNAL, 'database is locked');
  const r = await runFerry(['--coordinator', fake.address, 'app', 'list']);
  t.equal(r.code, 7);
  t.match(r.stderr, /unexpected error from the coordinator at 127\.0\.0\.1:\d+: INTERNAL: database is locked/);
});

t.test('an unreachable coordinator exits 6 with what to do next', async t => {
  for (const args of [['--coordinator', '127.0.0.1:1', 'hosts', 'list'], ['hosts', 'list', '--json', '--coordinator', '127.0.0.1:1']]) {
    const r = await runFerry(args);
    t.equal(r.code, 6, args.join(' '));
    t.match(r.stderr, 'ferry: cannot reach the coordinator at 127.0.0.1:1 (from --coordinator): is ferry-coordinator running there? point ferry at it with --coordinator HOST:PORT or FERRY_COORDINATOR=HOST:PORT');
    t.equal(r.stdout, '');
  }
});

t.test('config create maps --min-healthy to HOST_COUNT or FLEET_PERCENT', async t => {
  const fake = await startFakeControl(t);
  const count = await runFerry(['--coordinator', fake.address, 'config', 'create', 'KeepTwo', '--min-healthy', '2']);
  t.equal(count.code, 0, count.stderr);
  t.equal(count.stdout, 'created deployment config KeepTwo: minimum healthy 2 hosts\n');
  const pct = await runFerry(['--coordinator', fake.address, 'config', 'create', 'Quarter', '--min-healthy', '75%', '--json']);
  t.equal(pct.json.minimumHealthy.type, 'FLEET_PERCENT');
  t.same(fake.requests('CreateDeploymentConfig'), [
    { name: 'KeepTwo', minimumHealthy: { type: 'HOST_COUNT', value: 2 }, zonal: null },
    { name: 'Quarter', minimumHealthy: { type: 'FLEET_PERCENT', value: 75 }, zonal: null },
  ]);
});

t.test('config create --zonal sends the zonal settings; the first zone monitor defaults to the zone monitor', async t => {
  const fake = await startFakeControl(t);
  const full = await runFerry(['--coordinator', fake.address, 'config', 'create', 'ByZone', '--min-healthy', '2', '--zonal',
    '--zone-monitor', '10m', '--first-zone-monitor', '30m', '--min-healthy-per-zone', '50%']);
  t.equal(full.code, 0, full.stderr);
  const plain = await runFerry(['--coordinator', fake.address, 'config', 'create', 'Zoned', '--min-healthy', '1', '--zonal', '--zone-monitor', '2s']);
  t.equal(plain.code, 0, plain.stderr);
  t.same(fake.requests('CreateDeploymentConfig').map(r => r.zonal), [
    { monitorMs: 600_000, firstZoneMonitorMs: 1_800_000, minimumHealthyPerZone: { type: 'FLEET_PERCENT', value: 50 } },
    { monitorMs: 2000, firstZoneMonitorMs: 2000, minimumHealthyPerZone: { type: 'HOST_COUNT', value: 0 } },
  ]);
  const stray = await runFerry(['--coordinator', fake.address, 'config', 'create', 'Bad', '--min-healthy', '1', '--zone-monitor', '2s']);
  t.equal(stray.code, 2);
  t.match(stray.stderr, /--zone-monitor: only with --zonal/);
  t.equal(fake.requests('CreateDeploymentConfig').length, 2, 'nothing sent for a usage error');
});

t.test('config list shows the built-in configs', async t => {
  const fake = await startFakeControl(t);
  const r = await runFerry(['--coordinator', fake.address, 'config', 'list']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, [
    'NAME         MINIMUM HEALTHY   ZONAL  KIND      CREATED',
    'OneAtATime   all but one host  -      built-in',
    'HalfAtATime  50% of the hosts  -      built-in',
    'AllAtOnce    0 hosts           -      built-in',
    '',
  ].join('\n'));
  const json = await runFerry(['--coordinator', fake.address, 'config', 'list', '--json']);
  t.same(json.json.configs.map((c: any) => c.name), ['OneAtATime', 'HalfAtATime', 'AllAtOnce']);
});

t.test('group create sends tag sets as TagFilters (OR within a set, AND across sets)', async t => {
  const fake = await startFakeControl(t);
  const r = await runFerry([
    '--coordinator', fake.address, 'group', 'create', '--app', 'shop', '--name', 'web',
    '--tag-set', 'role=web,role=api', '--tag-set', 'env=prod', '--tag-set', 'canary,=blue', '--config', 'HalfAtATime',
  ]);
  t.equal(r.code, 0, r.stderr);
  const [req] = fake.requests('CreateDeploymentGroup');
  t.same(req, {
    application: 'shop', name: 'web', configName: 'HalfAtATime', autoRollback: [], alarms: [], windows: [],
    tagSets: [
      { filters: [{ key: 'role', value: 'web', hasKey: true, hasValue: true }, { key: 'role', value: 'api', hasKey: true, hasValue: true }] },
      { filters: [{ key: 'env', value: 'prod', hasKey: true, hasValue: true }] },
      { filters: [{ key: 'canary', value: '', hasKey: true, hasValue: false }, { key: '', value: 'blue', hasKey: false, hasValue: true }] },
    ],
  });
  t.match(r.stdout, 'created deployment group shop/web (g-1)');
  t.match(r.stdout, 'hosts: (role=web OR role=api) AND env=prod AND (canary OR =blue); 1 connected host(s) match now');
});

t.test('group list and show: tag sets, config, matching hosts, last successful revision', async t => {
  const fake = await startFakeControl(t);
  fake.groups = [group({ matchingHostIds: ['h-1', 'h-9'], lastSuccessfulRevision: DIGEST, lastSuccessfulDeploymentId: 'd-OLD' })];
  const list = await runFerry(['--coordinator', fake.address, 'group', 'list', '--app', 'shop']);
  t.equal(list.code, 0, list.stderr);
  t.equal(list.stdout, `NAME  CONFIG      TAG SETS  HOSTS  LAST REVISION\nweb   OneAtATime  role=web  2      ${DIGEST.slice(0, 12)}\n`);
  t.same(fake.requests('ListDeploymentGroups'), [{ application: 'shop' }]);
  const show = await runFerry(['--coordinator', fake.address, 'group', 'show', '--app', 'shop', '--name', 'web']);
  t.equal(show.code, 0, show.stderr);
  t.match(show.stdout, /Tag sets:\s+role=web\n/);
  t.match(show.stdout, /As flags:\s+--tag-set role=web\n/);
  t.match(show.stdout, new RegExp(`Last successful revision:\\s+${DIGEST.slice(0, 12)} \\(deployment d-OLD\\)`));
  t.match(show.stdout, 'Matching connected hosts: 2');
  t.match(show.stdout, /h-1\s+web-1\s+role=web\s+a/);
  t.match(show.stdout, /h-9\s+-/);
  const missing = await runFerry(['--coordinator', fake.address, 'group', 'show', '--app', 'shop', '--name', 'nope']);
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'ferry: deployment group shop/nope not found\n');
});

t.test('hosts list and show: tags, zone, connection, revisions and facts', async t => {
  const fake = await startFakeControl(t);
  fake.hosts = [
    hostInfo({ revisions: [{ groupId: 'g-1', groupName: 'web', application: 'shop', revision: DIGEST, lastStatus: 'Succeeded' }] }),
    hostInfo({
      id: 'h-2', hostname: 'web-2', tags: { role: 'web', env: 'prod' }, zone: '', connected: false, state: 'lost', lastSeenAt: '2000-01-01T00:00:00Z',
      facts: { os: 'Debian 12', kernel: '6.1.0', arch: 'x64', cpus: 4, memoryBytes: 8 * 1024 ** 3, diskTotalBytes: 100 * 1024 ** 3, diskFreeBytes: 40 * 1024 ** 3 },
    }),
  ];
  const list = await runFerry(['--coordinator', fake.address, 'hosts', 'list']);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /^ID\s+HOSTNAME\s+TAGS\s+ZONE\s+STATE\s+AGENT\s+REVISIONS\n/);
  t.match(list.stdout, new RegExp(`h-1\\s+web-1\\s+role=web\\s+a\\s+connected\\s+0\\.1\\.0\\s+shop/web:${DIGEST.slice(0, 12)}\\n`));
  t.match(list.stdout, /h-2\s+web-2\s+env=prod,role=web\s+-\s+lost, seen \d+d ago\s+0\.1\.0\s+-\n/);
  const show = await runFerry(['--coordinator', fake.address, 'hosts', 'show', 'h-2']);
  t.equal(show.code, 0, show.stderr);
  for (const re of [/OS:\s+Debian 12/, /Kernel:\s+6\.1\.0/, /CPUs:\s+4/, /Memory:\s+8\.0 GiB/, /Disk:\s+40 GiB free of 100 GiB/, /none installed by Ferry yet/]) {
    t.match(show.stdout, re);
  }
  t.same(fake.requests('GetHost'), [{ id: 'h-2' }]);
  const json = await runFerry(['--coordinator', fake.address, 'hosts', 'list', '--json']);
  t.same(json.json.hosts.map((h: any) => h.id), ['h-1', 'h-2']);
});

t.test('deploy create sends the request and prints the deployment id', async t => {
  const fake = await startFakeControl(t);
  const r = await runFerry([
    '--coordinator', fake.address, 'deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', DIGEST.slice(0, 10).toUpperCase(),
    '--description', 'v2', '--file-exists-behavior', 'overwrite', '--ignore-application-stop-failures', '--config', 'AllAtOnce',
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.split('\n')[0], 'd-TEST1');
  t.same(fake.requests('CreateDeployment'), [{
    application: 'shop', group: 'web', revision: DIGEST.slice(0, 10), configName: 'AllAtOnce', description: 'v2',
    fileExistsBehavior: 'OVERWRITE', ignoreApplicationStopFailures: true, autoRollback: [], overrideAutoRollback: false,
    approveAfter: 0, hasApproveAfter: false, ignoreAlarms: false, minHealthyTimeMs: 0, approveAfterZones: 0, planId: '', ignoreWindow: false, requireAllHosts: false,
  }]);
  const json = await runFerry(['--coordinator', fake.address, 'deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--json']);
  t.equal(json.json.deployment.id, 'd-TEST1');
  t.equal(fake.requests('CreateDeployment')[1].fileExistsBehavior, '');
});

t.test('deploy status shows every host and event, and the deployment error', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({ status: 'Failed', errorCode: 'HEALTH_CONSTRAINTS', errorMessage: 'too many hosts failed', startedAt: T0, completedAt: '2025-01-01T12:01:05.000Z' }, [
    hostDeployment({ status: 'Succeeded', startedAt: T0, completedAt: '2025-01-01T12:00:30.000Z', events: [lifecycleEvent({ name: 'Install', durationMs: 1200 })] }),
    hostDeployment({
      hostId: 'h-2', hostname: 'web-2', status: 'Failed', zone: 'b', errorCode: 'ScriptFailed', errorMessage: 'check.sh exited 1', startedAt: T0, completedAt: '2025-01-01T12:01:00.000Z',
      events: [
        lifecycleEvent({ name: 'Install', durationMs: 800 }),
        lifecycleEvent({ name: 'ValidateService', status: 'Failed', errorCode: 'ScriptFailed', exitCode: 1, message: 'Script at specified location: check.sh failed with exit code 1', durationMs: 2500 }),
      ],
    }),
  ]);
  const r = await runFerry(['--coordinator', fake.address, 'deploy', 'status', 'd-TEST1']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Status:\s+Failed\n/);
  t.match(r.stdout, /Duration:\s+1m05s\n/);
  t.match(r.stdout, 'Error: HEALTH_CONSTRAINTS: too many hosts failed');
  t.match(r.stdout, 'Hosts: 2 (1 succeeded · 0 in flight · 1 failed · 0 pending)');
  t.match(r.stdout, 'h-2 (web-2) zone b  Failed  1m00s', 'the host id with its hostname');
  t.match(r.stdout, '  error: ScriptFailed: check.sh exited 1');
  t.match(r.stdout, /  ValidateService\s+Failed\s+2\.5s\s+ScriptFailed\s+1\s+Script at specified location: check.sh failed with exit code 1/);
  t.match(r.stdout, /  Install\s+Succeeded\s+1\.2s\s+-\s+-/);
  const missing = await runFerry(['--coordinator', fake.address, 'deploy', 'status', 'd-NOPE']);
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'ferry: deployment d-NOPE not found\n');
});

t.test('deploy list sends the filters and limit', async t => {
  const fake = await startFakeControl(t);
  const r = await runFerry(['--coordinator', fake.address, 'deploy', 'list', '--app', 'shop', '--group', 'web', '--limit', '5']);
  t.equal(r.code, 0, r.stderr);
  t.same(fake.requests('ListDeployments'), [{ application: 'shop', group: 'web', limit: 5, host: '' }]);
  t.match(r.stdout, /^ID\s+APP\s+GROUP\s+REVISION\s+STATUS\s+CREATOR\s+CREATED\s+DURATION\nd-TEST1\s+shop\s+web\s+abababababab\s+Created\s+user/);
  const json = await runFerry(['--coordinator', fake.address, 'deploy', 'list', '--json']);
  t.equal(json.json.deployments[0].id, 'd-TEST1');
  t.same(fake.requests('ListDeployments')[1], { application: '', group: '', limit: 20, host: '' });
});

t.test('deploy logs prints host, event, [stream] line and filters by hostname', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({}, [hostDeployment(), hostDeployment({ hostId: 'h-2', hostname: 'web-2' })]);
  fake.logs = [
    { seq: 1, hostId: 'h-1', event: 'ApplicationStart', stream: 'stdout', line: 'starting', at: T0 },
    { seq: 2, hostId: 'h-2', event: 'ValidateService', stream: 'stderr', line: 'curl: (7) refused', at: T0 },
  ];
  const all = await runFerry(['--coordinator', fake.address, 'deploy', 'logs', 'd-TEST1']);
  t.equal(all.code, 0, all.stderr);
  t.equal(all.stdout, 'h-1 (web-1)  ApplicationStart    [stdout] starting\nh-2 (web-2)  ValidateService     [stderr] curl: (7) refused\n');
  const one = await runFerry(['--coordinator', fake.address, 'deploy', 'logs', 'd-TEST1', '--host', 'web-2', '--follow']);
  t.equal(one.stdout, 'h-2 (web-2)  ValidateService     [stderr] curl: (7) refused\n');
  t.same(fake.requests('StreamLogs')[1], { deploymentId: 'd-TEST1', hostId: 'h-2', follow: true, afterSeq: 0 });
  const json = await runFerry(['--coordinator', fake.address, 'deploy', 'logs', 'd-TEST1', '--json']);
  t.same(json.json.entries.map((e: any) => e.line), ['starting', 'curl: (7) refused']);
  const unknown = await runFerry(['--coordinator', fake.address, 'deploy', 'logs', 'd-TEST1', '--host', 'db-1']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, "--host: 'db-1' is not a host of deployment d-TEST1 (its hosts: h-1 (web-1), h-2 (web-2))");
});

t.test('every command has --help with examples', async t => {
  const commands = [
    ['app', 'create'], ['app', 'list'], ['config', 'create'], ['config', 'list'], ['group', 'create'], ['group', 'list'], ['group', 'show'],
    ['revision', 'push'], ['revision', 'list'], ['deploy', 'create'], ['deploy', 'status'], ['deploy', 'list'], ['deploy', 'logs'], ['deploy', 'plan'],
    ['hosts', 'list'], ['hosts', 'show'],
  ];
  await Promise.all(commands.map(async cmd => {
    const r = await runFerry([...cmd, '--help']);
    t.equal(r.code, 0, cmd.join(' '));
    t.match(r.stdout, /--json/, `${cmd.join(' ')} has --json`);
    t.match(r.stdout, /Examples:\n  ferry /, `${cmd.join(' ')} has examples`);
  }));
  const root = await runFerry(['--help']);
  t.match(root.stdout, /Exit codes:\n  0 .*\n  1 .*\n  2 .*\n  3 .*\n  4 .*\n  5 .*\n  6 /);
});

t.test('times are local with their offset, --utc shows UTC, --json keeps the API\'s UTC', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({ status: 'Succeeded', startedAt: T0, completedAt: '2025-01-01T12:01:05.000Z' }, [hostDeployment({ status: 'Succeeded' })]);
  const local = await runFerry(['--coordinator', fake.address, 'deploy', 'status', 'd-TEST1'], { env: { TZ: 'Asia/Kolkata' } });
  t.equal(local.code, 0, local.stderr);
  t.match(local.stdout, /Completed:\s+2025-01-01 17:31:05\+05:30\n/);
  const utc = await runFerry(['--coordinator', fake.address, 'deploy', 'status', 'd-TEST1', '--utc'], { env: { TZ: 'Asia/Kolkata' } });
  t.match(utc.stdout, /Completed:\s+2025-01-01 12:01:05Z\n/);
  const json = await runFerry(['--coordinator', fake.address, 'deploy', 'status', 'd-TEST1', '--json'], { env: { TZ: 'America/New_York' } });
  t.equal(json.json.deployment.completedAt, '2025-01-01T12:01:05.000Z');
  const west = await runFerry(['--coordinator', fake.address, 'deploy', 'list'], { env: { TZ: 'America/New_York' } });
  t.match(west.stdout, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d-05:00/, 'deploy list too');
});
