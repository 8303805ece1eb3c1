import t from 'tap';
import { cronProblem, matchesBetween, nextMatch, timezoneProblem } from '../../common/cron.js';
import { type DeploymentWindow, currentWindowEnd, isOpen, nextOpening, validateWindows } from '../../coordinator/domain/windows.js';

const at = (s: string) => Date.parse(s);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const H = 3_600_000;
const win = (cron: string, hours: number, timezone = 'UTC'): DeploymentWindow => ({ cron, durationMs: hours * H, timezone });

// 2026-11-27 is a Friday.
const weekdays9to5 = [win('0 9 * * 1-5', 8)];
const parisMornings = [win('0 9 * * 1-5', 8, 'Europe/Paris')];

t.test('isOpen, nextOpening and currentWindowEnd, as a table', async t => {
  const cases: { name: string; windows: DeploymentWindow[]; now: string; open: boolean; next?: string; end?: string }[] = [
    { name: 'no windows: always open, no end', windows: [], now: '2026-11-27T03:00:00Z', open: true, next: '2026-11-27T03:00:00.000Z' },
    { name: 'before the opening on a weekday', windows: weekdays9to5, now: '2026-11-27T08:59:30Z', open: false, next: '2026-11-27T09:00:00.000Z' },
    { name: 'at the opening minute', windows: weekdays9to5, now: '2026-11-27T09:00:00Z', open: true, next: '2026-11-27T09:00:00.000Z', end: '2026-11-27T17:00:00.000Z' },
    { name: 'inside the window', windows: weekdays9to5, now: '2026-11-27T16:59:59Z', open: true, end: '2026-11-27T17:00:00.000Z' },
    { name: 'the end is exclusive', windows: weekdays9to5, now: '2026-11-27T17:00:00Z', open: false, next: '2026-11-30T09:00:00.000Z' },
    { name: 'the weekend waits for Monday', windows: weekdays9to5, now: '2026-11-28T10:00:00Z', open: false, next: '2026-11-30T09:00:00.000Z' },
    { name: 'Paris in winter is UTC+1', windows: parisMornings, now: '2026-11-27T08:30:00Z', open: true, end: '2026-11-27T16:00:00.000Z' },
    { name: 'Paris before its opening', windows: parisMornings, now: '2026-11-27T07:59:00Z', open: false, next: '2026-11-27T08:00:00.000Z' },
    { name: 'Paris in summer is UTC+2', windows: parisMornings, now: '2026-07-01T06:30:00Z', open: false, next: '2026-07-01T07:00:00.000Z' },
    { name: 'a window across midnight stays open after it', windows: [win('0 22 * * *', 4)], now: '2026-11-28T01:00:00Z', open: true, end: '2026-11-28T02:00:00.000Z' },
    {
      name: 'the earliest of several windows opens first',
      windows: [win('0 9 * * 1-5', 2), win('30 7 * * *', 1)], now: '2026-11-28T06:00:00Z', open: false, next: '2026-11-28T07:30:00.000Z',
    },
    {
      name: 'overlapping windows chain into one end',
      windows: [win('0 9 * * *', 2), win('0 10 * * *', 3)], now: '2026-11-27T09:30:00Z', open: true, end: '2026-11-27T13:00:00.000Z',
    },
    { name: 'adjacent hourly openings chain until they stop', windows: [win('0 0-5 * * *', 1)], now: '2026-11-27T00:10:00Z', open: true, end: '2026-11-27T06:00:00.000Z' },
    { name: 'a yearly window waits months', windows: [win('0 0 1 1 *', 24)], now: '2026-11-27T00:00:00Z', open: false, next: '2027-01-01T00:00:00.000Z' },
  ];
  for (const c of cases) {
    const now = at(c.now);
    t.equal(isOpen(c.windows, now), c.open, `${c.name}: open`);
    if (c.next !== undefined) t.equal(iso(nextOpening(c.windows, now)), c.next, `${c.name}: next opening`);
    t.equal(iso(currentWindowEnd(c.windows, now)), c.end, `${c.name}: window end`);
  }
});

t.test('DST: a local time that does not exist is skipped; one that happens twice opens twice', async t => {
  const nightly = { cron: '30 2 * * *', timezone: 'Europe/Paris' };
  // 2026-03-29: clocks go from 02:00 to 03:00 in Paris, so 02:30 does not exist that day.
  t.same(matchesBetween(nightly, at('2026-03-28T00:00:00Z'), at('2026-03-31T00:00:00Z')).map(iso), [
    '2026-03-28T01:30:00.000Z', '2026-03-30T00:30:00.000Z',
  ]);
  // 2026-10-25: clocks go from 03:00 back to 02:00, so 02:30 happens at 00:30Z and at 01:30Z.
  t.same(matchesBetween(nightly, at('2026-10-25T00:00:00Z'), at('2026-10-25T23:00:00Z')).map(iso), [
    '2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z',
  ]);
  // A 09:00 window keeps its local hour across the change.
  t.equal(iso(nextOpening(parisMornings, at('2026-03-27T17:00:00Z'))), '2026-03-30T07:00:00.000Z');
  t.equal(iso(nextMatch({ cron: '0 9 * * *', timezone: 'America/New_York' }, at('2026-03-08T00:00:00Z'))), '2026-03-08T13:00:00.000Z');
  t.equal(iso(nextMatch({ cron: '0 9 * * *', timezone: 'America/New_York' }, at('2026-03-07T00:00:00Z'))), '2026-03-07T14:00:00.000Z');
});

t.test('offsets that are not whole hours', async t => {
  t.equal(iso(nextMatch({ cron: '0 9 * * *', timezone: 'Asia/Kathmandu' }, at('2026-11-27T00:00:00Z'))), '2026-11-27T03:15:00.000Z');
  t.equal(iso(nextMatch({ cron: '0 9 * * *', timezone: 'Asia/Kolkata' }, at('2026-11-27T00:00:00Z'))), '2026-11-27T03:30:00.000Z');
});

t.test('searches are bounded: an expression that matches rarely ends the search within a year', async t => {
  t.equal(nextMatch({ cron: '0 0 29 2 *', timezone: 'UTC' }, at('2026-03-01T00:00:00Z')), undefined, '29 February is more than a year away');
  t.equal(iso(nextMatch({ cron: '0 0 29 2 *', timezone: 'UTC' }, at('2027-03-01T00:00:00Z'))), '2028-02-29T00:00:00.000Z');
  t.equal(iso(nextMatch({ cron: '0 0 L * *', timezone: 'UTC' }, at('2026-02-03T00:00:00Z'))), '2026-02-28T00:00:00.000Z', 'L is the last day of the month');
});

t.test('validation names the flag and says what to do', async t => {
  t.same(validateWindows([win('0 9 * * 1-5', 8, 'Europe/Paris')]), []);
  const problems = validateWindows([
    { cron: '0 9 * *', durationMs: 8 * H, timezone: 'Mars/Olympus' },
    { cron: '61 9 * * *', durationMs: 0, timezone: 'UTC' },
  ]);
  t.match(problems, [
    { path: '--window-timezone', message: /'Mars\/Olympus' is not a known IANA timezone/ },
    { path: '--window', message: /has 4 field\(s\); use five/ },
    { path: '--window-duration', message: /at least 1m/ },
    { path: '--window', message: /'61 9 \* \* \*' is not a valid cron expression/ },
  ]);
  t.equal(problems.length, 4, 'every problem, once each');
  t.match(cronProblem('0 0 9 * * *'), /use five/, 'seconds are not supported');
  t.equal(timezoneProblem('UTC'), undefined);
  t.match(validateWindows([win('0 0 31 2 *', 1)]), [{ path: '--window' }], 'a day that never comes');
});
