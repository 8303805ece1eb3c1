/** The PostgreSQL half of `EventLogStore` (SQLite's is sqlite-events.ts): the event log, triggers and their outbox. */
import type pg from 'pg';
import { FerryError } from '../../common/errors.js';
import type { TriggerFormat } from '../../common/triggers.js';
import type { DeliveryJob, DeliveryOutcome, FerryEvent, TriggerInput, TriggerView } from '../domain/events.js';
import { type Queryable, changes, guard, one, rows, transaction } from './pg-db.js';

// Row shapes, the trigger view and the row mappers are the SQLite store's: one meaning, two engines.
import { DEFAULT_LIMIT, type EventRow, PENDING, RELEASE_CLAIMS, checkPrune, TRIGGER_VIEW, type TriggerRow, toEvent, toTrigger } from './sqlite-events.js';

const INSERT_EVENT = `INSERT INTO events (at, kind, application, group_id, group_name, deployment_id, host_id, lifecycle_event, status, payload)
  VALUES (@at, @kind, @application, @group_id, @group_name, @deployment_id, @host_id, @lifecycle_event, @status, @payload) RETURNING seq`;

/** Appends an event on `q` (the pool, or an open transaction); events_enqueue queues its deliveries. Returns its seq. */
export async function appendEventOn(q: Queryable, e: Omit<FerryEvent, 'seq'>): Promise<number> {
  const r = await one<{ seq: number }>(q, INSERT_EVENT, {
    at: e.at, kind: e.kind, application: e.application, group_id: e.groupId, group_name: e.groupName,
    deployment_id: e.deploymentId ?? null, host_id: e.hostId ?? null, lifecycle_event: e.lifecycleEvent ?? null,
    status: e.status, payload: JSON.stringify(e.payload),
  });
  return r!.seq;
}

/**
 * Gives the DeploymentStart event (appended before the targets exist) their counts: SQLite's refreshStart.
 * The payload is text (its keys kept in order), so the new overview is set in JavaScript.
 */
export async function refreshStartOverview(q: Queryable, deploymentId: string): Promise<void> {
  const event = await one<{ seq: number; payload: string }>(q, `SELECT seq, payload FROM events
    WHERE seq = (SELECT MAX(seq) FROM events) AND deployment_id = @id AND kind = 'DeploymentStart'`, { id: deploymentId });
  if (event === undefined) return;
  const counts = await rows<{ status: string; n: number }>(q,
    'SELECT status, COUNT(*) AS n FROM host_deployments WHERE deployment_id = @id GROUP BY status', { id: deploymentId });
  const payload = JSON.parse(event.payload) as Record<string, unknown>;
  payload.overview = Object.fromEntries(counts.map(c => [c.status, c.n]));
  await changes(q, 'UPDATE events SET payload = @payload WHERE seq = @seq', { seq: event.seq, payload: JSON.stringify(payload) });
}

export class PgEventLog {
  constructor(private readonly pool: pg.Pool) {}

  async listEvents(options: { afterSeq?: number; application?: string; limit?: number } = {}): Promise<FerryEvent[]> {
    const limit = options.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) throw new FerryError('INVALID_ARGUMENT', `limit must be a whole number ≥ 0, got ${limit}`);
    return (await rows<EventRow>(this.pool, `SELECT * FROM events WHERE seq > @after AND (@application::text IS NULL OR application = @application::text)
      ORDER BY seq LIMIT @limit`, { after: options.afterSeq ?? 0, application: options.application ?? null, limit })).map(toEvent);
  }

  appendEvent(e: Omit<FerryEvent, 'seq'>): Promise<number> {
    return appendEventOn(this.pool, e);
  }

  async lastEventSeq(): Promise<number> {
    return (await one<{ seq: number }>(this.pool, 'SELECT COALESCE(MAX(seq), 0) AS seq FROM events'))!.seq;
  }

  async pruneEvents(keep: number, limit?: number): Promise<number> {
    checkPrune(keep, limit);
    return transaction(this.pool, async q => {
      const removed = await changes(q, `DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - @keep
        AND seq NOT IN (SELECT event_seq FROM deliveries WHERE ${PENDING}) ORDER BY seq LIMIT @limit)`, { keep, limit: limit ?? null });
      if (removed > 0) await changes(q, 'DELETE FROM deliveries WHERE event_seq NOT IN (SELECT seq FROM events)');
      return removed;
    });
  }

  async setTrigger(input: TriggerInput, at: string): Promise<{ trigger: TriggerView; created: boolean; testSeq: number }> {
    return transaction(this.pool, async q => {
      const group = await one<{ application: string; name: string }>(q, 'SELECT application, name FROM deployment_groups WHERE id = @id', { id: input.groupId });
      if (!group) throw new FerryError('NOT_FOUND', `deployment group id "${input.groupId}" not found`);
      // Two replicas setting the same trigger at once: the row lock makes the second an update.
      const existing = await one<{ id: number }>(q, 'SELECT id FROM triggers WHERE group_id = @group_id AND name = @name FOR UPDATE', { group_id: input.groupId, name: input.name });
      const params = { group_id: input.groupId, name: input.name, url: input.url, events: JSON.stringify(input.events), format: input.format ?? null, at };
      let id: number;
      if (existing) {
        // No format given: the stored one is kept (as SQLite's updateTrigger).
        await changes(q, `UPDATE triggers SET url = @url, events = @events, secret = COALESCE(@secret::text, secret),
          format = COALESCE(@format::text, format), updated_at = @at
          WHERE id = @id`, { url: params.url, events: params.events, format: params.format, at, id: existing.id, secret: input.secret ?? null });
        id = existing.id;
      } else {
        if (input.secret === undefined || input.secret === '') throw new FerryError('INVALID_ARGUMENT', `trigger "${input.name}": a new trigger needs a secret`);
        id = await guard(`trigger "${input.name}"`, async () => (await one<{ id: number }>(q, `INSERT INTO triggers (group_id, name, url, events, secret, format, created_at, updated_at)
          VALUES (@group_id, @name, @url, @events, @secret, COALESCE(@format::text, 'json'), @at, @at) RETURNING id`, { ...params, secret: input.secret }))!.id);
      }
      const testSeq = (await one<{ seq: number }>(q, `INSERT INTO events (at, kind, application, group_id, group_name, status, payload)
        VALUES (@at, 'TriggerTest', @application, @group_id, @group_name, 'Test', json_build_object('triggerName', @name::text)::text) RETURNING seq`,
      { at, application: group.application, group_id: input.groupId, group_name: group.name, name: input.name }))!.seq;
      await changes(q, 'INSERT INTO deliveries (trigger_id, event_seq, created_at) VALUES (@id, @seq, @at)', { id, seq: testSeq, at });
      const view = await one<TriggerRow>(q, `${TRIGGER_VIEW} WHERE t.id = @id`, { id });
      return { trigger: toTrigger(view!), created: !existing, testSeq };
    });
  }

  async removeTrigger(groupId: string, name: string): Promise<boolean> {
    return (await changes(this.pool, 'DELETE FROM triggers WHERE group_id = @group_id AND name = @name', { group_id: groupId, name })) === 1;
  }

  async listTriggers(groupId: string): Promise<TriggerView[]> {
    return (await rows<TriggerRow>(this.pool, `${TRIGGER_VIEW} WHERE t.group_id = @id ORDER BY t.name`, { id: groupId })).map(toTrigger);
  }

  async dueDeliveries(nowMs: number, limit: number): Promise<DeliveryJob[]> {
    return this.#jobs(`d.delivered_at IS NULL AND d.gave_up_at IS NULL AND d.next_attempt_at <= @now ORDER BY d.next_attempt_at, d.id LIMIT @limit`, { now: nowMs, limit });
  }

  async #jobs(where: string, params: Record<string, unknown>): Promise<DeliveryJob[]> {
    const found = await rows<EventRow & { d_id: number; trigger_id: number; attempts: number; d_created_at: string; name: string; url: string; secret: string; format: TriggerFormat }>(this.pool,
      `SELECT d.id AS d_id, d.trigger_id, d.attempts, d.created_at AS d_created_at, t.name AS name, t.url, t.secret, t.format, e.*
      FROM deliveries d JOIN triggers t ON t.id = d.trigger_id JOIN events e ON e.seq = d.event_seq
      WHERE ${where}`,
      params);
    return found.map(r => ({
      id: r.d_id, triggerId: r.trigger_id, triggerName: r.name, url: r.url, secret: r.secret, format: r.format, attempts: r.attempts,
      createdAt: r.d_created_at, event: toEvent(r),
    }));
  }

  async claimDeliveries(nowMs: number, limit: number, claimMs: number): Promise<DeliveryJob[]> {
    // One statement: the due rows are locked as they are picked, and rows another replica's claim has locked
    // at this instant are skipped rather than waited for (it takes them); then read back in due order.
    const claimed = await rows<{ id: number; due: number }>(this.pool,
      `UPDATE deliveries d SET next_attempt_at = @until, claimed_at = @now FROM (SELECT id, next_attempt_at FROM deliveries
        WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= @now ORDER BY next_attempt_at, id LIMIT @limit FOR UPDATE SKIP LOCKED) due
      WHERE d.id = due.id RETURNING d.id, due.next_attempt_at AS due`,
      { now: nowMs, limit, until: nowMs + claimMs });
    if (claimed.length === 0) return [];
    const order = new Map(claimed.map(c => [c.id, c.due]));
    const jobs = await this.#jobs(`d.id IN (${claimed.map(c => Number(c.id)).join(', ')})`, {});
    return jobs.sort((a, b) => order.get(a.id)! - order.get(b.id)! || a.id - b.id);
  }

  async releaseDeliveryClaims(): Promise<number> {
    return changes(this.pool, RELEASE_CLAIMS);
  }

  async nextDeliveryAt(): Promise<number | undefined> {
    const at = (await one<{ at: number | null }>(this.pool, `SELECT MIN(next_attempt_at) AS at FROM deliveries WHERE ${PENDING}`))!.at;
    return at === null ? undefined : at;
  }

  async recordDelivery(id: number, o: DeliveryOutcome): Promise<void> {
    const params = {
      id, at: o.at, status: o.status ?? null, error: o.delivered ? null : (o.error ?? 'failed'),
      next: o.nextAttemptAt ?? null, delivered: o.delivered ? 1 : 0, gave_up: o.gaveUp ? 1 : 0,
    };
    await transaction(this.pool, async q => {
      const moved = await changes(q, `UPDATE deliveries SET attempts = attempts + 1, last_status = @status::integer, last_error = @error::text,
        next_attempt_at = COALESCE(@next::bigint, next_attempt_at), claimed_at = NULL,
        delivered_at = CASE WHEN @delivered::integer = 1 THEN @at::text END, gave_up_at = CASE WHEN @gave_up::integer = 1 THEN @at::text END
        WHERE id = @id AND ${PENDING}`, params);
      if (moved === 1) {
        await changes(q, `UPDATE triggers SET last_attempt_at = @at::text, last_status = @status::integer, last_error = @error::text,
          last_delivered_at = CASE WHEN @delivered::integer = 1 THEN @at::text ELSE last_delivered_at END,
          delivered = delivered + @delivered::integer, failed_attempts = failed_attempts + (1 - @delivered::integer), given_up = given_up + @gave_up::integer
          WHERE id = (SELECT trigger_id FROM deliveries WHERE id = @id)`, params);
      }
    });
  }
}
