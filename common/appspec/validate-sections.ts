/** The `files` and `hooks` sections of an appspec (docs/design/codedeploy.md §1.3, §1.5). Pure. */
import { isMap, isScalar, isSeq } from 'yaml';
import { isLifecycleEvent, SCRIPTABLE_EVENTS, type LifecycleEvent } from '../lifecycle/events.js';
import { DEFAULT_HOOK_TIMEOUT_SECONDS, type AppSpec, type FileMapping, type HookScript } from './types.js';
import {
  child,
  deref,
  entryMap,
  hasDotDot,
  isNull,
  keyName,
  lineOf,
  listItems,
  optString,
  present,
  problem,
  readMap,
  show,
  stripDotSlash,
  type Ctx,
  type Field,
} from './validate-yaml.js';

export function validateFiles(ctx: Ctx, field: Field | undefined): FileMapping[] {
  const items = listItems(ctx, field, 'files', 'a list of {source, destination} entries');
  const out: FileMapping[] = [];
  items.forEach((item, i) => {
    const mapping = fileMapping(ctx, item, child('files', i));
    if (mapping) out.push(mapping);
  });
  return out;
}

function fileMapping(ctx: Ctx, item: unknown, path: string): FileMapping | undefined {
  const map = entryMap(ctx, item, path, 'a mapping with source and destination');
  if (!map) return undefined;
  const before = ctx.problems.length;
  const fields = readMap(ctx, map, path, ['source', 'destination']);
  const source = optString(ctx, fields, 'source', path);
  const destination = optString(ctx, fields, 'destination', path);
  const hasSource = present(fields.get('source'));
  const hasDestination = present(fields.get('destination'));
  if (!hasSource && !hasDestination) {
    problem(ctx, path, map, "specifies neither 'source' nor 'destination'");
  } else if (!hasSource) {
    problem(ctx, child(path, 'source'), map, "specifies a destination, but no source: add 'source'");
  } else if (!hasDestination) {
    const shown = source ?? show(fields.get('source')?.value);
    problem(ctx, child(path, 'destination'), map, `specifies only a source (${shown}): add 'destination'`);
  }
  if (source !== undefined && hasDotDot(source)) {
    problem(ctx, child(path, 'source'), fields.get('source')?.value, `'source' must stay inside the revision: '..' is not allowed (got ${source})`);
  }
  if (destination !== undefined && !destination.startsWith('/')) {
    problem(ctx, child(path, 'destination'), fields.get('destination')?.value, `'destination' must be an absolute path (got ${destination})`);
  }
  if (ctx.problems.length > before || source === undefined || destination === undefined) return undefined;
  return withLine({ source: stripDotSlash(source), destination }, lineOf(ctx, map));
}

export function validateHooks(ctx: Ctx, field: Field | undefined): AppSpec['hooks'] {
  const hooks: AppSpec['hooks'] = {};
  if (!present(field)) return hooks;
  const node = field.value;
  if (!isMap(node)) {
    problem(ctx, 'hooks', node, `'hooks' must be a mapping of lifecycle event names to lists of scripts (got ${show(node)})`);
    return hooks;
  }
  for (const pair of node.items) {
    const name = keyName(pair.key);
    const path = child('hooks', name);
    const event = scriptableEvent(ctx, name, path, pair.key);
    const value = deref(ctx, pair.value, path);
    if (event === undefined || isNull(value)) continue;
    if (!isSeq(value)) {
      problem(ctx, path, value, `'${name}' must be a list of scripts, each with a 'location' (got ${show(value)})`);
      continue;
    }
    const scripts: HookScript[] = [];
    value.items.forEach((item, i) => {
      const at = child(path, i);
      const script = hookScript(ctx, deref(ctx, item, at), at);
      if (script) scripts.push(script);
    });
    if (scripts.length > 0) hooks[event] = scripts;
  }
  return hooks;
}

function scriptableEvent(ctx: Ctx, name: string, path: string, at: unknown): LifecycleEvent | undefined {
  if (isLifecycleEvent(name) && SCRIPTABLE_EVENTS.includes(name)) return name;
  if (isLifecycleEvent(name)) {
    problem(ctx, path, at, `'${name}' is reserved for the agent: it runs no scripts`);
  } else {
    problem(ctx, path, at, `unknown lifecycle event '${name}'; known: ${SCRIPTABLE_EVENTS.join(', ')}`);
  }
  return undefined;
}

const HOOK_KEYS = ['location', 'timeout', 'runas'] as const;

function hookKeyWarning(key: string): string {
  if (key === 'sudo') return "'sudo' is not supported and is ignored: scripts run as the agent's user, or as 'runas'";
  return `unknown key '${key}' is ignored; a script takes ${HOOK_KEYS.join(', ')}`;
}

function hookScript(ctx: Ctx, item: unknown, path: string): HookScript | undefined {
  const map = entryMap(ctx, item, path, "a mapping with a 'location'");
  if (!map) return undefined;
  const before = ctx.problems.length;
  const fields = readMap(ctx, map, path, HOOK_KEYS, hookKeyWarning);
  const location = scriptLocation(ctx, fields.get('location'), path, map);
  const timeoutSeconds = timeoutOf(ctx, fields.get('timeout'), child(path, 'timeout'));
  const runas = optString(ctx, fields, 'runas', path);
  if (ctx.problems.length > before || location === undefined || timeoutSeconds === undefined) return undefined;
  const script: HookScript = { location, timeoutSeconds };
  if (runas !== undefined) script.runas = runas;
  return withLine(script, lineOf(ctx, map));
}

function scriptLocation(ctx: Ctx, field: Field | undefined, path: string, map: unknown): string | undefined {
  const at = child(path, 'location');
  if (!present(field)) {
    problem(ctx, at, field?.key ?? map, "'location' is missing: give the script's path relative to the revision root");
    return undefined;
  }
  const node = field.value;
  const location = isScalar(node) && typeof node.value === 'string' ? node.value.trim() : '';
  if (location === '') {
    problem(ctx, at, node, `'location' must be a non-empty string (got ${show(node)})`);
  } else if (location.startsWith('/')) {
    problem(ctx, at, node, `'location' must be relative to the revision root (got ${location})`);
  } else if (hasDotDot(location)) {
    problem(ctx, at, node, `'location' must stay inside the revision: '..' is not allowed (got ${location})`);
  } else {
    return stripDotSlash(location);
  }
  return undefined;
}

/** A positive whole number of seconds: an integer, or a string of digits. */
function timeoutOf(ctx: Ctx, field: Field | undefined, path: string): number | undefined {
  if (!present(field)) return DEFAULT_HOOK_TIMEOUT_SECONDS;
  const node = field.value;
  const raw = isScalar(node) ? node.value : undefined;
  let seconds: number | undefined;
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) seconds = raw;
  else if (typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)) seconds = Number(raw);
  if (seconds === undefined || seconds <= 0 || !Number.isSafeInteger(seconds)) {
    problem(ctx, path, node, `'timeout' must be a positive whole number of seconds (got ${show(node)})`);
    return undefined;
  }
  return seconds;
}

function withLine<T extends FileMapping | HookScript>(value: T, line: number | undefined): T {
  if (line !== undefined) value.line = line;
  return value;
}
