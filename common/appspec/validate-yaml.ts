/**
 * Reading a parsed YAML document node by node, so every problem can name its key path and line.
 * Pure: the validators push problems and warnings into a Ctx and never throw or log.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type YAMLMap } from 'yaml';
import type { Problem } from './types.js';

export interface Ctx {
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly problems: Problem[];
  readonly warnings: Problem[];
}

/** One key of a mapping: its key node (for the line) and its value node (aliases resolved). */
export interface Field {
  key: unknown;
  value: unknown;
}

export type Fields = ReadonlyMap<string, Field>;

export function newCtx(doc: Document, lines: LineCounter): Ctx {
  return { doc, lines, problems: [], warnings: [] };
}

/** 1-based line of a YAML node (or of a source offset), undefined when it has no range. */
export function lineOf(ctx: Ctx, node: unknown): number | undefined {
  const range = (node as { range?: unknown } | null | undefined)?.range;
  if (!Array.isArray(range) || typeof range[0] !== 'number') return undefined;
  return lineAt(ctx.lines, range[0]);
}

export function lineAt(lines: LineCounter, offset: number): number {
  return Math.max(1, lines.linePos(offset).line);
}

export function problem(ctx: Ctx, path: string, at: unknown, message: string): void {
  ctx.problems.push(withLine({ path, message }, lineOf(ctx, at)));
}

export function warn(ctx: Ctx, path: string, at: unknown, message: string): void {
  ctx.warnings.push(withLine({ path, message }, lineOf(ctx, at)));
}

function withLine(p: Problem, line: number | undefined): Problem {
  return line === undefined ? p : { ...p, line };
}

/** Follows an alias (`*name`) to its anchored node; an unknown anchor gives a problem. */
export function deref(ctx: Ctx, node: unknown, path: string): unknown {
  if (!isAlias(node)) return node;
  const target = node.resolve(ctx.doc);
  if (target === undefined) problem(ctx, path, node, `alias *${node.source} refers to no anchor`);
  return target;
}

/** A missing value, `key:` with nothing after it, or `~`/`null`. */
export function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

declare const hasValue: unique symbol;
/** A field known to have a non-null value; the brand keeps `Field` in the false branch of `present`. */
export type PresentField = Field & { readonly [hasValue]: true };

/** A field that is there and has a value. */
export function present(field: Field | undefined): field is PresentField {
  return field !== undefined && !isNull(field.value);
}

export function keyName(key: unknown): string {
  return String(isScalar(key) ? key.value : key);
}

export function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/** A short description of a node for messages: the scalar as written, or its kind. */
export function show(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (typeof node.value === 'string') return JSON.stringify(node.value);
    return node.source ?? String(node.value);
  }
  return String(node);
}

export type UnknownKeyMessage = (key: string) => string;

const ignoredKey: UnknownKeyMessage = key => `unknown key '${key}' is ignored`;

/** Reads a mapping's keys; keys outside `known` are warned about (ignored, as CodeDeploy does). */
export function readMap(
  ctx: Ctx,
  map: YAMLMap,
  path: string,
  known: readonly string[],
  unknownMessage: UnknownKeyMessage = ignoredKey,
): Fields {
  const fields = new Map<string, Field>();
  for (const pair of map.items) {
    const name = keyName(pair.key);
    const at = child(path, name);
    if (!known.includes(name)) {
      warn(ctx, at, pair.key, unknownMessage(name));
      continue;
    }
    fields.set(name, { key: pair.key, value: deref(ctx, pair.value, at) });
  }
  return fields;
}

/** The node an entry's problems point at: the value when there is one, else the key. */
export function nodeOf(field: Field): unknown {
  return field.value == null ? field.key : field.value;
}

/**
 * An optional string field. Absent or null gives undefined; a non-string or blank value is a
 * problem (and also undefined). Surrounding spaces are trimmed, as CodeDeploy's agent does.
 */
export function optString(ctx: Ctx, fields: Fields, key: string, path: string): string | undefined {
  const field = fields.get(key);
  if (!present(field)) return undefined;
  const node = field.value;
  const value = isScalar(node) && typeof node.value === 'string' ? node.value.trim() : undefined;
  if (value === undefined || value === '') {
    problem(ctx, child(path, key), node, `'${key}' must be a non-empty string (got ${show(node)})`);
    return undefined;
  }
  return value;
}

/**
 * The items of a list field; absent or null is an empty list. With `single`, one scalar is
 * accepted as a one-element list. Anything else is a problem and gives [].
 */
export function listItems(
  ctx: Ctx,
  field: Field | undefined,
  path: string,
  expected: string,
  single = false,
): unknown[] {
  if (!present(field)) return [];
  const node = field.value;
  if (isSeq(node)) return node.items.map((item, i) => deref(ctx, item, child(path, i)));
  if (single && isScalar(node)) return [node];
  problem(ctx, path, node, `'${path.split('.').pop() ?? path}' must be ${expected} (got ${show(node)})`);
  return [];
}

/** A list of strings (one string accepted when `single`); bad items are problems and dropped. */
export function stringList(
  ctx: Ctx,
  field: Field | undefined,
  path: string,
  single: boolean,
): string[] {
  const out: string[] = [];
  listItems(ctx, field, path, single ? 'a string or a list of strings' : 'a list of strings', single).forEach(
    (item, i) => {
      const at = single && !isSeq(field?.value) ? path : child(path, i);
      if (isScalar(item) && typeof item.value === 'string' && item.value !== '') out.push(item.value);
      else problem(ctx, at, item, `must be a non-empty string (got ${show(item)})`);
    },
  );
  return out;
}

/** A list entry that must be a mapping; otherwise a problem and undefined. */
export function entryMap(ctx: Ctx, item: unknown, path: string, expected: string): YAMLMap | undefined {
  if (isMap(item)) return item;
  problem(ctx, path, item, `each entry must be ${expected} (got ${show(item)})`);
  return undefined;
}

/** Whether a `/`-separated path has a `..` segment. */
export function hasDotDot(p: string): boolean {
  return p.split('/').includes('..');
}

/** Drops leading `./` segments: `./app` → `app`; `./` alone is kept. */
export function stripDotSlash(p: string): string {
  return p.replace(/^(?:\.\/+)+(?=[^/])/, '');
}

/** Problems and warnings in file order; those without a line last. Stable. */
export function byLine(list: Problem[]): Problem[] {
  return list
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || a.i - b.i)
    .map(x => x.p);
}
