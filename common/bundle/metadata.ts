/**
 * The last step of unpacking: modes and mtimes from the bundle, applied to the tree in its final
 * place (so neither the process umask nor moving the wrapper directory alters them).
 */
import { chmod, lutimes, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { BundleEntry } from './entries.js';
import { entryPath } from './entries.js';

const BATCH = 32;

/** Where an entry ended up below `root`, relative; undefined if it did not (the stripped root). */
export function finalPath(entry: BundleEntry, wrapper: string | undefined): string | undefined {
  const p = entryPath(entry);
  if (p === undefined || wrapper === undefined) return p;
  if (p === wrapper) return '';
  return p.startsWith(`${wrapper}/`) ? p.slice(wrapper.length + 1) : undefined;
}

/**
 * Files get their mode (already masked to 0o777) and mtime; directories their mode plus owner
 * rwx (as npm tar does, so the tree can always be cleaned up) and mtime; symlinks their mtime.
 * Hardlinks share their target's inode and are left alone.
 */
export async function applyMetadata(
  root: string,
  entries: readonly BundleEntry[],
  wrapper: string | undefined,
): Promise<void> {
  const jobs: Array<() => Promise<void>> = [];
  for (const entry of entries) {
    const rel = finalPath(entry, wrapper);
    if (rel === undefined) continue;
    const target = path.join(root, rel);
    const mtime = entry.mtime;
    if (entry.kind === 'file' || entry.kind === 'directory') {
      const mode = entry.kind === 'directory' ? entry.mode | 0o700 : entry.mode;
      jobs.push(async () => {
        await chmod(target, mode);
        if (mtime !== undefined) await utimes(target, mtime, mtime);
      });
    } else if (entry.kind === 'symlink' && mtime !== undefined) {
      jobs.push(() => lutimes(target, mtime, mtime));
    }
  }
  for (let i = 0; i < jobs.length; i += BATCH) {
    await Promise.all(jobs.slice(i, i + BATCH).map((job) => job()));
  }
}
