import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ChunkPool, ChunkReader, type EncodedChunk, withEncodedChunks } from '../../coordinator/revisions/chunk-frames.js';
import { loadFerryProto } from '../../proto/load.js';
import type { RevisionChunk__Output } from '../../proto/gen/ferry/v1/RevisionChunk.js';
import { tempDir } from '../helpers/temp.js';

const service = loadFerryProto().ferry.v1.AgentService.service;
const fast = withEncodedChunks(service).FetchRevision;
const decode = (b: Buffer) => service.FetchRevision.responseDeserialize(b) as RevisionChunk__Output;

async function readerOf(t: Parameters<typeof tempDir>[0], bytes: Buffer | number, offset: number, chunk: number, depth = 3, pool = new ChunkPool(chunk, 64)) {
  const file = path.join(await tempDir(t), 'rev');
  if (typeof bytes === 'number') {
    await fs.writeFile(file, '');
    await fs.truncate(file, bytes); // sparse: reads as zeros
  } else {
    await fs.writeFile(file, bytes);
  }
  const fh = await fs.open(file, 'r');
  t.teardown(() => fh.close());
  return new ChunkReader(fh, (await fh.stat()).size, offset, pool, depth);
}

t.test('every chunk decodes as the RevisionChunk protobufjs would encode, from any offset', async t => {
  const bytes = randomBytes(10_000);
  for (const offset of [0, 1, 4096, 9_999, 10_000]) {
    const reader = await readerOf(t, bytes, offset, 3000);
    let expected = offset;
    for (let c = await reader.next(); c; c = await reader.next()) {
      const wire = fast.responseSerialize(c);
      const m = decode(wire);
      t.same(m, decode(service.FetchRevision.responseSerialize({ data: c.data, offset: c.offset, totalSize: c.totalSize })), `offset ${offset}: same message`);
      t.ok(wire.buffer === c.data.buffer && wire.byteOffset + wire.length === c.data.byteOffset + c.data.length,
        'the wire bytes end with the chunk read from the file, in the same memory (no copy)');
      t.equal(m.offset, expected);
      t.equal(m.totalSize, bytes.length);
      t.same(m.data, bytes.subarray(expected, expected + m.data.length));
      expected += m.data.length;
      reader.release(c);
    }
    t.equal(expected, bytes.length, `offset ${offset}: the whole rest of the file`);
  }
});

t.test('offsets and sizes past 4 GiB survive the hand-written varints', async t => {
  const size = 5 * 1024 ** 3 + 123;
  const offset = size - 5000;
  const reader = await readerOf(t, size, offset, 4096);
  const first = (await reader.next())!;
  const m = decode(fast.responseSerialize(first));
  t.equal(m.offset, offset);
  t.equal(m.totalSize, size);
  t.equal(m.data.length, 4096);
  reader.release(first);
  const second = (await reader.next())!;
  t.equal(decode(fast.responseSerialize(second)).offset, offset + 4096);
  t.equal(second.data.length, 5000 - 4096);
  reader.release(second);
  t.equal(await reader.next(), undefined);
});

t.test('a plain RevisionChunk still goes through protobufjs', async t => {
  const plain = { data: Buffer.from('hello'), offset: 7, totalSize: 12 };
  t.same(fast.responseSerialize(plain), service.FetchRevision.responseSerialize(plain));
});

t.test('buffers are reused: at most `depth` exist, and reading waits for one to come back', async t => {
  const bytes = randomBytes(64 * 1024);
  const reader = await readerOf(t, bytes, 0, 1024, 2);
  const seen = new Set<ArrayBufferLike>();
  const a = (await reader.next())!;
  const b = (await reader.next())!; // the read-ahead now waits: both buffers are out
  seen.add(a.data.buffer).add(b.data.buffer);
  let third: EncodedChunk | undefined;
  const pending = reader.next().then(c => (third = c));
  await new Promise(r => setTimeout(r, 20));
  t.equal(third, undefined, 'no third chunk before a buffer is released');
  t.same(b.data, bytes.subarray(1024, 2048), 'a chunk held by the sender is not overwritten');
  reader.release(a);
  await pending;
  t.same(third!.data, bytes.subarray(2048, 3072));
  reader.release(b);
  reader.release(third!);
  let n = 3;
  for (let c = await reader.next(); c; c = await reader.next()) {
    t.same(c.data, bytes.subarray(n * 1024, (n + 1) * 1024));
    seen.add(c.data.buffer);
    reader.release(c);
    n += 1;
  }
  t.equal(n, 64);
  t.ok(seen.size <= 2, `${seen.size} buffers for 64 chunks`);
});

t.test('close() ends a reader waiting for a buffer (the client went away)', async t => {
  const reader = await readerOf(t, randomBytes(8192), 0, 1024, 1);
  const held = (await reader.next())!;
  t.ok(held);
  const waiting = reader.next();
  reader.close();
  t.equal(await waiting, undefined);
  t.equal(await reader.next(), undefined);
});

t.test('one pool bounds every reader together: downloads take turns for its buffers, all complete', async t => {
  const pool = new ChunkPool(1024, 2);
  const a = randomBytes(20 * 1024);
  const b = randomBytes(20 * 1024 + 5);
  const readers = [await readerOf(t, a, 0, 1024, 3, pool), await readerOf(t, b, 0, 1024, 3, pool)];
  let most = 0;
  const drain = async (reader: ChunkReader) => {
    const parts: Buffer[] = [];
    for (let c = await reader.next(); c; c = await reader.next()) {
      most = Math.max(most, pool.inUse);
      parts.push(Buffer.from(c.data));
      const sent = c;
      setTimeout(() => reader.release(sent), 1); // a write completing later
    }
    return Buffer.concat(parts);
  };
  const [ra, rb] = await Promise.all(readers.map(drain));
  t.ok(ra!.equals(a) && rb!.equals(b), 'both readers got every byte, in order');
  t.ok(most <= 2, `never more than the pool's 2 buffers in use (saw ${most})`);
  await new Promise(r => setTimeout(r, 10));
  t.equal(pool.inUse, 0, 'every buffer back in the pool');
});

t.test('buffers go back to the pool after close: released late, read ahead, or granted while waiting', async t => {
  const pool = new ChunkPool(1024, 2);
  const one = await readerOf(t, randomBytes(8192), 0, 1024, 3, pool);
  const first = (await one.next())!; // and one read ahead: both buffers out
  const other = await readerOf(t, randomBytes(8192), 0, 1024, 3, pool);
  const waiting = other.next(); // waits for the pool
  one.close();
  await new Promise(r => setTimeout(r, 10));
  const got = await waiting;
  t.ok(got, 'the waiting reader got the read-ahead buffer the closed one gave back');
  one.release(first); // the closed reader's write completes later
  one.release(first); // twice: counted once
  other.release(got!);
  other.close();
  await new Promise(r => setTimeout(r, 10));
  t.equal(pool.inUse, 0, 'nothing kept by closed readers');
});
