import dns from 'node:dns/promises';
import net from 'node:net';
import t from 'tap';
import { listenShared, splitListen } from '../../coordinator/net/listener.js';

// The coordinator's one port (coordinator/net/listener.ts), plaintext: each connection goes to
// gRPC when it opens with the HTTP/2 preface and to the HTTP/1.1 server otherwise, with the bytes
// it already sent put back; a host name is bound on every address it resolves to.

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

async function start(t: { teardown(fn: () => unknown): void }, listen: string) {
  const seen: { route: string; first: string }[] = [];
  const routed = (route: string) => (socket: net.Socket) => {
    // What the route reads first must be what the client sent first.
    socket.once('data', d => {
      seen.push({ route, first: d.toString('latin1') });
      socket.end(`${route}\n`);
    });
    socket.resume(); // the gRPC route is handed a paused socket (Node's HTTP/2 session reads it itself)
  };
  const l = await listenShared(listen, undefined, { grpc: routed('grpc'), http: routed('http') });
  t.teardown(async () => {
    l.destroyAll();
    await l.close();
  });
  return { l, seen };
}

function talk(host: string, port: number, parts: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    let answer = '';
    s.on('data', d => (answer += d.toString()));
    s.on('end', () => resolve(answer.trim()));
    s.on('error', reject);
    s.on('connect', async () => {
      for (const p of parts) {
        s.write(p);
        await new Promise(r => setTimeout(r, 30)); // separate TCP segments
      }
    });
  });
}

t.test('plaintext connections are routed by their first bytes, which reach the route intact', async t => {
  const { l, seen } = await start(t, '127.0.0.1:0');
  t.equal(await talk('127.0.0.1', l.port, [PREFACE]), 'grpc', 'the HTTP/2 preface: gRPC');
  t.equal(await talk('127.0.0.1', l.port, ['P', 'RI * HT', 'TP/2.0\r\n\r\nSM\r\n\r\n']), 'grpc', 'the preface split over three segments: still gRPC');
  t.equal(await talk('127.0.0.1', l.port, ['GET /v1/revisions/x HTTP/1.1\r\n\r\n']), 'http', 'GET: HTTP/1.1');
  t.equal(await talk('127.0.0.1', l.port, ['P', 'OST / HTTP/1.1\r\n\r\n']), 'http', 'POST shares only its first byte with the preface: HTTP/1.1');
  t.match(seen[1]!.first, /^PRI \* HT/, 'the route reads the sniffed bytes first');
  t.match(seen[3]!.first, /^POST/, 'the route reads the sniffed bytes first');
});

t.test('a host name is bound on every address it resolves to, on one port', async t => {
  const addresses = [...new Set((await dns.lookup('localhost', { all: true })).map(a => a.address))];
  const { l } = await start(t, 'localhost:0');
  for (const a of addresses) t.equal(await talk(a, l.port, ['GET / HTTP/1.1\r\n\r\n']), 'http', `reachable on ${a}:${l.port}`);
});

t.test('listen addresses are checked', async t => {
  t.same(splitListen('[::1]:7420'), { host: '::1', port: 7420 });
  t.throws(() => splitListen('7420'), /not HOST:PORT/);
  t.throws(() => splitListen('host:99999'), /not HOST:PORT/);
  const taken = await start(t, '127.0.0.1:0');
  await t.rejects(listenShared(`127.0.0.1:${taken.l.port}`, undefined, { grpc: () => {}, http: () => {} }), /cannot listen on 127\.0\.0\.1/);
});
