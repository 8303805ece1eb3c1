/** The audit part of the SQLite store (domain/audit.ts): append, fold repeated refusals, list by seq, delete old records. */
import type { Database, Statement } from 'better-sqlite3';
import { FerryError } from '../../common/errors.js';
import { type AuditEntry, type AuditFilter, type AuditRecord, foldKey } from '../domain/audit.js';

interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  peer: string;
  outcome: AuditRecord['outcome'];
  code: string;
  message: string;
  target_json: string;
  count: number;
  last_at: string;
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const toRecord = (r: AuditRow): AuditRecord => ({
  seq: r.seq, at: r.at, actor: r.actor, role: r.role, action: r.action, peer: r.peer, outcome: r.outcome,
  code: r.code, message: r.message, target: JSON.parse(r.target_json) as Record<string, unknown>, count: r.count, lastAt: r.last_at,
});

export class SqliteAudit {
  private readonly insert: Statement;
  private readonly fold: Statement;
  private readonly prune: Statement;

  constructor(private readonly db: Database) {
    this.insert = db.prepare(`INSERT INTO audit (at, actor, role, action, peer, outcome, code, message, target_json, fold_key, last_at)
      VALUES (@at, @actor, @role, @action, @peer, @outcome, @code, @message, @target_json, @fold_key, @at)`);
    // Timestamps are ISO-8601 UTC strings of one shape, so text order is time order.
    this.fold = db.prepare(`UPDATE audit SET count = count + 1, last_at = @at
      WHERE seq = (SELECT seq FROM audit WHERE fold_key = @fold_key AND last_at >= @since ORDER BY seq DESC LIMIT 1)`);
    // last_at >= at always (= at unless folded), so one column decides; index audit_last_at (migration 13).
    this.prune = db.prepare('DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE last_at < @before ORDER BY last_at LIMIT @limit)');
  }

  /** Deletes up to `limit` (default: all) records last seen before `before`, oldest first; returns how many. */
  deleteBefore(before: string, limit?: number): number {
    // Text order is time order only for the one shape the log is written in; anything else could delete the wrong records.
    if (!ISO_UTC.test(before)) throw new FerryError('INVALID_ARGUMENT', `before must be an ISO-8601 UTC time like 2026-01-31T00:00:00.000Z, got '${before}'`);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new FerryError('INVALID_ARGUMENT', `limit must be a whole number ≥ 1, got ${limit}`);
    return this.prune.run({ before, limit: limit ?? -1 }).changes;
  }

  /** Appends, or folds a refusal into an identical one from the same address less than `foldWithinMs` ago; returns the record's seq. */
  append(e: AuditEntry, foldWithinMs: number): number {
    const key = foldKey(e);
    return this.db.transaction(() => {
      if (key !== undefined) {
        const since = new Date(Date.parse(e.at) - foldWithinMs).toISOString();
        const folded = this.fold.run({ fold_key: key, since, at: e.at });
        if (folded.changes === 1) {
          return (this.db.prepare('SELECT seq FROM audit WHERE fold_key = ? ORDER BY seq DESC LIMIT 1').get(key) as { seq: number }).seq;
        }
      }
      const r = this.insert.run({
        at: e.at, actor: e.actor, role: e.role, action: e.action, peer: e.peer, outcome: e.outcome, code: e.code,
        message: e.message, target_json: JSON.stringify(e.target), fold_key: key ?? null,
      });
      return Number(r.lastInsertRowid);
    })();
  }

  list(f: AuditFilter): AuditRecord[] {
    const where = ['seq > @after'];
    const params: Record<string, unknown> = { after: f.afterSeq ?? 0, limit: f.limit ?? f.last ?? -1 };
    if (f.actor) (where.push('actor = @actor'), params.actor = f.actor);
    if (f.action) (where.push("(action = @action OR action LIKE '%/' || @action)"), params.action = f.action);
    if (f.outcome) (where.push('outcome = @outcome'), params.outcome = f.outcome);
    // `last`: the newest N that match, still returned oldest first.
    const order = f.last === undefined ? 'ASC' : 'DESC';
    const rows = this.db.prepare(`SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY seq ${order} LIMIT @limit`).all(params) as AuditRow[];
    if (f.last !== undefined) rows.reverse();
    return rows.map(toRecord);
  }
}
