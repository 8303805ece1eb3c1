import { FerryError } from '../../common/errors.js';
import type { TagFilter, TagSets } from './types.js';

/**
 * Tag filters and tag sets (docs/design/codedeploy.md §6): a filter is `key` (key only), `=value` (value only)
 * or `key=value` (both); a set is a comma-separated list of filters, matched with OR; a group's
 * sets are matched with AND. Tags are case-sensitive, as in CodeDeploy.
 */

/**
 * Parses one filter. The text is split at the first `=`, so values may contain `=`; surrounding
 * blanks are trimmed. `key=` selects hosts whose tag `key` has an empty value.
 */
export function parseTagFilter(s: string): TagFilter {
  const text = s.trim();
  const eq = text.indexOf('=');
  if (eq < 0) {
    if (text === '') throw new FerryError('INVALID_ARGUMENT', 'empty tag filter: write key, =value or key=value');
    return { key: text };
  }
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (key === '' && value === '') {
    throw new FerryError('INVALID_ARGUMENT', `tag filter '${s}' names neither a key nor a value: write key, =value or key=value`);
  }
  return key === '' ? { value } : { key, value };
}

/** Parses a comma-separated list of filters (one tag set, matched with OR). Values cannot contain commas. */
export function parseTagSet(s: string): TagFilter[] {
  if (s.trim() === '') throw new FerryError('INVALID_ARGUMENT', 'empty tag set: give at least one filter (key, =value or key=value)');
  return s.split(',').map((item, i) => {
    if (item.trim() === '') {
      throw new FerryError('INVALID_ARGUMENT', `tag set '${s}': filter ${i + 1} is empty`);
    }
    return parseTagFilter(item);
  });
}

/** The text form of one filter, as `parseTagFilter` reads it. */
export function formatTagFilter(f: TagFilter): string {
  if (f.key !== undefined) return f.value !== undefined ? `${f.key}=${f.value}` : f.key;
  return `=${f.value ?? ''}`;
}

/** The text form of one set, as `parseTagSet` reads it. */
export function formatTagSet(set: TagFilter[]): string {
  return set.map(formatTagFilter).join(',');
}

/** For people: `(role=web OR role=api) AND env=prod`. */
export function formatTagSets(sets: TagSets): string {
  if (sets.length === 0) return 'no tag sets (matches no host)';
  return sets
    .map(set => {
      if (set.length === 0) return '(no filters: matches no host)';
      const text = set.map(formatTagFilter).join(' OR ');
      return set.length === 1 || sets.length === 1 ? text : `(${text})`;
    })
    .join(' AND ');
}

/** OR within a set, AND across sets. No sets (or an empty set) matches nothing: a group must select explicitly. */
export function matchesTagSets(tags: Record<string, string>, sets: TagSets): boolean {
  return sets.length > 0 && sets.every(set => set.some(f => matchesTagFilter(tags, f)));
}

export function matchesTagFilter(tags: Record<string, string>, f: TagFilter): boolean {
  if (f.key !== undefined) {
    if (!Object.hasOwn(tags, f.key)) return false;
    return f.value === undefined || tags[f.key] === f.value;
  }
  if (f.value !== undefined) return Object.values(tags).includes(f.value);
  return false;
}

/**
 * Parses an agent's `--tag key=value`. The key is required; the value may be empty (`key=` or
 * just `key`). Split at the first `=`; surrounding blanks are trimmed.
 */
export function parseHostTag(s: string): { key: string; value: string } {
  const text = s.trim();
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  if (key === '') throw new FerryError('INVALID_ARGUMENT', `host tag '${s}' has no key: write key=value`);
  return { key, value: eq < 0 ? '' : text.slice(eq + 1) };
}
