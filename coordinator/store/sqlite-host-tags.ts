/** The host tags part of the SQLite store: what each host is granted and what its agent asked for. */
import type { Database, Statement } from 'better-sqlite3';
import type { HostTags } from './store.js';

interface Row {
  host_id: string;
  granted: string;
  claimed: string;
  granted_by: string;
  granted_at: string;
}

export class SqliteHostTags {
  private readonly get: Statement;
  private readonly grant: Statement;
  private readonly claim: Statement;

  constructor(db: Database) {
    this.get = db.prepare('SELECT * FROM host_tags WHERE host_id = ?');
    this.grant = db.prepare(`INSERT INTO host_tags (host_id, granted, granted_by, granted_at) VALUES (@host_id, @granted, @by, @at)
      ON CONFLICT (host_id) DO UPDATE SET granted = excluded.granted, granted_by = excluded.granted_by, granted_at = excluded.granted_at`);
    // A host never granted anything gets a row granting nothing: its claim is kept for the views.
    this.claim = db.prepare(`INSERT INTO host_tags (host_id, granted, claimed, granted_by, granted_at) VALUES (@host_id, '{}', @claimed, '', '')
      ON CONFLICT (host_id) DO UPDATE SET claimed = excluded.claimed`);
  }

  of(hostId: string): HostTags | undefined {
    const r = this.get.get(hostId) as Row | undefined;
    return r && {
      hostId: r.host_id, granted: JSON.parse(r.granted) as Record<string, string>, claimed: JSON.parse(r.claimed) as Record<string, string>,
      grantedBy: r.granted_by, grantedAt: r.granted_at,
    };
  }

  setGranted(hostId: string, granted: Readonly<Record<string, string>>, by: string, at: string): void {
    this.grant.run({ host_id: hostId, granted: JSON.stringify(granted), by, at });
  }

  setClaimed(hostId: string, claimed: Readonly<Record<string, string>>): void {
    this.claim.run({ host_id: hostId, claimed: JSON.stringify(claimed) });
  }
}
