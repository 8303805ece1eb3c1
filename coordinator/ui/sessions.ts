/**
 * Console sign-in sessions (docs/console.md, "Security model"), kept in the coordinator's store so
 * they outlive a restart (and can be shared by replicas): at rest only the SHA-256 of the cookie's
 * random value, the token's id (never its secret), the role and the expiry. The CSRF token is
 * derived from the cookie's value, so it is not stored either. A session is never more than its
 * token: every call checks the token again (revoked or expired: refused), and revoking the token
 * deletes its sessions.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { Credential } from './gateway.js';

export const SESSION_COOKIE = 'ferry_session';
/** A session ends this long after sign-in, whatever happens. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** A token keeps at most this many open sessions; signing in past it ends its oldest. */
export const MAX_SESSIONS_PER_TOKEN = 50;

export interface Session {
  credential: Credential;
  /** `token:<id>` or `insecure-local`, as the audit log names the caller. */
  actor: string;
  role: string;
  /** Sent back by the page in X-Ferry-CSRF on every call (the synchronizer-token pattern). */
  csrf: string;
  expiresAt: number;
}

const digest = (value: string) => createHash('sha256').update(value).digest('hex');
/** The session's CSRF token: a function of the cookie's value the page can be told but a hash at rest does not reveal. */
const csrfOf = (cookie: string) => createHash('sha256').update(`ferry console csrf\0${cookie}`).digest('base64url');
const iso = (ms: number) => new Date(ms).toISOString();

export class Sessions {
  constructor(private readonly store: Store) {}

  /** Opens a session; returns the cookie value (never stored: only its hash is). */
  async create(s: { credential: Credential; actor: string; role: string }, now: number): Promise<{ cookie: string; session: Session }> {
    const cookie = randomBytes(32).toString('base64url');
    const expiresAt = now + SESSION_TTL_MS;
    const tokenId = 'tokenId' in s.credential ? s.credential.tokenId : null;
    await this.store.createConsoleSession({ idHash: digest(cookie), tokenId, actor: s.actor, role: s.role, createdAt: iso(now), expiresAt: iso(expiresAt) }, MAX_SESSIONS_PER_TOKEN);
    return { cookie, session: { ...s, csrf: csrfOf(cookie), expiresAt } };
  }

  /** The cookie's session, unless unknown, signed out, expired or its token revoked. */
  async get(cookie: string | undefined, now: number): Promise<Session | undefined> {
    if (!cookie) return undefined;
    const r = await this.store.getConsoleSession(digest(cookie), iso(now));
    if (!r) return undefined;
    return {
      credential: r.tokenId === null ? { insecure: true } : { tokenId: r.tokenId },
      actor: r.actor, role: r.role, csrf: csrfOf(cookie), expiresAt: Date.parse(r.expiresAt),
    };
  }

  async delete(cookie: string | undefined): Promise<void> {
    if (cookie) await this.store.deleteConsoleSession(digest(cookie));
  }
}

/** Whether `presented` is the session's CSRF token (constant time). */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie header: HttpOnly, SameSite=Strict, path /ui/, Secure unless plaintext (--insecure on loopback). */
export function sessionCookie(value: string, secure: boolean, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/ui/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}
