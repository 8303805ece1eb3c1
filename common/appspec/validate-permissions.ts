/**
 * The `permissions` section of an appspec (docs/design/codedeploy.md §1.4). Pure.
 * Whether a pattern or `except` suits the object (a file takes neither) is only known at install
 * time, from what the revision copies; the installer checks that.
 */
import { isMap, isScalar, isSeq } from 'yaml';
import type { PermissionSpec, PermissionType, SelinuxContext } from './types.js';
import {
  child,
  entryMap,
  lineOf,
  listItems,
  optString,
  present,
  problem,
  readMap,
  show,
  stringList,
  warn,
  type Ctx,
  type Field,
  type Fields,
} from './validate-yaml.js';

const PERMISSION_KEYS = ['object', 'pattern', 'except', 'owner', 'group', 'mode', 'acls', 'context', 'type'];
const PERMISSION_TYPES: readonly PermissionType[] = ['file', 'directory'];

/** `644`, `0644`, `4755` → the mode as a number; anything but 1–4 octal digits → undefined. */
export function parseOctalMode(raw: string): number | undefined {
  return /^[0-7]{1,4}$/.test(raw) ? Number.parseInt(raw, 8) : undefined;
}

export function validatePermissions(ctx: Ctx, field: Field | undefined): PermissionSpec[] {
  const items = listItems(ctx, field, 'permissions', "a list of entries, each with an 'object'");
  const out: PermissionSpec[] = [];
  items.forEach((item, i) => {
    const spec = permission(ctx, item, child('permissions', i));
    if (spec) out.push(spec);
  });
  return out;
}

function permission(ctx: Ctx, item: unknown, path: string): PermissionSpec | undefined {
  const map = entryMap(ctx, item, path, "a mapping with an 'object'");
  if (!map) return undefined;
  const before = ctx.problems.length;
  const fields = readMap(ctx, map, path, PERMISSION_KEYS);
  const object = objectOf(ctx, fields, path, map);
  const spec: PermissionSpec = {
    object: object ?? '',
    pattern: optString(ctx, fields, 'pattern', path) ?? '**',
    except: stringList(ctx, fields.get('except'), child(path, 'except'), true),
    types: typesOf(ctx, fields.get('type'), child(path, 'type')),
  };
  const owner = optString(ctx, fields, 'owner', path);
  const group = optString(ctx, fields, 'group', path);
  const mode = modeOf(ctx, fields.get('mode'), child(path, 'mode'));
  const acls = aclsOf(ctx, fields.get('acls'), child(path, 'acls'));
  const context = contextOf(ctx, fields.get('context'), child(path, 'context'));
  if (owner !== undefined) spec.owner = owner;
  if (group !== undefined) spec.group = group;
  if (mode !== undefined) spec.mode = mode;
  if (acls !== undefined) spec.acls = acls;
  if (context !== undefined) spec.context = context;
  const line = lineOf(ctx, map);
  if (line !== undefined) spec.line = line;
  return ctx.problems.length > before ? undefined : spec;
}

function objectOf(ctx: Ctx, fields: Fields, path: string, map: unknown): string | undefined {
  const at = child(path, 'object');
  const field = fields.get('object');
  if (!present(field)) {
    problem(ctx, at, field?.key ?? map, "'object' is missing: name the absolute path the permission applies to");
    return undefined;
  }
  const object = optString(ctx, fields, 'object', path);
  if (object !== undefined && !object.startsWith('/')) {
    problem(ctx, at, field.value, `'object' must be an absolute path (got ${object})`);
  }
  return object;
}

function typesOf(ctx: Ctx, field: Field | undefined, path: string): PermissionType[] {
  if (!present(field)) return [...PERMISSION_TYPES];
  if (isSeq(field.value) && field.value.items.length === 0) {
    problem(ctx, path, field.value, "'type' must name file, directory or both");
    return [];
  }
  const types: PermissionType[] = [];
  for (const name of stringList(ctx, field, path, true)) {
    const type = PERMISSION_TYPES.find(t => t === name);
    if (type === undefined) {
      problem(ctx, path, field.value, `'type' takes file and/or directory (got ${JSON.stringify(name)})`);
    } else if (!types.includes(type)) {
      types.push(type);
    }
  }
  return types;
}

/**
 * YAML reads `mode: 644` and `mode: 0644` as numbers, so the scalar's source text is used:
 * the digits as written, leading zero included.
 */
function modeOf(ctx: Ctx, field: Field | undefined, path: string): number | undefined {
  if (!present(field)) return undefined;
  const node = field.value;
  let raw: string | undefined;
  if (isScalar(node) && typeof node.value === 'string') raw = node.value.trim();
  else if (isScalar(node) && typeof node.value === 'number') raw = node.source ?? String(node.value);
  const mode = raw === undefined ? undefined : parseOctalMode(raw);
  if (mode === undefined) {
    problem(ctx, path, node, `'mode' must be 1 to 4 octal digits, like 644 or "0755" (got ${show(node)})`);
  } else if (isScalar(node) && typeof node.value === 'number' && raw !== undefined) {
    const aws = codeDeployModeOf(raw);
    if (aws !== undefined) warn(ctx, path, node, aws);
  }
  return mode;
}

/**
 * What CodeDeploy's agent makes of an unquoted mode with a leading zero: YAML 1.1 (Ruby's Psych)
 * reads `0644` as the octal number 420, and mode_info.rb then takes its decimal digits "420".
 * Returns the warning, or undefined when the agent reads the mode as written.
 */
export function codeDeployModeOf(written: string): string | undefined {
  if (!/^0[0-7]+$/.test(written)) return undefined;
  const digits = String(Number.parseInt(written, 8));
  const as = digits.padStart(4, '0');
  const tail = /[89]/.test(digits) || digits.length > 4
    ? `CodeDeploy's agent rejects it ("invalid character" in mode ${digits})`
    : `CodeDeploy's agent silently installs mode ${as}`;
  return `unquoted mode ${written} is the octal number ${digits} in YAML 1.1: Ferry applies ${written}, but ${tail}; quote it ("${written}") or write ${written.replace(/^0+(?=\d{3})/, '')}`;
}

function aclsOf(ctx: Ctx, field: Field | undefined, path: string): string[] | undefined {
  if (!present(field)) return undefined;
  const acls: string[] = [];
  listItems(ctx, field, path, 'a list of setfacl entries like u:deploy:rwx').forEach((item, i) => {
    const at = child(path, i);
    const entry = isScalar(item) && typeof item.value === 'string' ? item.value.trim() : undefined;
    const message = entry === undefined ? `must be a string (got ${show(item)})` : aclProblem(entry);
    if (message === undefined && entry !== undefined) acls.push(entry);
    else problem(ctx, at, item, `acl entry ${message}`);
  });
  return acls;
}

const ACL_TYPES: Readonly<Record<string, 'user' | 'group' | 'mask' | 'other'>> = {
  u: 'user', user: 'user', g: 'group', group: 'group', m: 'mask', mask: 'mask', o: 'other', other: 'other',
};

/**
 * Checks one setfacl entry, `[d[efault]:][u|g|m|o]:name:perms`, as CodeDeploy's agent does
 * (ace_info.rb); `name:perms` alone means a user. Returns the problem, or undefined.
 */
export function aclProblem(entry: string): string | undefined {
  const parts = entry.split(':');
  const isDefault = parts.length > 2 && (parts[0] === 'd' || parts[0] === 'default');
  const rest = isDefault ? parts.slice(1) : parts;
  let type: string | undefined;
  let name: string;
  if (rest.length === 3) {
    type = ACL_TYPES[rest[0] ?? ''];
    name = rest[1] ?? '';
    if (type === undefined) return `${JSON.stringify(entry)} has an unknown type '${rest[0]}': use u, g, m or o`;
  } else if (rest.length === 2) {
    type = rest[0] === 'm' || rest[0] === 'mask' ? 'mask' : rest[0] === 'o' || rest[0] === 'other' ? 'other' : 'user';
    name = type === 'user' ? (rest[0] ?? '') : '';
  } else {
    return `${JSON.stringify(entry)} is not in setfacl form [d:][u|g|m|o]:name:perms`;
  }
  const perms = rest[rest.length - 1] ?? '';
  if ((type === 'mask' || type === 'other') && name !== '') {
    return `${JSON.stringify(entry)}: ${type} entries take no name`;
  }
  if (!isDefault && type !== 'mask' && name === '') {
    return `${JSON.stringify(entry)} sets a base entry: use mode for the owner/group/other permissions`;
  }
  if (!/^(?:[0-7]|[rwx-]{1,3})$/.test(perms)) {
    return `${JSON.stringify(entry)} has invalid permissions '${perms}': use rwx letters (e.g. r-x) or one octal digit`;
  }
  return undefined;
}

function contextKeyWarning(key: string): string {
  if (key === 'user') return "'user' is ignored, as by CodeDeploy's agent: the SELinux user is read from 'name'";
  return `unknown key '${key}' is ignored; a context takes name, type and range`;
}

function contextOf(ctx: Ctx, field: Field | undefined, path: string): SelinuxContext | undefined {
  if (!present(field)) return undefined;
  const node = field.value;
  if (!isMap(node)) {
    problem(ctx, path, node, `'context' must be a mapping with 'type' (and optional name, range) (got ${show(node)})`);
    return undefined;
  }
  const fields = readMap(ctx, node, path, ['name', 'type', 'range', 'role'], contextKeyWarning);
  const role = fields.get('role');
  if (role) problem(ctx, child(path, 'role'), role.key, "'role' is not supported: an SELinux context takes name, type and range");
  const type = optString(ctx, fields, 'type', path);
  if (!present(fields.get('type'))) {
    problem(ctx, child(path, 'type'), fields.get('type')?.key ?? node, "'type' is missing: an SELinux context needs a type");
  }
  const name = optString(ctx, fields, 'name', path);
  const range = optString(ctx, fields, 'range', path);
  const rangeMessage = range === undefined ? undefined : selinuxRangeProblem(range);
  if (rangeMessage !== undefined) problem(ctx, child(path, 'range'), fields.get('range')?.value, rangeMessage);
  if (type === undefined) return undefined;
  const context: SelinuxContext = { type };
  if (name !== undefined) context.name = name;
  if (range !== undefined) context.range = range;
  return context;
}

/** Checks an SELinux range `s#[-s#][:c#[.c#],...]` as CodeDeploy's agent does (range_info.rb). */
export function selinuxRangeProblem(range: string): string | undefined {
  const bad = (why: string) => `'range' ${JSON.stringify(range)} ${why}; expected s#[-s#][:c#[.c#],...]`;
  const m = /^s(\d+)(?:-s(\d+))?(?::(.+))?$/.exec(range);
  if (!m) return bad('is malformed');
  if (m[2] !== undefined && Number(m[2]) < Number(m[1])) return bad('has a high sensitivity below the low one');
  if (m[3] === undefined) return undefined;
  const seen = new Set<number>();
  for (const part of m[3].split(',')) {
    const c = /^c(\d+)(?:\.c(\d+))?$/.exec(part);
    if (!c) return bad(`has a malformed category '${part}'`);
    const low = Number(c[1]);
    const high = c[2] === undefined ? low : Number(c[2]);
    if (high > 1023 || low > 1023) return bad(`has a category above c1023 in '${part}'`);
    if (high < low) return bad(`has a category range that runs backwards in '${part}'`);
    for (let n = low; n <= high; n++) {
      if (seen.has(n)) return bad(`names category c${n} twice`);
      seen.add(n);
    }
  }
  return undefined;
}
