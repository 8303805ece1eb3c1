import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { FerryError, describeError } from '../../common/errors.js';
import type { UserDirectory } from '../lifecycle/users.js';
import type { Instruction } from '../../common/install/instructions.js';

const run = promisify(execFile);

/**
 * Removes what the group's previous install created, newest first (docs/design/codedeploy.md §3.3):
 * files and symlinks are unlinked, directories removed only when empty. A last line without
 * a newline was being written when something died, and is skipped.
 */
export async function removePreviousInstall(cleanupFile: string): Promise<number> {
  let text: string;
  try {
    text = await fs.readFile(cleanupFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const lines = text.split('\n');
  lines.pop(); // '' after the final newline, or a truncated line
  let removed = 0;
  for (const p of lines.reverse()) {
    if (p === '' || p.includes('\0')) continue;
    const st = await fs.lstat(p).catch(() => undefined);
    if (!st) continue;
    try {
      if (st.isDirectory()) await fs.rmdir(p);
      else await fs.unlink(p);
      removed += 1;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw err;
    }
  }
  await fs.rm(cleanupFile, { force: true });
  return removed;
}

/** Parses the previous cleanup list (for planning: these paths will be gone). */
export async function readCleanupList(cleanupFile: string): Promise<Set<string>> {
  try {
    const lines = (await fs.readFile(cleanupFile, 'utf8')).split('\n');
    lines.pop();
    return new Set(lines.filter(l => l !== '' && !l.includes('\0')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw err;
  }
}

export interface ApplyDeps {
  users: UserDirectory;
  /** Appends one path to the new cleanup list; called before the path is created. */
  record: (p: string) => Promise<void>;
}

async function copyOne(i: Extract<Instruction, { type: 'copy' }>): Promise<void> {
  const st = await fs.lstat(i.source);
  if (i.overwrite) await fs.rm(i.destination, { force: true });
  if (i.kind === 'symlink') {
    await fs.symlink(await fs.readlink(i.source), i.destination);
    await fs.lutimes(i.destination, st.atime, st.mtime);
    return;
  }
  await fs.copyFile(i.source, i.destination);
  await fs.chmod(i.destination, st.mode & 0o7777);
  await fs.utimes(i.destination, st.atime, st.mtime);
}

async function chown(i: Extract<Instruction, { type: 'chown' }>, users: UserDirectory): Promise<void> {
  let uid = -1;
  let gid = -1;
  if (i.owner !== undefined) {
    const u = await users.user(i.owner);
    if (!u) throw new FerryError('INSTALL_FAILED', `permissions: owner '${i.owner}' is not a user on this host`);
    uid = u.uid;
  }
  if (i.group !== undefined) {
    const g = await users.group(i.group);
    if (g === undefined) throw new FerryError('INSTALL_FAILED', `permissions: group '${i.group}' is not a group on this host`);
    gid = g;
  }
  await fs.lchown(i.file, uid, gid);
}

/** Performs a plan's instructions in order; every created path is recorded before it is created. */
export async function applyInstructions(instructions: readonly Instruction[], deps: ApplyDeps): Promise<void> {
  for (const i of instructions) {
    try {
      switch (i.type) {
        case 'mkdir':
          await deps.record(i.directory);
          await fs.mkdir(i.directory, { mode: i.mode }).catch(err => {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          });
          break;
        case 'copy':
          await deps.record(i.destination);
          await copyOne(i);
          break;
        case 'chmod':
          await fs.chmod(i.file, parseInt(i.mode, 8));
          break;
        case 'setfacl':
          await run('setfacl', ['-m', i.acl.join(','), i.file]);
          break;
        case 'chown':
          await chown(i, deps.users);
          break;
      }
    } catch (err) {
      if (err instanceof FerryError) throw err;
      const target = i.type === 'mkdir' ? i.directory : i.type === 'copy' ? i.destination : i.file;
      throw new FerryError('INSTALL_FAILED', `${i.type} ${target}: ${describeError(err)}`, { cause: err });
    }
  }
}

/** Checks, before anything is touched, that the tools and names the plan needs exist. */
export async function checkPrerequisites(
  instructions: readonly Instruction[],
  deps: { users: UserDirectory; hasTool: (name: string) => Promise<boolean> },
): Promise<void> {
  if (instructions.some(i => i.type === 'setfacl') && !(await deps.hasTool('setfacl'))) {
    throw new FerryError('TOOL_MISSING',
      'permissions: the appspec sets acls, but setfacl is not installed on this host (install the "acl" package)');
  }
  const owners = new Set<string>();
  const groups = new Set<string>();
  for (const i of instructions) {
    if (i.type !== 'chown') continue;
    if (i.owner !== undefined) owners.add(i.owner);
    if (i.group !== undefined) groups.add(i.group);
  }
  for (const o of owners) {
    if (!(await deps.users.user(o))) throw new FerryError('INSTALL_FAILED', `permissions: owner '${o}' is not a user on this host`);
  }
  for (const g of groups) {
    if ((await deps.users.group(g)) === undefined) throw new FerryError('INSTALL_FAILED', `permissions: group '${g}' is not a group on this host`);
  }
}
