import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { FerryError, describeError, isDiskFull, isFerryError } from '../../common/errors.js';
import { readPointer } from '../state/files.js';
import type { Layout } from '../state/layout.js';
import { type BackoffPolicy, FETCH_BACKOFF, backoffDelay, sleep } from './backoff.js';

/**
 * The revision cache: one verified copy of each revision per host (docs/design/architecture.md §4.3).
 *
 *   <root>/revisions/<sha256>.<tar|tgz|zip>   complete, verified: used as is, never downloaded twice
 *   <root>/revisions/<sha256>.partial         a download in progress: resumed from its size
 *
 * `ensure` downloads through a RevisionTransport (HTTP/1.1 or FetchRevision in production, a fake in tests)
 * from the partial file's size on, retrying a dropped transfer with backoff (bounded), hashes
 * every byte with SHA-256 and renames into place only when the digest matches. One deployment
 * runs at a time per host, so no two `ensure` calls race on one digest.
 */
export interface RevisionTransport {
  /**
   * The revision's bytes from `offset` on, as a stream of Buffers, read by 'data' events (each chunk
   * handled where it arrives: no promise per 64 KiB; bench/README.md) with pause/resume for
   * back-pressure. A permanent refusal is a FerryError, from `open` or as the stream's error; any
   * other error is a dropped transfer, resumed. A Buffer the stream gave must stay as it is
   * afterwards: the cache writes it to disk in the background.
   */
  open(digest: string, offset: number, signal?: AbortSignal): Promise<Readable>;
}

export const ARCHIVE_TYPES = ['tar', 'tgz', 'zip'] as const;
export type ArchiveType = (typeof ARCHIVE_TYPES)[number];

/** Written into each deployment dir by the daemon: which revision it came from (for pruning). */
export const REVISION_DIGEST_FILE = 'revision-digest';

const DIGEST = /^[0-9a-f]{64}$/;
/** Bytes received but not yet written to the partial file, at most (the disk catches up beyond). */
const WRITE_AHEAD = 16 * 1024 * 1024;
const CACHED = /^([0-9a-f]{64})\.(tar|tgz|zip|partial)$/;

export interface RetryInfo {
  digest: string;
  attempt: number;
  offset: number;
  delayMs: number;
  error: unknown;
}

export interface RevisionCacheOptions {
  dir: string;
  transport: RevisionTransport;
  /** Consecutive failed attempts (without a byte of progress) before giving up. */
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  onRetry?: (info: RetryInfo) => void;
  /** Bytes per second a download may use (0 or absent: unlimited), so a rollout does not saturate the host's link. */
  maxBytesPerSecond?: number;
  /** Told of every chunk of bytes received and written (metrics). */
  onBytes?: (bytes: number) => void;
  /** Told of every transfer that ended cleanly: from which byte, how many bytes, how long. */
  onFetched?: (info: { digest: string; offset: number; bytes: number; ms: number }) => void;
}

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

/** A network failure of one attempt (retried), as opposed to a local or permanent one. */
class AttemptFailed extends Error {}

export class RevisionCache {
  readonly dir: string;
  private readonly o: Required<Omit<RevisionCacheOptions, 'onRetry' | 'onBytes' | 'onFetched'>> & Pick<RevisionCacheOptions, 'onRetry' | 'onBytes' | 'onFetched'>;

  constructor(opts: RevisionCacheOptions) {
    this.dir = opts.dir;
    this.o = { maxAttempts: 10, backoff: FETCH_BACKOFF, sleep, random: Math.random, ...opts, maxBytesPerSecond: opts.maxBytesPerSecond ?? 0 };
  }

  pathFor(digest: string, type: ArchiveType): string {
    return path.join(this.dir, `${digest}.${type}`);
  }

  partialPath(digest: string): string {
    return path.join(this.dir, `${digest}.partial`);
  }

  /** The verified local file of a revision, downloading (or resuming) it when needed. */
  async ensure(digest: string, size: number, type: ArchiveType, signal?: AbortSignal): Promise<string> {
    if (!isDigest(digest)) throw new FerryError('INVALID_ARGUMENT', `revision digest '${digest}' is not a lowercase hex SHA-256`);
    if (!ARCHIVE_TYPES.includes(type)) throw new FerryError('INVALID_ARGUMENT', `revision ${digest}: unknown bundle type '${type}'`);
    const final = this.pathFor(digest, type);
    const st = await fs.stat(final).catch(() => undefined);
    // A cached copy is verified again before every use: a disk error or a stray write since it was
    // downloaded must not be installed (a corrupted tar once was, and reported Succeeded).
    if (st?.isFile() && (size === 0 || st.size === size)) {
      const hash = createHash('sha256');
      await hashFile(final, hash);
      if (hash.digest('hex') === digest) return final;
    }
    if (st) await fs.rm(final, { force: true }); // not what a verified download leaves: fetch again
    // The cache is the agent's alone (docs/security.md): revisions may carry config and secrets.
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.chmod(this.dir, 0o700);
    const partial = this.partialPath(digest);
    const hash = createHash('sha256');
    let offset = await hashFile(partial, hash);
    if (size > 0 && offset > size) {
      await fs.rm(partial, { force: true });
      return this.ensure(digest, size, type, signal);
    }
    await this.download(digest, size, partial, hash, offset, signal);
    const actual = hash.digest('hex');
    if (actual !== digest) {
      await fs.rm(partial, { force: true });
      throw new FerryError('CHECKSUM_MISMATCH',
        `revision ${digest}: downloaded bytes hash to ${actual}; the transfer or the stored revision is corrupt`);
    }
    await fs.rename(partial, final);
    return final;
  }

  private async download(digest: string, size: number, partial: string, hash: Hash, start: number, signal?: AbortSignal): Promise<void> {
    const cancelled = (at: number) => new Error(`download of revision ${digest} cancelled at byte ${at}`);
    let offset = start;
    let failures = 0;
    for (;;) {
      if (signal?.aborted) throw cancelled(offset);
      const before = offset;
      let error: unknown;
      try {
        offset = await this.attempt(digest, size, partial, hash, offset, signal);
        if (size === 0 || offset >= size) return; // unknown size: a clean end of the stream is the end
        error = new Error(`the transfer ended at byte ${offset} of ${size}`);
      } catch (err) {
        if (!(err instanceof AttemptFailed)) throw err;
        error = err.cause ?? err;
        offset = (await fs.stat(partial).catch(() => undefined))?.size ?? offset;
      }
      if (signal?.aborted) throw cancelled(offset);
      failures = offset > before ? 1 : failures + 1; // progress resets the count and the backoff
      if (failures >= this.o.maxAttempts) {
        throw new FerryError('UNAVAILABLE', `revision ${digest}: download failed ${failures} times in a row ` +
          `(at byte ${offset}${size ? ` of ${size}` : ''}): ${describeError(error)}`, { cause: error });
      }
      const delayMs = backoffDelay(failures, this.o.backoff, this.o.random);
      this.o.onRetry?.({ digest, attempt: failures, offset, delayMs, error });
      await this.o.sleep(delayMs, signal);
    }
  }

  /**
   * One fetch from `offset`: hashes each chunk as it arrives and appends it to the partial file in
   * the background (up to WRITE_AHEAD bytes queued, then the stream is paused), so the disk write
   * overlaps receiving the next chunk; whatever has queued up meanwhile goes in one `writev` (a
   * 64 KiB socket read per write call cost more than the disk). Every queued byte is written before
   * this returns or throws, so the partial file always ends where the next attempt resumes.
   * Network errors become AttemptFailed.
   */
  private async attempt(digest: string, size: number, partial: string, hash: Hash, offset: number, signal?: AbortSignal): Promise<number> {
    const fh = await fs.open(partial, 'a', 0o600);
    let queue: Buffer[] = [];
    let queued = 0;
    let writer: Promise<void> | undefined;
    let writeError: unknown;
    const drain = async () => {
      while (queue.length > 0 && !writeError) {
        const batch = queue;
        queue = [];
        await writeAll(fh, batch);
        const bytes = batch.reduce((n, b) => n + b.length, 0);
        queued -= bytes;
        this.o.onBytes?.(bytes);
      }
    };
    const kick = () => {
      writer ??= drain()
        .catch((err: unknown) => void (writeError ??= err ?? new Error('write failed')))
        .finally(() => {
          writer = undefined;
          if (queue.length > 0 && !writeError) kick();
        });
    };
    const belowWriteAhead = async () => {
      while (queued > WRITE_AHEAD && writer) await writer;
    };
    // Permanent refusals pass as they are; anything else from the network is a dropped transfer.
    const network = (err: unknown) => (isFerryError(err) && err.code !== 'UNAVAILABLE' ? err : new AttemptFailed(describeError(err), { cause: err }));
    const limited = this.o.maxBytesPerSecond > 0;
    const start = { offset, at: performance.now() };
    let stream: Readable | undefined;
    try {
      try {
        stream = await this.o.transport.open(digest, offset, signal);
      } catch (err) {
        throw network(err);
      }
      const source = stream;
      return await new Promise<number>((resolve, reject) => {
        let settled = false;
        // Stopping does not depend on the transport honouring the signal.
        const onAbort = () => fail(new AttemptFailed(`download of revision ${digest} cancelled at byte ${offset}`));
        const fail = (err: unknown) => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          source.destroy();
          reject(err);
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        source.on('data', (chunk: Buffer) => {
          if (settled) return;
          const bytes = chunk.length;
          if (size > 0 && offset + bytes > size) {
            fail(new FerryError('CHECKSUM_MISMATCH', `revision ${digest}: the coordinator sent more than its ${size} bytes`));
            return;
          }
          if (writeError) return fail(writeError);
          hash.update(chunk);
          offset += bytes;
          queue.push(chunk);
          queued += bytes;
          kick();
          if (queued > WRITE_AHEAD || limited) {
            source.pause();
            Promise.all([belowWriteAhead(), limited ? this.throttle(bytes, signal) : undefined])
              .then(() => !settled && source.resume(), fail);
          }
        });
        source.on('end', () => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          this.o.onFetched?.({ digest, offset: start.offset, bytes: offset - start.offset, ms: performance.now() - start.at });
          resolve(offset);
        });
        source.on('error', err => fail(network(err)));
        source.on('close', () => fail(new AttemptFailed(`the transfer of revision ${digest} stopped at byte ${offset}`)));
      });
    } catch (err) {
      if (isFerryError(err, 'CHECKSUM_MISMATCH')) {
        while (writer) await writer;
        await fs.rm(partial, { force: true });
      }
      throw err;
    } finally {
      stream?.destroy();
      while (writer) await writer;
      await fh.close();
      // A failed disk write is the host's problem, not the network's: it wins over any other outcome.
      // On a full disk the partial file goes (resuming it would need the space it holds).
      if (writeError) {
        if (isDiskFull(writeError)) await fs.rm(partial, { force: true });
        throw writeError;
      }
    }
  }

  private window = { start: 0, bytes: 0 };

  /** Sleeps as long as needed to keep the transfer under maxBytesPerSecond (a one-second window). */
  private async throttle(bytes: number, signal?: AbortSignal): Promise<void> {
    const rate = this.o.maxBytesPerSecond;
    if (rate <= 0) return;
    const now = Date.now();
    if (now - this.window.start >= 1000) this.window = { start: now, bytes: 0 };
    this.window.bytes += bytes;
    const due = this.window.start + (this.window.bytes / rate) * 1000;
    if (due > now) await this.o.sleep(due - now, signal);
  }

  /**
   * Deletes cached revisions whose digest is not in `keep`, and partial downloads whose digest is
   * not in `downloading` (default: `keep`): a failed download is not left to fill the disk.
   */
  async prune(keep: ReadonlySet<string>, downloading: ReadonlySet<string> = keep): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const removed: string[] = [];
    for (const name of names) {
      const m = CACHED.exec(name);
      if (!m || (m[2] === 'partial' ? downloading : keep).has(m[1]!)) continue;
      await fs.rm(path.join(this.dir, name), { force: true });
      removed.push(name);
    }
    return removed;
  }
}

/** Appends `chunk`, however many writes the kernel needs. */
/** Appends `chunks` in order with as few `writev` calls as the system takes. */
async function writeAll(fh: FileHandle, chunks: Buffer[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    let written = (await fh.writev(rest)).bytesWritten;
    let i = 0;
    while (i < rest.length && written >= rest[i]!.length) written -= rest[i++]!.length;
    rest = rest.slice(i);
    if (written > 0) rest[0] = rest[0]!.subarray(written);
  }
}

/** Feeds an existing file into `hash`; returns its size (0 when absent). */
async function hashFile(file: string, hash: Hash): Promise<number> {
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(file)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  return bytes;
}

/**
 * The digests the host still needs: every retained deployment dir's `revision-digest` (the group's
 * last successful install is one of them: retention never removes it). Pruning keeps these and
 * drops the rest, so the cache is bounded by the deployment retention (`--max-revisions`).
 */
export async function retainedDigests(layout: Layout): Promise<Set<string>> {
  const keep = new Set<string>();
  const add = async (deploymentDir: string) => {
    const text = await fs.readFile(path.join(deploymentDir, REVISION_DIGEST_FILE), 'utf8').catch(() => '');
    if (isDigest(text.trim())) keep.add(text.trim());
  };
  for (const group of await fs.readdir(layout.root, { withFileTypes: true }).catch(() => [])) {
    if (!group.isDirectory()) continue;
    const groupDir = path.join(layout.root, group.name);
    for (const dep of await fs.readdir(groupDir, { withFileTypes: true }).catch(() => [])) {
      if (dep.isDirectory()) await add(path.join(groupDir, dep.name));
    }
    const pointer = await readPointer(layout.lastSuccessfulInstall(group.name)).catch(() => undefined);
    if (pointer) await add(pointer);
  }
  return keep;
}
