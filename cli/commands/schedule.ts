import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import { cronProblem, timezoneProblem } from '../../common/cron.js';
import type { CreateDeploymentRequest } from '../../proto/gen/ferry/v1/CreateDeploymentRequest.js';
import type { Schedule__Output } from '../../proto/gen/ferry/v1/Schedule.js';
import { requireText } from '../args.js';
import { NONE, formatTime, orNone, shortDigest, table , type Zone, UTC } from '../format.js';
import type { Runner, Session } from '../session.js';
import { createRequest, requester } from '../deploy-request.js';

/** `--at`: ISO 8601 with a date, a time and a zone (Z or ±hh:mm), in the future. Pure. */
export function parseAt(raw: string, now: number, flag = '--at'): string {
  const text = raw.trim();
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' is not an ISO 8601 time with a timezone (e.g. 2026-12-01T02:00Z or 2026-12-01T03:00+01:00)`);
  }
  if (ms <= now) throw new FerryError('INVALID_ARGUMENT', `${flag}: ${new Date(ms).toISOString()} is in the past (now ${new Date(now).toISOString()}); give a future time, or deploy now without ${flag}`);
  return new Date(ms).toISOString();
}

/** `--cron EXPR [--timezone TZ]`, every problem at once. Pure. */
export function parseCronFlags(cron: string, timezone: string | undefined): { cron: string; timezone: string } {
  const tz = (timezone ?? 'UTC').trim();
  const problems = [cronProblem(cron) && `--cron: ${cronProblem(cron)}`, timezoneProblem(tz) && `--timezone: ${timezoneProblem(tz)}`].filter(Boolean);
  if (problems.length > 0) throw new FerryError('INVALID_ARGUMENT', problems.join('; '));
  return { cron: cron.trim().replace(/\s+/g, ' '), timezone: tz };
}

function when(sc: Schedule__Output, zone: Zone = UTC): string {
  return sc.cron ? `cron ${sc.cron} (${sc.timezone})` : `at ${formatTime(sc.at, zone)}`;
}

function scheduleCreated(s: Session, sc: Schedule__Output): void {
  if (s.out.json) return s.out.document(sc);
  s.out.line(sc.id);
  s.out.line(`scheduled ${sc.application}/${sc.group} ← revision ${sc.revision === 'latest' ? 'latest' : shortDigest(sc.revision)}: ${when(sc, s.config.zone)}; next run ${formatTime(sc.nextRunAt, s.config.zone)}`);
  s.out.line(`see it: ferry schedule list --app ${sc.application}   cancel it: ferry schedule cancel ${sc.id}`);
}

/** `deploy create … --at TIME`: a one-shot schedule instead of a deployment now. */
export async function scheduleOnce(s: Session, deployment: CreateDeploymentRequest, at: string, wait: boolean): Promise<void> {
  if (wait) throw new FerryError('INVALID_ARGUMENT', '--wait: not with --at (nothing runs yet); follow the deployment once created: ferry schedule list');
  const sc = await s.api().createSchedule({ deployment, at: parseAt(at, s.now), requestedBy: requester() });
  scheduleCreated(s, sc);
}

export function scheduleTable(schedules: readonly Schedule__Output[], zone: Zone = UTC): string[] {
  const rows = schedules.map(sc => [
    sc.id, sc.application, sc.group, sc.revision === 'latest' ? 'latest' : shortDigest(sc.revision), when(sc, zone), sc.state,
    formatTime(sc.nextRunAt, zone), formatTime(sc.lastRunAt, zone), sc.lastDeploymentId || (sc.lastError ? `error: ${sc.lastError}` : NONE),
  ]);
  return table(['ID', 'APP', 'GROUP', 'REVISION', 'WHEN', 'STATE', 'NEXT RUN', 'LAST RUN', 'LAST DEPLOYMENT'], rows);
}

const DEPLOY_OPTIONS: [string, string][] = [
  ['--config <config>', 'a deployment config for these deployments (the group\'s when not given)'],
  ['--description <text>', 'a note stored with each deployment'],
  ['--file-exists-behavior <behavior>', 'DISALLOW (default), OVERWRITE or RETAIN'],
  ['--ignore-application-stop-failures', 'go on when ApplicationStop scripts of the installed revision fail'],
  ['--auto-rollback <events>', 'failure,alarm,stop or none (the group\'s policy when not given)'],
  ['--approve-after <n|first-zone>', 'pause for approval once N hosts succeeded (or after the first zone)'],
  ['--min-healthy-time <duration>', 'bake time after each host'],
  ['--ignore-alarms', 'the group\'s health alarms do not stop these deployments'],
  ['--ignore-window', 'the group\'s deployment windows do not hold these deployments'],
];

export function registerScheduleCommands(program: Command, r: Runner): void {
  const schedule = program
    .command('schedule')
    .description('scheduled deployments: once at a time, or repeating on a cron expression')
    .addHelpText('after', '\nExamples:\n  ferry schedule create --app shop --group web --revision latest --cron "0 2 * * *" --timezone Europe/Paris\n  ferry schedule list\n  ferry schedule cancel s-ABC123');

  const create = r
    .leaf(schedule, 'create', 'schedule deployments: --cron repeats (e.g. a nightly redeploy of latest), --at runs once', [
      'ferry schedule create --app shop --group web --revision latest --cron "0 2 * * *"   # every night at 02:00 UTC',
      'ferry schedule create --app shop --group web --revision latest --cron "30 6 * * 1-5" --timezone Europe/Paris',
      'ferry schedule create --app shop --group web --revision 3f2a9c1e --at 2026-12-01T02:00Z',
    ])
    .requiredOption('--app <app>', 'the application')
    .requiredOption('--group <group>', 'the deployment group')
    .requiredOption('--revision <digest|prefix|latest>', 'a digest or prefix (fixed now), or latest (resolved at each run)')
    .option('--cron <expr>', 'five-field cron expression: minute hour day-of-month month day-of-week')
    .option('--timezone <tz>', 'the IANA timezone of --cron (default UTC)')
    .option('--at <time>', 'run once at this ISO 8601 time instead (e.g. 2026-12-01T02:00Z)');
  for (const [flags, help] of DEPLOY_OPTIONS) create.option(flags, help);
  r.action(create, async (s, _args, opts) => {
    const { request } = createRequest(opts);
    const hasCron = opts.cron !== undefined;
    if (hasCron === (opts.at !== undefined)) throw new FerryError('INVALID_ARGUMENT', '--cron or --at: give exactly one (repeating, or once)');
    if (!hasCron && opts.timezone !== undefined) throw new FerryError('INVALID_ARGUMENT', '--timezone: only with --cron (--at carries its own offset)');
    const timing = hasCron ? parseCronFlags(String(opts.cron), opts.timezone as string | undefined) : { at: parseAt(String(opts.at), s.now) };
    scheduleCreated(s, await s.api().createSchedule({ deployment: request, ...timing, requestedBy: requester() }));
  });

  r.action(
    r
      .leaf(schedule, 'list', 'list schedules (Active ones; --all for done and cancelled ones too)', ['ferry schedule list', 'ferry schedule list --app shop --all --json'])
      .option('--app <app>', 'only this application\'s')
      .option('--all', 'also Done and Cancelled schedules'),
    async (s, _args, opts) => {
      const res = await s.api().listSchedules({ application: (opts.app as string | undefined) ?? '', all: opts.all === true });
      if (s.out.json) return s.out.document(res);
      if (res.schedules.length === 0) return s.out.line('no schedules: create one with ferry schedule create, or ferry deploy create … --at TIME');
      s.out.lines(scheduleTable(res.schedules, s.config.zone));
    },
  );

  r.action(
    r.leaf(schedule, 'cancel <id>', 'cancel a schedule: it creates no more deployments (those already created go on)', ['ferry schedule cancel s-ABC123']),
    async (s, [id]) => {
      const sc = await s.api().cancelSchedule({ id: requireText(id, 'ID'), requestedBy: requester() });
      if (s.out.json) return s.out.document(sc);
      s.out.line(`cancelled schedule ${sc.id} (${sc.application}/${sc.group}, ${when(sc, s.config.zone)}); last deployment: ${orNone(sc.lastDeploymentId)}`);
    },
  );
}
