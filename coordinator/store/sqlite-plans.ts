import type { Database, Statement } from 'better-sqlite3';
import type { DeploymentPlanRecord } from '../domain/plan.js';
import { guard } from './sqlite-errors.js';

interface PlanRow {
  id: string; application: string; group_id: string; group_name: string; revision_digest: string; config_name: string;
  options: string; fingerprint: string; body: string; created_at: string; expires_at: string; used_by: string | null;
}

/** The `plans` table (migration 9): the Store's deployment-plan methods for the SQLite store. */
export class SqlitePlans {
  private readonly insert: Statement;
  private readonly get: Statement;
  private readonly use: Statement;

  constructor(db: Database) {
    this.insert = db.prepare(`INSERT INTO plans (id, application, group_id, group_name, revision_digest, config_name, options,
      fingerprint, body, created_at, expires_at, used_by) VALUES (@id, @application, @group_id, @group_name, @revision_digest,
      @config_name, @options, @fingerprint, @body, @created_at, @expires_at, @used_by)`);
    this.get = db.prepare('SELECT * FROM plans WHERE id = ?');
    this.use = db.prepare('UPDATE plans SET used_by = ? WHERE id = ? AND used_by IS NULL');
  }

  create(p: DeploymentPlanRecord, parents: { group: () => unknown; application: () => unknown }): void {
    guard(`plan ${p.id}`, () => this.insert.run({
      id: p.id, application: p.application, group_id: p.groupId, group_name: p.groupName, revision_digest: p.revisionDigest,
      config_name: p.configName, options: JSON.stringify(p.options), fingerprint: p.fingerprint, body: JSON.stringify(p.document),
      created_at: p.createdAt, expires_at: p.expiresAt, used_by: p.usedBy ?? null,
    }), [[`application ${p.application}`, parents.application], [`deployment group ${p.groupId}`, parents.group]]);
  }

  find(id: string): DeploymentPlanRecord | undefined {
    const r = this.get.get(id) as PlanRow | undefined;
    if (!r) return undefined;
    return {
      id: r.id, application: r.application, groupId: r.group_id, groupName: r.group_name, revisionDigest: r.revision_digest,
      configName: r.config_name, options: JSON.parse(r.options), fingerprint: r.fingerprint, document: JSON.parse(r.body),
      createdAt: r.created_at, expiresAt: r.expires_at, ...(r.used_by !== null && { usedBy: r.used_by }),
    };
  }

  /** CAS: records the deployment that executes the plan; false when it was used already (or does not exist). */
  markUsed(id: string, deploymentId: string, deployment: () => unknown): boolean {
    let changed = false;
    guard(`plan ${id}`, () => {
      changed = this.use.run(deploymentId, id).changes === 1;
    }, [[`deployment ${deploymentId}`, deployment]]);
    return changed;
  }
}
