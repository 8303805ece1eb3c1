import t from 'tap';
import { parseAt, parseCronFlags, scheduleTable } from '../../cli/commands/schedule.js';
import { formatWindow, parseWindowFlags, windowNow } from '../../cli/window-flags.js';
import { DIGEST, detail, group, runFerry, schedule, startFakeControl } from '../helpers/fake-control.js';

/** Windows and schedules in the CLI: pure flag parsing, then the real `bin/ferry` against a fake ControlService. */

const NOW = Date.parse('2026-11-27T04:00:00Z');

t.test('--at takes an ISO 8601 time with a zone, in the future', async t => {
  t.equal(parseAt('2026-12-01T02:00Z', NOW), '2026-12-01T02:00:00.000Z');
  t.equal(parseAt('2026-12-01T03:00+01:00', NOW), '2026-12-01T02:00:00.000Z');
  t.throws(() => parseAt('2026-12-01 02:00', NOW), { code: 'INVALID_ARGUMENT', message: /^--at: '2026-12-01 02:00' is not an ISO 8601 time with a timezone/ });
  t.throws(() => parseAt('2026-12-01T02:00', NOW), { message: /with a timezone/ }, 'a local time is ambiguous');
  t.throws(() => parseAt('2026-11-27T03:59Z', NOW), { message: /^--at: 2026-11-27T03:59:00.000Z is in the past/ });
});

t.test('--cron and --timezone: every problem at once', async t => {
  t.same(parseCronFlags(' 0  2 * * * ', undefined), { cron: '0 2 * * *', timezone: 'UTC' });
  t.same(parseCronFlags('30 6 * * 1-5', 'Europe/Paris'), { cron: '30 6 * * 1-5', timezone: 'Europe/Paris' });
  t.throws(() => parseCronFlags('0 2 * *', 'Mars/Base'), { message: /^--cron: .*has 4 field\(s\).*; --timezone: 'Mars\/Base' is not a known IANA timezone/ });
});

t.test('window flags: --window needs --window-duration; the timezone defaults to UTC; errors name the flag', async t => {
  t.equal(parseWindowFlags({ window: [] }), undefined, 'no --window: nothing to set');
  t.same(parseWindowFlags({ window: ['0 9 * * 1-5', '0 22 * * 6'], windowDuration: '8h' }), [
    { cron: '0 9 * * 1-5', durationMs: 8 * 3_600_000, timezone: 'UTC' },
    { cron: '0 22 * * 6', durationMs: 8 * 3_600_000, timezone: 'UTC' },
  ]);
  t.throws(() => parseWindowFlags({ window: [], windowDuration: '8h' }), { message: '--window-duration: only with --window' });
  t.throws(() => parseWindowFlags({ window: ['0 9 * * *'], windowDuration: '30s' }), { message: /--window-duration: must be at least 1m/ });
  t.throws(() => parseWindowFlags({ window: ['0 9 * * *'], windowDuration: 'soon' }), { message: /--window-duration: 'soon' is not a duration/ });
  t.equal(formatWindow({ cron: '0 9 * * 1-5', durationMs: 8.5 * 3_600_000, timezone: 'Europe/Paris' }), '0 9 * * 1-5 for 8h30m (Europe/Paris)');
  t.equal(windowNow(group()), '-');
  t.equal(windowNow(group({ windows: [{ cron: '0 9 * * *', durationMs: 3_600_000, timezone: 'UTC' }], windowOpen: true, windowClosesAt: '2026-11-27T10:00:00.000Z' })), 'open until 2026-11-27 10:00:00Z');
  t.equal(windowNow(group({ windows: [{ cron: '0 9 * * *', durationMs: 3_600_000, timezone: 'UTC' }], nextWindowAt: '2026-11-28T09:00:00.000Z' })), 'closed, opens 2026-11-28 09:00:00Z');
});

t.test('schedule list shows when each runs and what it last did', async t => {
  const lines = scheduleTable([
    schedule(),
    schedule({ id: 's-ONCE', cron: '', at: '2026-12-01T02:00:00.000Z', revision: DIGEST, state: 'Done', nextRunAt: '', lastDeploymentId: 'd-1' }),
    schedule({ id: 's-BAD', lastError: 'application shop has no revisions yet' }),
  ]);
  t.match(lines[0], /^ID\s+APP\s+GROUP\s+REVISION\s+WHEN\s+STATE\s+NEXT RUN\s+LAST RUN\s+LAST DEPLOYMENT$/);
  t.match(lines[1], /^s-TEST1\s+shop\s+web\s+latest\s+cron 0 2 \* \* \* \(UTC\)\s+Active\s+2025-01-01 13:00:00Z\s+-\s+-$/);
  t.match(lines[2], /^s-ONCE .* ababababab.. +at 2026-12-01 02:00:00Z\s+Done\s+-\s+-\s+d-1$/);
  t.match(lines[3], /error: application shop has no revisions yet$/);
});

t.test('group create and update send windows; --no-window clears them', async t => {
  const fake = await startFakeControl(t);
  const created = await runFerry(['--coordinator', fake.address, 'group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web',
    '--window', '0 9 * * 1-5', '--window-duration', '8h', '--window-timezone', 'Europe/Paris']);
  t.equal(created.code, 0, created.stderr);
  t.same(fake.requests('CreateDeploymentGroup')[0].windows, [{ cron: '0 9 * * 1-5', durationMs: 8 * 3_600_000, timezone: 'Europe/Paris' }]);
  const cleared = await runFerry(['--coordinator', fake.address, 'group', 'update', '--app', 'shop', '--name', 'web', '--no-window']);
  t.equal(cleared.code, 0, cleared.stderr);
  t.match(fake.requests('UpdateDeploymentGroup')[0], { windows: [], setWindows: true, setAlarms: false, setAutoRollback: false });
  const both = await runFerry(['--coordinator', fake.address, 'group', 'update', '--app', 'shop', '--name', 'web', '--no-window', '--window-duration', '1h']);
  t.equal(both.code, 2);
  t.match(both.stderr, /--no-window: not with --window-duration/);
  t.equal(fake.requests('UpdateDeploymentGroup').length, 1, 'nothing sent for a usage error');
  fake.groups = [group({ windows: [{ cron: '0 9 * * 1-5', durationMs: 8 * 3_600_000, timezone: 'Europe/Paris' }], nextWindowAt: '2026-11-30T08:00:00.000Z' })];
  const show = await runFerry(['--coordinator', fake.address, 'group', 'show', '--app', 'shop', '--name', 'web']);
  t.match(show.stdout, /Windows:\s+0 9 \* \* 1-5 for 8h \(Europe\/Paris\)\n\s*Window now:\s+closed, opens 2026-11-30 08:00:00Z/);
  const list = await runFerry(['--coordinator', fake.address, 'group', 'list', '--app', 'shop']);
  t.match(list.stdout, /WINDOW\n.*closed, opens 2026-11-30 08:00:00Z/);
});

t.test('deploy create --ignore-window and --at; deploy status and list show why a deployment waits', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({ status: 'Queued', waitReason: 'waiting for window, opens 2026-11-30T08:00:00.000Z', nextWindowAt: '2026-11-30T08:00:00.000Z' });
  const now = await runFerry(['--coordinator', fake.address, 'deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--ignore-window']);
  t.equal(now.code, 0, now.stderr);
  t.equal(fake.requests('CreateDeployment')[0].ignoreWindow, true);
  t.match(now.stdout, /\n {2}waiting for window, opens 2026-11-30T08:00:00.000Z\n/);
  const status = await runFerry(['--coordinator', fake.address, 'deploy', 'status', 'd-TEST1']);
  t.match(status.stdout, /Waiting:\s+waiting for window, opens 2026-11-30T08:00:00.000Z/);
  const list = await runFerry(['--coordinator', fake.address, 'deploy', 'list']);
  t.match(list.stdout, /Queued \(window opens 2026-11-30 08:00:00Z\)/);

  const at = new Date(Date.now() + 3_600_000).toISOString();
  const later = await runFerry(['--coordinator', fake.address, 'deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--at', at, '--description', 'night']);
  t.equal(later.code, 0, later.stderr);
  t.equal(later.stdout.split('\n')[0], 's-TEST1', 'the schedule id first');
  const [req] = fake.requests('CreateSchedule');
  t.equal(req.at, at);
  t.match(req.deployment, { application: 'shop', group: 'web', revision: 'latest', description: 'night' });
  t.equal(fake.requests('CreateDeployment').length, 1, 'no deployment now');
  const wait = await runFerry(['--coordinator', fake.address, 'deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--at', at, '--wait']);
  t.equal(wait.code, 2);
  t.match(wait.stderr, /--wait: not with --at/);
});

t.test('schedule create, list and cancel', async t => {
  const fake = await startFakeControl(t);
  const cron = await runFerry(['--coordinator', fake.address, 'schedule', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest',
    '--cron', '0 2 * * *', '--timezone', 'Europe/Paris', '--ignore-window', '--json']);
  t.equal(cron.code, 0, cron.stderr);
  const [req] = fake.requests('CreateSchedule');
  t.match(req, { cron: '0 2 * * *', timezone: 'Europe/Paris', at: '', deployment: { revision: 'latest', ignoreWindow: true } });
  t.equal(cron.json.id, 's-TEST1');
  for (const [args, message] of [
    [['--cron', '0 2 * * *', '--at', '2099-01-01T00:00Z'], /--cron or --at: give exactly one/],
    [[], /--cron or --at: give exactly one/],
    [['--at', '2099-01-01T00:00Z', '--timezone', 'UTC'], /--timezone: only with --cron/],
  ] as const) {
    const r = await runFerry(['--coordinator', fake.address, 'schedule', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', ...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, message);
  }
  const list = await runFerry(['--coordinator', fake.address, 'schedule', 'list', '--app', 'shop', '--all']);
  t.match(list.stdout, /s-TEST1\s+shop\s+web\s+latest\s+cron 0 2 \* \* \* \(UTC\)\s+Active/);
  t.match(fake.requests('ListSchedules')[0], { application: 'shop', all: true });
  const cancel = await runFerry(['--coordinator', fake.address, 'schedule', 'cancel', 's-TEST1']);
  t.equal(cancel.code, 0, cancel.stderr);
  t.match(cancel.stdout, /^cancelled schedule s-TEST1/);
  const missing = await runFerry(['--coordinator', fake.address, 'schedule', 'cancel', 's-NOPE']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /schedule s-NOPE not found/);
});

t.test('--wait progress says why a deployment waits, and again when the reason changes', async t => {
  const { changeLines, progressLine } = await import('../../cli/progress.js');
  const queued = detail({ id: 'd-1', status: 'Queued', waitReason: 'waiting for window, opens 2026-11-30T08:00:00.000Z' });
  t.same(changeLines(undefined, queued), ['deployment d-1: Queued (0 hosts): waiting for window, opens 2026-11-30T08:00:00.000Z']);
  t.same(changeLines(queued, queued), [], 'nothing new');
  const paused = detail({ id: 'd-1', status: 'Paused', waitReason: 'waiting for window, opens 2026-12-01T08:00:00.000Z' });
  t.same(changeLines(queued, paused), ['deployment d-1: Paused: waiting for window, opens 2026-12-01T08:00:00.000Z']);
  t.match(progressLine(queued, 200, (_c: string, s: string) => s, Date.parse('2026-11-30T07:00:00Z')), /Queued \S+ · .* \(waiting for window, opens 2026-11-30T08:00:00.000Z\)$/);
});
