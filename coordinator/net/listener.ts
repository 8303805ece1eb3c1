import dns from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import { FerryError, describeError } from '../../common/errors.js';

/**
 * The coordinator's one port, shared by two protocols (the cmux pattern; docs/design/architecture.md §4.3):
 *
 * - HTTP/2: gRPC, handed to grpc-js through its connection injector;
 * - HTTP/1.1: revision bytes (`GET /v1/revisions/<sha256>`, revisions/http-download.ts), which
 *   Node's HTTP/1.1 server moves at close to raw-TCP speed where grpc-js' framing costs half of it.
 *
 * With TLS this process terminates TLS itself and routes by the protocol the client negotiated
 * (ALPN `h2` alone → gRPC; `http/1.1` offered, or none → HTTP/1.1). The socket handed on is the TLSSocket, so
 * grpc-js still sees the client certificate (`getAuthContext`). Plaintext (--insecure, loopback
 * only) is routed by the first bytes: every HTTP/2 connection opens with the preface `PRI * HTTP/2.0`.
 */
export interface Routes {
  grpc(socket: net.Socket): void;
  http(socket: net.Socket): void;
}

export interface TlsIdentity {
  key: Buffer;
  /** The server certificate followed by the CA (a client pinning the CA by fingerprint sees it in the chain). */
  cert: Buffer;
  /** The CA client certificates are checked against; a client without one still connects (the CLI presents a token). */
  ca: Buffer;
}

export interface SharedListener {
  readonly port: number;
  /** Stops accepting; open connections are the routes' to close. */
  close(): Promise<void>;
  /** Destroys every connection this listener accepted that is still open (the last step of a shutdown). */
  destroyAll(): void;
  /**
   * Serves `identity` from the next handshake on; connections already open keep the one they were
   * made with. Throws (and keeps the current identity) when Node refuses it. Only with TLS.
   */
  setIdentity(identity: TlsIdentity): void;
}

/** Bounds on connections (docs/security.md): an unauthenticated client must not hold the coordinator's file descriptors. */
export interface ConnectionLimits {
  /** A client that has not finished its TLS handshake (or, plaintext, sent its first bytes) this long after connecting is dropped. */
  connectTimeoutMs: number;
  /** Open connections at most; more are closed at once. 0: no limit. */
  maxConnections: number;
  /** Open connections from one address at most; more are closed at once. 0: no limit. */
  maxPerAddress: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { connectTimeoutMs: 10_000, maxConnections: 20_000, maxPerAddress: 256 };
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** `HOST:PORT`, `[v6]:PORT` → host and port. */
export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const port = Number(listen.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new FerryError('INVALID_ARGUMENT', `--listen: '${listen}' is not HOST:PORT (e.g. 127.0.0.1:7420)`);
  }
  return { host: listen.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * Reads until the first bytes tell HTTP/2 from anything else, then puts them back and routes the
 * socket. The bytes are pushed back into the socket's readable buffer, which both Node's HTTP/2
 * session and its HTTP/1.1 parser read before the socket itself.
 */
function sniff(socket: net.Socket, routes: Routes, timeoutMs: number): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const done = (route: keyof Routes) => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.pause();
    if (seen.length) socket.unshift(seen);
    routes[route](socket);
    // Node's HTTP/2 session drains the readable buffer itself; the HTTP/1.1 server reads the
    // socket as a stream, which must flow again.
    if (route === 'http') socket.resume();
  };
  const onData = (d: Buffer) => {
    seen = seen.length ? Buffer.concat([seen, d]) : d;
    const n = Math.min(seen.length, H2_PREFACE.length);
    if (!seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return done('http');
    if (n === H2_PREFACE.length) done('grpc');
  };
  const onEnd = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
}

/**
 * Listens on `listen` and routes each connection. A host name is bound on every address it
 * resolves to (as grpc-js' own bind did: `localhost` on both 127.0.0.1 and ::1); port 0 picks one
 * free port for all of them. `onTlsError` hears failed handshakes (a plaintext client on the TLS
 * port, a client that does not trust the CA).
 */
export async function listenShared(
  listen: string,
  identity: TlsIdentity | undefined,
  routes: Routes,
  onTlsError: (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => void = () => {},
  limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS,
): Promise<SharedListener> {
  const { host, port } = splitListen(listen);
  const open = new Set<net.Socket>();
  const perAddress = new Map<string, number>();
  /** Counts the connection, or closes it at once when a cap is reached; false when closed. */
  const track = (socket: net.Socket): boolean => {
    const from = socket.remoteAddress ?? '';
    const n = perAddress.get(from) ?? 0;
    if ((limits.maxConnections > 0 && open.size >= limits.maxConnections) || (limits.maxPerAddress > 0 && n >= limits.maxPerAddress)) {
      socket.destroy();
      return false;
    }
    open.add(socket);
    perAddress.set(from, n + 1);
    socket.once('close', () => {
      open.delete(socket);
      const left = (perAddress.get(from) ?? 1) - 1;
      if (left > 0) perAddress.set(from, left);
      else perAddress.delete(from);
    });
    return true;
  };
  const make = (): net.Server => {
    if (!identity) {
      return net.createServer(socket => {
        socket.on('error', () => {});
        if (track(socket)) sniff(socket, routes, limits.connectTimeoutMs);
      });
    }
    const secure = tls.createServer({
      key: identity.key, cert: identity.cert, ca: identity.ca,
      requestCert: true, rejectUnauthorized: false,
      // gRPC clients offer only h2. A client that offers HTTP/1.1 too (curl fetching install.sh, a
      // browser) is an HTTP client and gets HTTP/1.1, where the downloads are served.
      ALPNCallback: ({ protocols }) => (protocols.includes('http/1.1') ? 'http/1.1' : protocols.includes('h2') ? 'h2' : protocols[0]),
      handshakeTimeout: limits.connectTimeoutMs,
    });
    // Node's handshakeTimeout starts with the first bytes: a client that connects and stays silent needs this deadline too.
    const handshakes = new Map<string, NodeJS.Timeout>();
    const key = (socket: net.Socket) => `${socket.remoteAddress}|${socket.remotePort}`;
    secure.on('connection', (socket: net.Socket) => {
      if (!track(socket)) return;
      const k = key(socket);
      handshakes.set(k, setTimeout(() => socket.destroy(), limits.connectTimeoutMs).unref());
      socket.once('close', () => {
        clearTimeout(handshakes.get(k));
        handshakes.delete(k);
      });
    });
    secure.on('secureConnection', (socket: tls.TLSSocket) => {
      clearTimeout(handshakes.get(key(socket)));
      handshakes.delete(key(socket));
      // Errors after the handshake belong to whoever the socket is handed to; this keeps one from crashing the process meanwhile.
      socket.on('error', () => {});
      routes[socket.alpnProtocol === 'h2' ? 'grpc' : 'http'](socket);
    });
    secure.on('tlsClientError', onTlsError);
    return secure;
  };
  let addresses: string[];
  try {
    addresses = net.isIP(host) ? [host] : [...new Set((await dns.lookup(host, { all: true })).map(a => a.address))];
  } catch (err) {
    throw new FerryError('UNAVAILABLE', `--listen ${listen}: cannot resolve ${host}: ${describeError(err)}`, { cause: err });
  }
  const servers: net.Server[] = [];
  const closeAll = () => Promise.all(servers.map(s => new Promise<void>(resolve => s.close(() => resolve())))).then(() => undefined);
  let bound = port;
  try {
    for (const address of addresses) {
      const server = make();
      await new Promise<void>((resolve, reject) => {
        server.once('error', err => reject(new FerryError('UNAVAILABLE', `--listen ${listen}: cannot listen on ${address}: ${describeError(err)}`, { cause: err })));
        server.listen(bound, address, () => resolve());
      });
      servers.push(server);
      bound = (server.address() as net.AddressInfo).port;
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return {
    port: bound,
    close: closeAll,
    destroyAll: () => {
      for (const s of open) s.destroy();
    },
    setIdentity: next => {
      if (!identity) throw new FerryError('FAILED_PRECONDITION', 'this listener serves plaintext (--insecure): there is no TLS identity to replace');
      for (const server of servers) (server as tls.Server).setSecureContext({ key: next.key, cert: next.cert, ca: next.ca });
    },
  };
}
