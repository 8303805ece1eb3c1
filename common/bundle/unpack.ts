/**
 * Unpacks a revision bundle (directory, tar, tgz or zip) into a directory that does not exist yet.
 *
 *   list entries (reader) → findEntryProblems → extract into a temp dir beside destDir
 *     → strip the wrapper dir → rename into place → apply modes and mtimes
 *
 * Nothing is written before the whole bundle is listed and accepted; on any failure the temp dir
 * is removed and destDir does not exist.
 */
import { chmod, lstat, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, describeError } from '../errors.js';
import { openDirectoryBundle } from './dir-bundle.js';
import type { BundleReader } from './entries.js';
import { countFiles, findEntryProblems, findWrapperDir } from './entries.js';
import { applyMetadata } from './metadata.js';
import { bundleRejected } from './reject.js';

export const BUNDLE_TYPES = ['directory', 'tar', 'tgz', 'zip'] as const;
export type BundleType = (typeof BUNDLE_TYPES)[number];

export interface UnpackOptions {
  /** A directory, or a tar/tgz/zip file. */
  source: string;
  type: BundleType;
  /** Must not exist; its parent is created when missing. */
  destDir: string;
  /** Limit on the total size of the files in the bundle, uncompressed. */
  maxBytes: number;
  /** Also accepted as the appspec name when deciding whether to strip a wrapper directory. */
  appspecFileName?: string;
}

export interface UnpackResult {
  /** Regular files written (hardlinks included) and the bytes of their content. */
  files: number;
  bytes: number;
  /** The top-level directory removed because it held the appspec, CodeDeploy style. */
  strippedWrapper?: string;
}

/** The bundle type a path's name (or being a directory) suggests; undefined when unknown. */
export function inferBundleType(file: string, isDirectory: boolean): BundleType | undefined {
  if (isDirectory) return 'directory';
  const name = file.toLowerCase();
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'tgz';
  if (name.endsWith('.tar')) return 'tar';
  if (name.endsWith('.zip')) return 'zip';
  return undefined;
}

export async function unpackBundle(opts: UnpackOptions): Promise<UnpackResult> {
  checkOptions(opts);
  await checkSource(opts.source, opts.type);
  await checkAbsent(opts.destDir);
  const reader = await openReader(opts);
  try {
    const problems = findEntryProblems(reader.entries, opts.maxBytes);
    if (problems.length > 0) throw bundleRejected(opts.source, problems);
    const wrapper = findWrapperDir(reader.entries, opts.appspecFileName);
    await extractInPlace(reader, opts.destDir, wrapper);
    const counts = countFiles(reader.entries);
    return wrapper === undefined ? counts : { ...counts, strippedWrapper: wrapper };
  } finally {
    reader.close();
  }
}

function checkOptions(opts: UnpackOptions): void {
  if (!(BUNDLE_TYPES as readonly string[]).includes(opts.type)) {
    const expected = BUNDLE_TYPES.join(', ');
    throw new FerryError('INVALID_ARGUMENT', `unknown bundle type '${opts.type}' (expected ${expected})`);
  }
  if (!Number.isFinite(opts.maxBytes) || opts.maxBytes < 0) {
    throw new FerryError('INVALID_ARGUMENT', `maxBytes must be a non-negative number, got ${opts.maxBytes}`);
  }
}

async function checkSource(source: string, type: BundleType): Promise<void> {
  const st = await stat(source).catch((err: unknown) => {
    throw new FerryError('NOT_FOUND', `bundle '${source}' cannot be read`, { cause: err });
  });
  if (type === 'directory' && !st.isDirectory()) {
    const message = `bundle '${source}' is not a directory, but its type is 'directory'`;
    throw new FerryError('INVALID_ARGUMENT', message);
  }
  if (type !== 'directory' && !st.isFile()) {
    const what = st.isDirectory() ? 'a directory' : 'not a regular file';
    throw new FerryError('INVALID_ARGUMENT', `bundle '${source}' is ${what}, but its type is '${type}'`);
  }
  if (type === 'tgz' && !(await (await import('./tar-bundle.js')).isGzip(source))) {
    throw bundleRejected(source, "not gzip-compressed, but its type is 'tgz'");
  }
}

async function checkAbsent(destDir: string): Promise<void> {
  const existing = await lstat(destDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new FerryError('INTERNAL', `cannot check destination '${destDir}'`, { cause: err });
  });
  if (existing !== undefined) {
    throw new FerryError('CONFLICT', `destination '${destDir}' already exists`);
  }
}

/** The tar and zip readers (and their packages) are loaded on first use: an idle agent never needs them. */
async function openReader(opts: UnpackOptions): Promise<BundleReader> {
  switch (opts.type) {
    case 'directory':
      return openDirectoryBundle(opts.source);
    case 'tar':
    case 'tgz':
      return (await import('./tar-bundle.js')).openTarBundle(opts.source, opts.maxBytes);
    case 'zip':
      return (await import('./zip-bundle.js')).openZipBundle(opts.source);
  }
}

/** Extracts into a fresh temp dir beside destDir, then renames (the wrapper or the whole) into place. */
async function extractInPlace(reader: BundleReader, destDir: string, wrapper: string | undefined): Promise<void> {
  const parent = path.dirname(path.resolve(destDir));
  const temp = await mkdir(parent, { recursive: true })
    .then(() => mkdtemp(path.join(parent, `.${path.basename(destDir)}.unpack-`)))
    .catch((err: unknown) => {
      throw internal(destDir, err);
    });
  let placed = false;
  try {
    await chmod(temp, 0o755);
    await reader.extract(temp);
    await rename(wrapper === undefined ? temp : path.join(temp, wrapper), destDir);
    placed = true;
    await rm(temp, { recursive: true, force: true });
    await applyMetadata(destDir, reader.entries, wrapper);
  } catch (err) {
    await rm(temp, { recursive: true, force: true, maxRetries: 3 });
    if (placed) await rm(destDir, { recursive: true, force: true, maxRetries: 3 });
    throw err instanceof FerryError ? err : internal(destDir, err);
  }
}

function internal(destDir: string, err: unknown): FerryError {
  return new FerryError('INTERNAL', `could not unpack into '${destDir}': ${describeError(err)}`, { cause: err });
}
