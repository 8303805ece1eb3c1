/**
 * Decodes FetchRevision's response body — gRPC length-prefixed messages, each a RevisionChunk —
 * straight from the HTTP/2 DATA pieces, without assembling each message into one buffer first (what
 * grpc-js does, a copy of every byte): the `data` field comes out as views of the pieces received.
 * Fields may come in any order (protobufjs writes `data` first, the coordinator's pre-encoded chunks
 * last); unknown fields are skipped as protobuf requires.
 */

export interface DecodedChunk {
  offset: number;
  totalSize: number;
  /** The `data` field, in the pieces it arrived in (views, not copies). */
  data: Buffer[];
  bytes: number;
}

const enum State {
  FrameHeader,
  Tag,
  Varint,
  Length,
  Data,
  Skip,
}

export class ChunkDecodeError extends Error {
  override name = 'ChunkDecodeError';
}

export class ChunkDecoder {
  private state = State.FrameHeader;
  private header = Buffer.alloc(5);
  private headerGot = 0;
  /** Bytes of the current message not consumed yet. */
  private messageLeft = 0;
  private varint = 0;
  private varintShift = 1;
  private field = 0;
  private wireType = 0;
  private left = 0; // of a length-delimited field being read or skipped
  private current: DecodedChunk = fresh();

  constructor(private readonly maxMessageBytes = 64 * 1024 * 1024) {}

  /** True between messages: a response that ends anywhere else was cut short. */
  get atBoundary(): boolean {
    return this.state === State.FrameHeader && this.headerGot === 0;
  }

  /** Feeds the next piece of the body; returns the messages it completed. */
  push(piece: Buffer): DecodedChunk[] {
    const done: DecodedChunk[] = [];
    let i = 0;
    while (i < piece.length) {
      switch (this.state) {
        case State.FrameHeader: {
          const n = Math.min(5 - this.headerGot, piece.length - i);
          piece.copy(this.header, this.headerGot, i, i + n);
          this.headerGot += n;
          i += n;
          if (this.headerGot < 5) break;
          this.headerGot = 0;
          if (this.header[0] !== 0) throw new ChunkDecodeError('a compressed FetchRevision message (none was asked for)');
          this.messageLeft = this.header.readUInt32BE(1);
          if (this.messageLeft > this.maxMessageBytes) throw new ChunkDecodeError(`a FetchRevision message of ${this.messageLeft} bytes (at most ${this.maxMessageBytes})`);
          this.startField();
          if (this.messageLeft === 0) this.finish(done);
          break;
        }
        case State.Tag:
        case State.Varint:
        case State.Length: {
          const b = piece[i++]!;
          this.messageLeft -= 1;
          this.varint += (b & 0x7f) * this.varintShift;
          this.varintShift *= 0x80;
          if (b & 0x80) {
            if (this.varintShift > 2 ** 70) throw new ChunkDecodeError('a malformed varint in a FetchRevision message');
            if (this.messageLeft === 0) throw new ChunkDecodeError('a FetchRevision message ends inside a varint');
            break;
          }
          const value = this.varint;
          this.varint = 0;
          this.varintShift = 1;
          this.afterVarint(value);
          if (this.messageLeft === 0) this.endOfMessage(done);
          break;
        }
        case State.Data:
        case State.Skip: {
          const n = Math.min(this.left, piece.length - i);
          if (this.state === State.Data && n > 0) {
            this.current.data.push(piece.subarray(i, i + n));
            this.current.bytes += n;
          }
          i += n;
          this.left -= n;
          this.messageLeft -= n;
          if (this.left === 0) this.startField();
          if (this.messageLeft === 0) this.endOfMessage(done);
          break;
        }
      }
    }
    return done;
  }

  private startField(): void {
    this.state = State.Tag;
  }

  private afterVarint(value: number): void {
    if (this.state === State.Tag) {
      this.field = Math.floor(value / 8);
      this.wireType = value % 8;
      if (this.wireType === 0) this.state = State.Varint;
      else if (this.wireType === 2) this.state = State.Length;
      else if (this.wireType === 1 || this.wireType === 5) this.skip(this.wireType === 1 ? 8 : 4);
      else throw new ChunkDecodeError(`unexpected protobuf wire type ${this.wireType} in a FetchRevision message`);
      return;
    }
    if (this.state === State.Varint) {
      if (this.field === 2) this.current.offset = value;
      else if (this.field === 3) this.current.totalSize = value;
      this.startField();
      return;
    }
    // Length of a length-delimited field.
    if (value > this.messageLeft) throw new ChunkDecodeError('a FetchRevision field runs past the end of its message');
    this.left = value;
    this.state = this.field === 1 ? State.Data : State.Skip;
    if (this.field === 1) this.current = { ...this.current, data: [], bytes: 0 }; // protobuf: the last one wins
    if (value === 0) this.startField();
  }

  private skip(n: number): void {
    if (n > this.messageLeft) throw new ChunkDecodeError('a FetchRevision field runs past the end of its message');
    this.left = n;
    this.state = State.Skip;
  }

  private endOfMessage(done: DecodedChunk[]): void {
    if (this.state !== State.Tag) throw new ChunkDecodeError('a FetchRevision message ends inside a field');
    this.finish(done);
  }

  private finish(done: DecodedChunk[]): void {
    done.push(this.current);
    this.current = fresh();
    this.state = State.FrameHeader;
  }
}

function fresh(): DecodedChunk {
  return { offset: 0, totalSize: 0, data: [], bytes: 0 };
}
