import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { RemovedCounts } from './store.js';

const IN_GROUP = 'deployment_id IN (SELECT id FROM deployments WHERE group_id = ?)';

function prepare(db: Database.Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    countDeployments: p('SELECT COUNT(*) AS n FROM deployments WHERE group_id = ?'),
    countTriggers: p('SELECT COUNT(*) AS n FROM triggers WHERE group_id = ?'),
    countSchedules: p('SELECT COUNT(*) AS n FROM schedules WHERE group_id = ?'),
    countPlans: p('SELECT COUNT(*) AS n FROM plans WHERE group_id = ?'),
    deleteGroupRows: [
      'DELETE FROM triggers WHERE group_id = ?',
      `DELETE FROM log_lines WHERE ${IN_GROUP}`,
      `DELETE FROM lifecycle_events WHERE ${IN_GROUP}`,
      'DELETE FROM host_revisions WHERE group_id = ?',
      'DELETE FROM auto_deployments WHERE group_id = ?',
      'DELETE FROM plans WHERE group_id = ?',
      `DELETE FROM host_deployments WHERE ${IN_GROUP}`,
      'DELETE FROM schedules WHERE group_id = ?',
      'DELETE FROM deployments WHERE group_id = ?',
      'DELETE FROM deployment_groups WHERE id = ?',
    ].map(p),
    groupsOf: p('SELECT id FROM deployment_groups WHERE application = ?'),
    revisionsOf: p('SELECT digest FROM revisions WHERE application = ?'),
    deleteRevisionsOf: p('DELETE FROM revisions WHERE application = ?'),
    deleteApplication: p('DELETE FROM applications WHERE name = ?'),
    removeHost: p('UPDATE hosts SET removed_at = @at, connected = 0 WHERE id = @id AND removed_at IS NULL'),
    forgetHost: ['DELETE FROM host_revisions WHERE host_id = ?', 'DELETE FROM auto_deployments WHERE host_id = ?'].map(p),
    restoreHost: p('UPDATE hosts SET removed_at = NULL WHERE id = ? AND removed_at IS NOT NULL'),
    removedAt: p('SELECT removed_at FROM hosts WHERE id = ?'),
    deleteRevision: p('UPDATE revisions SET deleted_at = @at WHERE application = @application AND digest = @digest AND deleted_at IS NULL'),
    undeleteRevision: p('UPDATE revisions SET deleted_at = NULL WHERE application = ? AND digest = ? AND deleted_at IS NOT NULL'),
    digestInUse: p('SELECT COUNT(*) AS n FROM revisions WHERE digest = ? AND deleted_at IS NULL'),
  };
}

/**
 * Clean-up in the store (store/schema/v17.ts): deleting groups and applications with everything
 * that hangs on them, removing hosts, deleting revisions. `SqliteStore` delegates to it.
 */
export class SqliteCleanup {
  private readonly st: ReturnType<typeof prepare>;

  constructor(private readonly db: Database.Database) {
    this.st = prepare(db);
  }

  private count(s: Statement, id: string): number {
    return (s.get(id) as { n: number }).n;
  }

  private deleteGroupIn(groupId: string): RemovedCounts {
    const counts: RemovedCounts = {
      groups: 1, deployments: this.count(this.st.countDeployments, groupId), triggers: this.count(this.st.countTriggers, groupId),
      schedules: this.count(this.st.countSchedules, groupId), plans: this.count(this.st.countPlans, groupId), revisions: 0,
    };
    // Deployments and schedules point at each other: checked once, at commit.
    this.db.pragma('defer_foreign_keys = ON');
    for (const s of this.st.deleteGroupRows) s.run(groupId);
    return counts;
  }

  /** The group and its deployments (history, logs), triggers, schedules and plans, in one transaction. */
  deleteGroup(groupId: string): RemovedCounts {
    return this.db.transaction(() => this.deleteGroupIn(groupId))();
  }

  /** Every group of the application (as deleteGroup), its revisions and itself; also the digests it held. */
  deleteApplication(name: string): RemovedCounts & { digests: string[] } {
    return this.db.transaction(() => {
      const total: RemovedCounts = { groups: 0, deployments: 0, triggers: 0, schedules: 0, plans: 0, revisions: 0 };
      for (const { id } of this.st.groupsOf.all(name) as { id: string }[]) {
        const c = this.deleteGroupIn(id);
        for (const k of Object.keys(total) as (keyof RemovedCounts)[]) total[k] += c[k];
      }
      const digests = (this.st.revisionsOf.all(name) as { digest: string }[]).map(r => r.digest);
      total.revisions = this.st.deleteRevisionsOf.run(name).changes;
      this.st.deleteApplication.run(name);
      return { ...total, digests };
    })();
  }

  /** Marks the host removed (kept for the history) and forgets what it runs per group; false when it already was. */
  removeHost(id: string, at: string): boolean {
    return this.db.transaction(() => {
      if (this.st.removeHost.run({ id, at }).changes !== 1) return false;
      for (const s of this.st.forgetHost) s.run(id);
      return true;
    })();
  }

  restoreHost(id: string): boolean {
    return this.st.restoreHost.run(id).changes === 1;
  }

  hostRemovedAt(id: string): string | undefined {
    return (this.st.removedAt.get(id) as { removed_at: string | null } | undefined)?.removed_at ?? undefined;
  }

  deleteRevision(application: string, digest: string, at: string): boolean {
    return this.st.deleteRevision.run({ application, digest, at }).changes === 1;
  }

  undeleteRevision(application: string, digest: string): void {
    this.st.undeleteRevision.run(application, digest);
  }

  /** True while some application still holds a (not deleted) revision with these bytes. */
  digestInUse(digest: string): boolean {
    return this.count(this.st.digestInUse, digest) > 0;
  }
}
