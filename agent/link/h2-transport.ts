import http2 from 'node:http2';
import net from 'node:net';
import { loadFerryProto } from '../../proto/load.js';
import { FerryError } from '../errors.js';
import { ChunkDecoder } from './chunk-decoder.js';
import type { RevisionTransport } from './revision-cache.js';
import { fetchError } from './transport.js';

/**
 * FetchRevision over node:http2 directly, speaking the gRPC wire protocol (the same RPC, the same
 * coordinator handler, mutual TLS with the host's enrollment files): the response is decoded piece by
 * piece (chunk-decoder.ts) instead of through grpc-js, which copies every message into one buffer and
 * runs a JavaScript callback chain per 16 KiB frame. On a 2-core host this halves the agent's CPU per
 * byte received (bench/README.md, "transfer"). Only revision transfer goes this way; the Connect
 * session and everything else stay on grpc-js.
 *
 * One HTTP/2 session per transport, reused across fetches and dropped after any failure; a 16 MiB
 * flow-control window (shared/STACK.md); HTTP/2 pings while a fetch runs, so a partitioned transfer
 * fails within ~10 s instead of stalling (like the grpc-js channels' keepalive).
 */

export interface TlsFiles {
  ca: Buffer;
  key: Buffer;
  cert: Buffer;
}

export interface H2TransportOptions {
  keepaliveMs?: number;
  windowBytes?: number;
}

const PATH = '/ferry.v1.AgentService/FetchRevision';
/** Received but not yet taken by the consumer, before the stream pauses (HTTP/2 flow control then holds the coordinator). */
const QUEUE_BYTES = 16 * 1024 * 1024;

/** A gRPC status from the response, as a grpc-js ServiceError looks (fetchError maps it). */
class StatusError extends Error {
  constructor(readonly code: number, readonly details: string) {
    super(`${code} ${details}`);
  }
}

function decodeGrpcMessage(raw: string | string[] | undefined): string {
  const s = Array.isArray(raw) ? raw.join(',') : raw ?? '';
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * `tls` gives the host's current enrollment files (undefined: plaintext); when it returns other
 * files than the open session was made with (a renewed certificate), the next fetch reconnects.
 */
export function h2RevisionTransport(address: string, hostId: string, tls?: () => TlsFiles | undefined, o: H2TransportOptions = {}): RevisionTransport & { close(): void } {
  const keepaliveMs = o.keepaliveMs ?? 5000;
  const window = o.windowBytes ?? 16 * 1024 * 1024;
  const serialize = loadFerryProto().ferry.v1.AgentService.service.FetchRevision.requestSerialize;
  let session: http2.ClientHttp2Session | undefined;
  let sessionTls: TlsFiles | undefined;
  const drop = () => {
    session?.destroy();
    session = undefined;
  };
  const connect = (): http2.ClientHttp2Session => {
    const files = tls?.();
    if (session && files !== sessionTls) drop(); // renewed credentials: a new session
    if (session && !session.closed && !session.destroyed) return session;
    sessionTls = files;
    const at = address.lastIndexOf(':');
    const host = address.slice(0, at).replace(/^\[|\]$/g, '');
    const authority = `${files ? 'https' : 'http'}://${net.isIPv6(host) ? `[${host}]` : host}:${address.slice(at + 1)}`;
    const s = http2.connect(authority, {
      settings: { initialWindowSize: window },
      ...(files && { ca: files.ca, key: files.key, cert: files.cert, ALPNProtocols: ['h2'], ...(net.isIP(host) === 0 && { servername: host }) }),
    });
    s.on('connect', () => s.setLocalWindowSize(window));
    s.on('error', () => undefined); // reported through the request's stream
    s.on('close', () => {
      if (session === s) session = undefined;
    });
    s.unref();
    session = s;
    return s;
  };

  return {
    async *fetch(digest: string, offset: number, signal?: AbortSignal): AsyncGenerator<Buffer[]> {
      const s = connect();
      const body = serialize({ digest, offset, hostId });
      const framed = Buffer.alloc(5 + body.length);
      framed.writeUInt32BE(body.length, 1);
      body.copy(framed, 5);
      const stream = s.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers' });
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders | undefined;
      stream.on('response', h => (headers = h));
      stream.on('trailers', h => (trailers = h));
      stream.end(framed);
      const cancel = () => stream.close(http2.constants.NGHTTP2_CANCEL);
      signal?.addEventListener('abort', cancel, { once: true });
      // Keepalive: a ping unanswered for keepaliveMs fails the session (and this fetch).
      let unanswered: NodeJS.Timeout | undefined;
      const pinger = setInterval(() => {
        if (unanswered || s.closed || s.destroyed) return;
        unanswered = setTimeout(() => s.destroy(new Error(`no HTTP/2 ping answer from ${address} within ${keepaliveMs} ms`)), keepaliveMs);
        try {
          s.ping(() => {
            clearTimeout(unanswered);
            unanswered = undefined;
          });
        } catch {
          // The session is going away: the stream reports it.
        }
      }, keepaliveMs);
      // 'data' events feed the decoder directly (an async iterator over the stream costs a promise
      // per 16 KiB frame); whole messages queue here, and the stream pauses while the consumer
      // (hashing, disk) is more than a few messages behind.
      const decoder = new ChunkDecoder();
      const queue: Buffer[][] = [];
      let queuedBytes = 0;
      let expected = offset;
      let ended = false;
      let finished = false;
      let failure: unknown;
      let wake: (() => void) | undefined;
      const poke = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      stream.on('data', (piece: Buffer) => {
        try {
          for (const chunk of decoder.push(piece)) {
            if (chunk.offset !== expected) {
              throw new FerryError('FAILED_PRECONDITION', `FetchRevision(${digest}): the coordinator sent bytes at offset ${chunk.offset}, expected ${expected}`);
            }
            expected += chunk.bytes;
            if (chunk.bytes > 0) {
              queue.push(chunk.data);
              queuedBytes += chunk.bytes;
            }
          }
        } catch (err) {
          failure ??= err;
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }
        if (queuedBytes > QUEUE_BYTES) stream.pause();
        poke();
      });
      stream.on('end', () => {
        finished = true;
        poke();
      });
      stream.on('close', () => {
        finished = true;
        poke();
      });
      stream.on('error', err => {
        failure ??= err;
        poke();
      });
      try {
        for (;;) {
          if (signal?.aborted) throw new Error(`FetchRevision(${digest}) cancelled`);
          const next = queue.shift();
          if (next) {
            for (const p of next) queuedBytes -= p.length;
            if (stream.isPaused() && queuedBytes <= QUEUE_BYTES / 2) stream.resume();
            yield next; // one message's pieces: one disk write
            continue;
          }
          if (failure) throw failure;
          if (finished) break;
          await new Promise<void>(resolve => (wake = resolve));
        }
        ended = true;
        const status = (trailers ?? headers)['grpc-status'];
        if (status === undefined) {
          throw new Error(`FetchRevision(${digest}) from ${address}: the response ended without a gRPC status (HTTP ${headers[':status'] ?? 'no response'})`);
        }
        if (status !== '0') throw fetchError(new StatusError(Number(status), decodeGrpcMessage((trailers ?? headers)['grpc-message'])), digest, offset);
        if (!decoder.atBoundary) throw new Error(`FetchRevision(${digest}): the response was cut inside a message`);
      } catch (err) {
        drop();
        throw err;
      } finally {
        clearInterval(pinger);
        clearTimeout(unanswered);
        signal?.removeEventListener('abort', cancel);
        if (!ended && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      }
    },
    close: drop,
  };
}
