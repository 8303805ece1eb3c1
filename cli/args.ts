import { FerryError } from '../common/errors.js';
import type { MinimumHealthy } from '../proto/gen/ferry/v1/MinimumHealthy.js';
import type { TagFilter } from '../proto/gen/ferry/v1/TagFilter.js';
import type { TagSet } from '../proto/gen/ferry/v1/TagSet.js';

/**
 * Flag values → request fields. Pure; each throws INVALID_ARGUMENT naming the flag (exit 2).
 * The coordinator validates again: these only catch what is wrong before any call is made.
 */

function usage(flag: string, message: string): FerryError {
  return new FerryError('INVALID_ARGUMENT', `${flag}: ${message}`);
}

/** `2` → HOST_COUNT 2 (0 = all at once); `75%` → FLEET_PERCENT 75 (0–99). */
export function parseMinHealthy(raw: string, flag = '--min-healthy'): Required<MinimumHealthy> {
  const text = raw.trim();
  const m = /^(\d+)(%?)$/.exec(text);
  if (!m) throw usage(flag, `'${raw}' is not a host count (e.g. 2) or a fleet percentage (e.g. 75%)`);
  const value = Number(m[1]);
  if (m[2] === '%') {
    if (value > 99) throw usage(flag, `'${raw}' leaves no host free to deploy to; give at most 99%`);
    return { type: 'FLEET_PERCENT', value };
  }
  if (value > 1_000_000) throw usage(flag, `'${raw}' is not a plausible host count`);
  return { type: 'HOST_COUNT', value };
}

/**
 * One filter: `key` (the host has the tag), `=value` (some tag has the value) or `key=value`.
 * Split at the first `=`, so values may contain `=`; surrounding blanks are trimmed.
 */
export function parseTagFilter(raw: string, flag = '--tag-set'): Required<TagFilter> {
  const text = raw.trim();
  const eq = text.indexOf('=');
  if (eq < 0) {
    if (text === '') throw usage(flag, 'empty tag filter: write key, =value or key=value');
    return { key: text, value: '', hasKey: true, hasValue: false };
  }
  const key = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  if (key === '' && value === '') throw usage(flag, `'${raw}' names neither a key nor a value: write key, =value or key=value`);
  return { key, value, hasKey: key !== '', hasValue: true };
}

/** One `--tag-set`: comma-separated filters, matched with OR. Values cannot contain commas. */
export function parseTagSet(raw: string, flag = '--tag-set'): { filters: Required<TagFilter>[] } {
  if (raw.trim() === '') throw usage(flag, 'empty tag set: give at least one filter (key, =value or key=value)');
  return {
    filters: raw.split(',').map((item, i) => {
      if (item.trim() === '') throw usage(flag, `'${raw}': filter ${i + 1} is empty`);
      return parseTagFilter(item, flag);
    }),
  };
}

/** Every `--tag-set` (AND across sets). At least one is required: a group must select explicitly. */
export function parseTagSets(raws: readonly string[], flag = '--tag-set'): TagSet[] {
  if (raws.length === 0) throw usage(flag, 'give at least one tag set (e.g. --tag-set role=web), or the group selects no host');
  return raws.map(r => parseTagSet(r, flag));
}

export const FILE_EXISTS_BEHAVIORS = ['DISALLOW', 'OVERWRITE', 'RETAIN'] as const;
export type FileExistsBehavior = (typeof FILE_EXISTS_BEHAVIORS)[number];

export function parseFileExistsBehavior(raw: string, flag = '--file-exists-behavior'): FileExistsBehavior {
  const up = raw.trim().toUpperCase();
  const found = FILE_EXISTS_BEHAVIORS.find(b => b === up);
  if (!found) throw usage(flag, `'${raw}' is not one of ${FILE_EXISTS_BEHAVIORS.join(', ')}`);
  return found;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `10m`, `1h30m`, `500ms`; a bare number is seconds. */
export function parseDuration(raw: string, flag: string): number {
  const text = raw.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1000;
  } else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) {
    ms = 0;
    for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  } else {
    throw usage(flag, `'${raw}' is not a duration (e.g. 90s, 10m, 1h30m)`);
  }
  if (ms <= 0) throw usage(flag, 'must be greater than zero');
  return Math.round(ms);
}

export function parsePositiveInt(raw: string, flag: string): number {
  const text = raw.trim();
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 2 ** 31) {
    throw usage(flag, `'${raw}' must be a whole number of at least 1`);
  }
  return Number(text);
}

/** A digest, a unique prefix of at least 8 hex digits, or `latest` (the API's CreateDeployment rule). */
export function parseRevisionRef(raw: string, flag = '--revision'): string {
  const text = raw.trim().replace(/^sha256:/i, '');
  if (text === 'latest') return text;
  if (!/^[0-9a-fA-F]{8,64}$/.test(text)) {
    throw usage(flag, `'${raw}' is not a digest, a prefix of at least 8 hex digits, or 'latest'`);
  }
  return text.toLowerCase();
}

export function requireText(raw: string | undefined, flag: string): string {
  const text = (raw ?? '').trim();
  if (text === '') throw usage(flag, 'must not be empty');
  return text;
}

export type BundleType = 'tar' | 'tgz' | 'zip';

/** The archive type from a file name: .tar, .tgz/.tar.gz, .zip. */
export function bundleTypeOf(file: string): BundleType | undefined {
  const name = file.toLowerCase();
  if (name.endsWith('.tar')) return 'tar';
  if (name.endsWith('.tgz') || name.endsWith('.tar.gz')) return 'tgz';
  if (name.endsWith('.zip')) return 'zip';
  return undefined;
}
