import path from 'node:path';
import type { AppSpec, FileExistsBehavior, PermissionSpec } from '../appspec/types.js';
import { FerryError } from '../errors.js';
import { matchesSimpleGlob } from './glob.js';
import type { InstallPlan, Instruction } from './instructions.js';

export type PathKind = 'file' | 'dir' | 'symlink' | 'other';

/** What the planner may ask of the filesystem; read-only (production: lstat/readdir). */
export interface FsView {
  /** lstat kind, or undefined when absent. */
  kind(p: string): PathKind | undefined;
  /** True when p is a directory or a symlink to one. */
  isDirectory(p: string): boolean;
  readdir(p: string): string[];
  mode(p: string): number;
}

export interface PlanInput {
  spec: AppSpec;
  /** The unpacked revision. */
  revisionDir: string;
  behavior: FileExistsBehavior;
  fs: FsView;
  /** Paths the previous install of this group created; they are removed before copying. */
  previouslyInstalled: ReadonlySet<string>;
}

type Target = { kind: 'file' | 'symlink' | 'dir'; line?: number };

/**
 * Decides everything the Install step will do, before anything is touched, with CodeDeploy's
 * semantics (docs/design/codedeploy.md §1.3, §1.4, §3.3). Throws INSTALL_FAILED naming the appspec line.
 */
export function planInstall(input: PlanInput): InstallPlan {
  const { spec, fs } = input;
  const where = (line?: number) => (line !== undefined ? `${spec.fileName}:${line}` : spec.fileName);
  const fail = (line: number | undefined, msg: string): never => {
    throw new FerryError('INSTALL_FAILED', `${where(line)}: ${msg}`);
  };
  const instructions: Instruction[] = [];
  const retained: string[] = [];
  const targets = new Map<string, Target>();
  // After cleanup, what the previous install created is gone (directories only if emptied).
  const onDisk = (p: string): PathKind | undefined =>
    input.previouslyInstalled.has(p) ? undefined : fs.kind(p);

  const mkdir = (dir: string, mode: number, line?: number) => {
    const planned = targets.get(dir);
    if (planned) {
      if (planned.kind !== 'dir') fail(line, `${dir} is both a file to copy and a directory to create`);
      return;
    }
    const existing = onDisk(dir);
    if (existing === 'dir' || (existing === 'symlink' && fs.isDirectory(dir))) return;
    if (existing !== undefined) fail(line, `cannot create directory ${dir}: a ${existing} exists there`);
    targets.set(dir, { kind: 'dir', ...(line !== undefined && { line }) });
    instructions.push({ type: 'mkdir', directory: dir, mode });
  };
  const mkdirChain = (dir: string, line?: number) => {
    const parts = dir.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) mkdir('/' + parts.slice(0, i).join('/'), 0o755, line);
  };
  const copy = (src: string, dest: string, kind: 'file' | 'symlink', line?: number) => {
    const planned = targets.get(dest);
    if (planned) {
      fail(line, planned.kind === 'dir'
        ? `${dest} is both a directory to create and a file to copy`
        : `two sources are copied to the same destination ${dest}`);
    }
    const existing = onDisk(dest);
    if (existing === 'dir') fail(line, `a directory exists where the revision has a file: ${dest}`);
    if (existing !== undefined) {
      if (input.behavior === 'DISALLOW') {
        fail(line, `the deployment failed because a specified file already exists at this location: ${dest} ` +
          `(file_exists_behavior DISALLOW; use OVERWRITE or RETAIN to deploy over files this group did not install)`);
      }
      if (input.behavior === 'RETAIN') {
        retained.push(dest);
        return;
      }
    }
    targets.set(dest, { kind, ...(line !== undefined && { line }) });
    instructions.push({ type: 'copy', source: src, destination: dest, kind, overwrite: existing !== undefined });
  };
  const copyTree = (srcDir: string, destDir: string, line?: number) => {
    for (const name of fs.readdir(srcDir).sort()) {
      const s = path.join(srcDir, name);
      const d = path.join(destDir, name);
      const k = fs.kind(s);
      if (k === 'dir') {
        mkdir(d, fs.mode(s) & 0o7777, line);
        copyTree(s, d, line);
      } else if (k === 'file' || k === 'symlink') {
        copy(s, d, k, line);
      } else {
        fail(line, `revision entry ${path.relative(input.revisionDir, s)} is not a file, directory or symlink`);
      }
    }
  };

  for (const [i, f] of spec.files.entries()) {
    const src = f.source === '/' ? input.revisionDir : path.join(input.revisionDir, f.source);
    const dest = path.resolve(f.destination);
    const k = fs.kind(src);
    if (k === undefined) fail(f.line, `files[${i}].source '${f.source}' does not exist in the revision`);
    if (k === 'dir') {
      mkdirChain(dest, f.line);
      copyTree(src, dest, f.line);
    } else if (k === 'file' || k === 'symlink') {
      mkdirChain(dest, f.line);
      copy(src, path.join(dest, path.basename(src)), k, f.line);
    } else {
      fail(f.line, `files[${i}].source '${f.source}' is not a file, directory or symlink`);
    }
  }
  instructions.push(...planPermissions(spec.permissions, targets, fail));
  return { instructions, retained };
}

function planPermissions(
  permissions: readonly PermissionSpec[],
  targets: ReadonlyMap<string, Target>,
  fail: (line: number | undefined, msg: string) => never,
): Instruction[] {
  const chmods: Instruction[] = [];
  const acls: Instruction[] = [];
  const chowns: Instruction[] = [];
  const seen = new Map<string, number | undefined>();
  for (const [i, p] of permissions.entries()) {
    if (p.context) {
      // Never skip a requested security setting silently: fail before the host is touched.
      fail(p.line, `permissions[${i}].context: SELinux contexts are not supported by this agent yet; remove the context entry`);
    }
    const object = path.resolve(p.object);
    const objectTarget = targets.get(object);
    let matched: string[];
    if (objectTarget && objectTarget.kind !== 'dir') {
      if (p.pattern !== '**' || p.except.length > 0) {
        fail(p.line, `permissions[${i}]: object ${object} is a file; pattern and except apply to directories only`);
      }
      matched = [object];
    } else {
      const prefix = object.endsWith('/') ? object : object + '/';
      matched = [...targets.keys()].filter(t => {
        if (!t.startsWith(prefix)) return false;
        const rel = t.slice(prefix.length);
        return matchesSimpleGlob(p.pattern, rel) && !p.except.some(e => matchesSimpleGlob(e, rel));
      });
    }
    for (const file of matched.sort()) {
      const kind = targets.get(file)!.kind;
      if (!p.types.includes(kind === 'dir' ? 'directory' : 'file')) continue;
      const previous = seen.get(file);
      if (seen.has(file)) {
        fail(p.line, `permissions[${i}] sets permissions on ${file} again (already set at line ${previous ?? '?'})`);
      }
      seen.set(file, p.line);
      const isLink = kind === 'symlink';
      if (p.mode !== undefined && !isLink) chmods.push({ type: 'chmod', mode: p.mode.toString(8).padStart(3, '0'), file });
      if (p.acls && p.acls.length > 0 && !isLink) {
        if (kind !== 'dir' && p.acls.some(a => /^d(efault)?:/.test(a))) {
          fail(p.line, `permissions[${i}]: default ACL entries apply to directories only, not ${file}`);
        }
        acls.push({ type: 'setfacl', acl: p.acls, file });
      }
      if (p.owner !== undefined || p.group !== undefined) {
        chowns.push({
          type: 'chown',
          file,
          ...(p.owner !== undefined && { owner: p.owner }),
          ...(p.group !== undefined && { group: p.group }),
        });
      }
    }
  }
  // CodeDeploy's order per object: chmod, then setfacl, then chown.
  return [...chmods, ...acls, ...chowns];
}
