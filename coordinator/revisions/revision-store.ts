import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../../common/errors.js';
import { ChunkPool, ChunkReader } from './chunk-frames.js';

/** Revisions are sent in chunks of 1 MiB (1 and 4 MiB measured the same; bench/README.md), read into ... */
export const SEND_CHUNK_BYTES = 1024 * 1024;
/** ... at most this many buffers in all, shared by every download at once (64 MiB). */
export const SEND_BUFFERS = 64;

const DIGEST = /^[0-9a-f]{64}$/;

/**
 * Revisions stored content-addressed by SHA-256 under `<data>/revisions/sha256/<ab>/<digest>`.
 * Writes go to a temp file first and are renamed into place once hashed, so a reader never sees
 * a partial revision and the same bytes are stored once.
 */
export class RevisionStore {
  private readonly root: string;

  constructor(dataDir: string, private readonly sending = new ChunkPool(SEND_CHUNK_BYTES, SEND_BUFFERS)) {
    this.root = path.join(dataDir, 'revisions', 'sha256');
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
    return fs.stat(this.pathOf(digest)).then(() => true, () => false);
  }

  async size(digest: string): Promise<number> {
    try {
      return (await fs.stat(this.pathOf(digest))).size;
    } catch {
      throw new FerryError('NOT_FOUND', `revision ${digest} is not in the revision store`);
    }
  }

  /** Starts an upload; feed chunks, then `commit()` (hash and rename) or `abort()`. */
  async begin(maxBytes: number): Promise<RevisionUpload> {
    const tmpDir = path.join(this.root, '..', 'incoming');
    await fs.mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}`);
    const fh = await fs.open(tmp, 'wx', 0o640);
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
        await fs.mkdir(path.dirname(final), { recursive: true });
        if (await this.has(digest)) {
          await fs.rm(tmp, { force: true });
          return { digest, size, created: false };
        }
        await fs.rename(tmp, final);
        return { digest, size, created: true };
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
    const fh = await fs.open(this.pathOf(digest), 'r');
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
