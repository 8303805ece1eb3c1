/**
 * Attack (docs/security.md): idle and slowloris connections (raw TCP, TLS idle, HTTP/1.1 trickling a byte
 * at a time, idle HTTP/2) all stayed open for minutes, and enough of them exhausted the
 * coordinator's file descriptors so that `ferry app list` failed.
 */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { promises as fs } from 'node:fs';
import t from 'tap';
import { waitFor } from '../helpers/fleet.js';
import { tlsCoordinator } from '../helpers/security.js';

const closed = (s: net.Socket) => new Promise<void>(resolve => (s.destroyed ? resolve() : s.once('close', () => resolve())));

t.test('idle, half-open and trickling connections are dropped, and one address cannot take every connection', async t => {
  const s = await tlsCoordinator(t, ['--connect-timeout', '1s', '--request-timeout', '1s', '--idle-timeout', '1s', '--max-connections-per-address', '20']);
  const [host, port] = [s.c.address.split(':')[0]!, Number(s.c.address.split(':')[1])];
  const ca = await fs.readFile(s.caFile);
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach(x => x.destroy()));

  // Raw TCP that never speaks: 30 of them, 20 allowed; all gone after the handshake timeout.
  for (let i = 0; i < 30; i++) {
    const sock = net.connect(port, host);
    sock.on('error', () => {});
    sockets.push(sock);
  }
  await Promise.all(sockets.map(closed));
  t.pass('every silent TCP connection was closed');

  // TLS done, then HTTP/1.1 headers one byte at a time.
  const slow = tls.connect({ host, port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined });
  slow.on('error', () => {});
  sockets.push(slow);
  await new Promise(resolve => slow.once('secureConnect', resolve));
  const request = 'GET /v1/revisions/' + 'a'.repeat(64) + ' HTTP/1.1\r\nHost: x\r\n';
  let sent = 0;
  const trickle = setInterval(() => !slow.destroyed && sent < request.length && slow.write(request[sent++]!), 200);
  t.teardown(() => clearInterval(trickle));
  await closed(slow);
  t.ok(sent < request.length, `a client trickling its request headers is dropped (after ${sent} bytes)`);

  // An HTTP/2 connection with no call open.
  const h2 = http2.connect(`https://${s.c.address}`, { ca, checkServerIdentity: () => undefined });
  h2.on('error', () => {});
  await waitFor('the idle HTTP/2 connection to be closed', () => h2.closed || h2.destroyed, 10_000);
  t.pass('an idle HTTP/2 connection is closed');

  // Meanwhile an operator still gets through.
  const ok = await s.as(s.admin, ['app', 'list']);
  t.equal(ok.code, 0, ok.stderr);
});

t.test('the 21st connection from one address is closed at once, while the others are open', async t => {
  const s = await tlsCoordinator(t, ['--max-connections-per-address', '20', '--connect-timeout', '30s']);
  const [host, port] = [s.c.address.split(':')[0]!, Number(s.c.address.split(':')[1])];
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach(x => x.destroy()));
  for (let i = 0; i < 20; i++) {
    const sock = net.connect(port, host);
    sock.on('error', () => {});
    sockets.push(sock);
    await new Promise(resolve => sock.once('connect', resolve));
  }
  const extra = net.connect(port, host);
  extra.on('error', () => {});
  await closed(extra);
  t.pass('closed');
  t.notOk(sockets.some(x => x.destroyed), 'the first 20 are still open');
  const refused = await s.as(s.admin, ['app', 'list']);
  t.not(refused.code, 0, 'the address has used its connections (documented: raise max-connections-per-address behind NAT)');
  sockets.forEach(x => x.destroy());
  await waitFor('the address to have connections again', async () => (await s.as(s.admin, ['app', 'list'])).code === 0);
});
