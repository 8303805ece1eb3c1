import type { MinimumHealthy__Output } from '../proto/gen/ferry/v1/MinimumHealthy.js';
import type { TagFilter__Output } from '../proto/gen/ferry/v1/TagFilter.js';
import type { TagSet__Output } from '../proto/gen/ferry/v1/TagSet.js';

/** Pure text formatting for human output: no I/O, `now` passed in (docs/design/style.md §1, §11). */

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

export function visibleLength(s: string): number {
  return [...stripAnsi(s)].length;
}

function padEnd(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - visibleLength(s)));
}

/** Left-aligned columns two spaces apart; the last column is not padded, no trailing blanks. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], indent = ''): string[] {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map(r => visibleLength(r[i] ?? ''))));
  return all.map(r => (indent + r.map((cell, i) => (i === r.length - 1 ? cell : padEnd(cell, widths[i] ?? 0))).join('  ')).trimEnd());
}

/** `label: value` lines with the values aligned. */
export function keyValues(pairs: readonly (readonly [string, string])[], indent = ''): string[] {
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${indent}${(k + ':').padEnd(width)}  ${v}`.trimEnd());
}

export const NONE = '-';

/** 850ms, 4.2s, 3m05s, 1h02m. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return NONE;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  const minutes = Math.floor(totalSeconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

function parseTime(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** From start to end, or to `now` while still running; undefined when it has not started. */
export function elapsedMs(startedAt: string | undefined, endedAt: string | undefined, now: number): number | undefined {
  const start = parseTime(startedAt);
  if (start === undefined) return undefined;
  return Math.max(0, (parseTime(endedAt) ?? now) - start);
}

/** just now, 12s ago, 5m ago, 3h ago, 2d ago. */
export function formatAgo(iso: string | undefined, now: number): string {
  const t = parseTime(iso);
  if (t === undefined) return NONE;
  const s = Math.floor((now - t) / 1000);
  if (s < 2) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** A time zone as the CLI shows times in it: minutes east of UTC at an instant (DST moves it). */
export type Zone = (ms: number) => number;
/** `--utc`, and what tests get unless they say otherwise. */
export const UTC: Zone = () => 0;

/**
 * `2024-05-01 14:00:03+02:00` in `zone` (seconds precision, the offset always shown; `Z` when it is
 * UTC). `--json` keeps the API's ISO 8601 UTC instead.
 */
export function formatTime(iso: string | undefined, zone: Zone = UTC): string {
  const t = parseTime(iso);
  if (t === undefined) return NONE;
  const offset = zone(t);
  const text = new Date(t + offset * 60_000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
  if (offset === 0) return `${text}Z`;
  const abs = Math.abs(offset);
  return `${text}${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 512 B, 1.5 MiB, 7.8 GiB. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return NONE;
  let v = n;
  let u = 0;
  while (v >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${BYTE_UNITS[u]}`;
}

/** The first 12 hex digits of a SHA-256 digest (enough to pass back as a revision prefix). */
export function shortDigest(digest: string | undefined, n = 12): string {
  if (!digest) return NONE;
  return digest.replace(/^sha256:/, '').slice(0, n);
}

/** `key`, `=value` or `key=value`: the text form `ferry group create --tag-set` reads. */
export function formatTagFilter(f: TagFilter__Output): string {
  if (f.hasKey) return f.hasValue ? `${f.key}=${f.value}` : f.key;
  return `=${f.value}`;
}

/** For people: `(role=web OR role=api) AND env=prod`. */
export function formatTagSets(sets: readonly TagSet__Output[]): string {
  if (sets.length === 0) return 'no tag sets (matches no host)';
  return sets
    .map(set => {
      if (set.filters.length === 0) return '(no filters: matches no host)';
      const text = set.filters.map(formatTagFilter).join(' OR ');
      return set.filters.length === 1 || sets.length === 1 ? text : `(${text})`;
    })
    .join(' AND ');
}

/** The flag form of tag sets, to paste back into `--tag-set`: one string per set. */
export function tagSetFlags(sets: readonly TagSet__Output[]): string[] {
  return sets.map(set => set.filters.map(formatTagFilter).join(','));
}

/** Host tags as `k=v,k2=v2`, sorted by key. */
export function formatTags(tags: Readonly<Record<string, string>>): string {
  const keys = Object.keys(tags).sort();
  return keys.length === 0 ? NONE : keys.map(k => (tags[k] === '' ? k : `${k}=${tags[k]}`)).join(',');
}

export function formatMinHealthy(mh: MinimumHealthy__Output | null | undefined): string {
  if (!mh) return NONE;
  switch (mh.type) {
    case 'HOST_COUNT':
      return `${mh.value} host${mh.value === 1 ? '' : 's'}`;
    case 'FLEET_PERCENT':
      return `${mh.value}% of the hosts`;
    case 'ONE_AT_A_TIME':
      return 'all but one host';
    default:
      return `${mh.type} ${mh.value}`;
  }
}

export function orNone(s: string | undefined | null): string {
  return s === undefined || s === null || s === '' ? NONE : s;
}
