import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { FerryError } from '../../common/errors.js';
import type { TriggerFormat } from '../../common/triggers.js';
import type { DeliveryJob, DeliveryOutcome, FerryEvent, TriggerInput, TriggerView } from '../domain/events.js';
import { guard } from './sqlite-errors.js';

export const DEFAULT_LIMIT = 500;

export interface EventRow {
  seq: number; at: string; kind: string; application: string; group_id: string; group_name: string;
  deployment_id: string | null; host_id: string | null; lifecycle_event: string | null; status: string; payload: string;
}

export interface TriggerRow {
  id: number; group_id: string; name: string; url: string; events: string; format: TriggerFormat; created_at: string; updated_at: string;
  last_attempt_at: string | null; last_status: number | null; last_error: string | null; last_delivered_at: string | null;
  delivered: number; failed_attempts: number; given_up: number; pending: number;
}

export const TRIGGER_VIEW = `SELECT t.id, t.group_id, t.name, t.url, t.events, t.format, t.created_at, t.updated_at, t.last_attempt_at,
    t.last_status, t.last_error, t.last_delivered_at, t.delivered, t.failed_attempts, t.given_up,
    (SELECT COUNT(*) FROM deliveries d WHERE d.trigger_id = t.id AND d.delivered_at IS NULL AND d.gave_up_at IS NULL) AS pending
  FROM triggers t`;
export const PENDING = 'delivered_at IS NULL AND gave_up_at IS NULL';

/** pruneEvents' arguments, on both engines. Never keep 0: the newest event stays, so a seq is never handed out twice (seq is the rowid). */
export function checkPrune(keep: number, limit: number | undefined): void {
  if (!Number.isInteger(keep) || keep < 1) throw new FerryError('INVALID_ARGUMENT', `keep must be a whole number ≥ 1, got ${keep}`);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new FerryError('INVALID_ARGUMENT', `limit must be a whole number ≥ 1, got ${limit}`);
}
/** Gives a pending delivery's claim back: due again from when it was claimed (so before anything later), claim cleared. Both engines. */
export const RELEASE_CLAIMS = `UPDATE deliveries SET next_attempt_at = claimed_at, claimed_at = NULL WHERE claimed_at IS NOT NULL AND ${PENDING}`;

export function toEvent(r: EventRow): FerryEvent {
  return {
    seq: r.seq, at: r.at, kind: r.kind, application: r.application, groupId: r.group_id, groupName: r.group_name,
    ...(r.deployment_id !== null && { deploymentId: r.deployment_id }),
    ...(r.host_id !== null && { hostId: r.host_id }),
    ...(r.lifecycle_event !== null && { lifecycleEvent: r.lifecycle_event }),
    status: r.status, payload: JSON.parse(r.payload) as Record<string, unknown>,
  };
}

export function toTrigger(r: TriggerRow): TriggerView {
  return {
    id: r.id, groupId: r.group_id, name: r.name, url: r.url, events: JSON.parse(r.events) as string[], format: r.format,
    createdAt: r.created_at, updatedAt: r.updated_at,
    ...(r.last_attempt_at !== null && { lastAttemptAt: r.last_attempt_at }),
    ...(r.last_status !== null && { lastStatus: r.last_status }),
    ...(r.last_error !== null && { lastError: r.last_error }),
    ...(r.last_delivered_at !== null && { lastDeliveredAt: r.last_delivered_at }),
    delivered: r.delivered, failedAttempts: r.failed_attempts, givenUp: r.given_up, pending: r.pending,
  };
}

function prepare(db: Database.Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    listEvents: p(`SELECT * FROM events WHERE seq > @after AND (@application IS NULL OR application = @application)
      ORDER BY seq LIMIT @limit`),
    lastSeq: p("SELECT COALESCE(MAX(seq), 0) AS seq FROM events"),
    prune: p(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - @keep
      AND seq NOT IN (SELECT event_seq FROM deliveries WHERE ${PENDING}) ORDER BY seq LIMIT @limit)`),
    pruneDeliveries: p('DELETE FROM deliveries WHERE event_seq NOT IN (SELECT seq FROM events)'),
    // The DeploymentStart event is appended before the targets exist: give it their counts.
    refreshStart: p(`UPDATE events SET payload = json_set(payload, '$.overview', json((SELECT json_group_object(status, n)
        FROM (SELECT status, COUNT(*) AS n FROM host_deployments WHERE deployment_id = @id GROUP BY status))))
      WHERE seq = (SELECT MAX(seq) FROM events) AND deployment_id = @id AND kind = 'DeploymentStart'`),
    getTrigger: p('SELECT id, secret FROM triggers WHERE group_id = ? AND name = ?'),
    countTriggers: p('SELECT COUNT(*) AS n FROM triggers WHERE group_id = ?'),
    insertTrigger: p(`INSERT INTO triggers (group_id, name, url, events, secret, format, created_at, updated_at)
      VALUES (@group_id, @name, @url, @events, @secret, COALESCE(@format, 'json'), @at, @at)`),
    updateTrigger: p(`UPDATE triggers SET url = @url, events = @events, secret = COALESCE(@secret, secret),
      format = COALESCE(@format, format), updated_at = @at
      WHERE id = @id`),
    viewTrigger: p(`${TRIGGER_VIEW} WHERE t.id = ?`),
    listTriggers: p(`${TRIGGER_VIEW} WHERE t.group_id = ? ORDER BY t.name`),
    removeTrigger: p('DELETE FROM triggers WHERE group_id = ? AND name = ?'),
    group: p('SELECT application, name FROM deployment_groups WHERE id = ?'),
    insertTestEvent: p(`INSERT INTO events (at, kind, application, group_id, group_name, status, payload)
      VALUES (@at, 'TriggerTest', @application, @group_id, @group_name, 'Test', json_object('triggerName', @name))`),
    insertEvent: p(`INSERT INTO events (at, kind, application, group_id, group_name, deployment_id, host_id, lifecycle_event, status, payload)
      VALUES (@at, @kind, @application, @group_id, @group_name, @deployment_id, @host_id, @lifecycle_event, @status, @payload)`),
    insertDelivery: p(`INSERT INTO deliveries (trigger_id, event_seq, created_at) VALUES (?, ?, ?)`),
    due: p(`SELECT d.id, d.trigger_id, d.attempts, d.created_at, t.name, t.url, t.secret, t.format, e.*
      FROM deliveries d JOIN triggers t ON t.id = d.trigger_id JOIN events e ON e.seq = d.event_seq
      WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL AND d.next_attempt_at <= @now ORDER BY d.next_attempt_at, d.id LIMIT @limit`),
    claim: p(`UPDATE deliveries SET next_attempt_at = @until, claimed_at = @now WHERE id IN (SELECT id FROM deliveries
      WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= @now ORDER BY next_attempt_at, id LIMIT @limit)`),
    releaseClaims: p(RELEASE_CLAIMS),
    next: p(`SELECT MIN(next_attempt_at) AS at FROM deliveries WHERE ${PENDING}`),
    recordDelivery: p(`UPDATE deliveries SET attempts = attempts + 1, last_status = @status, last_error = @error,
      next_attempt_at = COALESCE(@next, next_attempt_at), claimed_at = NULL,
      delivered_at = CASE WHEN @delivered THEN @at END, gave_up_at = CASE WHEN @gave_up THEN @at END
      WHERE id = @id AND ${PENDING}`),
    recordOnTrigger: p(`UPDATE triggers SET last_attempt_at = @at, last_status = @status, last_error = @error,
      last_delivered_at = CASE WHEN @delivered THEN @at ELSE last_delivered_at END,
      delivered = delivered + @delivered, failed_attempts = failed_attempts + (1 - @delivered), given_up = given_up + @gave_up
      WHERE id = (SELECT trigger_id FROM deliveries WHERE id = @id)`),
  };
}

/** The SQLite half of `EventLogStore`; `SqliteStore` delegates to it on the same connection. */
export class SqliteEventLog {
  private readonly st: ReturnType<typeof prepare>;

  constructor(private readonly db: Database.Database) {
    this.st = prepare(db);
  }

  listEvents(options: { afterSeq?: number; application?: string; limit?: number } = {}): FerryEvent[] {
    const limit = options.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) throw new FerryError('INVALID_ARGUMENT', `limit must be a whole number ≥ 0, got ${limit}`);
    const rows = this.st.listEvents.all({ after: options.afterSeq ?? 0, application: options.application ?? null, limit });
    return (rows as EventRow[]).map(toEvent);
  }

  appendEvent(e: Omit<FerryEvent, 'seq'>): number {
    // events_enqueue (store/schema/v08.ts) queues the deliveries in the same statement.
    return Number(this.st.insertEvent.run({
      at: e.at, kind: e.kind, application: e.application, group_id: e.groupId, group_name: e.groupName,
      deployment_id: e.deploymentId ?? null, host_id: e.hostId ?? null, lifecycle_event: e.lifecycleEvent ?? null,
      status: e.status, payload: JSON.stringify(e.payload),
    }).lastInsertRowid);
  }

  lastEventSeq(): number {
    return (this.st.lastSeq.get() as { seq: number }).seq;
  }

  pruneEvents(keep: number, limit?: number): number {
    checkPrune(keep, limit);
    return this.db.transaction(() => {
      const removed = this.st.prune.run({ keep, limit: limit ?? -1 }).changes; // LIMIT -1: none
      if (removed > 0) this.st.pruneDeliveries.run();
      return removed;
    })();
  }

  /** Called inside `startDeployment`'s transaction, after its targets were inserted. */
  refreshStartOverview(deploymentId: string): void {
    this.st.refreshStart.run({ id: deploymentId });
  }

  setTrigger(input: TriggerInput, at: string): { trigger: TriggerView; created: boolean; testSeq: number } {
    return this.db.transaction(() => {
      const group = this.st.group.get(input.groupId) as { application: string; name: string } | undefined;
      if (!group) throw new FerryError('NOT_FOUND', `deployment group id "${input.groupId}" not found`);
      const existing = this.st.getTrigger.get(input.groupId, input.name) as { id: number } | undefined;
      const params = { group_id: input.groupId, name: input.name, url: input.url, events: JSON.stringify(input.events), format: input.format ?? null, at };
      let id: number;
      if (existing) {
        this.st.updateTrigger.run({ ...params, id: existing.id, secret: input.secret ?? null });
        id = existing.id;
      } else {
        if (input.secret === undefined || input.secret === '') throw new FerryError('INVALID_ARGUMENT', `trigger "${input.name}": a new trigger needs a secret`);
        let inserted = 0;
        guard(`trigger "${input.name}"`, () => (inserted = Number(this.st.insertTrigger.run({ ...params, secret: input.secret }).lastInsertRowid)));
        id = inserted;
      }
      const testSeq = Number(this.st.insertTestEvent.run({ at, application: group.application, group_id: input.groupId, group_name: group.name, name: input.name }).lastInsertRowid);
      this.st.insertDelivery.run(id, testSeq, at);
      return { trigger: toTrigger(this.st.viewTrigger.get(id) as TriggerRow), created: !existing, testSeq };
    })();
  }

  countTriggers(groupId: string): number {
    return (this.st.countTriggers.get(groupId) as { n: number }).n;
  }

  removeTrigger(groupId: string, name: string): boolean {
    return this.st.removeTrigger.run(groupId, name).changes === 1;
  }

  listTriggers(groupId: string): TriggerView[] {
    return (this.st.listTriggers.all(groupId) as TriggerRow[]).map(toTrigger);
  }

  dueDeliveries(nowMs: number, limit: number): DeliveryJob[] {
    const rows = this.st.due.all({ now: nowMs, limit }) as (EventRow & {
      id: number; trigger_id: number; attempts: number; created_at: string; name: string; url: string; secret: string; format: TriggerFormat;
    })[];
    return rows.map(r => ({
      id: r.id, triggerId: r.trigger_id, triggerName: r.name, url: r.url, secret: r.secret, format: r.format, attempts: r.attempts,
      createdAt: r.created_at, event: toEvent(r),
    }));
  }

  claimDeliveries(nowMs: number, limit: number, claimMs: number): DeliveryJob[] {
    return this.db.transaction(() => {
      const due = this.dueDeliveries(nowMs, limit);
      this.st.claim.run({ now: nowMs, limit, until: nowMs + claimMs });
      return due;
    })();
  }

  releaseDeliveryClaims(): number {
    return this.st.releaseClaims.run().changes;
  }

  nextDeliveryAt(): number | undefined {
    const at = (this.st.next.get() as { at: number | null }).at;
    return at === null ? undefined : at;
  }

  recordDelivery(id: number, o: DeliveryOutcome): void {
    const params = {
      id, at: o.at, status: o.status ?? null, error: o.delivered ? null : (o.error ?? 'failed'),
      next: o.nextAttemptAt ?? null, delivered: o.delivered ? 1 : 0, gave_up: o.gaveUp ? 1 : 0,
    };
    this.db.transaction(() => {
      if (this.st.recordDelivery.run(params).changes === 1) this.st.recordOnTrigger.run(params);
    })();
  }
}
