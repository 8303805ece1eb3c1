/**
 * Paths the agent (usually root) writes or deletes under destinations that others may own (issue
 * 15): an app user who owns `/srv/app` can replace `/srv/app/conf` with a symlink to `/etc` between
 * two deployments, or during one, and root would then write and delete there. Before each
 * operation every component of the path is looked at with lstat: a symlink that someone other than
 * root (or the agent's own user) could have placed — owned by another user, or in a directory that
 * others may write to without the sticky bit — is refused, as is a non-directory where a directory
 * is needed. Symlinks only root could have made (`/var/run → /run`) are followed.
 */
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../../common/errors.js';

/** The users whose files the agent trusts: root and itself. */
export function trustedOwner(uid: number): boolean {
  return uid === 0 || uid === (process.geteuid?.() ?? 0);
}

/** Whether someone the agent does not trust may create, rename or delete entries in this directory. */
export function othersMayWrite(dir: Stats): boolean {
  if (!trustedOwner(dir.uid)) return true;
  const sticky = (dir.mode & 0o1000) !== 0;
  return (dir.mode & 0o022) !== 0 && !sticky;
}

/** The uid that owns `dir` when it is writable by someone the agent does not trust (for warnings), else undefined. */
export async function untrustedWriter(dir: string): Promise<string | undefined> {
  const st = await fs.lstat(dir).catch(() => undefined);
  if (!st || !st.isDirectory() || !othersMayWrite(st)) return undefined;
  return !trustedOwner(st.uid) ? `owned by uid ${st.uid}` : `writable by its group or others (mode ${(st.mode & 0o7777).toString(8)})`;
}

const lstatOrUndefined = (p: string) => fs.lstat(p).catch((err: NodeJS.ErrnoException) => {
  if (err.code === 'ENOENT') return undefined;
  throw err;
});

/**
 * Throws INSTALL_FAILED naming the component when a parent of `target` is a symlink an untrusted
 * user could have placed, or is not a directory. Parents that do not exist yet are fine (they are
 * about to be created, each checked in turn). `target` itself is not looked at.
 */
export async function checkParents(target: string): Promise<void> {
  const parts = path.resolve(target).split('/').filter(Boolean);
  let dir = '/';
  let dirStat = await fs.lstat('/');
  for (const part of parts.slice(0, -1)) {
    const next = path.join(dir, part);
    const st = await lstatOrUndefined(next);
    if (!st) return;
    if (st.isSymbolicLink()) {
      if (!trustedOwner(st.uid) || othersMayWrite(dirStat)) {
        throw new FerryError('INSTALL_FAILED', `${next} is a symlink that a user other than root could have placed (owner uid ${st.uid}): refusing to write or delete ${target} through it; replace it with a directory or move the destination`);
      }
      dir = await fs.realpath(next);
      dirStat = await fs.stat(dir);
      if (!dirStat.isDirectory()) throw new FerryError('INSTALL_FAILED', `${next} leads to ${dir}, which is not a directory: cannot install ${target}`);
      continue;
    }
    if (!st.isDirectory()) throw new FerryError('INSTALL_FAILED', `${next} is not a directory: cannot install ${target}`);
    dir = next;
    dirStat = st;
  }
}

/** checkParents, and `target` itself must not be a symlink (chmod, chown and setfacl would act on what it points to). */
export async function checkTarget(target: string): Promise<void> {
  await checkParents(target);
  const st = await lstatOrUndefined(target);
  if (st?.isSymbolicLink()) throw new FerryError('INSTALL_FAILED', `${target} is a symlink where the install expected a file or directory: refusing to change what it points to`);
}
