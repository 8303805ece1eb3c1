/**
 * The web console on the coordinator's port (HTTP/1.1 side of net/listener.ts), under /ui/:
 *
 *   GET  /ui/…                      the page (index.html for every deep link), /ui/assets/* its files
 *   GET  /ui/api/session            who is signed in, the role's calls, the CSRF token
 *   POST /ui/api/session            sign in with an API token {token}; sets the session cookie
 *   POST /ui/api/signout            ends the session
 *   POST /ui/api/call/<Method>      a ControlService call with a JSON request (gateway.ts)
 *   GET  /ui/api/stream/<Method>?q= a ControlService stream as server-sent events, resumed by Last-Event-ID
 *
 * Security (docs/console.md): every response carries a strict Content-Security-Policy (no inline
 * script or style); every POST must come from the console's own origin (Origin header), as JSON,
 * and, signed in, with the session's CSRF token; the session cookie is HttpOnly, SameSite=Strict and
 * Secure (plaintext only with --insecure, where the Host must be a loopback name too, so a
 * DNS-rebinding page cannot drive it).
 */
import type http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { describeError } from '../../common/errors.js';
import type { Context } from '../context.js';
import type { AuditEntry } from '../domain/audit.js';
import type { AddressCounter } from '../security/rate-limit.js';
import { type Asset, loadAssets } from './assets.js';
import { CONSOLE_STREAMS, type ConsoleStream, type Credential, Gateway, errorBody, httpStatusOf } from './gateway.js';
import { SESSION_COOKIE, SESSION_TTL_MS, type Session, Sessions, csrfMatches, readCookie, sessionCookie } from './sessions.js';

export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
  + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const MAX_BODY = 64 * 1024;
/** SSE comment lines this often keep a quiet stream (and any proxy before it) from timing out. */
const SSE_HEARTBEAT_MS = 15_000;
const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i;

export interface ConsoleOptions {
  ctx: Context;
  mode: 'tls' | 'plaintext';
  audit: (entry: AuditEntry) => void;
  refusals: AddressCounter;
  assets?: Map<string, Asset>;
}

/** The console's request handler: true when it took the request (a path under /ui, or / itself). */
export function consoleRoutes(o: ConsoleOptions): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const gateway = new Gateway(o.ctx, o.mode, o.audit, o.refusals);
  const sessions = new Sessions(o.ctx.store);
  const assets = o.assets ?? loadAssets();
  const secure = o.mode === 'tls';
  const now = () => o.ctx.clock.now();
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/' && url.pathname !== '/ui' && !url.pathname.startsWith('/ui/')) return false;
    securityHeaders(res, secure);
    if (!secure && !LOOPBACK_HOST.test(req.headers.host ?? '')) {
      json(res, 403, errorBody(grpc.status.PERMISSION_DENIED, 'this coordinator serves plaintext (--insecure): its console answers only to a loopback address (127.0.0.1, localhost, [::1])'));
      return true;
    }
    if (url.pathname === '/' || url.pathname === '/ui') {
      res.writeHead(302, { location: '/ui/' }).end();
      return true;
    }
    const peer = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`;
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    const api = url.pathname.startsWith('/ui/api/') ? url.pathname.slice('/ui/api/'.length) : undefined;
    if (api === undefined) return serveAsset(res, assets, url.pathname), true;
    // An API request, once its session (if any) is read from the store.
    void sessions.get(cookie, now())
      .then(session => apiRoute(api, session), err => json(res, 500, errorBody(grpc.status.INTERNAL, describeError(err))));
    return true;

    function apiRoute(api: string, session: Session | undefined): boolean {
      if (req.method === 'POST') {
        const refused = refuseCrossSite(req, secure, api === 'session' ? undefined : session);
        if (refused) {
          o.audit({
            at: new Date(now()).toISOString(), actor: session?.actor ?? 'anonymous', role: session?.role ?? '', action: api.startsWith('call/') ? `ControlService/${api.slice('call/'.length)}` : `Console/${api}`, peer,
            outcome: 'refused', code: 'PERMISSION_DENIED', message: refused, target: { origin: String(req.headers.origin ?? ''), via: 'console' },
          });
          json(res, 403, errorBody(grpc.status.PERMISSION_DENIED, refused));
          return true;
        }
      }
      const route = `${req.method} ${api.replace(/\/.*$/, '/')}`;
      switch (route) {
        case 'GET session':
          void describeSession(gateway, session, secure, peer)
            .then(body => json(res, 200, body), err => json(res, 500, errorBody(grpc.status.INTERNAL, describeError(err))));
          return true;
        case 'POST session':
          void readJson(req).then(async body => {
            const token = typeof (body as { token?: unknown })?.token === 'string' ? String((body as { token: string }).token).trim() : '';
            const credential: Credential = secure ? { token } : { insecure: true };
            try {
              const caller = await gateway.authorize('ListApplications', credential, peer, 'Console/SignIn');
              await sessions.delete(cookie);
              // The session keeps the token's id, never its secret.
              const kept: Credential = caller.id.startsWith('token:') ? { tokenId: caller.id.slice('token:'.length) } : { insecure: true };
              const opened = await sessions.create({ credential: kept, actor: caller.id, role: caller.role }, now());
              o.audit({ at: new Date(now()).toISOString(), actor: caller.id, role: caller.role, action: 'Console/SignIn', peer, outcome: 'ok', code: '', message: '', target: { via: 'console' } });
              res.setHeader('set-cookie', sessionCookie(opened.cookie, secure, SESSION_TTL_MS / 1000));
              json(res, 200, await describeSession(gateway, opened.session, secure, peer));
            } catch (err) {
              json(res, 401, errorBody(grpc.status.UNAUTHENTICATED, describeError(err)));
            }
          }, err => json(res, 400, errorBody(grpc.status.INVALID_ARGUMENT, describeError(err))));
          return true;
        case 'POST signout':
          void sessions.delete(cookie).then(() => {
            res.setHeader('set-cookie', sessionCookie('', secure, 0));
            json(res, 200, { signedIn: false });
          }, err => json(res, 500, errorBody(grpc.status.INTERNAL, describeError(err))));
          return true;
        case 'POST call/':
          if (!session) return json(res, 401, errorBody(grpc.status.UNAUTHENTICATED, 'not signed in: sign in at /ui/ with an API token')), true;
          void readJson(req)
            .then(body => gateway.unary(api.slice('call/'.length), body, session.credential, peer))
            .then(r => json(res, r.status, r.body), err => json(res, 400, errorBody(grpc.status.INVALID_ARGUMENT, describeError(err))));
          return true;
        case 'GET stream/':
          if (!session) return json(res, 401, errorBody(grpc.status.UNAUTHENTICATED, 'not signed in: sign in at /ui/ with an API token')), true;
          void serveStream(req, res, gateway, session, peer, api.slice('stream/'.length), url.searchParams.get('q'))
            .catch(err => json(res, 500, errorBody(grpc.status.INTERNAL, describeError(err))));
          return true;
        default:
          json(res, 404, errorBody(grpc.status.NOT_FOUND, `no console route ${req.method} /ui/api/${api}`));
          return true;
      }
    }
  };
}

async function describeSession(gateway: Gateway, session: Session | undefined, secure: boolean, peer: string) {
  if (!session) return { signedIn: false, insecure: !secure };
  try {
    // The token may have been revoked or have expired since sign-in.
    await gateway.authorize('ListApplications', session.credential, peer, 'Console/Session');
  } catch {
    return { signedIn: false, insecure: !secure };
  }
  return { signedIn: true, insecure: !secure, actor: session.actor, role: session.role, csrf: session.csrf, allowed: gateway.allowedFor(session.role) };
}

/**
 * Why a POST is refused as possibly cross-site, or undefined: it must name this origin in Origin
 * (browsers send it on every POST), be JSON (a cross-site form cannot send that without a CORS
 * preflight this server never grants) and, with a session, carry its CSRF token.
 */
export function refuseCrossSite(req: http.IncomingMessage, secure: boolean, session: Session | undefined): string | undefined {
  const expected = `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
  if (req.headers.origin !== expected) return `cross-origin request refused: Origin ${req.headers.origin ?? '(none)'} is not ${expected}`;
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return 'the console posts JSON only (Content-Type: application/json)';
  if (session && !csrfMatches(session, header(req, 'x-ferry-csrf'))) return 'missing or wrong CSRF token (X-Ferry-CSRF): reload the console';
  return undefined;
}

async function serveStream(req: http.IncomingMessage, res: http.ServerResponse, gateway: Gateway, session: Session, peer: string, method: string, q: string | null): Promise<void> {
  if (!(method in CONSOLE_STREAMS)) return void json(res, 404, errorBody(grpc.status.NOT_FOUND, `${method} is not a console stream; they are ${Object.keys(CONSOLE_STREAMS).join(', ')}`));
  let body: Record<string, unknown>;
  try {
    body = q ? (JSON.parse(q) as Record<string, unknown>) : {};
    if (body === null || typeof body !== 'object') throw new Error('not an object');
  } catch (err) {
    return void json(res, 400, errorBody(grpc.status.INVALID_ARGUMENT, `q: not a JSON request object (${describeError(err)})`));
  }
  let caller;
  try {
    caller = await gateway.authorize(method, session.credential, peer);
  } catch (err) {
    const code = (err as { code?: string }).code === 'PERMISSION_DENIED' ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED;
    return void json(res, httpStatusOf(code), errorBody(code, describeError(err)));
  }
  const lastId = Number(header(req, 'last-event-id'));
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  res.write('retry: 2000\n\n');
  // No keep-alive for a browser that has not taken what was sent: it is not idle.
  const heartbeat = setInterval(() => res.writableNeedDrain || res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
  const finish = () => {
    clearInterval(heartbeat);
    res.end();
  };
  const cancel = gateway.stream(method as ConsoleStream, body, caller, peer, Number.isSafeInteger(lastId) && lastId > 0 ? lastId : undefined, {
    // False once the socket's buffer is full: the stream then waits for 'drain' (api/stream.ts).
    message: m => {
      const seq = (m as { seq?: unknown }).seq;
      return res.write(`${typeof seq === 'number' && seq > 0 ? `id: ${seq}\n` : ''}data: ${JSON.stringify(m)}\n\n`);
    },
    drained: listener => void res.on('drain', listener),
    error: (code, message) => {
      res.write(`event: failure\ndata: ${JSON.stringify(errorBody(code, message))}\n\n`);
      finish();
    },
    end: () => {
      res.write('event: end\ndata: {}\n\n');
      finish();
    },
  });
  res.on('close', () => {
    clearInterval(heartbeat);
    cancel();
  });
}

function serveAsset(res: http.ServerResponse, assets: Map<string, Asset>, pathname: string): void {
  const name = pathname.startsWith('/ui/assets/') ? pathname.slice('/ui/assets/'.length) : 'index.html';
  const asset = assets.get(name);
  if (!asset) {
    const why = assets.size === 0 ? 'the console was not built (npm run build builds it into dist/coordinator/ui/assets)' : `no console file ${name}`;
    return json(res, assets.size === 0 ? 503 : 404, errorBody(grpc.status.NOT_FOUND, why));
  }
  res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'no-cache' });
  res.end(asset.body);
}

function securityHeaders(res: http.ServerResponse, secure: boolean): void {
  res.setHeader('content-security-policy', CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  if (secure) res.setHeader('strict-transport-security', 'max-age=31536000');
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error(`the request body is over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(new Error(`the request body is not JSON: ${describeError(err)}`));
      }
    });
    req.on('error', reject);
  });
}
