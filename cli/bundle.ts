import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { create as createTar } from 'tar';
import { FerryError, describeError } from '../common/errors.js';
import { type BundleType, bundleTypeOf } from './args.js';

/**
 * What `ferry revision push` uploads: a directory packed as a tgz, an archive as is, or a git
 * commit's `git archive`. Each is a file on disk with its SHA-256, computed before the upload.
 */
export interface PreparedBundle {
  file: string;
  bundleType: BundleType;
  digest: string;
  size: number;
  /** For git revisions: the full commit id. */
  commit?: string;
  /** Removes what preparing created (the temporary archive); the user's files stay. */
  cleanup(): Promise<void>;
}

export const APPSPEC_NAMES = ['appspec.yml', 'appspec.yaml'] as const;

export async function sha256File(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: hash.digest('hex'), size };
}

/** The file in chunks of at most `chunkBytes` (one UploadRevision message each). */
export function fileChunks(file: string, chunkBytes: number): AsyncIterable<Buffer> {
  return createReadStream(file, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>;
}

/**
 * Every entry under `dir`, relative, depth-first with each directory's names sorted, so the same
 * tree always packs to the same bytes. Directories come before their contents.
 */
export async function packingOrder(dir: string, rel = ''): Promise<string[]> {
  const names = (await fs.readdir(path.join(dir, rel))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  for (const name of names) {
    const entry = rel === '' ? name : `${rel}/${name}`;
    const st = await fs.lstat(path.join(dir, entry));
    if (st.isDirectory()) {
      out.push(entry, ...(await packingOrder(dir, entry)));
    } else if (st.isFile() || st.isSymbolicLink()) {
      out.push(entry);
    } else {
      throw new FerryError('INVALID_ARGUMENT', `PATH: ${path.join(dir, entry)} is not a file, directory or symlink; a revision cannot hold it`);
    }
  }
  return out;
}

async function tempArchive(name: string): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-push-'));
  return { file: path.join(dir, name), cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

async function hasAppspecAtRoot(dir: string): Promise<boolean> {
  for (const name of APPSPEC_NAMES) {
    const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
    if (st?.isFile()) return true;
  }
  return false;
}

/** Packs a directory as a portable tgz: no owners, sorted entries, file mtimes and modes kept. */
export async function prepareDirectory(dir: string): Promise<PreparedBundle> {
  if (!(await hasAppspecAtRoot(dir))) {
    throw new FerryError('INVALID_ARGUMENT', `PATH: ${dir} has no appspec.yml (or appspec.yaml) at its root; a revision needs one (see hooks-examples/)`);
  }
  // node-tar reads a leading '@' as "append this archive": spell such names ./@name.
  const entries = (await packingOrder(dir)).map(e => (e.startsWith('@') ? `./${e}` : e));
  const tmp = await tempArchive('revision.tgz');
  try {
    await createTar({ file: tmp.file, gzip: true, cwd: dir, portable: true, noDirRecurse: true, follow: false }, entries);
    return { file: tmp.file, bundleType: 'tgz', ...(await sha256File(tmp.file)), cleanup: tmp.cleanup };
  } catch (err) {
    await tmp.cleanup();
    throw new FerryError('BUNDLE_REJECTED', `cannot pack ${dir}: ${describeError(err)}`, { cause: err });
  }
}

/** An existing .tar, .tgz/.tar.gz or .zip, uploaded as is. */
export async function prepareArchive(file: string): Promise<PreparedBundle> {
  const bundleType = bundleTypeOf(file);
  if (!bundleType) {
    throw new FerryError('INVALID_ARGUMENT', `PATH: ${file} is not a directory, .tar, .tgz, .tar.gz or .zip`);
  }
  return { file, bundleType, ...(await sha256File(file)), cleanup: async () => {} };
}

/** The git invocations of `revision push --git`, as data (docs/design/style.md §7). */
export const gitArgv = {
  revParse: (repo: string, rev: string) => ['-C', repo, 'rev-parse', '--verify', '--end-of-options', `${rev}^{commit}`],
  appspecAtRoot: (repo: string, commit: string) => ['-C', repo, 'ls-tree', '--name-only', commit, '--', ...APPSPEC_NAMES],
  archive: (repo: string, commit: string) => ['-C', repo, 'archive', '--format=tar.gz', commit],
};

function git(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', argv, { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout.trim());
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new FerryError('TOOL_MISSING', '--git needs git, which is not installed (or not on PATH)', { cause: err }));
      }
      reject(new FerryError('INVALID_ARGUMENT', String(stderr).trim().split('\n').pop() || describeError(err), { cause: err }));
    });
  });
}

async function gitArchiveTo(argv: string[], file: string): Promise<void> {
  const child = spawn('git', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', code => resolve(code ?? 1));
  });
  await pipeline(child.stdout, createWriteStream(file, { mode: 0o600 }));
  const code = await exited;
  if (code !== 0) throw new FerryError('BUNDLE_REJECTED', `git archive failed (exit ${code}): ${stderr.trim()}`);
}

/** `git rev-parse REV^{commit}`, a check for the appspec, then `git archive --format=tar.gz`. */
export async function prepareGit(repo: string, rev: string): Promise<PreparedBundle> {
  const st = await fs.stat(repo).catch(() => undefined);
  if (!st?.isDirectory()) throw new FerryError('INVALID_ARGUMENT', `--git: ${repo} is not a directory`);
  const commit = await git(gitArgv.revParse(repo, rev)).catch(err => {
    throw isToolMissing(err) ? err : new FerryError('INVALID_ARGUMENT', `--commit: '${rev}' is not a commit in ${repo}: ${describeError(err)}`, { cause: err });
  });
  const appspec = await git(gitArgv.appspecAtRoot(repo, commit));
  if (appspec === '') {
    throw new FerryError('INVALID_ARGUMENT', `--commit: ${commit.slice(0, 12)} has no appspec.yml (or appspec.yaml) at the root of ${repo}`);
  }
  const tmp = await tempArchive('revision.tgz');
  try {
    await gitArchiveTo(gitArgv.archive(repo, commit), tmp.file);
    return { file: tmp.file, bundleType: 'tgz', commit, ...(await sha256File(tmp.file)), cleanup: tmp.cleanup };
  } catch (err) {
    await tmp.cleanup();
    throw err;
  }
}

function isToolMissing(err: unknown): boolean {
  return err instanceof FerryError && err.code === 'TOOL_MISSING';
}
