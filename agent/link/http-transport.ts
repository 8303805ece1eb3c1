import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Readable } from 'node:stream';
import { HOST_HEADER, MARK_HEADER, REVISION_PATH } from '../../proto/revision-http.js';
import { FerryError, describeError } from '../../common/errors.js';
import type { AgentIdentity } from './identity.js';
import type { RevisionTransport } from './revision-cache.js';
import { type Address, addressNow } from './endpoints.js';

/**
 * Revision bytes over HTTP/1.1 from the coordinator's own port (`GET /v1/revisions/<sha256>`,
 * `Range: bytes=N-` to resume; coordinator/revisions/http-download.ts). HTTPS with the host's
 * enrollment identity when enrolled (the CA pinned at enrollment, the host certificate as the
 * client's), plain HTTP to a coordinator run --insecure. One connection per fetch.
 */

/** Something answered, but not a Ferry coordinator's download handler (an older coordinator, a proxy in between). */
export class NotServedOverHttp extends Error {}

/** The HTTP answers retrying cannot fix, and the FerryError code each becomes. */
const PERMANENT: Record<number, FerryError['code']> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  416: 'INVALID_ARGUMENT',
};

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(i + 1)) };
}

/** The start of an answer's body (up to `limit` characters); the rest is not read (it may be a whole revision). */
function readText(res: http.IncomingMessage, limit = 4096): Promise<string> {
  return new Promise(resolve => {
    let text = '';
    const done = () => resolve(text.trim().slice(0, limit));
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      text += d;
      if (text.length >= limit) {
        res.destroy();
        done();
      }
    });
    res.on('end', done);
    res.on('error', done);
    res.on('close', done);
  });
}

export function httpRevisionTransport(to: Address, hostId: string, identity?: () => AgentIdentity | undefined): RevisionTransport {
  return {
    async open(digest: string, offset: number, signal?: AbortSignal): Promise<Readable> {
      const address = addressNow(to);
      const { host, port } = splitAddress(address);
      const tls = identity?.();
      const options: https.RequestOptions = {
        host, port, path: `${REVISION_PATH}${digest}`, method: 'GET', agent: false, signal,
        headers: { ...(offset > 0 && { range: `bytes=${offset}-` }), 'user-agent': 'ferry-agent', [HOST_HEADER]: hostId },
        ...(tls && { ca: tls.ca, key: tls.key, cert: tls.cert, ALPNProtocols: ['http/1.1'], ...(!net.isIP(host) && { servername: host }) }),
      };
      const url = `${tls ? 'https' : 'http'}://${address}${REVISION_PATH}${digest}`;
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = (tls ? https : http).request(options, resolve);
        req.on('error', reject);
        req.end();
      });
      try {
        const status = res.statusCode ?? 0;
        if (res.headers[MARK_HEADER] !== '1') {
          // A proxy, or a server that is not a Ferry coordinator serving downloads: not its word.
          throw new NotServedOverHttp(`GET ${url}: HTTP ${status} without ${MARK_HEADER}, so not from a Ferry coordinator's download handler: ${(await readText(res)).slice(0, 200)}`);
        }
        if (status === 416 && offset > 0 && res.headers['content-range'] === `bytes */${offset}`) {
          res.destroy();
          return Readable.from([]); // nothing left to send
        }
        if (status !== (offset > 0 ? 206 : 200)) {
          const text = await readText(res);
          const permanent = PERMANENT[status];
          if (permanent) throw new FerryError(permanent, `GET ${url}${offset > 0 ? ` from byte ${offset}` : ''} refused (${status}): ${text}`);
          throw new Error(`GET ${url}: HTTP ${status}: ${text.slice(0, 200)}`); // the coordinator's own failure: retried
        }
        if (offset > 0 && !String(res.headers['content-range'] ?? '').startsWith(`bytes ${offset}-`)) {
          throw new FerryError('FAILED_PRECONDITION', `GET ${url}: asked for bytes from ${offset}, got Content-Range '${res.headers['content-range']}'`);
        }
      } catch (err) {
        res.destroy();
        throw err;
      }
      // The body as it arrives. A connection that closes before Content-Length bytes is the stream's error.
      res.on('aborted', () => res.destroy(new Error(`GET ${url}: the connection closed before the whole revision arrived`)));
      return res;
    },
  };
}

/** A connection-level failure of an attempt that never got an HTTP answer, worth trying over gRPC before calling it a network fault. */
export function neverAnswered(err: unknown): boolean {
  if (err instanceof NotServedOverHttp) return true;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  // An HTTP/2-only server: TLS refuses the ALPN, plaintext resets the connection on a non-HTTP/2 preface.
  return code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL' || code === 'ECONNRESET' || code === 'HPE_INVALID_CONSTANT' ||
    /socket hang up|no application protocol/i.test(describeError(err));
}
