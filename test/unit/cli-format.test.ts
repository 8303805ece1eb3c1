import t from 'tap';
import {
  formatAgo, formatBytes, formatDuration, formatMinHealthy, formatTagSets, formatTags, formatTime, keyValues, shortDigest, table, tagSetFlags,
  visibleLength, type Zone,
} from '../../cli/format.js';
import { paint } from '../../cli/output.js';
import { changeLines, countsText, progressBar, progressLine, summarize, verdictLines, waitingText } from '../../cli/progress.js';
import { deploymentLines, eventRows, logLine } from '../../cli/render-deployment.js';
import { T0, detail, hostDeployment, lifecycleEvent } from '../helpers/fake-control.js';

/** The CLI's pure formatting: tables, durations, tag sets and deployment progress. */

const plain = paint(false);
const NOW = Date.parse(T0);
const filter = (key: string | undefined, value: string | undefined) => ({
  key: key ?? '', value: value ?? '', hasKey: key !== undefined, hasValue: value !== undefined,
});

t.test('durations', async t => {
  const cases: [number | undefined, string][] = [
    [undefined, '-'], [-5, '-'], [0, '0ms'], [850, '850ms'], [999.6, '1000ms'], [1000, '1.0s'], [4290, '4.2s'], [59_999, '59.9s'],
    [60_000, '1m00s'], [185_000, '3m05s'], [3_599_000, '59m59s'], [3_600_000, '1h00m'], [3_720_000, '1h02m'], [90_000_000, '25h00m'],
  ];
  for (const [ms, text] of cases) t.equal(formatDuration(ms), text, String(ms));
});

t.test('relative times, timestamps, sizes and digests', async t => {
  const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
  t.equal(formatAgo(ago(0), NOW), 'just now');
  t.equal(formatAgo(ago(12), NOW), '12s ago');
  t.equal(formatAgo(ago(300), NOW), '5m ago');
  t.equal(formatAgo(ago(3 * 3600), NOW), '3h ago');
  t.equal(formatAgo(ago(49 * 3600), NOW), '2d ago');
  t.equal(formatAgo('', NOW), '-');
  t.equal(formatTime('2025-01-01T12:00:03.456Z'), '2025-01-01 12:00:03Z');
  t.equal(formatTime('not a time'), '-');
  t.equal(formatTime('2025-01-01T12:00:03.456Z', () => 330), '2025-01-01 17:30:03+05:30', 'a local zone east of UTC, with its offset');
  t.equal(formatTime('2025-01-01T02:00:03Z', () => -300), '2024-12-31 21:00:03-05:00', 'west of UTC, across midnight');
  t.equal(formatBytes(512), '512 B');
  t.equal(formatBytes(1536), '1.5 KiB');
  t.equal(formatBytes(8 * 1024 ** 3), '8.0 GiB');
  t.equal(formatBytes(100 * 1024 ** 3), '100 GiB');
  t.equal(shortDigest('sha256:' + 'a1'.repeat(32)), 'a1a1a1a1a1a1');
  t.equal(shortDigest(''), '-');
});

t.test('tables pad every column but the last, measuring text without colour', async t => {
  const c = paint(true);
  const lines = table(['NAME', 'STATUS', 'NOTE'], [['web-1', c('32', 'Succeeded'), ''], ['a-much-longer-name', 'Failed', 'exit 1']]);
  t.same(lines.map(l => l.replace(/\x1b\[[0-9;]*m/g, '')), [
    'NAME                STATUS     NOTE',
    'web-1               Succeeded',
    'a-much-longer-name  Failed     exit 1',
  ]);
  t.same(keyValues([['Host', 'web-1'], ['Last seen', '-']], '  '), ['  Host:       web-1', '  Last seen:  -']);
});

t.test('tag sets read as OR within a set and AND across sets', async t => {
  const sets = [{ filters: [filter('role', 'web'), filter('role', 'api')] }, { filters: [filter('env', 'prod')] }, { filters: [filter('canary', undefined), filter(undefined, 'blue')] }];
  t.equal(formatTagSets(sets), '(role=web OR role=api) AND env=prod AND (canary OR =blue)');
  t.equal(formatTagSets([{ filters: [filter('role', 'web'), filter('role', 'api')] }]), 'role=web OR role=api');
  t.equal(formatTagSets([]), 'no tag sets (matches no host)');
  t.same(tagSetFlags(sets), ['role=web,role=api', 'env=prod', 'canary,=blue']);
  t.equal(formatTags({ role: 'web', env: 'prod', canary: '' }), 'canary,env=prod,role=web');
  t.equal(formatTags({}), '-');
});

t.test('minimum healthy hosts', async t => {
  t.equal(formatMinHealthy({ type: 'HOST_COUNT', value: 1 }), '1 host');
  t.equal(formatMinHealthy({ type: 'HOST_COUNT', value: 0 }), '0 hosts');
  t.equal(formatMinHealthy({ type: 'FLEET_PERCENT', value: 75 }), '75% of the hosts');
  t.equal(formatMinHealthy({ type: 'ONE_AT_A_TIME', value: 0 }), 'all but one host');
  t.equal(formatMinHealthy(null), '-');
});

const fleet = () => detail({ status: 'InProgress', startedAt: T0 }, [
  hostDeployment({ hostId: 'h-1', hostname: 'web-1', status: 'Succeeded' }),
  hostDeployment({ hostId: 'h-2', hostname: 'web-2', status: 'InProgress', currentEvent: 'AfterInstall' }),
  hostDeployment({ hostId: 'h-3', hostname: '', status: 'InProgress', currentEvent: '' }),
  hostDeployment({ hostId: 'h-4', hostname: 'web-4', status: 'Failed' }),
  hostDeployment({ hostId: 'h-5', hostname: 'web-5', status: 'Pending' }),
  hostDeployment({ hostId: 'h-6', hostname: 'web-6', status: 'Unknown' }),
]);

t.test('a progress summary counts hosts and names the event of each in-flight host', async t => {
  const s = summarize(fleet());
  t.same(s, {
    total: 6, succeeded: 1, inFlight: 2, failed: 1, pending: 1, skipped: 0, unknown: 1,
    inFlightHosts: [{ host: 'h-2 (web-2)', event: 'AfterInstall' }, { host: 'h-3', event: '' }],
  });
  t.equal(countsText(s, plain), '1 succeeded · 2 in flight · 1 failed · 1 pending · 1 unknown (agent lost)');
  t.equal(progressBar(s, 12, plain), '[██████░░░░░░]');
  const fromOverview = summarize({ ...detail(), hosts: [], overview: { pending: 3, inProgress: 1, succeeded: 2, failed: 0, skipped: 0, unknown: 0 } });
  t.equal(fromOverview.total, 6);
  t.equal(fromOverview.inFlight, 1);
});

t.test('the live progress line fits the terminal', async t => {
  const line = progressLine(fleet(), 200, plain, NOW + 65_000);
  t.equal(line, '[██████████░░░░░░░░░░] 3/6 1m05s · 1 succeeded, 2 in flight, 1 failed, 1 pending, 1 unknown (h-2 (web-2): AfterInstall, h-3: starting)');
  t.equal(progressLine(fleet(), 110, plain, NOW), '[██████████░░░░░░░░░░] 3/6 0ms · 1 succeeded, 2 in flight, 1 failed, 1 pending, 1 unknown (h-2 (web-2): Aft…)');
  t.equal(progressLine(fleet(), 80, plain, NOW), '[█████░░░░░] 3/6 0ms · 1 succeeded, 2 in flight, 1 failed, 1 pending, 1 unknown', 'no room for hosts');
  t.equal(progressLine(fleet(), 70, plain, NOW), '3/6 0ms · 1 succeeded, 2 in flight, 1 failed, 1 pending, 1 unknown', 'no room for the bar');
  t.equal(progressLine(fleet(), 40, paint(true), NOW), '3/6 0ms · 1 succeeded, 2 in flight, 1 …', 'cut, without colour');
  for (const columns of [200, 100, 80, 60, 30, 10]) {
    const text = progressLine(fleet(), columns, paint(true), NOW);
    t.ok(visibleLength(text) <= columns - 1, `never wraps at ${columns} columns: ${visibleLength(text)}`);
  }
  const queued = detail({ status: 'Queued' }, [hostDeployment()]);
  t.equal(progressLine(queued, 80, plain, NOW), '[░░░░░░░░░░] 0/1 Queued 0ms · 0 succeeded, 0 in flight, 0 failed, 1 pending', 'a status other than InProgress is shown');
  const gate = detail({ id: 'd-GATE1', status: 'Paused', awaitingApproval: true, startedAt: T0 },
    [hostDeployment({ hostId: 'h-1', status: 'Succeeded' }), hostDeployment({ hostId: 'h-2', status: 'Pending' })]);
  t.match(progressLine(gate, 200, plain, NOW), /\] 1\/2 Paused 0ms · 1 succeeded, 0 in flight, 0 failed, 1 pending \(awaiting approval: ferry deploy approve d-GATE1 \(or ferry deploy reject d-GATE1 --reason TEXT\)\)$/,
    'at the approval gate the line says what to run');
});

t.test('the live line says what a deployment waits for: bake time left, a window (until when), an approval, an operator', async t => {
  const plus2h: Zone = () => 120;
  const bake = detail({ id: 'd-B', status: 'InProgress', minHealthyTimeMs: 120_000, startedAt: T0 }, [
    hostDeployment({ hostId: 'h-1', hostname: 'web-1', status: 'Succeeded', completedAt: new Date(NOW + 10_000).toISOString() }),
    hostDeployment({ hostId: 'h-2', status: 'Succeeded', completedAt: T0 }),
    hostDeployment({ hostId: 'h-3', status: 'Pending' }),
  ]);
  t.equal(waitingText(bake, NOW + 50_000, plus2h), 'baking h-1 (web-1) and 1 more: 1m20s left, until 2025-01-01 14:02:10+02:00');
  t.match(progressLine(bake, 200, plain, NOW + 50_000), /2\/3 50\.0s · 2 succeeded, 0 in flight, 0 failed, 1 pending \(baking h-1 \(web-1\) and 1 more: 1m20s left, until 2025-01-01 12:02:10Z\)$/);
  t.equal(waitingText(bake, NOW + 130_001), undefined, 'baked: waits for nothing');
  const inFlight = detail({ id: 'd-B', status: 'InProgress', minHealthyTimeMs: 0 }, [hostDeployment({ hostId: 'h-1', status: 'Succeeded', completedAt: T0 })]);
  t.equal(waitingText(inFlight, NOW), undefined, 'no bake time: nothing to say');
  const opens = new Date(NOW + 3 * 3_600_000 + 5 * 60_000).toISOString();
  const windowed = detail({ id: 'd-W', status: 'Paused', pauseKind: 'window', nextWindowAt: opens, waitReason: 'outside window' });
  t.equal(waitingText(windowed, NOW, plus2h), 'outside its deployment window: opens 2025-01-01 17:05:00+02:00 (in 3h05m)');
  const queued = detail({ id: 'd-Q', status: 'Queued', nextWindowAt: opens, waitReason: 'waiting for window' });
  t.equal(waitingText(queued, NOW), 'waiting for a deployment window: opens 2025-01-01 15:05:00Z (in 3h05m)');
  t.equal(waitingText(detail({ id: 'd-A', status: 'Paused', pauseKind: 'approval' }), NOW), 'awaiting approval: ferry deploy approve d-A (or ferry deploy reject d-A --reason TEXT)');
  t.equal(waitingText(detail({ id: 'd-P', status: 'Paused', pauseKind: 'operator', pauseReason: 'paused by alice' }), NOW), 'paused (paused by alice): ferry deploy resume d-P');
  t.equal(waitingText(detail({ id: 'd-D', status: 'Succeeded' }), NOW), undefined);
});

t.test('change lines report only what changed between two watch messages', async t => {
  const before = detail({ status: 'InProgress' }, [
    hostDeployment({ hostId: 'h-1', hostname: 'web-1', status: 'InProgress', currentEvent: 'Install' }),
    hostDeployment({ hostId: 'h-2', hostname: 'web-2', status: 'Pending' }),
  ]);
  t.same(changeLines(undefined, before), ['deployment d-TEST1: InProgress (2 hosts)', 'host h-1 (web-1): event Install']);
  t.same(changeLines(before, before), [], 'nothing changed, nothing printed');
  const after = detail({ status: 'InProgress' }, [
    hostDeployment({
      hostId: 'h-1', hostname: 'web-1', status: 'Failed', errorCode: 'ScriptFailed', errorMessage: 'exit 1',
      events: [lifecycleEvent({ name: 'AfterInstall', status: 'Failed' })],
    }),
    hostDeployment({ hostId: 'h-2', hostname: 'web-2', status: 'InProgress' }),
  ]);
  t.same(changeLines(before, after), ['host h-1 (web-1): Failed at AfterInstall: ScriptFailed: exit 1', 'host h-2 (web-2): InProgress']);
  const lost = detail({ status: 'Failed' }, [after.hosts[0]!, hostDeployment({ hostId: 'h-2', hostname: 'web-2', status: 'Unknown', errorCode: 'AGENT_LOST' })]);
  t.same(changeLines(after, lost), ['deployment d-TEST1: Failed', 'host h-2 (web-2): Unknown: AGENT_LOST']);
});

t.test('the verdict says loudly when a host failed in a deployment that succeeded', async t => {
  const d = detail({ status: 'Succeeded', startedAt: T0, completedAt: '2025-01-01T12:00:10.000Z' }, [
    hostDeployment({ status: 'Succeeded' }),
    hostDeployment({ hostId: 'h-2', hostname: 'web-2', status: 'Failed', errorCode: 'ScriptFailed', currentEvent: 'ValidateService' }),
  ]);
  t.same(verdictLines(d, NOW, plain), [
    'Deployment d-TEST1 Succeeded in 10.0s: 1 succeeded · 0 in flight · 1 failed · 0 pending',
    'warning: 1 host(s) failed, but config OneAtATime lets the deployment succeed:',
    '  h-2 (web-2): Failed at ValidateService: ScriptFailed',
    'details: ferry deploy status d-TEST1   hook output: ferry deploy logs d-TEST1 --host h-2',
  ]);
  t.same(verdictLines(detail({ status: 'Succeeded', startedAt: T0, completedAt: T0 }), NOW, plain), [
    'Deployment d-TEST1 Succeeded in 0ms: 0 succeeded · 0 in flight · 0 failed · 0 pending',
  ]);
});

t.test('deployment status and log lines', async t => {
  const rows = eventRows([
    lifecycleEvent({ name: 'ApplicationStop', status: 'Skipped', durationMs: 0, startedAt: '', endedAt: '' }),
    lifecycleEvent({ name: 'ValidateService', status: 'Failed', errorCode: 'ScriptTimedOut', exitCode: 0, message: 'timed out after 30s\nmore', durationMs: 30_000 }),
    lifecycleEvent({ name: 'Install', status: 'InProgress', durationMs: 0, startedAt: T0, endedAt: '' }),
  ], NOW + 1500, plain);
  t.same(rows, [
    ['ApplicationStop', 'Skipped', '-', '-', '-', ''],
    ['ValidateService', 'Failed', '30.0s', 'ScriptTimedOut', '-', 'timed out after 30s'],
    ['Install', 'InProgress', '1.5s', '-', '-', ''],
  ]);
  const lines = deploymentLines(detail({ status: 'Stopped', errorCode: 'STOPPED_BY_USER', errorMessage: 'stopped by alice' }), NOW, plain);
  t.ok(lines.includes('Error: STOPPED_BY_USER: stopped by alice'));
  t.ok(lines.includes('Hosts: 0 (0 succeeded · 0 in flight · 0 failed · 0 pending)'));
  const entry = { seq: 1, hostId: 'h-1', event: 'AfterInstall', stream: 'stderr', line: 'warning: x', at: T0 };
  t.equal(logLine(entry, 'web-1', 8, plain), 'web-1     AfterInstall        [stderr] warning: x');
});
