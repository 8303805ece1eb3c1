import t from 'tap';
import type { DeploymentPlan__Output } from '../../proto/gen/ferry/v1/DeploymentPlan.js';
import type { PlanFileChange__Output } from '../../proto/gen/ferry/v1/PlanFileChange.js';
import { planLines } from '../../cli/render-plan.js';
import { paint } from '../../cli/output.js';
import { buildProgram } from '../../cli/program.js';
import { Runner } from '../../cli/session.js';
import { DIGEST, T0, runFerry, startFakeControl } from '../helpers/fake-control.js';

/** `ferry deploy plan` and `deploy create --from-plan`: flags → requests, and the plan as text. */

const OLD = 'cd'.repeat(32);
const files = (n: number, change: string): PlanFileChange__Output[] =>
  Array.from({ length: n }, (_, i) => ({ path: `/srv/shop/f${i}.txt`, kind: 'file', change, detail: `${change} ${i}` }));

function aPlan(o: Partial<DeploymentPlan__Output> = {}): DeploymentPlan__Output {
  return {
    id: 'p-TEST00001', application: 'shop', groupName: 'web', groupId: 'g-1', revision: DIGEST, configName: 'HalfAtATime',
    minimumHealthy: { type: 'FLEET_PERCENT', value: 50 }, zonal: null,
    hosts: [
      { hostId: 'h-1', hostname: 'web-1', zone: '', wave: 1, currentRevision: OLD, currentStatus: 'Succeeded', changeKey: OLD },
      { hostId: 'h-2', hostname: 'web-2', zone: '', wave: 2, currentRevision: '', currentStatus: '', changeKey: 'none' },
    ],
    waves: [{ index: 1, zone: '', hostIds: ['h-1'] }, { index: 2, zone: '', hostIds: ['h-2'] }],
    changes: [
      {
        key: OLD, fromRevision: OLD, notes: [],
        hooks: [
          { event: 'ApplicationStop', source: 'previous', revision: OLD, scripts: [{ location: 'scripts/stop.sh', timeoutSeconds: 3600, runas: '' }] },
          { event: 'DownloadBundle', source: 'agent', revision: DIGEST, scripts: [] },
          { event: 'Install', source: 'agent', revision: DIGEST, scripts: [] },
          { event: 'ApplicationStart', source: 'current', revision: DIGEST, scripts: [{ location: 'scripts/start.sh', timeoutSeconds: 60, runas: 'shop' }] },
        ],
        diff: { added: files(1, 'added'), changed: files(2, 'changed'), removed: files(1, 'removed'), permissions: files(1, 'permissions'), unchanged: 7 },
      },
      { key: 'none', fromRevision: '', notes: ['first install'], hooks: [], diff: { added: files(30, 'added'), changed: [], removed: [], permissions: [], unchanged: 0 } },
    ],
    failure: '', notes: [], windows: [], fingerprint: 'sha256:x', createdAt: T0, expiresAt: T0, usedBy: '',
    options: {
      application: 'shop', group: 'web', revision: DIGEST, configName: 'HalfAtATime', description: '', fileExistsBehavior: 'DISALLOW',
      ignoreApplicationStopFailures: false, autoRollback: [], overrideAutoRollback: false, approveAfter: 0, hasApproveAfter: false,
      ignoreAlarms: false, minHealthyTimeMs: 0, approveAfterZones: 0, planId: '', ignoreWindow: false, requireAllHosts: false,
    },
    ...o,
  };
}

t.test('the plan as text: waves, hooks with their revision, file changes capped with "… N more"', async t => {
  const text = planLines(aPlan(), paint(false)).join('\n');
  t.match(text, /Plan p-TEST00001: shop\/web ← revision abababababab/);
  t.match(text, /wave 1: h-1 \(web-1\)\n\s+wave 2: h-2 \(web-2\)/);
  t.match(text, new RegExp(`ApplicationStop\\s+${OLD.slice(0, 12)} \\(current\\)\\s+scripts/stop.sh \\(3600s\\)`));
  t.match(text, /ApplicationStart\s+abababababab \(new\)\s+scripts\/start.sh \(60s, as shop\)/);
  t.match(text, /Files: 1 added, 2 changed, 1 removed, 1 permission change, 7 unchanged/);
  t.match(text, /\+ \/srv\/shop\/f0.txt\s+added 0\n\s+~ \/srv\/shop\/f0.txt\s+changed 0/);
  t.match(text, /- \/srv\/shop\/f0.txt\s+removed 0\n\s+m \/srv\/shop\/f0.txt\s+permissions 0/);
  t.match(text, /From nothing installed \(first install\) → abababababab on h-2 \(web-2\):/);
  t.match(text, /… 10 more \(the full list: ferry deploy plan --show p-TEST00001 --json\)/);
  t.notMatch(text, /Windows:/, 'no windows line when the group has none');
  t.match(planLines(aPlan({ windows: ['Mon-Fri 09:00-17:00 UTC'] }), paint(false)).join('\n'), /Windows: Mon-Fri 09:00-17:00 UTC/);
  t.match(planLines(aPlan({ failure: 'the deployment group selects no hosts' }), paint(false)).join('\n'), /would fail: the deployment group selects no hosts/);
});

t.test('deploy plan sends the deployment as CreateDeployment would, prints the plan and how to execute it', async t => {
  const fake = await startFakeControl(t);
  fake.plan = aPlan();
  const r = await runFerry(['--coordinator', fake.address, 'deploy', 'plan', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--config', 'OneAtATime']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /execute exactly this: ferry deploy create --from-plan p-TEST00001 --wait/);
  t.match(fake.requests('PlanDeployment')[0], { deployment: { application: 'shop', group: 'web', revision: 'latest', configName: 'OneAtATime', planId: '' } });
  const json = await runFerry(['--coordinator', fake.address, 'deploy', 'plan', '--show', 'p-TEST00001', '--json']);
  t.equal(json.code, 0, json.stderr);
  t.equal(json.json.changes[1].diff.added.length, 30, '--json has the full list');
  t.same(fake.requests('GetDeploymentPlan'), [{ id: 'p-TEST00001' }]);
});

t.test('deploy plan takes every flag of deploy create that shapes the deployment (docs/operations.md)', async t => {
  const program = buildProgram(new Runner({ writer: { out: () => {}, err: () => {} }, env: { noColor: true, stdoutIsTTY: false, stderrIsTTY: false, columns: 80 }, now: () => 0, cwd: '/' }));
  const deploy = program.commands.find(c => c.name() === 'deploy')!;
  const flags = (name: string) => deploy.commands.find(c => c.name() === name)!.options.map(o => o.long);
  // Only about running it: following it, scheduling it, executing a plan.
  const notForPlans = ['--wait', '--timeout', '--follow-rollback', '--at', '--from-plan'];
  const missing = flags('create').filter(f => !notForPlans.includes(f ?? '') && !flags('plan').includes(f));
  t.same(missing, [], 'deploy plan accepts them all');
  const fake = await startFakeControl(t);
  fake.plan = aPlan();
  const r = await runFerry(['--coordinator', fake.address, 'deploy', 'plan', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--ignore-window']);
  t.equal(r.code, 0, r.stderr);
  t.match(fake.requests('PlanDeployment')[0], { deployment: { ignoreWindow: true } });
  const fromPlan = await runFerry(['--coordinator', fake.address, 'deploy', 'create', '--from-plan', 'p-1', '--ignore-window']);
  t.equal(fromPlan.code, 2, 'the plan fixes it');
  t.match(fromPlan.stderr, /drop --ignore-window/);
});

t.test('usage errors exit 2 and send nothing', async t => {
  const fake = await startFakeControl(t);
  const cases: [string[], RegExp][] = [
    [['deploy', 'create', '--from-plan', 'p-1', '--revision', 'latest'], /--from-plan: the plan fixes .*drop --revision/],
    [['deploy', 'create', '--from-plan', 'p-1', '--app', 'shop', '--config', 'AllAtOnce'], /drop --app, --config/],
    [['deploy', 'create', '--group', 'web', '--revision', 'latest'], /--app required \(or execute a plan: --from-plan ID\)/],
    [['deploy', 'plan', '--app', 'shop'], /--group, --revision required \(or print a stored plan: --show ID\)/],
    [['deploy', 'plan', '--show', 'p-1', '--revision', 'latest'], /--show: prints a stored plan; drop --revision/],
  ];
  for (const [args, message] of cases) {
    const r = await runFerry(['--coordinator', fake.address, ...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, message);
    t.equal(r.stdout, '');
  }
  t.same(fake.calls, [], 'nothing was sent');
});

t.test('deploy create --from-plan sends only the plan id', async t => {
  const fake = await startFakeControl(t);
  const r = await runFerry(['--coordinator', fake.address, 'deploy', 'create', '--from-plan', 'p-TEST00001']);
  t.equal(r.code, 0, r.stderr);
  t.equal(fake.requests('CreateDeployment').length, 1);
  t.match(r.stdout, /^d-TEST1\n.*\nas planned in p-TEST00001 \(ferry deploy plan --show p-TEST00001\)\n/);
  t.match(fake.requests('CreateDeployment')[0], { planId: 'p-TEST00001', application: '', revision: '' });
});
