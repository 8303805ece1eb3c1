import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { AgentServiceClient } from '../../proto/gen/ferry/v1/AgentService.js';
import type { RevisionChunk__Output } from '../../proto/gen/ferry/v1/RevisionChunk.js';
import { KEEPALIVE_OPTIONS, TRANSFER_CLIENT_OPTIONS, loadAgentProto } from '../../proto/load.js';
import { FerryError, describeError } from '../../common/errors.js';
import { errorCodeOfStatus } from '../../common/grpc-status.js';
import type { RevisionTransport } from './revision-cache.js';
import { type Address, addressNow } from './endpoints.js';
import { neverAnswered } from './http-transport.js';

/**
 * gRPC clients of the coordinator's AgentService. Each client gets its own subchannel (no hidden
 * sharing, no reconnect backoff inherited from a previous failure: the session and the revision
 * cache own their retry policies). Keepalive on every channel (docs/design/stack.md §3: a partitioned
 * stream without it stalls forever); the large flow-control window only for revision transfer.
 */
export function agentClient(address: string, purpose: 'session' | 'transfer' | 'enroll', credentials?: grpc.ChannelCredentials): AgentServiceClient {
  const proto = loadAgentProto();
  return new proto.ferry.v1.AgentService(address, credentials ?? grpc.credentials.createInsecure(), {
    ...KEEPALIVE_OPTIONS,
    ...(purpose === 'transfer' ? TRANSFER_CLIENT_OPTIONS : {}),
    'grpc.use_local_subchannel_pool': 1,
  });
}

/** gRPC statuses that retrying cannot fix: FetchRevision gives up on them (common/grpc-status.ts names the code). */
const PERMANENT: ReadonlySet<number> = new Set([
  grpc.status.NOT_FOUND, grpc.status.INVALID_ARGUMENT, grpc.status.OUT_OF_RANGE, grpc.status.FAILED_PRECONDITION,
  grpc.status.PERMISSION_DENIED, grpc.status.UNAUTHENTICATED, grpc.status.UNIMPLEMENTED, grpc.status.DATA_LOSS,
]);

/** A FetchRevision failure as the revision cache sees it: permanent refusals become FerryErrors. */
function fetchError(err: unknown, digest: string, offset: number): unknown {
  const code = (err as Partial<grpc.ServiceError>).code;
  if (code === undefined || !PERMANENT.has(code)) return err;
  return new FerryError(errorCodeOfStatus(code), `FetchRevision(${digest}, offset ${offset}) refused: ${(err as grpc.ServiceError).details || describeError(err)}`, { cause: err });
}

/** FetchRevision as a RevisionTransport. A failed attempt drops its channel; the next gets a fresh one. */
export function grpcRevisionTransport(address: Address, hostId: string, credentials?: () => grpc.ChannelCredentials | undefined): RevisionTransport & { close(): void } {
  let client: AgentServiceClient | undefined;
  let clientCredentials: grpc.ChannelCredentials | undefined;
  let clientAddress: string | undefined;
  const drop = () => {
    client?.close();
    client = undefined;
  };
  async function* chunks(digest: string, offset: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
    // A renewed certificate (credentials changed), or another replica, gets a new channel.
    if (client && (clientCredentials !== credentials?.() || clientAddress !== addressNow(address))) drop();
    clientCredentials = credentials?.();
    clientAddress = addressNow(address);
    client ??= agentClient(clientAddress, 'transfer', clientCredentials);
    const call = client.FetchRevision({ digest, offset, hostId });
    const cancel = () => call.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    let expected = offset;
    try {
      for await (const chunk of call as AsyncIterable<RevisionChunk__Output>) {
        if (Number(chunk.offset) !== expected) {
          throw new FerryError('FAILED_PRECONDITION',
            `FetchRevision(${digest}): the coordinator sent bytes at offset ${chunk.offset}, expected ${expected}`);
        }
        expected += chunk.data.length;
        yield chunk.data;
      }
    } catch (err) {
      drop();
      throw fetchError(err, digest, offset);
    } finally {
      signal?.removeEventListener('abort', cancel);
      call.cancel();
    }
  }
  return {
    async open(digest: string, offset: number, signal?: AbortSignal): Promise<Readable> {
      // One chunk of read-ahead (up to 4 MiB): the cache pauses the stream for back-pressure.
      return Readable.from(chunks(digest, offset, signal), { objectMode: true, highWaterMark: 1 });
    },
    close: drop,
  };
}

export interface FetchEvents {
  /** The HTTP attempt got no answer from a coordinator's download handler; this fetch goes over FetchRevision. */
  fellBack(err: unknown): void;
  /** A transfer started, over which transport and from which byte. */
  opened?(via: 'http' | 'grpc', digest: string, offset: number): void;
}

/**
 * How the agent fetches revisions: over HTTP/1.1 from the coordinator's port first (about twice
 * grpc-js' speed on a large revision, 1.5–2× measured; link/http-transport.ts), over FetchRevision when that
 * attempt got no answer from a coordinator's download handler (an older coordinator, a proxy in
 * between). A refusal, or a failure once the bytes flow, is not a reason to switch: the revision
 * cache retries it as it is.
 */
export function fallbackTransport(http: RevisionTransport, grpc: RevisionTransport, events: FetchEvents): RevisionTransport {
  return {
    async open(digest: string, offset: number, signal?: AbortSignal): Promise<Readable> {
      try {
        const stream = await http.open(digest, offset, signal);
        events.opened?.('http', digest, offset);
        return stream;
      } catch (err) {
        if (signal?.aborted || !neverAnswered(err)) throw err;
        events.fellBack(err);
      }
      const stream = await grpc.open(digest, offset, signal);
      events.opened?.('grpc', digest, offset);
      return stream;
    },
  };
}
