import { FerryError, describeError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import { cronProblem, nextMatch, timezoneProblem } from '../../common/cron.js';
import type { Schedule, ScheduleOptions } from '../domain/schedules.js';
import { matchesTagSets } from '../domain/tags.js';
import { hostStateOf } from './liveness.js';
import { type CreateDeploymentInput, createDeployment, prepareDeployment, requireGroup } from './deployments.js';

/**
 * Scheduled deployments. A schedule is stored (it survives restarts); the scheduler's pass calls
 * `runDueSchedules`, which creates a normal deployment (creator `schedule`) for each one due. If
 * the group is busy, that deployment queues as usual (and waits for the group's window).
 *
 * Catch-up rule: a schedule runs at most once per pass whatever it missed.
 * A due run waits while agents of its group are reconnecting (after a coordinator restart). A one-shot that came due
 * while the coordinator was down runs once when it starts; a cron schedule that missed several
 * occurrences runs once, then next at its first occurrence after now.
 */
export interface CreateScheduleInput {
  deployment: CreateDeploymentInput;
  /** One-shot: ISO 8601, in the future. */
  at?: string;
  cron?: string;
  timezone?: string;
  requestedBy?: string;
}

export async function createSchedule(ctx: Context, input: CreateScheduleInput): Promise<Schedule> {
  const now = ctx.clock.now();
  const at = input.at?.trim() || undefined;
  const cron = input.cron?.trim().replace(/\s+/g, ' ') || undefined;
  if ((at === undefined) === (cron === undefined)) {
    throw new FerryError('INVALID_ARGUMENT', 'a schedule needs exactly one of --at (one deployment) or --cron (repeating)');
  }
  const timezone = input.timezone?.trim() || 'UTC';
  let nextRunAt: number;
  if (at !== undefined) {
    const ms = parseInstant(at);
    if (ms === undefined) throw new FerryError('INVALID_ARGUMENT', `--at '${at}' is not an ISO 8601 time with a timezone (e.g. 2026-12-01T02:00Z)`);
    if (ms <= now) throw new FerryError('INVALID_ARGUMENT', `--at ${iso(ms)} is not in the future (now: ${iso(now)}); give a later time, or deploy now without --at`);
    nextRunAt = ms;
  } else {
    const problems = [cronProblem(cron!) && `--cron: ${cronProblem(cron!)}`, timezoneProblem(timezone) && `--timezone: ${timezoneProblem(timezone)}`].filter(Boolean);
    if (problems.length > 0) throw new FerryError('INVALID_ARGUMENT', problems.join('; '));
    const next = nextMatch({ cron: cron!, timezone }, now + 1);
    if (next === undefined) throw new FerryError('INVALID_ARGUMENT', `--cron '${cron}' does not match within a year`);
    nextRunAt = next;
  }
  // Every check a deployment gets, now: a schedule that could never run is refused up front.
  const d = input.deployment;
  const prepared = await prepareDeployment(ctx, d);
  const group = await requireGroup(ctx, d.application, d.group);
  const latest = d.revision.trim().toLowerCase() === 'latest';
  const schedule: Schedule = {
    id: ctx.ids.schedule(), application: d.application, groupId: group.id, groupName: group.name,
    revision: latest ? 'latest' : prepared.revisionDigest, options: optionsOf(d),
    ...(at !== undefined ? { at: iso(nextRunAt) } : { cron: cron! }), timezone: at !== undefined ? 'UTC' : timezone,
    state: 'Active', nextRunAt: iso(nextRunAt), createdBy: input.requestedBy ?? '', createdAt: iso(now),
  };
  await ctx.store.createSchedule(schedule);
  ctx.log.info('schedule created', {
    component: 'schedules', schedule_id: schedule.id, application: schedule.application, group: schedule.groupName,
    revision: schedule.revision, next_run_at: schedule.nextRunAt, ...(cron && { cron, timezone }),
  });
  return schedule;
}

function optionsOf(d: CreateDeploymentInput): ScheduleOptions {
  const { application: _a, group: _g, revision: _r, creator: _c, targetHostIds: _t, rollbackOf: _o, scheduleId: _s, ...options } = d;
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined && v !== '' && v !== false)) as ScheduleOptions;
}

/** ISO 8601 with a date, a time and a zone (Z or ±hh:mm): a bare local time would be ambiguous. */
function parseInstant(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export async function getSchedule(ctx: Context, id: string): Promise<Schedule> {
  const s = await ctx.store.getSchedule(id);
  if (!s) throw new FerryError('NOT_FOUND', `schedule ${id} does not exist; see ferry schedule list --all`);
  return s;
}

export async function cancelSchedule(ctx: Context, id: string, by: string): Promise<Schedule> {
  const s = await getSchedule(ctx, id);
  if (!await ctx.store.transitionSchedule(id, 'Cancelled')) {
    throw new FerryError('FAILED_PRECONDITION', `schedule ${id} is ${s.state}: only an Active schedule can be cancelled`);
  }
  ctx.log.info('schedule cancelled', { component: 'schedules', schedule_id: id, from: s.state, to: 'Cancelled', by });
  return await getSchedule(ctx, id);
}

async function reconnecting(ctx: Context, groupId: string): Promise<boolean> {
  const group = await ctx.store.getGroupById(groupId);
  if (!group) return false;
  return (await ctx.store.listHosts()).some(h => matchesTagSets(h.tags, group.tagSets) && !ctx.registry.isConnected(h.id)
    && hostStateOf(ctx, h) === 'reconnecting');
}

/** Runs every due schedule once (see the catch-up rule above). Called by the scheduler's pass. */
export async function runDueSchedules(ctx: Context): Promise<void> {
  const now = ctx.clock.now();
  for (const s of await ctx.store.dueSchedules(iso(now))) {
    // Just after a restart agents are still reconnecting: a deployment started now would find no
    // host. The run waits (it stays due) until the group's agents are back or declared lost.
    if (await reconnecting(ctx, s.groupId)) continue;
    const next = s.cron === undefined ? null : nextMatch({ cron: s.cron, timezone: s.timezone }, now + 1);
    // Claim first: a crash after this loses at most this run, never runs it twice.
    if (!await ctx.store.claimScheduleRun(s.id, s.nextRunAt!, next === null || next === undefined ? null : iso(next), iso(now))) continue;
    const late = now - Date.parse(s.nextRunAt!);
    try {
      const d = await createDeployment(ctx, {
        ...s.options, application: s.application, group: s.groupName, revision: s.revision, creator: 'schedule', scheduleId: s.id,
      });
      await ctx.store.recordScheduleResult(s.id, { deploymentId: d.id });
      ctx.log.info('schedule ran', { component: 'schedules', schedule_id: s.id, deployment_id: d.id, late_ms: late, next_run_at: next ? iso(next) : '' });
    } catch (err) {
      const error = describeError(err);
      await ctx.store.recordScheduleResult(s.id, { error });
      ctx.log.warn('schedule run failed', { component: 'schedules', schedule_id: s.id, error });
    }
  }
}
