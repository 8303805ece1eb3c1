/**
 * Revision bytes in PostgreSQL (coordinator/store/pg-revisions.ts behind RevisionStore): replicas with
 * their own data dirs on one database. An upload on one is served by another, also after the first
 * replica's disk is gone; damaged bytes in the database are refused by their SHA-256, not served; a
 * delete on one replica reaches the others' caches; an upload the database did not take is not
 * acknowledged. Real PostgreSQL (Debian's, test/helpers/postgres.ts), real files.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ChunkPool } from '../../coordinator/revisions/chunk-frames.js';
import { RevisionStore, SEND_BUFFERS, SEND_CHUNK_BYTES } from '../../coordinator/revisions/revision-store.js';
import type { SharedRevisions } from '../../coordinator/revisions/shared-revisions.js';
import { createPool, rows } from '../../coordinator/store/pg-db.js';
import { migratePg } from '../../coordinator/store/pg-migrations.js';
import { PgRevisions } from '../../coordinator/store/pg-revisions.js';
import { startPostgres } from '../helpers/postgres.js';

const server = await startPostgres(t);
const pool = createPool({ connectionString: server.url(await server.createDatabase()), max: 6 });
t.teardown(() => pool.end());
await migratePg(pool);
const shared = new PgRevisions(pool);
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-revs-pg-'));
t.teardown(() => fs.rm(root, { recursive: true, force: true }));

let replicas = 0;
/** A replica's revision store: its own data dir, the shared database. */
async function replica(revisions: SharedRevisions = shared): Promise<{ store: RevisionStore; dir: string }> {
  const dir = path.join(root, `replica-${++replicas}`);
  await fs.mkdir(dir);
  return { store: new RevisionStore(dir, new ChunkPool(SEND_CHUNK_BYTES, SEND_BUFFERS), revisions), dir };
}

async function upload(store: RevisionStore, bytes: Buffer): Promise<{ digest: string; size: number; created: boolean }> {
  const up = await store.begin(64 * 1024 * 1024);
  for (let at = 0; at < bytes.length; at += 300_000) await up.write(bytes.subarray(at, at + 300_000));
  return up.commit(createHash('sha256').update(bytes).digest('hex'));
}

/** Every byte a download would send, through the coordinator's chunk reader. */
async function served(store: RevisionStore, digest: string): Promise<Buffer> {
  const { reader, close } = await store.openChunks(digest, 0);
  const parts: Buffer[] = [];
  try {
    for (let chunk = await reader.next(); chunk; chunk = await reader.next()) {
      parts.push(Buffer.from(chunk.data));
      reader.release(chunk);
    }
  } finally {
    await close();
  }
  return Buffer.concat(parts);
}

const cached = (dir: string, digest: string) => fs.stat(path.join(dir, 'revisions', 'sha256', digest.slice(0, 2), digest)).then(() => true, () => false);
const leftovers = async (dir: string) => fs.readdir(path.join(dir, 'revisions', 'incoming')).catch(() => [] as string[]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('an upload on one replica is served by another, also once the first replica\'s disk is gone', async t => {
  const a = await replica();
  const b = await replica();
  const bytes = randomBytes(2.5 * 1024 * 1024);
  const { digest, size, created } = await upload(a.store, bytes);
  t.ok(created);
  t.equal(size, bytes.length);
  const chunks = await rows<{ seq: number; n: number }>(pool, 'SELECT seq, length(data) AS n FROM revision_chunks WHERE digest = @digest ORDER BY seq', { digest });
  t.same(chunks.map(c => c.n), [1048576, 1048576, 524288], 'stored in 1 MiB chunks, in order');

  t.notOk(await cached(b.dir, digest), 'replica b has no copy on its disk yet');
  t.ok(await b.store.has(digest));
  t.equal(await b.store.size(digest), bytes.length);
  await fs.rm(a.dir, { recursive: true, force: true });
  t.equal(sha(await served(b.store, digest)), digest, 'replica b serves the same bytes');
  t.ok(await cached(b.dir, digest), 'and keeps them on its disk for the next download');
  t.same(await leftovers(b.dir), [], 'no temp file left');

  const again = await upload(b.store, bytes);
  t.notOk(again.created, 'the same bytes uploaded to another replica are not stored twice');
  t.same(await rows(pool, 'SELECT digest FROM revision_blobs WHERE digest = @digest', { digest }), [{ digest }]);
});

t.test('concurrent downloads on a replica copy from the database once; uploads of one digest at once store it once', async t => {
  let reads = 0;
  const counting: SharedRevisions = {
    size: d => shared.size(d), put: (d, f) => shared.put(d, f), delete: d => shared.delete(d),
    read: (d, sink) => (reads++, shared.read(d, sink)),
  };
  const a = await replica();
  const b = await replica(counting);
  const bytes = randomBytes(1024 * 1024 + 17);
  const { digest } = await upload(a.store, bytes);
  const all = await Promise.all(Array.from({ length: 5 }, () => served(b.store, digest)));
  t.ok(all.every(x => sha(x) === digest), 'five downloads, the same bytes');
  t.equal(reads, 1, 'one copy from the database');

  const c = await replica();
  const d = await replica();
  const other = randomBytes(700_000);
  const results = await Promise.all([upload(c.store, other), upload(d.store, other)]);
  t.same(results.map(r => r.digest), [sha(other), sha(other)], 'both uploads are acknowledged');
  t.same(await rows(pool, 'SELECT chunks FROM revision_blobs WHERE digest = @digest', { digest: sha(other) }), [{ chunks: 1 }]);
  t.same(await rows(pool, 'SELECT COUNT(*) AS n FROM revision_chunks WHERE digest = @digest', { digest: sha(other) }), [{ n: 1 }], 'one set of chunks');
});

t.test('damaged bytes in the database are refused by their SHA-256, nothing of them left on disk', async t => {
  const a = await replica();
  const bytes = randomBytes(2 * 1024 * 1024);
  const { digest } = await upload(a.store, bytes);
  await pool.query("UPDATE revision_chunks SET data = overlay(data placing '\\x00ff'::bytea from 1000) WHERE digest = $1 AND seq = 1", [digest]);
  const b = await replica();
  await t.rejects(served(b.store, digest), { code: 'CHECKSUM_MISMATCH', message: new RegExp(`revision ${digest} .* its stored copy is damaged`) });
  t.notOk(await cached(b.dir, digest), 'no damaged copy in the cache');
  t.same(await leftovers(b.dir), [], 'no temp file left');
  t.equal(sha(await served(a.store, digest)), digest, 'the uploading replica still serves its own good copy');
});

t.test('a revision deleted on one replica is gone from the others, their cached copies too', async t => {
  const a = await replica();
  const b = await replica();
  const bytes = randomBytes(300_000);
  const { digest } = await upload(a.store, bytes);
  t.equal(sha(await served(b.store, digest)), digest);
  t.ok(await cached(b.dir, digest));
  await a.store.delete(digest);
  t.notOk(await cached(a.dir, digest));
  t.same(await rows(pool, 'SELECT COUNT(*) AS n FROM revision_chunks WHERE digest = @digest', { digest }), [{ n: 0 }], 'its chunks are deleted with it');
  t.notOk(await b.store.has(digest));
  await t.rejects(b.store.size(digest), { code: 'NOT_FOUND' });
  t.notOk(await cached(b.dir, digest), 'replica b dropped its stale copy');
});

t.test('an upload the database did not take is not acknowledged and leaves nothing behind', async t => {
  const broken = createPool({ connectionString: server.url('no_such_database'), max: 1, connectionTimeoutMillis: 5000 });
  t.teardown(() => broken.end());
  const a = await replica(new PgRevisions(broken));
  const bytes = randomBytes(100_000);
  await t.rejects(upload(a.store, bytes), /no_such_database/);
  t.notOk(await cached(a.dir, sha(bytes)), 'not in the cache either, which would let a later upload skip the database');
  t.same(await leftovers(a.dir), []);
  t.equal(await shared.size(sha(bytes)), undefined);
});
