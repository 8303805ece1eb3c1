/** The tokens part of the SQLite store: statements and row mapping, kept out of the big files. */
import type { Database, Statement } from 'better-sqlite3';
import type { TokenRecord } from '../security/tokens.js';
import type { ConsoleSessionRecord, HostCertificate } from './store.js';
import { guard } from './sqlite-errors.js';

interface TokenRow {
  id: string;
  role: TokenRecord['role'];
  secret_hash: string;
  description: string;
  created_at: string;
  expires_at: string | null;
  uses_left: number | null;
  revoked_at: string | null;
  created_by: string;
  host_id: string | null;
  tags: string | null;
}

const toToken = (r: TokenRow): TokenRecord => ({
  id: r.id,
  role: r.role,
  secretHash: r.secret_hash,
  description: r.description,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usesLeft: r.uses_left,
  revokedAt: r.revoked_at,
  createdBy: r.created_by,
  hostId: r.host_id,
  tags: r.tags === null ? null : JSON.parse(r.tags) as Record<string, string>,
});

export class SqliteTokens {
  private readonly insert: Statement;
  private readonly get: Statement;
  private readonly list: Statement;
  private readonly consume: Statement;
  private readonly revoke: Statement;
  private readonly endSessions: Statement;

  constructor(private readonly db: Database) {
    this.insert = db.prepare(`INSERT INTO tokens (id, role, secret_hash, description, created_at, expires_at, uses_left, revoked_at, created_by, host_id, tags)
      VALUES (@id, @role, @secret_hash, @description, @created_at, @expires_at, @uses_left, @revoked_at, @created_by, @host_id, @tags)`);
    this.get = db.prepare('SELECT * FROM tokens WHERE id = ?');
    this.list = db.prepare('SELECT * FROM tokens ORDER BY created_at, id');
    // Timestamps are ISO-8601 UTC strings of one shape, so text order is time order.
    this.consume = db.prepare(`UPDATE tokens SET uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END
      WHERE id = @id AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now) AND (uses_left IS NULL OR uses_left > 0)`);
    this.revoke = db.prepare('UPDATE tokens SET revoked_at = @at WHERE id = @id AND revoked_at IS NULL');
    this.endSessions = db.prepare('DELETE FROM console_sessions WHERE token_id = ?');
  }

  create(t: TokenRecord): void {
    guard(`token "${t.id}"`, () => this.insert.run({
      id: t.id, role: t.role, secret_hash: t.secretHash, description: t.description, created_at: t.createdAt,
      expires_at: t.expiresAt, uses_left: t.usesLeft, revoked_at: t.revokedAt, created_by: t.createdBy, host_id: t.hostId,
      tags: t.tags === null ? null : JSON.stringify(t.tags),
    }));
  }

  byId(id: string): TokenRecord | undefined {
    const row = this.get.get(id) as TokenRow | undefined;
    return row && toToken(row);
  }

  all(): TokenRecord[] {
    return (this.list.all() as TokenRow[]).map(toToken);
  }

  spend(id: string, now: string): boolean {
    return this.consume.run({ id, now }).changes === 1;
  }

  revokeAt(id: string, at: string): boolean {
    return this.db.transaction(() => {
      this.endSessions.run(id);
      return this.revoke.run({ id, at }).changes === 1;
    })();
  }
}

interface SessionRow {
  id_hash: string; token_id: string | null; actor: string; role: string; created_at: string; expires_at: string;
}

/** The web console's sessions part of the SQLite store. */
export class SqliteConsoleSessions {
  private readonly insert: Statement;
  private readonly prune: Statement;
  private readonly trim: Statement;
  private readonly get: Statement;
  private readonly remove: Statement;

  constructor(private readonly db: Database) {
    this.insert = db.prepare(`INSERT INTO console_sessions (id_hash, token_id, actor, role, created_at, expires_at)
      VALUES (@id_hash, @token_id, @actor, @role, @created_at, @expires_at)`);
    // Timestamps are ISO-8601 UTC strings of one shape, so text order is time order.
    this.prune = db.prepare('DELETE FROM console_sessions WHERE expires_at <= ?');
    this.trim = db.prepare(`DELETE FROM console_sessions WHERE token_id = @token_id AND rowid NOT IN
      (SELECT rowid FROM console_sessions WHERE token_id = @token_id ORDER BY created_at DESC, rowid DESC LIMIT @keep)`);
    this.get = db.prepare('SELECT * FROM console_sessions WHERE id_hash = @id_hash AND expires_at > @now');
    this.remove = db.prepare('DELETE FROM console_sessions WHERE id_hash = ?');
  }

  create(s: ConsoleSessionRecord, perToken: number): void {
    this.db.transaction(() => {
      this.prune.run(s.createdAt);
      guard(`console session of ${s.actor}`, () => this.insert.run({
        id_hash: s.idHash, token_id: s.tokenId, actor: s.actor, role: s.role, created_at: s.createdAt, expires_at: s.expiresAt,
      }));
      if (s.tokenId !== null) this.trim.run({ token_id: s.tokenId, keep: perToken });
    })();
  }

  byHash(idHash: string, now: string): ConsoleSessionRecord | undefined {
    const r = this.get.get({ id_hash: idHash, now }) as SessionRow | undefined;
    return r && { idHash: r.id_hash, tokenId: r.token_id, actor: r.actor, role: r.role, createdAt: r.created_at, expiresAt: r.expires_at };
  }

  delete(idHash: string): void {
    this.remove.run(idHash);
  }
}

interface CertRow {
  fingerprint: string;
  host_id: string;
  issued_at: string;
  expires_at: string;
  token_id: string;
  revoked_at: string | null;
}

const toCert = (r: CertRow | undefined): HostCertificate | undefined =>
  r && { fingerprint: r.fingerprint, hostId: r.host_id, issuedAt: r.issued_at, expiresAt: r.expires_at, tokenId: r.token_id, revokedAt: r.revoked_at };

/** The host certificates part of the SQLite store. */
export class SqliteHostCertificates {
  private readonly insert: Statement;
  private readonly get: Statement;
  private readonly revoke: Statement;
  private readonly active: Statement;

  constructor(db: Database) {
    this.insert = db.prepare(`INSERT INTO host_certificates (fingerprint, host_id, issued_at, expires_at, token_id, revoked_at)
      VALUES (@fingerprint, @host_id, @issued_at, @expires_at, @token_id, @revoked_at)`);
    this.get = db.prepare('SELECT * FROM host_certificates WHERE fingerprint = ?');
    this.revoke = db.prepare('UPDATE host_certificates SET revoked_at = @at WHERE host_id = @host_id AND revoked_at IS NULL AND fingerprint != @except');
    // Timestamps are ISO-8601 UTC strings of one shape, so text order is time order.
    this.active = db.prepare('SELECT * FROM host_certificates WHERE host_id = @host_id AND revoked_at IS NULL AND expires_at > @now ORDER BY expires_at DESC LIMIT 1');
  }

  add(c: HostCertificate): void {
    guard(`certificate ${c.fingerprint}`, () => this.insert.run({
      fingerprint: c.fingerprint, host_id: c.hostId, issued_at: c.issuedAt, expires_at: c.expiresAt, token_id: c.tokenId, revoked_at: c.revokedAt,
    }));
  }

  byFingerprint(fp: string): HostCertificate | undefined {
    return toCert(this.get.get(fp) as CertRow | undefined);
  }

  activeFor(hostId: string, now: string): HostCertificate | undefined {
    return toCert(this.active.get({ host_id: hostId, now }) as CertRow | undefined);
  }

  revokeHost(hostId: string, at: string, except = ''): number {
    return this.revoke.run({ host_id: hostId, at, except }).changes;
  }
}
