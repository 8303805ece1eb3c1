/**
 * `npm run bench -- pg-revisions [--rounds N]`: what keeping revision bytes in PostgreSQL costs against
 * the SQLite default, where they live only in the data dir (docs/high-availability.md, "Revisions").
 * In process, RevisionStore itself, a 256 MiB revision, rounds interleaved:
 * - upload: the data dir alone (the default) against the data dir plus the copy into PostgreSQL
 *   (1 MiB chunk rows, one transaction) that every upload then makes before it is acknowledged;
 * - serving: reading the revision through the send path from a replica that has it on disk (the
 *   default's only case, and a replica's after its first download) against a replica that has
 *   never served it (copied from PostgreSQL, SHA-256 checked, written to disk, then read).
 * PostgreSQL is Debian's, started for the run in a temp dir (test/helpers/postgres.ts), on loopback.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChunkPool } from '../coordinator/revisions/chunk-frames.js';
import { RevisionStore, SEND_BUFFERS, SEND_CHUNK_BYTES } from '../coordinator/revisions/revision-store.js';
import { createPool } from '../coordinator/store/pg-db.js';
import { migratePg } from '../coordinator/store/pg-migrations.js';
import { PgRevisions } from '../coordinator/store/pg-revisions.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { Cleanup, fmt, percentile } from './lib.js';

const SIZE = 256 * 1024 * 1024;

export async function pgRevisionsBench(report: (line: string) => void, rounds: number): Promise<void> {
  const cleanup = new Cleanup();
  try {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-pgrev-'));
    cleanup.teardown(() => fs.rm(dir, { recursive: true, force: true }));
    const server = await startPostgres(cleanup);
    const pool = createPool({ connectionString: server.url(await server.createDatabase()), max: 4 });
    cleanup.teardown(() => pool.end());
    await migratePg(pool);
    const shared = new PgRevisions(pool);
    let replicas = 0;
    const store = async (withShared: boolean) => {
      const data = path.join(dir, `r${++replicas}`);
      await fs.mkdir(data);
      return { store: new RevisionStore(data, new ChunkPool(SEND_CHUNK_BYTES, SEND_BUFFERS), withShared ? shared : undefined), data };
    };
    const upload = async (s: RevisionStore, bytes: Buffer) => {
      const up = await s.begin(SIZE * 2);
      for (let at = 0; at < bytes.length; at += 1 << 20) await up.write(bytes.subarray(at, at + (1 << 20)));
      return (await up.commit()).digest;
    };
    const serve = async (s: RevisionStore, digest: string) => {
      const { reader, close } = await s.openChunks(digest, 0);
      const hash = createHash('sha256');
      for (let c = await reader.next(); c; c = await reader.next()) {
        hash.update(c.data);
        reader.release(c);
      }
      await close();
      if (hash.digest('hex') !== digest) throw new Error('served bytes differ');
    };
    const time = async (fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      return performance.now() - t0;
    };
    const r = { local: [] as number[], pg: [] as number[], warm: [] as number[], cold: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      const bytes = randomBytes(SIZE); // a new digest each round: nothing is found already stored
      const local = await store(false);
      r.local.push(await time(() => upload(local.store, bytes)));
      const withPg = await store(true);
      let digest = '';
      r.pg.push(await time(async () => (digest = await upload(withPg.store, bytes))));
      r.warm.push(await time(() => serve(withPg.store, digest)));
      const fresh = await store(true);
      r.cold.push(await time(() => serve(fresh.store, digest)));
      for (const s of [local, withPg, fresh]) await fs.rm(s.data, { recursive: true, force: true });
      await shared.delete(digest);
    }
    const med = (xs: number[]) => percentile(xs, 50);
    const mibs = (ms: number) => `${(SIZE / 1048576 / (ms / 1000)).toFixed(0)} MiB/s`;
    report(`pg-revisions  a 256 MiB revision, ${rounds} interleaved rounds, medians:`);
    report(`          upload, data dir only (SQLite default, baseline): ${fmt(med(r.local))} ms = ${mibs(med(r.local))}`);
    report(`          upload, data dir + PostgreSQL: ${fmt(med(r.pg))} ms = ${mibs(med(r.pg))} → ${(med(r.pg) / med(r.local)).toFixed(1)}× the default`);
    report(`          serve from disk (SQLite default; a replica's every download after its first, baseline): ${fmt(med(r.warm))} ms = ${mibs(med(r.warm))}`);
    report(`          serve on a replica without it (copy from PostgreSQL, check, then serve): ${fmt(med(r.cold))} ms = ${mibs(med(r.cold))} → ${(med(r.cold) / med(r.warm)).toFixed(1)}× from disk`);
  } finally {
    await cleanup.run();
  }
}
