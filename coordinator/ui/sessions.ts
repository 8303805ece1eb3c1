/**
 * Console sign-in sessions (docs/console.md, "Security model"): held in this process's memory only,
 * keyed by the SHA-256 of the cookie's random value. A session keeps the token it was opened with,
 * and every call checks that token again (revoked or expired: refused), so a session is never more
 * than its token. A coordinator restart signs everyone out.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Credential } from './gateway.js';

export const SESSION_COOKIE = 'ferry_session';
/** A session ends this long after sign-in, whatever happens. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** At most this many sessions are open; signing in past it ends the oldest. */
export const MAX_SESSIONS = 10_000;

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

export class Sessions {
  private readonly open = new Map<string, Session>();

  /** Opens a session; returns the cookie value (never stored here: only its hash is). */
  create(s: Omit<Session, 'csrf' | 'expiresAt'>, now: number): { cookie: string; session: Session } {
    for (const [k, v] of this.open) if (v.expiresAt <= now) this.open.delete(k);
    while (this.open.size >= MAX_SESSIONS) this.open.delete(this.open.keys().next().value!);
    const cookie = randomBytes(32).toString('base64url');
    const session: Session = { ...s, csrf: randomBytes(32).toString('base64url'), expiresAt: now + SESSION_TTL_MS };
    this.open.set(digest(cookie), session);
    return { cookie, session };
  }

  get(cookie: string | undefined, now: number): Session | undefined {
    if (!cookie) return undefined;
    const key = digest(cookie);
    const s = this.open.get(key);
    if (s && s.expiresAt <= now) {
      this.open.delete(key);
      return undefined;
    }
    return s;
  }

  delete(cookie: string | undefined): void {
    if (cookie) this.open.delete(digest(cookie));
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
