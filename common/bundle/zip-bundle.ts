/**
 * zip bundles through yauzl: the central directory is listed once (symlink targets read then),
 * and the same entries are extracted afterwards from the still-open file.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { describeError } from '../errors.js';
import type { BundleEntry, BundleReader } from './entries.js';
import { entryPath } from './entries.js';
import { bundleRejected, extractionError } from './reject.js';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const SPECIAL_TYPES: Readonly<Record<number, string>> = {
  0o010000: 'FIFO',
  0o020000: 'CharacterDevice',
  0o060000: 'BlockDevice',
  0o140000: 'Socket',
};
/** Longest symlink target read from a zip (PATH_MAX on Linux, less the NUL). */
const MAX_LINK_TARGET = 4095;

interface ZipItem {
  readonly raw: yauzl.Entry;
  readonly entry: BundleEntry;
}

export async function openZipBundle(source: string): Promise<BundleReader> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(source, { decodeStrings: false, autoClose: false });
  } catch (err) {
    throw bundleRejected(source, `not a readable zip file: ${describeError(err)}`, err);
  }
  try {
    const items: ZipItem[] = [];
    for await (const raw of zip.eachEntry()) items.push({ raw, entry: await toEntry(zip, raw) });
    return {
      entries: items.map((i) => i.entry),
      extract: (root) => extractZip(source, zip, items, root),
      close: () => zip.close(),
    };
  } catch (err) {
    zip.close();
    throw bundleRejected(source, `not a readable zip file: ${describeError(err)}`, err);
  }
}

async function toEntry(zip: yauzl.ZipFile, raw: yauzl.Entry): Promise<BundleEntry> {
  const name = yauzl.getFileNameLowLevel(raw.generalPurposeBitFlag, raw.fileNameRaw, raw.extraFields, false);
  const unixMode = raw.externalFileAttributes >>> 16;
  const type = unixMode & S_IFMT;
  const base = { name, size: 0, mtime: raw.getLastModDate() };
  const special = (detail: string): BundleEntry => ({ ...base, kind: 'special', detail, mode: 0 });
  const modeOr = (fallback: number): number => (unixMode === 0 ? fallback : unixMode & 0o777);
  if (raw.isEncrypted()) return special('encrypted');
  if (!raw.canDecodeFileData()) return special(`compression method ${raw.compressionMethod}`);
  if (type === S_IFLNK) {
    if (raw.uncompressedSize > MAX_LINK_TARGET) return special('oversized symlink');
    const target = (await readAll(zip, raw)).toString('utf8');
    return { ...base, kind: 'symlink', mode: 0o777, linkTarget: target };
  }
  if (type === S_IFDIR || name.endsWith('/')) {
    return { ...base, kind: 'directory', mode: modeOr(0o755) };
  }
  if (type !== 0 && type !== S_IFREG) {
    return special(SPECIAL_TYPES[type] ?? `file type 0o${type.toString(8)}`);
  }
  return { ...base, kind: 'file', size: raw.uncompressedSize, mode: modeOr(0o644) };
}

async function readAll(zip: yauzl.ZipFile, raw: yauzl.Entry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await zip.openReadStreamPromise(raw)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes the validated entries in archive order; parents first, never through a symlink. */
async function extractZip(source: string, zip: yauzl.ZipFile, items: readonly ZipItem[], root: string) {
  for (const { raw, entry } of items) {
    const target = path.join(root, entryPath(entry) ?? '');
    try {
      if (target === root) continue;
      if (entry.kind === 'directory') {
        await mkdir(target, { recursive: true, mode: 0o755 });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
      if (entry.kind === 'symlink') {
        await symlink(entry.linkTarget ?? '', target);
      } else {
        const data = await zip.openReadStreamPromise(raw);
        await pipeline(data, createWriteStream(target, { flags: 'wx', mode: entry.mode }));
      }
    } catch (err) {
      throw extractionError(source, err, entry.name);
    }
  }
}
