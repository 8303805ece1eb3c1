/**
 * tar and tgz bundles through npm tar: `tar.t` lists every entry (nothing written), then
 * `tar.Unpack` extracts in strict mode, so an entry tar would drop is an error, never a gap.
 * Only symlinks are skipped on purpose, and created afterwards from the validated listing.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, symlink } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import type { ReadEntry } from 'tar';
import { describeError } from '../errors.js';
import type { BundleEntry, BundleReader, EntryKind } from './entries.js';
import { entryPath, sizeProblem } from './entries.js';
import { bundleRejected, extractionError } from './reject.js';

const KINDS: Readonly<Record<string, EntryKind>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  GNUDumpDir: 'directory',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

export async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head.equals(GZIP_MAGIC);
  } finally {
    await handle.close();
  }
}

function toEntry(e: ReadEntry): BundleEntry {
  const kind = KINDS[e.type] ?? 'special';
  const defaultMode = kind === 'directory' ? 0o755 : 0o644;
  return {
    name: e.path,
    kind,
    detail: e.type,
    size: kind === 'file' ? e.size : 0,
    mode: (e.mode ?? defaultMode) & 0o777,
    mtime: e.mtime,
    linkTarget: e.linkpath,
  };
}

/** Lists a tar or tgz bundle; stops as soon as the declared file sizes pass `maxBytes`. */
export async function openTarBundle(source: string, maxBytes: number): Promise<BundleReader> {
  const entries: BundleEntry[] = [];
  let total = 0;
  let tooBig = false;
  const parser = tar.t({
    strict: true,
    onReadEntry: (e: ReadEntry) => {
      const entry = toEntry(e);
      entries.push(entry);
      if (entry.kind === 'file') total += entry.size;
      if (total > maxBytes && !tooBig) {
        tooBig = true;
        parser.abort(new Error('size limit reached'));
      }
    },
  });
  // Entries of a type npm tar does not know are skipped by the parser: list them as special.
  parser.on('ignoredEntry', (e: ReadEntry) => {
    const detail = `unknown type '${e.header.typeKey}'`;
    entries.push({ ...toEntry(e), kind: 'special', detail });
  });
  try {
    await pump(source, parser, 'end');
  } catch (err) {
    if (tooBig) throw bundleRejected(source, sizeProblem(total, maxBytes, true));
    throw bundleRejected(source, `not a readable tar archive: ${describeError(err)}`, err);
  }
  return {
    entries,
    extract: (root) => extractTar(source, root, entries),
    close: () => undefined,
  };
}

/**
 * Extracts into `root`. A filter checks that each entry is the one listed before (the file did not
 * change in between) and masks its mode to 0o777; owners are the process's, never the archive's.
 * Symlinks are held back and created after everything else: the listing proved no entry goes
 * through one, and npm tar would refuse a valid link whose target passes another link
 * (`bin -> current/bin` with `current -> releases/1`).
 */
async function extractTar(source: string, root: string, entries: readonly BundleEntry[]): Promise<void> {
  let index = 0;
  let mismatch: string | undefined;
  const unpack = new tar.Unpack({
    cwd: root,
    strict: true,
    preserveOwner: false,
    dmode: 0o755,
    fmode: 0o644,
    filter: (name, raw) => {
      const e = raw as ReadEntry;
      const expected = entries[index++];
      if (expected === undefined || !sameEntry(expected, e)) {
        mismatch ??= name;
        return false;
      }
      e.mode = expected.mode;
      return expected.kind !== 'symlink';
    },
  });
  try {
    await pump(source, unpack, 'close');
  } catch (err) {
    const entry = (err as { entry?: { path?: unknown } }).entry;
    throw extractionError(source, err, typeof entry?.path === 'string' ? entry.path : undefined);
  }
  if (mismatch !== undefined || index !== entries.length) {
    const at = mismatch === undefined ? 'its end' : `entry '${mismatch}'`;
    throw bundleRejected(source, `archive changed between listing and extraction, at ${at}`);
  }
  await createSymlinks(source, root, entries);
}

async function createSymlinks(source: string, root: string, entries: readonly BundleEntry[]): Promise<void> {
  for (const entry of entries) {
    if (entry.kind !== 'symlink') continue;
    const target = path.join(root, entryPath(entry) ?? '');
    try {
      await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
      await symlink(entry.linkTarget ?? '', target);
    } catch (err) {
      throw extractionError(source, err, entry.name);
    }
  }
}

function sameEntry(expected: BundleEntry, e: ReadEntry): boolean {
  return (
    expected.name === e.path &&
    expected.detail === e.type &&
    expected.linkTarget === e.linkpath &&
    (expected.kind !== 'file' || expected.size === e.size)
  );
}

/** Streams `source` into a tar parser or unpacker until it emits `doneEvent` or fails. */
function pump(source: string, sink: tar.Parser, doneEvent: 'end' | 'close'): Promise<void> {
  return new Promise((resolve, reject) => {
    const input = createReadStream(source);
    const fail = (err: unknown): void => {
      input.unpipe(sink);
      input.destroy();
      reject(err);
    };
    sink.on('error', fail);
    sink.on(doneEvent, () => resolve());
    input.on('error', fail);
    input.pipe(sink);
  });
}
