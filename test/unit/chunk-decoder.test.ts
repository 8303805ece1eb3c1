import { randomBytes } from 'node:crypto';
import t from 'tap';
import { ChunkDecoder, type DecodedChunk } from '../../agent/link/chunk-decoder.js';
import { loadFerryProto } from '../../proto/load.js';

const method = loadFerryProto().ferry.v1.AgentService.service.FetchRevision;

/** A gRPC length-prefixed message. */
function frame(body: Buffer, compressed = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** `bytes` as RevisionChunk messages of `size`, encoded by protobufjs (data field first). */
function body(bytes: Buffer, size: number, total = bytes.length): Buffer {
  const frames: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    frames.push(frame(method.responseSerialize({ data: bytes.subarray(at, at + size), offset: at, totalSize: total })));
  }
  return Buffer.concat(frames);
}

function feed(decoder: ChunkDecoder, wire: Buffer, pieceSizes: () => number): DecodedChunk[] {
  const out: DecodedChunk[] = [];
  for (let at = 0; at < wire.length;) {
    const n = Math.max(1, Math.min(wire.length - at, pieceSizes()));
    out.push(...decoder.push(wire.subarray(at, at + n)));
    at += n;
  }
  return out;
}

t.test('messages split anywhere decode to the same chunks and bytes', async t => {
  const bytes = randomBytes(50_000);
  const wire = body(bytes, 7000);
  for (const [name, sizes] of [['1-byte pieces', () => 1], ['16 KiB pieces', () => 16384], ['random pieces', () => Math.floor(Math.random() * 9000)], ['one piece', () => wire.length]] as const) {
    const decoder = new ChunkDecoder();
    const chunks = feed(decoder, wire, sizes);
    t.equal(chunks.length, 8, name);
    t.same(chunks.map(c => c.offset), [0, 7000, 14000, 21000, 28000, 35000, 42000, 49000], `${name}: offsets`);
    t.ok(chunks.every(c => c.totalSize === 50_000), `${name}: sizes`);
    t.same(Buffer.concat(chunks.flatMap(c => c.data)), bytes, `${name}: the bytes`);
    t.ok(decoder.atBoundary, `${name}: ends between messages`);
  }
});

t.test('data pieces are views of what arrived, not copies', async t => {
  const wire = body(randomBytes(3000), 3000);
  const decoded = new ChunkDecoder().push(wire);
  t.equal(decoded[0]!.data.length, 1);
  t.equal(decoded[0]!.data[0]!.buffer, wire.buffer);
});

t.test('fields in any order; unknown fields are skipped; the last data field wins', async t => {
  const data = Buffer.from('payload');
  const msg = Buffer.concat([
    Buffer.from([0x18, 0x80, 0x01]), // total_size 128
    Buffer.from([0x22, 0x03, 1, 2, 3]), // unknown field 4, length-delimited
    Buffer.from([0x0a, 0x02, 9, 9]), // data (replaced below)
    Buffer.from([0x29, 0, 0, 0, 0, 0, 0, 0, 0]), // unknown field 5, fixed64
    Buffer.from([0x0a, data.length]), data,
    Buffer.from([0x10, 0x05]), // offset 5
  ]);
  const [c] = new ChunkDecoder().push(frame(msg));
  t.equal(c!.offset, 5);
  t.equal(c!.totalSize, 128);
  t.same(Buffer.concat(c!.data), data);
  t.equal(c!.bytes, data.length);
});

t.test('an empty message is a chunk with defaults', async t => {
  t.same(new ChunkDecoder().push(frame(Buffer.alloc(0))), [{ offset: 0, totalSize: 0, data: [], bytes: 0 }]);
});

t.test('a response cut inside a message is not at a boundary', async t => {
  const wire = body(randomBytes(1000), 1000);
  for (const cut of [3, 5, 10, wire.length - 1]) {
    const d = new ChunkDecoder();
    t.same(d.push(wire.subarray(0, cut)), []);
    t.notOk(d.atBoundary, `cut at ${cut}`);
  }
});

t.test('malformed input is refused with a ChunkDecodeError', async t => {
  t.throws(() => new ChunkDecoder().push(frame(Buffer.from([0x0a, 0x01]), 1)), { name: 'ChunkDecodeError' }, 'compressed');
  t.throws(() => new ChunkDecoder(100).push(frame(Buffer.alloc(101))), { name: 'ChunkDecodeError' }, 'too large');
  t.throws(() => new ChunkDecoder().push(frame(Buffer.from([0x0a, 0x05, 1]))), { name: 'ChunkDecodeError' }, 'field longer than its message');
  t.throws(() => new ChunkDecoder().push(frame(Buffer.from([0x10, 0x80]))), { name: 'ChunkDecodeError' }, 'message ends inside a varint');
  t.throws(() => new ChunkDecoder().push(frame(Buffer.from([0x0b]))), { name: 'ChunkDecodeError' }, 'wire type 3');
});
