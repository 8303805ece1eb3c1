/**
 * API and join tokens (pure; see docs/trust.md). A token is `fy.<id>.<secret>`: the id finds the
 * record, the secret proves possession. Only the secret's SHA-256 is stored: secrets are 32 random
 * bytes, so a fast hash is enough (no password stretching needed) and a stolen database yields no
 * usable token. The `fy.` prefix lets secret scanners and people recognise one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { FerryError } from '../../common/errors.js';

/** Operator roles, weakest first, and `agent` (join tokens: may only enroll a host). */
export const ROLES = ['viewer', 'deployer', 'admin', 'agent'] as const;
export type Role = (typeof ROLES)[number];
export type OperatorRole = Exclude<Role, 'agent'>;
const RANK: Record<OperatorRole, number> = { viewer: 1, deployer: 2, admin: 3 };

export interface TokenRecord {
  id: string;
  role: Role;
  /** Hex SHA-256 of the secret. */
  secretHash: string;
  description: string;
  createdAt: string;
  /** Null: never expires. */
  expiresAt: string | null;
  /** Null: unlimited. */
  usesLeft: number | null;
  revokedAt: string | null;
  /** Who made it: a token id, or `init` for the first admin token. */
  createdBy: string;
  /** A join token bound to one host id: only that id enrolls with it, even when it is enrolled already (re-enrollment). Null: any new host id. */
  hostId: string | null;
  /** A join token's grant: the tags of a host it enrolls (docs/security.md, "Tags"). Null: none. */
  tags: Record<string, string> | null;
}

const TOKEN = /^fy\.([a-z0-9]{12})\.([A-Za-z0-9_-]{43})$/;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new token: the string to hand out once and the record to store. */
export function newToken(
  fields: { role: Role; description?: string; createdBy: string; now: number; ttlMs?: number; uses?: number; hostId?: string; tags?: Record<string, string> },
  random: (n: number) => Buffer = randomBytes,
): { token: string; record: TokenRecord } {
  const id = Array.from(random(12), b => ID_ALPHABET[b % ID_ALPHABET.length]).join('');
  const secret = random(32).toString('base64url');
  return {
    token: `fy.${id}.${secret}`,
    record: {
      id,
      role: fields.role,
      secretHash: hashSecret(secret),
      description: fields.description ?? '',
      createdAt: new Date(fields.now).toISOString(),
      expiresAt: fields.ttlMs === undefined ? null : new Date(fields.now + fields.ttlMs).toISOString(),
      usesLeft: fields.uses ?? null,
      revokedAt: null,
      createdBy: fields.createdBy,
      hostId: fields.hostId ?? null,
      tags: fields.tags ?? null,
    },
  };
}

/** Splits a presented token; the message never repeats the token. */
export function parseToken(token: string): { id: string; secret: string } {
  const m = TOKEN.exec(token.trim());
  if (!m) throw new FerryError('UNAUTHENTICATED', 'the token is malformed (expected fy.<id>.<secret>, as ferry token create prints it)');
  return { id: m[1]!, secret: m[2]! };
}

export type TokenRefusal = 'unknown' | 'wrong secret' | 'revoked' | 'expired' | 'used up';

/** Why a presented secret does not open this record now, or undefined when it does. */
export function refuseToken(record: TokenRecord | undefined, secret: string, now: number): TokenRefusal | undefined {
  if (!record) return 'unknown';
  const want = Buffer.from(record.secretHash, 'hex');
  const got = Buffer.from(hashSecret(secret), 'hex');
  if (want.length !== got.length || !timingSafeEqual(want, got)) return 'wrong secret';
  return refuseRecord(record, now);
}

/** Why a token whose secret was proven (at a console sign-in) may no longer be used, or undefined. */
export function refuseRecord(record: TokenRecord, now: number): TokenRefusal | undefined {
  if (record.revokedAt !== null) return 'revoked';
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now) return 'expired';
  if (record.usesLeft !== null && record.usesLeft <= 0) return 'used up';
  return undefined;
}

/** The message a refused caller sees: says what to do, never echoes the token. */
export function refusalMessage(reason: TokenRefusal, id: string): string {
  switch (reason) {
    case 'unknown':
    case 'wrong secret':
      return 'the token is not known to this coordinator: check FERRY_TOKEN / --token, or ask an admin for one (ferry token create)';
    case 'revoked':
      return `token ${id} was revoked: ask an admin for a new one (ferry token create)`;
    case 'expired':
      return `token ${id} has expired: ask an admin for a new one (ferry token create --ttl …)`;
    case 'used up':
      return `token ${id} was already used as often as it allows: ask an admin for a new one (ferry token create --uses …)`;
  }
}

/** Whether an operator token of role `have` may call something that needs `need`. */
export function roleAllows(have: Role, need: OperatorRole): boolean {
  return have !== 'agent' && RANK[have] >= RANK[need];
}
