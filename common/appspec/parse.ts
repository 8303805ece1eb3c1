/**
 * Parsing and validating an appspec file (docs/design/codedeploy.md §1). `parseAppSpec` is pure and returns
 * every problem at once, each with its key path and line; `loadAppSpec` finds and reads the file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, visit, type YAMLMap } from 'yaml';
import { describeError, FerryError } from '../errors.js';
import { FILE_EXISTS_BEHAVIORS, type AppSpec, type AppSpecParseResult, type FileExistsBehavior } from './types.js';
import { validatePermissions } from './validate-permissions.js';
import { validateFiles, validateHooks } from './validate-sections.js';
import {
  byLine,
  deref,
  isNull,
  lineAt,
  newCtx,
  present,
  problem,
  readMap,
  show,
  warn,
  type Ctx,
  type Fields,
} from './validate-yaml.js';

export { parseOctalMode } from './validate-permissions.js';

/** The names looked for at the revision root, in order. */
export const APPSPEC_FILE_NAMES = ['appspec.yml', 'appspec.yaml'] as const;

const TOP_LEVEL_KEYS = ['version', 'os', 'files', 'permissions', 'hooks', 'file_exists_behavior'];
const MINIMUM = "define at minimum 'version' and 'os'";

/** Parses appspec text. Never throws: every problem found is in `problems`; `spec` only when none. */
export function parseAppSpec(text: string, fileName: string): AppSpecParseResult {
  try {
    return parseChecked(text, fileName);
  } catch (err) {
    return { problems: [{ path: '', message: `could not be parsed: ${describeError(err)}` }], warnings: [] };
  }
}

function parseChecked(text: string, fileName: string): AppSpecParseResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const ctx = newCtx(doc, lines);
  for (const e of doc.errors) {
    const message = e.code === 'MULTIPLE_DOCS' ? 'holds more than one YAML document; an appspec is one' : e.message;
    ctx.problems.push({ path: '', line: lineAt(lines, e.pos[0]), message: `is not valid YAML: ${message}` });
  }
  for (const w of doc.warnings) {
    ctx.warnings.push({ path: '', line: lineAt(lines, w.pos[0]), message: `YAML: ${w.message}` });
  }
  if (ctx.problems.length > 0) return result(ctx);
  warnWhereCodeDeployFails(ctx, text);
  const root = deref(ctx, doc.contents, '');
  if (isNull(root)) {
    problem(ctx, '', root, `file is empty: ${MINIMUM}`);
    return result(ctx);
  }
  if (!isMap(root)) {
    problem(ctx, '', root, `must be a mapping of keys, not ${show(root)}: ${MINIMUM}`);
    return result(ctx);
  }
  const spec = validateTopLevel(ctx, root, fileName);
  return result(ctx, spec);
}

/**
 * Things Ferry reads fine but CodeDeploy's agent (Ruby 3.1+, Psych 4 `YAML.load`) does not:
 * warned, so a bundle that must also run on CodeDeploy gets fixed (docs/appspec.md).
 */
function warnWhereCodeDeployFails(ctx: Ctx, text: string): void {
  if (text.startsWith('\uFEFF')) {
    ctx.warnings.push({ path: '', line: 1, message: 'starts with a UTF-8 byte order mark: CodeDeploy\'s agent then misreads the first key ' +
      '(it fails with "unsupported operating system ()"); save the file without the BOM' });
  }
  visit(ctx.doc, {
    Alias: (_key, node) => {
      warn(ctx, '', node, `uses the YAML alias *${node.source}: CodeDeploy's agent (Ruby 3.1+, Psych 4) rejects aliases ` +
        '("Unknown alias"); write the value out');
    },
  });
}

function validateTopLevel(ctx: Ctx, root: YAMLMap, fileName: string): AppSpec | undefined {
  const fields = readMap(ctx, root, '', TOP_LEVEL_KEYS, key => `unknown top-level key '${key}' is ignored, as CodeDeploy does`);
  checkVersion(ctx, fields, root);
  if (!checkOs(ctx, fields, root)) return undefined;
  const fileExistsBehavior = fileExistsBehaviorOf(ctx, fields);
  const { hooks, customHooks } = validateHooks(ctx, fields.get('hooks'));
  const spec: AppSpec = {
    fileName,
    version: '0.0',
    os: 'linux',
    files: validateFiles(ctx, fields.get('files')),
    permissions: validatePermissions(ctx, fields.get('permissions')),
    hooks,
  };
  if (Object.keys(customHooks).length > 0) spec.customHooks = customHooks;
  if (fileExistsBehavior !== undefined) spec.fileExistsBehavior = fileExistsBehavior;
  return spec;
}

/** `version: 0.0` (a YAML number), `0` or the string "0.0"; CodeDeploy knows no other version. */
function checkVersion(ctx: Ctx, fields: Fields, root: YAMLMap): void {
  const field = fields.get('version');
  if (!present(field)) {
    problem(ctx, 'version', field?.key ?? root, `'version' is missing: ${MINIMUM} (version: 0.0)`);
    return;
  }
  const node = field.value;
  const ok = isScalar(node) && (node.value === 0 || node.value === '0.0');
  if (!ok) problem(ctx, 'version', node, `'version' must be 0.0, the only appspec version (got ${show(node)})`);
  if (isScalar(node) && node.value === '0.0') {
    // application_specification.rb compares with the float 0.0: the string "0.0" is not in [0.0].
    warn(ctx, 'version', node, 'version is the string "0.0": CodeDeploy\'s agent rejects it ("invalid version value"); ' +
      'write version: 0.0 without quotes');
  }
}

/** False for a windows appspec: that one problem says it all (its C:\\ paths are not worth listing). */
function checkOs(ctx: Ctx, fields: Fields, root: YAMLMap): boolean {
  const field = fields.get('os');
  if (!present(field)) {
    problem(ctx, 'os', field?.key ?? root, `'os' is missing: ${MINIMUM} (os: linux)`);
    return true;
  }
  const node = field.value;
  const os = isScalar(node) ? node.value : undefined;
  if (os === 'linux') return true;
  if (os === 'windows') {
    problem(ctx, 'os', node, 'os: windows is not supported by this agent: it runs linux bundles only');
    return false;
  }
  problem(ctx, 'os', node, `'os' must be linux, the only OS Ferry's agent runs on (got ${show(node)})`);
  return true;
}

function fileExistsBehaviorOf(ctx: Ctx, fields: Fields): FileExistsBehavior | undefined {
  const field = fields.get('file_exists_behavior');
  if (!present(field)) return undefined;
  const node = field.value;
  const value = isScalar(node) ? node.value : undefined;
  const behavior = FILE_EXISTS_BEHAVIORS.find(b => b === value);
  if (behavior === undefined) {
    problem(ctx, 'file_exists_behavior', node, `'file_exists_behavior' must be one of ${FILE_EXISTS_BEHAVIORS.join(', ')} (got ${show(node)})`);
  }
  return behavior;
}

function result(ctx: Ctx, spec?: AppSpec): AppSpecParseResult {
  const out: AppSpecParseResult = { problems: byLine(ctx.problems), warnings: byLine(ctx.warnings) };
  if (spec && out.problems.length === 0) out.spec = spec;
  return out;
}

/**
 * Finds, reads and parses the appspec at the root of an unpacked revision: `fileName` when
 * given, then appspec.yml, then appspec.yaml. A missing file is a problem; a file that cannot be
 * read for any other reason than absence throws FerryError INTERNAL.
 */
export async function loadAppSpec(
  revisionDir: string,
  fileName?: string,
): Promise<AppSpecParseResult & { path?: string; missing?: readonly string[] }> {
  const names = [...new Set([...(fileName ? [fileName] : []), ...APPSPEC_FILE_NAMES])];
  for (const name of names) {
    const path = join(revisionDir, name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      if (code === 'EISDIR') {
        return { problems: [{ path: '', message: `${name} is a directory, not an appspec file` }], warnings: [], path };
      }
      throw new FerryError('INTERNAL', `cannot read ${path}: ${describeError(err)}`, { cause: err });
    }
    return { ...parseAppSpec(text, name), path };
  }
  const message = `no appspec file found: looked for ${names.join(', ')} in ${revisionDir}`;
  return { problems: [{ path: '', message }], warnings: [], missing: names };
}
