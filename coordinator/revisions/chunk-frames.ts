import type { FileHandle } from 'node:fs/promises';
import type * as grpc from '@grpc/grpc-js';
import type { RevisionChunk } from '../../proto/gen/ferry/v1/RevisionChunk.js';

/**
 * Revision chunks read straight into their wire encoding (bench/README.md, "transfer").
 *
 * Each `RevisionChunk` is read from the stored file into a reused buffer *behind* room for its
 * protobuf header (fields may come in any order on the wire, so `offset` and `total_size` go first
 * and the `data` field's tag and length last, right before the bytes). FetchRevision's response
 * serializer (`withEncodedChunks`) returns those bytes as they are instead of having protobufjs copy
 * them into a fresh buffer. grpc-js then copies the message once into its framed buffer, and the
 * chunk's buffer goes back to the pool when that write completes: no per-chunk allocation on our
 * side, one copy less, and far less external memory for the garbage collector to chase.
 */

const ENCODED = Symbol('ferry.encodedRevisionChunk');
const OWNER = Symbol('ferry.chunkBuffer');

/** Room for `0x10 varint(offset) 0x18 varint(total) 0x0a varint(length)`: 1+10+1+10+1+5 bytes. */
const HEADROOM = 32;

export interface EncodedChunk extends RevisionChunk {
  data: Buffer;
  offset: number;
  totalSize: number;
  [ENCODED]: Buffer;
  [OWNER]: Buffer;
}

function putVarint(buf: Buffer, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    buf[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[at++] = v;
  return at;
}

/** The protobuf encoding of a RevisionChunk whose `data` already sits at `buf[HEADROOM…]`. */
function encodeInPlace(buf: Buffer, length: number, offset: number, totalSize: number): Buffer {
  const head = Buffer.allocUnsafe(HEADROOM);
  let n = 0;
  if (offset > 0) {
    head[n++] = 0x10;
    n = putVarint(head, n, offset);
  }
  if (totalSize > 0) {
    head[n++] = 0x18;
    n = putVarint(head, n, totalSize);
  }
  if (length > 0) {
    head[n++] = 0x0a;
    n = putVarint(head, n, length);
  }
  head.copy(buf, HEADROOM - n, 0, n);
  return buf.subarray(HEADROOM - n, HEADROOM + length);
}

/**
 * FetchRevision's service definition with a response serializer that sends an EncodedChunk's bytes
 * as they are (any other RevisionChunk goes through protobufjs as before).
 */
export function withEncodedChunks<T extends grpc.ServiceDefinition>(service: T): T {
  const method = service['FetchRevision'];
  if (!method) throw new Error('withEncodedChunks: the service has no FetchRevision method');
  const fallback = method.responseSerialize;
  return {
    ...service,
    FetchRevision: { ...method, responseSerialize: (value: RevisionChunk) => (value as Partial<EncodedChunk>)[ENCODED] ?? fallback(value) },
  };
}

/**
 * The coordinator's buffers for sending revisions, shared by every download (FetchRevision and
 * HTTP): at most `capacity` buffers of `chunkSize` bytes (plus the protobuf headroom) ever exist,
 * so a thousand hosts fetching at once cost the same memory as a few dozen; a reader that finds
 * none free waits its turn (first come, first served) for one that a finished write gives back.
 */
export class ChunkPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((buf: Buffer) => void)[] = [];
  private made = 0;

  constructor(readonly chunkSize: number, readonly capacity: number) {
    if (capacity < 1) throw new Error('ChunkPool: capacity must be at least 1');
  }

  /** Buffers handed out and not yet given back. */
  get inUse(): number {
    return this.made - this.free.length;
  }

  take(): Promise<Buffer> {
    const buf = this.free.pop();
    if (buf) return Promise.resolve(buf);
    if (this.made < this.capacity) {
      this.made += 1;
      return Promise.resolve(Buffer.allocUnsafeSlow(HEADROOM + this.chunkSize));
    }
    return new Promise(resolve => this.waiting.push(resolve));
  }

  give(buf: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(buf);
    else this.free.push(buf);
  }
}

/**
 * Reads a file from `offset` in chunks of the pool's size, holding at most `depth` of the pool's
 * buffers at once and reading the next chunk while earlier ones are being sent. `next()` resolves
 * undefined at the end, or when `close()` was called (the caller went away); `release()` hands a
 * sent chunk's buffer back to the pool (once, whenever it comes: also after `close()`).
 */
export class ChunkReader {
  /** Buffers of the pool this reader holds: read or being read, not yet released. */
  private readonly held = new Set<Buffer>();
  private waiter: (() => void) | undefined;
  private closed = false;
  private readonly whenClosed: Promise<undefined>;
  private markClosed!: (v: undefined) => void;
  private position: number;
  private ahead: Promise<EncodedChunk | undefined> | undefined;
  private readonly chunkSize: number;

  constructor(
    private readonly fh: FileHandle,
    private readonly total: number,
    offset: number,
    private readonly pool: ChunkPool,
    private readonly depth = 3,
  ) {
    this.position = offset;
    this.chunkSize = pool.chunkSize;
    this.whenClosed = new Promise(resolve => (this.markClosed = resolve));
  }

  /** The next chunk; the one after it is already being read. */
  async next(): Promise<EncodedChunk | undefined> {
    const chunk = await (this.ahead ?? this.read());
    if (this.closed) {
      if (chunk) this.release(chunk);
      return undefined;
    }
    this.ahead = chunk ? this.read() : undefined;
    // A read-ahead that fails is reported by the next call; keep it from being unhandled meanwhile.
    this.ahead?.catch(() => undefined);
    return chunk;
  }

  release(chunk: EncodedChunk): void {
    this.giveBack(chunk[OWNER]);
  }

  /** Stops reading: pending and later `next()` calls resolve undefined; the read-ahead's buffer goes back. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.markClosed(undefined);
    this.ahead?.then(c => c && this.release(c), () => undefined);
    this.ahead = undefined;
    this.wake();
  }

  /**
   * Stops reading and gives every buffer this reader holds back to the pool, also those of writes
   * not yet completed: only once the transport is gone (the client went away, or its stalled
   * download was cut), so nothing will send those bytes any more. Later `release()`s are no-ops.
   */
  abandon(): void {
    this.close();
    for (const buf of [...this.held]) this.giveBack(buf);
  }

  private giveBack(buf: Buffer): void {
    if (!this.held.delete(buf)) return;
    this.pool.give(buf);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private async take(): Promise<Buffer | undefined> {
    while (!this.closed && this.held.size >= this.depth) await new Promise<void>(resolve => (this.waiter = resolve));
    if (this.closed) return undefined;
    const taking = this.pool.take();
    const buf = await Promise.race([taking, this.whenClosed]);
    if (!buf) {
      void taking.then(b => this.pool.give(b)); // arrives after close: straight back
      return undefined;
    }
    this.held.add(buf);
    return buf;
  }

  private async read(): Promise<EncodedChunk | undefined> {
    const at = this.position;
    const want = Math.min(this.chunkSize, this.total - at);
    if (want <= 0) return undefined;
    this.position += want;
    const buf = await this.take();
    if (!buf) return undefined;
    let got = 0;
    try {
      while (got < want) {
        const { bytesRead } = await this.fh.read(buf, HEADROOM + got, want - got, at + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < want) throw new Error(`revision file shorter than its ${this.total} bytes (read ${at + got})`);
    } catch (err) {
      this.giveBack(buf);
      throw err;
    }
    return { data: buf.subarray(HEADROOM, HEADROOM + got), offset: at, totalSize: this.total, [ENCODED]: encodeInPlace(buf, got, at, this.total), [OWNER]: buf };
  }
}
