/**
 * The `files` and `hooks` sections of an appspec (docs/design/codedeploy.md §1.3, §1.5). Pure.
 * Where CodeDeploy's agent accepts something Ferry used to refuse, it is accepted the same way,
 * with a warning when the result may surprise (docs/appspec.md, "Differences from the AWS agent").
 */
import { posix } from 'node:path';
import { isMap, isScalar, isSeq } from 'yaml';
import { isLifecycleEvent, SCRIPTABLE_EVENTS } from '../lifecycle/events.js';
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
  warn,
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
  let absolute = destination;
  if (destination !== undefined && !destination.startsWith('/')) {
    // CodeDeploy's agent copies to the relative path from its working directory, which is `/`
    // (installer.rb File.join(fi.destination, ...) with the daemon's cwd): do the same, loudly.
    absolute = posix.resolve('/', destination);
    warn(ctx, child(path, 'destination'), fields.get('destination')?.value,
      `'destination' ${destination} is relative: installed under / as ${absolute}, as CodeDeploy's agent (working directory /) does; write the absolute path`);
  }
  if (ctx.problems.length > before || source === undefined || absolute === undefined) return undefined;
  return withLine({ source: stripDotSlash(source), destination: absolute }, lineOf(ctx, map));
}

export interface ParsedHooks {
  hooks: AppSpec['hooks'];
  /** Hooks under names that are not lifecycle events: custom events (run when `--events` names them). */
  customHooks: Record<string, HookScript[]>;
}

export function validateHooks(ctx: Ctx, field: Field | undefined): ParsedHooks {
  const out: ParsedHooks = { hooks: {}, customHooks: {} };
  if (!present(field)) return out;
  const node = field.value;
  if (!isMap(node)) {
    problem(ctx, 'hooks', node, `'hooks' must be a mapping of lifecycle event names to lists of scripts (got ${show(node)})`);
    return out;
  }
  for (const pair of node.items) {
    const name = keyName(pair.key);
    const path = child('hooks', name);
    const value = deref(ctx, pair.value, path);
    if (name.trim() === '') {
      problem(ctx, path, pair.key, 'a hook needs a lifecycle event name');
      continue;
    }
    if (isNull(value)) continue; // CodeDeploy ignores empty hooks (application_specification.rb parse_hooks)
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
    if (scripts.length === 0) continue;
    if (isLifecycleEvent(name) && SCRIPTABLE_EVENTS.includes(name)) {
      out.hooks[name] = scripts;
    } else if (isLifecycleEvent(name)) {
      // CodeDeploy's agent parses them and never runs them: the agent does DownloadBundle and
      // Install itself, and no command runs their hooks (command_executor.rb, deployer.rb hook_mapping).
      warn(ctx, path, pair.key, `'${name}' is done by the agent: these scripts are not run (CodeDeploy's agent ignores them too)`);
    } else {
      out.customHooks[name] = scripts;
    }
  }
  return out;
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
  const written = isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number') ? String(node.value).trim() : '';
  // CodeDeploy joins the location to the revision root (hook_executor.rb script_absolute_path,
  // File.join(archive, location)), so `/scripts/start.sh` is the revision's scripts/start.sh.
  const location = written.replace(/^\/+/, '');
  if (written === '') {
    problem(ctx, at, node, `'location' must be a non-empty string (got ${show(node)})`);
  } else if (location === '') {
    problem(ctx, at, node, `'location' must name a script in the revision (got ${written})`);
  } else if (hasDotDot(location)) {
    problem(ctx, at, node, `'location' must stay inside the revision: '..' is not allowed (got ${written})`);
  } else {
    return stripDotSlash(location);
  }
  return undefined;
}

/**
 * Ruby's `to_i`, which CodeDeploy's agent applies to `timeout` (script_info.rb): a number's
 * integer part, a string's leading integer (`"60s"` → 60, `"abc"` → 0); undefined for anything else.
 */
export function rubyToI(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? Math.trunc(raw) : undefined;
  if (typeof raw !== 'string') return undefined;
  const m = /^\s*([-+]?\d+(?:_\d+)*)/.exec(raw);
  return m ? Number(m[1]!.replace(/_/g, '')) : 0;
}

/** A positive number of seconds, read as CodeDeploy's agent reads it (`to_i`); a lossy read warns. */
function timeoutOf(ctx: Ctx, field: Field | undefined, path: string): number | undefined {
  if (!present(field)) return DEFAULT_HOOK_TIMEOUT_SECONDS;
  const node = field.value;
  const raw = isScalar(node) ? node.value : undefined;
  const seconds = rubyToI(raw);
  if (seconds === undefined || seconds <= 0 || !Number.isSafeInteger(seconds)) {
    problem(ctx, path, node, `'timeout' must be a positive whole number of seconds (got ${show(node)})`);
    return undefined;
  }
  const exact = (typeof raw === 'number' && Number.isInteger(raw)) || (typeof raw === 'string' && /^\s*\d+\s*$/.test(raw));
  if (!exact) {
    warn(ctx, path, node, `'timeout' ${show(node)} is not a whole number of seconds: read as ${seconds}, as CodeDeploy's agent does (Ruby to_i); write timeout: ${seconds}`);
  }
  return seconds;
}

function withLine<T extends FileMapping | HookScript>(value: T, line: number | undefined): T {
  if (line !== undefined) value.line = line;
  return value;
}
