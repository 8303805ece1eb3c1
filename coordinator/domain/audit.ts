/**
 * The audit log: who did what, when, from where, and how it ended. One record for every
 * mutating call (any outcome) and for every refused call (bad, expired or missing token, a role
 * too weak, a certificate that is not the host's), written by the interceptor in front of both
 * services (security/auth.ts), so no handler can forget one. Pure: record shape, what a call's
 * request may say about itself (secrets never), and when repeated refusals fold into one record.
 */
import type { AuditOutcome } from '../../common/audit.js';
import { boundedText } from '../../common/text.js';
import { redactUrl } from './events.js';

export interface AuditEntry {
  at: string;
  /** `token:<id>`, `host:<id>`, `join-token:<id>`, `insecure-local`, or `anonymous`. */
  actor: string;
  /** The caller's role when known ('' for anonymous). */
  role: string;
  /** The RPC, e.g. `ControlService/CreateDeployment`. */
  action: string;
  /** Where the call came from, address:port as grpc-js reports the peer (`10.0.0.2:51234`). */
  peer: string;
  outcome: AuditOutcome;
  /** The gRPC status name when not OK (`PERMISSION_DENIED`, `INVALID_ARGUMENT`, …), '' when OK. */
  code: string;
  /** The error message the caller got ('' when OK). Never contains a secret: messages name token ids only. */
  message: string;
  /** What the call was about: the request's plain fields (secrets removed) and ids from its response. */
  target: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  /** How many identical refusals this record stands for (see `foldKey`); 1 for everything else. */
  count: number;
  /** When the last of them happened (= at when count is 1). */
  lastAt: string;
}

export interface AuditFilter {
  afterSeq?: number;
  actor?: string;
  /** Matches the full action or just the method (`CreateDeployment`). */
  action?: string;
  outcome?: AuditOutcome;
  limit?: number;
  /** Only the newest N that match (still oldest first); ignores `limit`. */
  last?: number;
}

/** Identical refusals from one address within this long fold into one record (count, lastAt): a token-guessing client cannot grow the log without bound. */
export const REFUSAL_FOLD_MS = 60_000;

/** The peer without its ephemeral port: `10.0.0.2:51234` → `10.0.0.2` (grpc-js writes IPv6 peers unbracketed: `::1:51234` → `::1`). */
export function peerAddress(peer: string): string {
  return peer.replace(/:\d+$/, '');
}

/** Field names whose values are never written to the audit log (tokens, keys, CSRs, revision bytes, webhook secrets). */
const SECRET_FIELD = /token|secret|password|key|pem|csr|chunk|content|data$/i;
const TOKEN_SHAPE = /^fy\.([a-z0-9]{12})\./;
const MAX_STRING = 200;
const MAX_ITEMS = 20;

/** A token string as its id only (`fy.abcdefghij01.***`); anything else in a secret field as `***`. */
export function redactSecret(value: unknown): string {
  const m = typeof value === 'string' ? TOKEN_SHAPE.exec(value) : null;
  return m ? `fy.${m[1]}.***` : '***';
}

function plain(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    const items = value.filter(v => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean').slice(0, MAX_ITEMS).map(plain);
    return items.length > 0 ? items : undefined;
  }
  return undefined;
}

/**
 * What a request says about itself for the audit log: its non-empty plain fields (strings, numbers,
 * booleans, lists of them), those of nested messages one level down as `outer.inner`; deeper ones
 * are left out; fields that may hold a secret show only that they were set (a token as its id). Pure.
 */
export function summarizeRequest(message: unknown, prefix = '', depth = 0): Record<string, unknown> {
  if (message === null || typeof message !== 'object' || Buffer.isBuffer(message)) return {};
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message as Record<string, unknown>)) {
    if (value === '' || value === 0 || value === false || value === null || value === undefined) continue;
    if (name === 'url' && typeof value === 'string') {
      // A chat webhook's path is its token (SetTrigger with format slack or teams).
      const format = (message as Record<string, unknown>).format;
      out[prefix + name] = redactUrl(value, typeof format === 'string' ? format : undefined);
      continue;
    }
    if (SECRET_FIELD.test(name)) {
      if (typeof value === 'string' || Buffer.isBuffer(value)) out[prefix + name] = typeof value === 'string' ? redactSecret(value) : '***';
      continue;
    }
    if (typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value)) {
      if (depth === 0) Object.assign(out, summarizeRequest(value, `${prefix}${name}.`, depth + 1));
      continue;
    }
    const v = plain(value);
    if (v !== undefined) out[prefix + name] = v;
  }
  return out;
}

/** Response fields that identify what a call made (a deployment's id, a revision's digest, …); nothing else of a response is kept. */
const RESULT_FIELDS = ['id', 'deploymentId', 'digest', 'planId', 'scheduleId'] as const;

/** The ids a response names, as `result.<field>`; nested `info.id` (tokens) too. Pure. */
export function summarizeResponse(message: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const pick = (obj: unknown, prefix: string) => {
    if (obj === null || typeof obj !== 'object') return;
    for (const f of RESULT_FIELDS) {
      const v = (obj as Record<string, unknown>)[f];
      if (typeof v === 'string' && v !== '') out[`${prefix}${f}`] = v;
    }
  };
  pick(message, 'result.');
  for (const nested of ['info', 'deployment', 'revision', 'schedule']) pick((message as Record<string, unknown> | null)?.[nested], `result.${nested}.`);
  return out;
}

/** Two refused (or two failed) calls fold into one record when this key is equal and they are less than REFUSAL_FOLD_MS apart. */
export function foldKey(e: AuditEntry): string | undefined {
  if (e.outcome === 'ok') return undefined;
  return JSON.stringify([e.actor, e.action, e.code, e.message, peerAddress(e.peer), ...(e.outcome === 'failed' ? ['failed'] : [])]);
}

/** The longest text an audit record keeps in one field (message, actor, a target value); longer text is cut and says how long it was. */
export const MAX_STORED_TEXT = 300;

function boundValue(v: unknown): unknown {
  if (typeof v === 'string') return boundedText(v, MAX_STORED_TEXT);
  if (Array.isArray(v)) return v.slice(0, MAX_ITEMS).map(boundValue);
  return v;
}

/**
 * An entry as it may be stored: every string cut to MAX_STORED_TEXT characters with control
 * characters escaped (`\x1b`), so neither a caller's 1 MB host id nor the terminal escapes in it
 * reach the database or `ferry audit`. Pure.
 */
export function boundEntry(e: AuditEntry): AuditEntry {
  const target: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e.target).slice(0, 2 * MAX_ITEMS)) target[boundedText(k, 100)] = boundValue(v);
  return {
    ...e,
    actor: boundedText(e.actor, MAX_STORED_TEXT), role: boundedText(e.role, 50), action: boundedText(e.action, 100),
    peer: boundedText(e.peer, 100), code: boundedText(e.code, 50), message: boundedText(e.message, MAX_STORED_TEXT), target,
  };
}

/**
 * What is stored instead of a refused or failed call from an address that has already added its
 * limit of them this minute: one record per address and outcome that only counts (it folds), so a
 * flood that varies its host ids or tokens still adds one row a minute. Pure.
 */
export function overflowEntry(e: AuditEntry, limit: number): AuditEntry {
  return {
    at: e.at, actor: 'many', role: '', action: 'many', peer: e.peer, outcome: e.outcome, code: 'FOLDED',
    message: `more than ${limit} ${e.outcome} calls from this address within a minute: each further one only adds to this record's count`,
    target: {},
  };
}

/**
 * The `audit-retention` cutoff: records whose last occurrence (`lastAt`) is before this ISO time are
 * deleted. Undefined when nothing is to be deleted: retention 0 (kept forever), or a retention
 * longer than the clock's age (no record can be that old). Pure.
 */
export function auditCutoff(nowMs: number, retentionMs: number): string | undefined {
  if (retentionMs <= 0 || retentionMs >= nowMs) return undefined;
  return new Date(nowMs - retentionMs).toISOString();
}
