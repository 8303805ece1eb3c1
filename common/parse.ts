import { FerryError } from './errors.js';

/** Value parsers shared by the programs' flags and config files: each error names the flag or key. */

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `512M`, `2G`, `1048576` → bytes. */
export function parseSize(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(raw.trim());
  if (!m) throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' is not a size (e.g. 512M, 2G)`);
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!);
  if (bytes <= 0) throw new FerryError('INVALID_ARGUMENT', `${flag}: must be greater than zero`);
  return bytes;
}

/** `30`, `1.5`, `500ms`, `2m`, `30d` → milliseconds (bare numbers are seconds). */
export function parseDuration(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' is not a duration (e.g. 5, 500ms, 2m, 30d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}

export function parsePositiveInt(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
    throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' must be a positive integer`);
  }
  return Number(raw);
}

/** A limit: a whole number ≥ 0, where 0 means no limit. */
export function parseLimit(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' must be a whole number (0: no limit)`);
  return Number(raw);
}

/**
 * `key=value` → [key, value]: the key is required, the value may be empty (`key=` or just `key`),
 * split at the first `=` (as the coordinator's parseHostTag). Keys hold no blanks or commas and
 * values no commas: a group's tag sets are comma-separated, so such a tag could never be matched.
 */
export function parseTag(flag: string, raw: string): [string, string] {
  const text = raw.trim();
  const eq = text.indexOf('=');
  const key = (eq < 0 ? text : text.slice(0, eq)).trim();
  const value = eq < 0 ? '' : text.slice(eq + 1).trim();
  if (key === '') throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' has no key: write key=value`);
  if (/[,\s]/.test(key) || value.includes(',')) {
    throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}': keys may not hold blanks or commas, values no commas`);
  }
  return [key, value];
}

/** `host:port`, `[v6]:port`. */
export function parseAddress(flag: string, raw: string): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/.exec(raw.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' is not HOST:PORT (e.g. coordinator.internal:7443)`);
  }
  return raw.trim();
}

/**
 * One HOST:PORT or several, comma-separated (`a:7420,b:7420,c:7420`: the replicas of a highly
 * available coordinator, docs/high-availability.md). Duplicates are dropped; order is kept.
 */
export function parseAddresses(flag: string, raw: string): string[] {
  const parts = raw.split(',').map(p => p.trim());
  if (parts.some(p => p === '')) throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' has an empty address (HOST:PORT[,HOST:PORT…])`);
  const out = [...new Set(parts.map(p => parseAddress(flag, p)))];
  if (out.length > 32) throw new FerryError('INVALID_ARGUMENT', `${flag}: ${out.length} addresses; at most 32`);
  return out;
}

/** Checks that a listen address is HOST:PORT; nothing listens beyond loopback unless asked. */
export function parseListen(raw: string): string {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw.trim());
  if (!m || Number(m[2]) > 65535) throw new FerryError('INVALID_ARGUMENT', `--listen: '${raw}' is not HOST:PORT (e.g. 127.0.0.1:7420)`);
  return raw.trim();
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Host, group and deployment ids become directory names on hosts: only a safe alphabet is allowed. */
export function isSafeId(id: string): boolean {
  return SAFE_ID.test(id) && !id.includes('..');
}
