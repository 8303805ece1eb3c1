/**
 * Revision bytes in PostgreSQL (migration p03): a `revision_blobs` row per digest and its bytes in 1 MiB
 * `revision_chunks`, all written in one transaction, so a blob row means every chunk is there. Every
 * replica reads them; PostgreSQL's own replication and backups keep them (docs/high-availability.md,
 * "Revisions": why here and not an object store).
 */
import { promises as fs } from 'node:fs';
import type pg from 'pg';
import type { SharedRevisions } from '../revisions/shared-revisions.js';
import { changes, one, run, transaction } from './pg-db.js';

/** Bytes per chunk row: 1 MiB, the coordinator's send chunk; one row per round trip both ways. */
export const PG_CHUNK_BYTES = 1024 * 1024;

export class PgRevisions implements SharedRevisions {
  constructor(private readonly pool: pg.Pool, private readonly chunkBytes = PG_CHUNK_BYTES) {}

  async size(digest: string): Promise<number | undefined> {
    return (await one<{ size: number }>(this.pool, 'SELECT size FROM revision_blobs WHERE digest = @digest', { digest }))?.size;
  }

  async put(digest: string, file: string): Promise<void> {
    const fh = await fs.open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      const chunks = Math.ceil(size / this.chunkBytes);
      await transaction(this.pool, async client => {
        // A replica storing the same digest at once holds the row: this waits for its commit, then finds it.
        const inserted = await changes(client, `INSERT INTO revision_blobs (digest, size, chunks, stored_at)
          VALUES (@digest, @size, @chunks, @at) ON CONFLICT (digest) DO NOTHING`, { digest, size, chunks, at: new Date().toISOString() });
        if (inserted === 0) return;
        for (let seq = 0; seq < chunks; seq++) {
          const data = Buffer.allocUnsafe(Math.min(this.chunkBytes, size - seq * this.chunkBytes));
          const { bytesRead } = await fh.read(data, 0, data.length, seq * this.chunkBytes);
          if (bytesRead !== data.length) throw new Error(`${file} changed while it was stored (read ${bytesRead} of ${data.length} bytes at ${seq * this.chunkBytes})`);
          await run(client, 'INSERT INTO revision_chunks (digest, seq, data) VALUES (@digest, @seq, @data)', { digest, seq, data });
        }
      });
    } finally {
      await fh.close();
    }
  }

  async read(digest: string, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    const blob = await one<{ chunks: number }>(this.pool, 'SELECT chunks FROM revision_blobs WHERE digest = @digest', { digest });
    if (blob === undefined) throw new Error(`revision ${digest} is not in the database`);
    const chunk = async (seq: number): Promise<Buffer> => {
      // bytea as text (hex, decoded natively by pg): measured faster here than base64 via encode(), and pg's
      // binary results would decode the bytes as UTF-8 on the way, damaging them.
      const row = await one<{ data: Buffer }>(this.pool, 'SELECT data FROM revision_chunks WHERE digest = @digest AND seq = @seq', { digest, seq });
      if (row === undefined) throw new Error(`revision ${digest} lacks its chunk ${seq} of ${blob.chunks} in the database`);
      return row.data;
    };
    // The next chunk is on its way while this one is written.
    let next = blob.chunks > 0 ? chunk(0) : undefined;
    for (let seq = 0; next !== undefined; seq++) {
      const data = await next;
      next = seq + 1 < blob.chunks ? chunk(seq + 1) : undefined;
      next?.catch(() => undefined); // reported by the next await; not unhandled if the sink fails first
      await sink(data);
    }
  }

  async delete(digest: string): Promise<void> {
    await run(this.pool, 'DELETE FROM revision_blobs WHERE digest = @digest', { digest });
  }
}
