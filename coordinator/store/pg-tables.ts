/**
 * The PostgreSQL store's smaller tables (SQLite's are sqlite-tokens.ts, -audit, -host-tags, -plans,
 * -schedules): tokens, host certificates, the audit log, host tags, plans and schedules.
 */
import type pg from 'pg';
import { FerryError } from '../../common/errors.js';
import { type AuditEntry, type AuditFilter, type AuditRecord, foldKey } from '../domain/audit.js';
import type { DeploymentPlanRecord } from '../domain/plan.js';
import { SCHEDULE_STATES, SCHEDULE_TRANSITIONS, type Schedule, type ScheduleState } from '../domain/schedules.js';
import { allowedFrom } from '../domain/status.js';
import type { TokenRecord } from '../security/tokens.js';
import { type PgParent, changes, guard, inList, insertSql, one, rows, transaction } from './pg-db.js';
import { sqlList } from './sqlite-statements.js';
import type { ConsoleSessionRecord, HostCertificate, HostTags, ScheduleFilter } from './store.js';
import { COLUMNS as SCHEDULE_COLUMNS, type ScheduleRow, toSchedule } from './sqlite-schedules.js';

interface TokenRow {
  id: string; role: TokenRecord['role']; secret_hash: string; description: string; created_at: string; expires_at: string | null;
  uses_left: number | null; revoked_at: string | null; created_by: string; host_id: string | null; tags: string | null;
}

const toToken = (r: TokenRow): TokenRecord => ({
  id: r.id, role: r.role, secretHash: r.secret_hash, description: r.description, createdAt: r.created_at, expiresAt: r.expires_at,
  usesLeft: r.uses_left, revokedAt: r.revoked_at, createdBy: r.created_by, hostId: r.host_id,
  tags: r.tags === null ? null : JSON.parse(r.tags) as Record<string, string>,
});

interface SessionRow { id_hash: string; token_id: string | null; actor: string; role: string; created_at: string; expires_at: string }

interface CertRow { fingerprint: string; host_id: string; issued_at: string; expires_at: string; token_id: string; revoked_at: string | null }

const toCert = (r: CertRow | undefined): HostCertificate | undefined =>
  r && { fingerprint: r.fingerprint, hostId: r.host_id, issuedAt: r.issued_at, expiresAt: r.expires_at, tokenId: r.token_id, revokedAt: r.revoked_at };

interface AuditRow {
  seq: number; at: string; actor: string; role: string; action: string; peer: string; outcome: AuditRecord['outcome'];
  code: string; message: string; target_json: string; count: number; last_at: string;
}

const toAudit = (r: AuditRow): AuditRecord => ({
  seq: r.seq, at: r.at, actor: r.actor, role: r.role, action: r.action, peer: r.peer, outcome: r.outcome,
  code: r.code, message: r.message, target: JSON.parse(r.target_json) as Record<string, unknown>, count: r.count, lastAt: r.last_at,
});

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface PlanRow {
  id: string; application: string; group_id: string; group_name: string; revision_digest: string; config_name: string;
  options: string; fingerprint: string; body: string; created_at: string; expires_at: string; used_by: string | null;
}

// The schedule row, its columns and its mapper are the SQLite store's (one meaning, two engines).

export interface Parents {
  application(name: string): Promise<unknown>;
  group(id: string): Promise<unknown>;
  deployment(id: string): Promise<unknown>;
}

export class PgTables {
  constructor(private readonly pool: pg.Pool, private readonly parents: Parents) {}

  // Tokens
  async createToken(t: TokenRecord): Promise<void> {
    await guard(`token "${t.id}"`, () => changes(this.pool, insertSql('tokens', ['id', 'role', 'secret_hash', 'description', 'created_at', 'expires_at', 'uses_left', 'revoked_at', 'created_by', 'host_id', 'tags']), {
      id: t.id, role: t.role, secret_hash: t.secretHash, description: t.description, created_at: t.createdAt,
      expires_at: t.expiresAt, uses_left: t.usesLeft, revoked_at: t.revokedAt, created_by: t.createdBy, host_id: t.hostId,
      tags: t.tags === null ? null : JSON.stringify(t.tags),
    }));
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const r = await one<TokenRow>(this.pool, 'SELECT * FROM tokens WHERE id = @id', { id });
    return r && toToken(r);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await rows<TokenRow>(this.pool, 'SELECT * FROM tokens ORDER BY created_at, id')).map(toToken);
  }

  async consumeToken(id: string, now: string): Promise<boolean> {
    // One UPDATE: two replicas racing for a one-use token cannot both win (the row lock orders them).
    return (await changes(this.pool, `UPDATE tokens SET uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END
      WHERE id = @id AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now) AND (uses_left IS NULL OR uses_left > 0)`, { id, now })) === 1;
  }

  /** Revokes the token and deletes its console sessions, in one transaction. */
  async revokeToken(id: string, at: string): Promise<boolean> {
    return transaction(this.pool, async q => {
      await changes(q, 'DELETE FROM console_sessions WHERE token_id = @id', { id });
      return (await changes(q, 'UPDATE tokens SET revoked_at = @at WHERE id = @id AND revoked_at IS NULL', { id, at })) === 1;
    });
  }

  // Web console sessions (SQLite: SqliteConsoleSessions in sqlite-tokens.ts)
  /** In one transaction: deletes the sessions expired at its createdAt, inserts it, keeps its token's newest `perToken`. */
  async createConsoleSession(s: ConsoleSessionRecord, perToken: number): Promise<void> {
    await transaction(this.pool, async q => {
      // Timestamps are ISO-8601 UTC strings of one shape, so text order is time order.
      await changes(q, 'DELETE FROM console_sessions WHERE expires_at <= @now', { now: s.createdAt });
      await guard(`console session of ${s.actor}`, () => changes(q, insertSql('console_sessions', ['id_hash', 'token_id', 'actor', 'role', 'created_at', 'expires_at']), {
        id_hash: s.idHash, token_id: s.tokenId, actor: s.actor, role: s.role, created_at: s.createdAt, expires_at: s.expiresAt,
      }), s.tokenId === null ? [] : [[`token "${s.tokenId}"`, () => this.getToken(s.tokenId!)]]);
      if (s.tokenId !== null) {
        // `ord` (the insertion order) breaks ties between sessions of one createdAt, as SQLite's rowid.
        await changes(q, `DELETE FROM console_sessions WHERE token_id = @token_id AND ord NOT IN
          (SELECT ord FROM console_sessions WHERE token_id = @token_id ORDER BY created_at DESC, ord DESC LIMIT @keep)`, { token_id: s.tokenId, keep: perToken });
      }
    });
  }

  async getConsoleSession(idHash: string, now: string): Promise<ConsoleSessionRecord | undefined> {
    const r = await one<SessionRow>(this.pool, 'SELECT * FROM console_sessions WHERE id_hash = @id_hash AND expires_at > @now', { id_hash: idHash, now });
    return r && { idHash: r.id_hash, tokenId: r.token_id, actor: r.actor, role: r.role, createdAt: r.created_at, expiresAt: r.expires_at };
  }

  async deleteConsoleSession(idHash: string): Promise<void> {
    await changes(this.pool, 'DELETE FROM console_sessions WHERE id_hash = @id_hash', { id_hash: idHash });
  }

  // Host certificates
  async addHostCertificate(c: HostCertificate): Promise<void> {
    await guard(`certificate ${c.fingerprint}`, () => changes(this.pool, insertSql('host_certificates', ['fingerprint', 'host_id', 'issued_at', 'expires_at', 'token_id', 'revoked_at']), {
      fingerprint: c.fingerprint, host_id: c.hostId, issued_at: c.issuedAt, expires_at: c.expiresAt, token_id: c.tokenId, revoked_at: c.revokedAt,
    }));
  }

  async getHostCertificate(fingerprint: string): Promise<HostCertificate | undefined> {
    return toCert(await one<CertRow>(this.pool, 'SELECT * FROM host_certificates WHERE fingerprint = @fingerprint', { fingerprint }));
  }

  async activeHostCertificate(hostId: string, now: string): Promise<HostCertificate | undefined> {
    return toCert(await one<CertRow>(this.pool, `SELECT * FROM host_certificates WHERE host_id = @host_id AND revoked_at IS NULL AND expires_at > @now
      ORDER BY expires_at DESC LIMIT 1`, { host_id: hostId, now }));
  }

  revokeHostCertificates(hostId: string, at: string, except = ''): Promise<number> {
    return changes(this.pool, 'UPDATE host_certificates SET revoked_at = @at WHERE host_id = @host_id AND revoked_at IS NULL AND fingerprint <> @except',
      { host_id: hostId, at, except });
  }

  async revokedHostIds(): Promise<Set<string>> {
    const found = await rows<{ host_id: string }>(this.pool,
      'SELECT host_id FROM host_certificates GROUP BY host_id HAVING COUNT(*) FILTER (WHERE revoked_at IS NULL) = 0');
    return new Set(found.map(r => r.host_id));
  }

  // Host tags
  async getHostTags(hostId: string): Promise<HostTags | undefined> {
    const r = await one<{ host_id: string; granted: string; claimed: string; granted_by: string; granted_at: string }>(this.pool,
      'SELECT * FROM host_tags WHERE host_id = @host_id', { host_id: hostId });
    return r && {
      hostId: r.host_id, granted: JSON.parse(r.granted) as Record<string, string>, claimed: JSON.parse(r.claimed) as Record<string, string>,
      grantedBy: r.granted_by, grantedAt: r.granted_at,
    };
  }

  async grantHostTags(hostId: string, granted: Readonly<Record<string, string>>, by: string, at: string): Promise<void> {
    await changes(this.pool, `INSERT INTO host_tags (host_id, granted, granted_by, granted_at) VALUES (@host_id, @granted, @by, @at)
      ON CONFLICT (host_id) DO UPDATE SET granted = excluded.granted, granted_by = excluded.granted_by, granted_at = excluded.granted_at`,
    { host_id: hostId, granted: JSON.stringify(granted), by, at });
  }

  async recordClaimedTags(hostId: string, claimed: Readonly<Record<string, string>>): Promise<void> {
    await changes(this.pool, `INSERT INTO host_tags (host_id, granted, claimed, granted_by, granted_at) VALUES (@host_id, '{}', @claimed, '', '')
      ON CONFLICT (host_id) DO UPDATE SET claimed = excluded.claimed`, { host_id: hostId, claimed: JSON.stringify(claimed) });
  }

  // Audit
  async appendAudit(e: AuditEntry, foldWithinMs: number): Promise<number> {
    const key = foldKey(e);
    return transaction(this.pool, async q => {
      if (key !== undefined) {
        const since = new Date(Date.parse(e.at) - foldWithinMs).toISOString();
        const folded = await one<{ seq: number }>(q, `UPDATE audit SET count = count + 1, last_at = @at
          WHERE seq = (SELECT seq FROM audit WHERE fold_key = @fold_key AND last_at >= @since ORDER BY seq DESC LIMIT 1) RETURNING seq`,
        { fold_key: key, since, at: e.at });
        if (folded !== undefined) return folded.seq;
      }
      return (await one<{ seq: number }>(q, `INSERT INTO audit (at, actor, role, action, peer, outcome, code, message, target_json, fold_key, last_at)
        VALUES (@at, @actor, @role, @action, @peer, @outcome, @code, @message, @target_json, @fold_key, @at) RETURNING seq`, {
        at: e.at, actor: e.actor, role: e.role, action: e.action, peer: e.peer, outcome: e.outcome, code: e.code,
        message: e.message, target_json: JSON.stringify(e.target), fold_key: key ?? null,
      }))!.seq;
    });
  }

  async listAudit(f: AuditFilter = {}): Promise<AuditRecord[]> {
    const where = ['seq > @after'];
    const params: Record<string, unknown> = { after: f.afterSeq ?? 0, limit: f.limit ?? f.last ?? null };
    if (f.actor) (where.push('actor = @actor'), params.actor = f.actor);
    if (f.action) (where.push("(action = @action OR action LIKE '%/' || @action)"), params.action = f.action);
    if (f.outcome) (where.push('outcome = @outcome'), params.outcome = f.outcome);
    const order = f.last === undefined ? 'ASC' : 'DESC';
    const found = await rows<AuditRow>(this.pool, `SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY seq ${order} LIMIT @limit`, params);
    if (f.last !== undefined) found.reverse();
    return found.map(toAudit);
  }

  async pruneAudit(before: string, limit?: number): Promise<number> {
    if (!ISO_UTC.test(before)) throw new FerryError('INVALID_ARGUMENT', `before must be an ISO-8601 UTC time like 2026-01-31T00:00:00.000Z, got '${before}'`);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new FerryError('INVALID_ARGUMENT', `limit must be a whole number ≥ 1, got ${limit}`);
    return changes(this.pool, 'DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE last_at < @before ORDER BY last_at LIMIT @limit)',
      { before, limit: limit ?? null });
  }

  // Plans
  async createPlan(p: DeploymentPlanRecord): Promise<void> {
    await guard(`plan ${p.id}`, () => changes(this.pool, insertSql('plans', ['id', 'application', 'group_id', 'group_name', 'revision_digest', 'config_name', 'options', 'fingerprint', 'body', 'created_at', 'expires_at', 'used_by']), {
      id: p.id, application: p.application, group_id: p.groupId, group_name: p.groupName, revision_digest: p.revisionDigest,
      config_name: p.configName, options: JSON.stringify(p.options), fingerprint: p.fingerprint, body: JSON.stringify(p.document),
      created_at: p.createdAt, expires_at: p.expiresAt, used_by: p.usedBy ?? null,
    }), [[`application ${p.application}`, () => this.parents.application(p.application)], [`deployment group ${p.groupId}`, () => this.parents.group(p.groupId)]]);
  }

  async getPlan(id: string): Promise<DeploymentPlanRecord | undefined> {
    const r = await one<PlanRow>(this.pool, 'SELECT * FROM plans WHERE id = @id', { id });
    if (!r) return undefined;
    return {
      id: r.id, application: r.application, groupId: r.group_id, groupName: r.group_name, revisionDigest: r.revision_digest,
      configName: r.config_name, options: JSON.parse(r.options), fingerprint: r.fingerprint, document: JSON.parse(r.body),
      createdAt: r.created_at, expiresAt: r.expires_at, ...(r.used_by !== null && { usedBy: r.used_by }),
    };
  }

  async markPlanUsed(id: string, deploymentId: string): Promise<boolean> {
    return (await guard(`plan ${id}`, () => changes(this.pool, 'UPDATE plans SET used_by = @deployment_id WHERE id = @id AND used_by IS NULL', { id, deployment_id: deploymentId }),
      [[`deployment ${deploymentId}`, () => this.parents.deployment(deploymentId)]])) === 1;
  }

  // Schedules
  async createSchedule(s: Schedule): Promise<void> {
    const params: Record<(typeof SCHEDULE_COLUMNS)[number], string | null> = {
      id: s.id, application: s.application, group_id: s.groupId, group_name: s.groupName, revision: s.revision,
      options: JSON.stringify(s.options), run_at: s.at ?? null, cron: s.cron ?? null, timezone: s.timezone, state: s.state,
      next_run_at: s.nextRunAt ?? null, last_run_at: s.lastRunAt ?? null, last_deployment_id: s.lastDeploymentId ?? null,
      last_error: s.lastError ?? null, created_by: s.createdBy, created_at: s.createdAt,
    };
    const last = s.lastDeploymentId;
    const parents: PgParent[] = [
      [`application "${s.application}"`, () => this.parents.application(s.application)],
      [`deployment group ${s.groupId}`, () => this.parents.group(s.groupId)],
      [`deployment ${last}`, async () => (last === undefined ? true : this.parents.deployment(last))],
    ];
    await guard(`schedule ${s.id}`, () => changes(this.pool, insertSql('schedules', SCHEDULE_COLUMNS), params), parents);
  }

  async getSchedule(id: string): Promise<Schedule | undefined> {
    const r = await one<ScheduleRow>(this.pool, 'SELECT * FROM schedules WHERE id = @id', { id });
    return r && toSchedule(r);
  }

  async listSchedules(filter: ScheduleFilter = {}): Promise<Schedule[]> {
    return (await rows<ScheduleRow>(this.pool, `SELECT * FROM schedules WHERE (@application::text IS NULL OR application = @application::text)
      AND (@all::integer = 1 OR state = 'Active') ORDER BY created_at, ord`, { application: filter.application ?? null, all: filter.all ? 1 : 0 })).map(toSchedule);
  }

  async dueSchedules(now: string): Promise<Schedule[]> {
    return (await rows<ScheduleRow>(this.pool, "SELECT * FROM schedules WHERE state = 'Active' AND next_run_at <= @now ORDER BY next_run_at, ord", { now })).map(toSchedule);
  }

  async claimScheduleRun(id: string, due: string, next: string | null, ranAt: string): Promise<boolean> {
    return (await changes(this.pool, `UPDATE schedules SET last_run_at = @ran_at, next_run_at = @next::text,
        state = CASE WHEN @next::text IS NULL THEN 'Done' ELSE state END
      WHERE id = @id AND state = 'Active' AND next_run_at = @due`, { id, due, next, ran_at: ranAt })) === 1;
  }

  async recordScheduleResult(id: string, result: { deploymentId: string } | { error: string }): Promise<void> {
    const params = { id, deployment_id: 'deploymentId' in result ? result.deploymentId : null, error: 'error' in result ? result.error : null };
    const deployment = params.deployment_id;
    const changed = await guard(`schedule ${id}`, () => changes(this.pool, 'UPDATE schedules SET last_deployment_id = @deployment_id, last_error = @error WHERE id = @id', params), [
      [`deployment ${deployment}`, async () => (deployment === null ? true : this.parents.deployment(deployment))],
    ]);
    if (changed !== 1) throw new FerryError('NOT_FOUND', `schedule ${id} not found`);
  }

  async transitionSchedule(id: string, to: ScheduleState): Promise<boolean> {
    if (!SCHEDULE_STATES.includes(to)) throw new FerryError('INVALID_ARGUMENT', `unknown schedule state "${to}"`);
    return (await changes(this.pool, `UPDATE schedules
      SET state = ${sqlList([to])}, next_run_at = CASE WHEN ${sqlList([to])} = 'Active' THEN next_run_at ELSE NULL END
      WHERE id = @id AND ${inList('state', allowedFrom(SCHEDULE_TRANSITIONS, to))}`, { id })) === 1;
  }
}
