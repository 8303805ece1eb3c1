/**
 * `directory` bundles: a walk with lstat lists the tree (symlinks are not followed), then a copy
 * recreates it, symlinks verbatim. Each file is opened with O_NOFOLLOW and must still be the
 * regular file of the listed size, so a tree changed in between cannot smuggle anything in.
 */
import type { Stats } from 'node:fs';
import { constants, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeError } from '../errors.js';
import type { BundleEntry, BundleReader } from './entries.js';
import { entryPath } from './entries.js';
import { bundleRejected, extractionError } from './reject.js';

export async function openDirectoryBundle(source: string): Promise<BundleReader> {
  const entries: BundleEntry[] = [];
  try {
    await walk(source, '.', entries);
  } catch (err) {
    throw bundleRejected(source, `cannot read directory: ${describeError(err)}`, err);
  }
  return {
    entries,
    extract: (root) => copyTree(source, root, entries),
    close: () => undefined,
  };
}

/** Pre-order, names sorted, so parents come before their children. */
async function walk(source: string, name: string, out: BundleEntry[]): Promise<void> {
  const full = path.join(source, name);
  const st = name === '.' ? await stat(full) : await lstat(full); // the root itself may be a link
  out.push(await toEntry(name, full, st));
  if (!st.isDirectory()) return;
  const children = (await readdir(full)).sort();
  for (const child of children) {
    await walk(source, name === '.' ? child : `${name}/${child}`, out);
  }
}

async function toEntry(name: string, full: string, st: Stats): Promise<BundleEntry> {
  const base = { name, size: 0, mode: st.mode & 0o777, mtime: st.mtime };
  if (st.isFile()) return { ...base, kind: 'file', size: st.size };
  if (st.isDirectory()) return { ...base, kind: 'directory' };
  if (st.isSymbolicLink()) return { ...base, kind: 'symlink', linkTarget: await readlink(full) };
  return { ...base, kind: 'special', detail: specialType(st) };
}

function specialType(st: Stats): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isCharacterDevice()) return 'CharacterDevice';
  if (st.isBlockDevice()) return 'BlockDevice';
  if (st.isSocket()) return 'Socket';
  return 'unknown';
}

async function copyTree(source: string, root: string, entries: readonly BundleEntry[]): Promise<void> {
  for (const entry of entries) {
    const rel = entryPath(entry) ?? '';
    if (rel === '') continue;
    const target = path.join(root, rel);
    try {
      if (entry.kind === 'directory') await mkdir(target, { mode: 0o700 });
      else if (entry.kind === 'symlink') await symlink(entry.linkTarget ?? '', target);
      else await copyFile(source, path.join(source, rel), target, entry);
    } catch (err) {
      throw extractionError(source, err, entry.name);
    }
  }
}

async function copyFile(source: string, from: string, to: string, entry: BundleEntry): Promise<void> {
  const handle = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size !== entry.size) {
      throw bundleRejected(source, `entry '${entry.name}' changed while it was being copied`);
    }
    const output = createWriteStream(to, { flags: 'wx', mode: entry.mode });
    if (entry.size === 0) {
      await pipeline(Readable.from([]), output);
      return;
    }
    await pipeline(handle.createReadStream({ autoClose: false, end: entry.size - 1 }), output);
  } finally {
    await handle.close();
  }
}
