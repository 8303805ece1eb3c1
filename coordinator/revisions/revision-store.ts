import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../../common/errors.js';
import { ChunkPool, ChunkReader } from './chunk-frames.js';
import type { SharedRevisions } from './shared-revisions.js';

/** Revisions are sent in chunks of 1 MiB (1 and 4 MiB measured the same; bench/README.md), read into ... */
export const SEND_CHUNK_BYTES = 1024 * 1024;
/** ... at most this many buffers in all, shared by every download at once (64 MiB). */
export const SEND_BUFFERS = 64;

const DIGEST = /^[0-9a-f]{64}$/;

/**
 * Revisions stored content-addressed by SHA-256 under `<data>/revisions/sha256/<ab>/<digest>`.
 * Writes go to a temp file first and are renamed into place once hashed, so a reader never sees
 * a partial revision and the same bytes are stored once.
 *
 * With `shared` (several replicas on PostgreSQL: docs/high-availability.md, "Revisions"), the shared
 * store holds the revisions and says which exist; the files here are this replica's cache of them. An
 * upload is stored there before it is acknowledged; a revision this replica lacks is copied from there,
 * its SHA-256 checked, before it is served; a cached file whose revision is gone there is removed.
 */
export class RevisionStore {
  private readonly root: string;
  private readonly incoming: string;
  /** Copies from the shared store in progress, by digest: concurrent downloads of one revision wait for one copy. */
  private readonly copying = new Map<string, Promise<void>>();

  constructor(dataDir: string, private readonly sending = new ChunkPool(SEND_CHUNK_BYTES, SEND_BUFFERS),
    private readonly shared?: SharedRevisions) {
    this.root = path.join(dataDir, 'revisions', 'sha256');
    this.incoming = path.join(dataDir, 'revisions', 'incoming');
  }

  /** The send pool's buffers in use and its capacity (a metric). */
  sendBuffers(): { inUse: number; capacity: number } {
    return { inUse: this.sending.inUse, capacity: this.sending.capacity };
  }

  pathOf(digest: string): string {
    if (!DIGEST.test(digest)) throw new FerryError('INVALID_ARGUMENT', `'${digest}' is not a SHA-256 digest`);
    return path.join(this.root, digest.slice(0, 2), digest);
  }

  async has(digest: string): Promise<boolean> {
    if (this.shared) return (await this.shared.size(this.checked(digest))) !== undefined;
    return this.hasLocal(digest);
  }

  private hasLocal(digest: string): Promise<boolean> {
    return fs.stat(this.pathOf(digest)).then(() => true, () => false);
  }

  async size(digest: string): Promise<number> {
    if (this.shared) {
      const size = await this.shared.size(this.checked(digest));
      if (size !== undefined) return size;
      await fs.rm(this.pathOf(digest), { force: true }); // deleted by another replica: drop the stale cache
    } else {
      try {
        return (await fs.stat(this.pathOf(digest))).size;
      } catch {
        // not stored
      }
    }
    throw new FerryError('NOT_FOUND', `revision ${digest} is not in the revision store`);
  }

  /** The revision's file on this replica's disk, copied from the shared store first when it is not there. */
  async localPath(digest: string): Promise<string> {
    const file = this.pathOf(digest);
    if (!this.shared) return file;
    if (await this.hasLocal(digest)) return file;
    let copy = this.copying.get(digest);
    if (copy === undefined) {
      copy = this.copyFromShared(this.shared, digest).finally(() => this.copying.delete(digest));
      this.copying.set(digest, copy);
    }
    await copy;
    return file;
  }

  /** Removes the revision's bytes: the file here and, with a shared store, its copy there. */
  async delete(digest: string): Promise<void> {
    await this.shared?.delete(this.checked(digest));
    await fs.rm(this.pathOf(digest), { force: true });
  }

  private checked(digest: string): string {
    this.pathOf(digest);
    return digest;
  }

  private async copyFromShared(shared: SharedRevisions, digest: string): Promise<void> {
    if ((await shared.size(digest)) === undefined) throw new FerryError('NOT_FOUND', `revision ${digest} is not in the revision store`);
    const { file: tmp, fh } = await this.tempFile();
    const hash = createHash('sha256');
    try {
      await shared.read(digest, async chunk => {
        hash.update(chunk);
        await fh.write(chunk);
      });
      await fh.sync();
      await fh.close();
      const got = hash.digest('hex');
      if (got !== digest) {
        throw new FerryError('CHECKSUM_MISMATCH', `revision ${digest} as read from the shared store hashes to ${got}: its stored copy is damaged; ` +
          'upload the bundle again (ferry revision push) or restore the database from a backup');
      }
      const final = this.pathOf(digest);
      await fs.mkdir(path.dirname(final), { recursive: true });
      await fs.rename(tmp, final);
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  private async tempFile(): Promise<{ file: string; fh: fs.FileHandle }> {
    await fs.mkdir(this.incoming, { recursive: true });
    const file = path.join(this.incoming, `${Date.now()}-${randomBytes(6).toString('hex')}`);
    return { file, fh: await fs.open(file, 'wx', 0o640) };
  }

  /** Starts an upload; feed chunks, then `commit()` (hash and rename) or `abort()`. */
  async begin(maxBytes: number): Promise<RevisionUpload> {
    const { file: tmp, fh } = await this.tempFile();
    const hash = createHash('sha256');
    let size = 0;
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await fh.close();
      }
    };
    return {
      write: async (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          throw new FerryError('INVALID_ARGUMENT', `revision larger than the coordinator's limit of ${maxBytes} bytes`);
        }
        hash.update(chunk);
        await fh.write(chunk);
      },
      commit: async (expected?: string) => {
        await fh.sync();
        await close();
        const digest = hash.digest('hex');
        if (expected && expected !== digest) {
          await fs.rm(tmp, { force: true });
          throw new FerryError('CHECKSUM_MISMATCH', `upload hashes to ${digest}, but the client computed ${expected}: the transfer was corrupted`);
        }
        const final = this.pathOf(digest);
        let existed: boolean;
        try {
          await fs.mkdir(path.dirname(final), { recursive: true });
          existed = await this.has(digest);
          // Stored where every replica reads it before the upload is acknowledged.
          if (this.shared && !existed) await this.shared.put(digest, tmp);
        } catch (err) {
          await fs.rm(tmp, { force: true });
          throw err;
        }
        if (await this.hasLocal(digest)) {
          await fs.rm(tmp, { force: true });
          return { digest, size, created: !existed };
        }
        await fs.rename(tmp, final);
        return { digest, size, created: !existed };
      },
      abort: async () => {
        await close();
        await fs.rm(tmp, { force: true });
      },
    };
  }

  /**
   * Opens a stored revision for sending from `offset`: 1 MiB chunks read into pre-encoded buffers
   * from the pool every download shares, with read-ahead (chunk-frames.ts). Close it when done.
   */
  async openChunks(digest: string, offset: number): Promise<{ total: number; reader: ChunkReader; close(): Promise<void> }> {
    const fh = await fs.open(await this.localPath(digest), 'r');
    try {
      const total = (await fh.stat()).size;
      const reader = new ChunkReader(fh, total, offset, this.sending);
      return { total, reader, close: () => (reader.close(), fh.close()) };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }
}

export interface RevisionUpload {
  write(chunk: Buffer): Promise<void>;
  commit(expectedDigest?: string): Promise<{ digest: string; size: number; created: boolean }>;
  abort(): Promise<void>;
}
