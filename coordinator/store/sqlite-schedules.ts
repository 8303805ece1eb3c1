/**
 * The schedules table of the SQLite store: rows, statements and operations in one place, used by
 * `SqliteStore` (which implements the Store methods by delegating here).
 */
import type { Database, Statement } from 'better-sqlite3';
import { FerryError } from '../../common/errors.js';
import { SCHEDULE_STATES, SCHEDULE_TRANSITIONS, type Schedule, type ScheduleOptions, type ScheduleState } from '../domain/schedules.js';
import { allowedFrom } from '../domain/status.js';
import { sqlList } from './sqlite-statements.js';
import { guard } from './sqlite-errors.js';
import type { ScheduleFilter } from './store.js';

export interface ScheduleRow {
  id: string; application: string; group_id: string; group_name: string; revision: string; options: string;
  run_at: string | null; cron: string | null; timezone: string; state: ScheduleState; next_run_at: string | null;
  last_run_at: string | null; last_deployment_id: string | null; last_error: string | null; created_by: string; created_at: string;
}

export const COLUMNS = [
  'id', 'application', 'group_id', 'group_name', 'revision', 'options', 'run_at', 'cron', 'timezone', 'state',
  'next_run_at', 'last_run_at', 'last_deployment_id', 'last_error', 'created_by', 'created_at',
] as const;

export function toSchedule(raw: unknown): Schedule {
  const r = raw as ScheduleRow;
  const opt = <K extends string, V>(key: K, v: V | null) => (v === null ? {} : ({ [key]: v } as Record<K, V>));
  return {
    id: r.id, application: r.application, groupId: r.group_id, groupName: r.group_name, revision: r.revision,
    options: JSON.parse(r.options) as ScheduleOptions,
    ...opt('at', r.run_at), ...opt('cron', r.cron), timezone: r.timezone, state: r.state,
    ...opt('nextRunAt', r.next_run_at), ...opt('lastRunAt', r.last_run_at), ...opt('lastDeploymentId', r.last_deployment_id),
    ...opt('lastError', r.last_error), createdBy: r.created_by, createdAt: r.created_at,
  };
}

function scheduleParams(s: Schedule): Record<(typeof COLUMNS)[number], string | null> {
  return {
    id: s.id, application: s.application, group_id: s.groupId, group_name: s.groupName, revision: s.revision,
    options: JSON.stringify(s.options), run_at: s.at ?? null, cron: s.cron ?? null, timezone: s.timezone, state: s.state,
    next_run_at: s.nextRunAt ?? null, last_run_at: s.lastRunAt ?? null, last_deployment_id: s.lastDeploymentId ?? null,
    last_error: s.lastError ?? null, created_by: s.createdBy, created_at: s.createdAt,
  };
}

function prepare(db: Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    insert: p(`INSERT INTO schedules (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(c => `@${c}`).join(', ')})`),
    get: p('SELECT * FROM schedules WHERE id = ?'),
    list: p(`SELECT * FROM schedules WHERE (@application IS NULL OR application = @application)
      AND (@all = 1 OR state = 'Active') ORDER BY created_at, rowid`),
    due: p(`SELECT * FROM schedules WHERE state = 'Active' AND next_run_at <= ? ORDER BY next_run_at, rowid`),
    claim: p(`UPDATE schedules SET last_run_at = @ran_at, next_run_at = @next,
        state = CASE WHEN @next IS NULL THEN 'Done' ELSE state END
      WHERE id = @id AND state = 'Active' AND next_run_at = @due`),
    result: p(`UPDATE schedules SET last_deployment_id = @deployment_id, last_error = @error WHERE id = @id`),
    transition: Object.fromEntries(SCHEDULE_STATES.map(to => [to, p(`UPDATE schedules
      SET state = ${sqlList([to])}, next_run_at = CASE WHEN ${sqlList([to])} = 'Active' THEN next_run_at ELSE NULL END
      WHERE id = @id AND state IN (${sqlList(allowedFrom(SCHEDULE_TRANSITIONS, to))})`)])) as Record<ScheduleState, Statement>,
  };
}

export class ScheduleTable {
  private readonly st: ReturnType<typeof prepare>;

  constructor(db: Database, private readonly parents: { group(id: string): unknown; application(name: string): unknown; deployment(id: string): unknown }) {
    this.st = prepare(db);
  }

  create(s: Schedule): void {
    guard(`schedule ${s.id}`, () => this.st.insert.run(scheduleParams(s)), [
      [`application "${s.application}"`, () => this.parents.application(s.application)],
      [`deployment group ${s.groupId}`, () => this.parents.group(s.groupId)],
      [`deployment ${s.lastDeploymentId}`, () => (s.lastDeploymentId === undefined ? true : this.parents.deployment(s.lastDeploymentId))],
    ]);
  }

  get(id: string): Schedule | undefined {
    const row = this.st.get.get(id);
    return row === undefined ? undefined : toSchedule(row);
  }

  list(filter: ScheduleFilter = {}): Schedule[] {
    return this.st.list.all({ application: filter.application ?? null, all: filter.all ? 1 : 0 }).map(toSchedule);
  }

  due(now: string): Schedule[] {
    return this.st.due.all(now).map(toSchedule);
  }

  claim(id: string, due: string, next: string | null, ranAt: string): boolean {
    return this.st.claim.run({ id, due, next, ran_at: ranAt }).changes === 1;
  }

  recordResult(id: string, result: { deploymentId: string } | { error: string }): void {
    const params = { id, deployment_id: 'deploymentId' in result ? result.deploymentId : null, error: 'error' in result ? result.error : null };
    let changes = 0;
    guard(`schedule ${id}`, () => (changes = this.st.result.run(params).changes), [
      [`deployment ${params.deployment_id}`, () => (params.deployment_id === null ? true : this.parents.deployment(params.deployment_id))],
    ]);
    if (changes !== 1) throw new FerryError('NOT_FOUND', `schedule ${id} not found`);
  }

  transition(id: string, to: ScheduleState): boolean {
    const cas = this.st.transition[to] as Statement | undefined;
    if (cas === undefined) throw new FerryError('INVALID_ARGUMENT', `unknown schedule state "${to}"`);
    return cas.run({ id }).changes === 1;
  }
}
