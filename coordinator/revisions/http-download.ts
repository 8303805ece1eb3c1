import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { FerryError, describeError } from '../../common/errors.js';
import { HOST_HEADER, MARK_HEADER, REVISION_PATH } from '../../proto/revision-http.js';
import type { Context } from '../context.js';
import type { AuditEntry } from '../domain/audit.js';
import { Refusal, authorizeHostCertificate } from '../security/auth.js';
import { authorizeRevisionDownload } from '../security/revision-access.js';
import { DEFAULT_STALL_TIMEOUT_MS, pumpChunks } from './download-pump.js';

/**
 * Revision bytes over HTTP/1.1, on the coordinator's one port (net/listener.ts routes them here):
 *
 *   GET /v1/revisions/<sha256>          200, the whole stored revision
 *   Range: bytes=N-                     206 from byte N (an agent resuming a dropped download)
 *
 * The same revision and the same rules as FetchRevision (which stays, and which agents fall back
 * to): with TLS only an enrolled host's certificate, issued here and neither revoked nor expired,
 * and only for a revision deployed to that host (security/revision-access.ts); with --insecure
 * (loopback) anyone. Refusals are audited like refused gRPC calls. It exists
 * because grpc-js' framing costs about half of the link's speed on a large revision and Node's
 * HTTP/1.1 server sends a file at close to raw-TCP speed (bench/README.md, "transfer").
 */
const DIGEST = /^[0-9a-f]{64}$/;

function send(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', [MARK_HEADER]: '1', ...headers }).end(`${message}\n`);
}

/** `bytes=N-` → N; no header → 0; anything else → undefined (this server serves one open range only). */
function rangeStart(header: string | undefined): number | undefined {
  if (header === undefined) return 0;
  const m = /^bytes=(\d{1,15})-$/.exec(header.trim());
  return m ? Number(m[1]) : undefined;
}

export function revisionDownloads(ctx: Context, mode: 'tls' | 'plaintext', audit: (entry: AuditEntry) => void): http.RequestListener {
  return (req, res) => {
    void serve(ctx, mode, audit, req, res).catch(err => {
      ctx.log.warn('revision download failed', { component: 'revisions', url: req.url, reason: describeError(err) });
      send(res, 500, `cannot send the revision: ${describeError(err)}`);
    });
  };
}

async function serve(ctx: Context, mode: 'tls' | 'plaintext', audit: (entry: AuditEntry) => void, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = (req.url ?? '').split('?')[0]!;
  if (!url.startsWith(REVISION_PATH)) {
    send(res, 404, `not found: this port serves gRPC and revision downloads (GET ${REVISION_PATH}<sha256>)`);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, `method ${req.method} not allowed: GET ${REVISION_PATH}<sha256>`, { allow: 'GET, HEAD' });
    return;
  }
  const digest = url.slice(REVISION_PATH.length);
  const peer = `${req.socket.remoteAddress}:${req.socket.remotePort ?? 0}`;
  // With --insecure the host's own word, as in FetchRevision's request; with TLS its certificate.
  let hostId = String(req.headers[HOST_HEADER] ?? 'unknown');
  if (mode === 'tls') {
    const socket = req.socket as TLSSocket;
    const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
    try {
      hostId = (await authorizeHostCertificate(ctx.store, cert?.fingerprint256 ? cert : undefined, ctx.clock.now())).id.replace(/^host:/, '');
    } catch (err) {
      const refusal = err instanceof Refusal ? err : new Refusal(new FerryError('UNAUTHENTICATED', describeError(err)), 'anonymous', '');
      audit({
        at: new Date(ctx.clock.now()).toISOString(), actor: refusal.actor, role: refusal.role, action: `GET ${REVISION_PATH}`,
        peer, outcome: 'refused', code: refusal.code, message: refusal.message, target: { ...refusal.target, revision: digest },
      });
      send(res, refusal.code === 'PERMISSION_DENIED' ? 403 : 401, refusal.message);
      return;
    }
  }
  if (!DIGEST.test(digest)) {
    send(res, 400, `'${digest}' is not a revision digest (64 lowercase hex characters of SHA-256)`);
    return;
  }
  if (mode === 'tls') {
    try {
      await authorizeRevisionDownload(ctx.store, hostId, digest);
    } catch (err) {
      const message = describeError(err);
      audit({
        at: new Date(ctx.clock.now()).toISOString(), actor: `host:${hostId}`, role: 'agent', action: `GET ${REVISION_PATH}`,
        peer, outcome: 'refused', code: 'PERMISSION_DENIED', message, target: { revision: digest },
      });
      send(res, 403, message);
      return;
    }
  }
  if (!await ctx.store.findRevisionByDigest(digest)) {
    send(res, 404, `revision ${digest} is not known to the coordinator`);
    return;
  }
  const total = await ctx.revisions.size(digest);
  const start = rangeStart(req.headers.range);
  if (start === undefined) {
    send(res, 416, `Range '${req.headers.range}' is not served: use bytes=N- (an offset to the end)`, { 'content-range': `bytes */${total}` });
    return;
  }
  if (start > total || (start === total && start > 0)) {
    send(res, 416, `offset ${start} is at or past the end of revision ${digest} (${total} bytes)`, { 'content-range': `bytes */${total}` });
    return;
  }
  // Each host its share of the send buffers (docs/security.md): with --insecure the host's own word.
  let release: () => void;
  try {
    release = ctx.downloads?.perHost.acquire(hostId) ?? (() => undefined);
  } catch (err) {
    send(res, 429, describeError(err), { 'retry-after': '5' });
    return;
  }
  res.once('close', release);
  const partial = req.headers.range !== undefined;
  res.writeHead(partial ? 206 : 200, {
    'content-type': 'application/octet-stream',
    [MARK_HEADER]: '1',
    'content-length': String(total - start),
    'accept-ranges': 'bytes',
    etag: `"${digest}"`,
    ...(partial && { 'content-range': `bytes ${start}-${total - 1}/${total}` }),
  });
  ctx.log.debug('revision fetch', { component: 'revisions', revision: digest, host_id: hostId, offset: start, bytes: total - start, transport: 'http' });
  if (req.method === 'HEAD' || total === start) {
    res.end();
    return;
  }
  // Reused buffers (the same reader as FetchRevision's): a fresh buffer per read cost more in
  // garbage collection than the socket writes themselves (measured: ~77 of ~140 ms per 256 MiB).
  const { reader, close } = await ctx.revisions.openChunks(digest, start);
  // The socket is gone: nothing will send the bytes of the writes still waiting, so their buffers go back now.
  const gone = () => reader.abandon();
  res.on('close', gone);
  try {
    // A buffer goes back once the socket has taken its bytes: at most a few are in flight; a client
    // that takes nothing for the stall timeout loses its connection (download-pump.ts).
    await pumpChunks(reader, (chunk, done) => void res.write(chunk.data, done), {
      stallTimeoutMs: ctx.downloads?.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      cut: () => {
        ctx.log.warn('revision download stalled: connection closed', { component: 'revisions', revision: digest, host_id: hostId, transport: 'http' });
        res.destroy();
      },
      served: bytes => ctx.metrics.revisionBytesServed(bytes),
    });
    if (!res.destroyed) res.end();
  } finally {
    await close();
  }
}
