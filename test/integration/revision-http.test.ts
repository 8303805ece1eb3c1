import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { isFerryError } from '../../common/errors.js';
import { httpRevisionTransport, neverAnswered } from '../../agent/link/http-transport.js';
import { loadAgentIdentity } from '../../agent/link/identity.js';
import { fallbackTransport, grpcRevisionTransport } from '../../agent/link/transport.js';
import type { RevisionTransport } from '../../agent/link/revision-cache.js';
import { RevisionCache } from '../../agent/link/revision-cache.js';
import { ControlApi } from '../../cli/client.js';
import { fileChunks } from '../../cli/bundle.js';
import { startAgent, startCoordinator, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';
import { asCaller, enrollHost, mintToken, readTrust } from '../helpers/trust.js';

// Revision downloads over HTTP/1.1 on the coordinator's one port (GET /v1/revisions/<sha256>), next
// to gRPC: the answers a client gets, mutual TLS with an enrolled host's certificate, refusals
// (audited), and the agent's fallback to FetchRevision when a coordinator serves HTTP/2 only.

async function collect(opened: Promise<AsyncIterable<Buffer>>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of await opened) parts.push(b);
  return Buffer.concat(parts);
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(address: string, target: string, opts: { method?: string; headers?: Record<string, string>; tls?: https.RequestOptions } = {}): Promise<Answer> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = (opts.tls ? https : http).request({ host: address.slice(0, i), port: Number(address.slice(i + 1)), path: target, method: opts.method ?? 'GET', headers: opts.headers, agent: false, ...opts.tls }, res => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A server that speaks HTTP/2 only, as a coordinator from before HTTP downloads does (TLS with `tls`). */
async function http2Only(t: Parameters<typeof tempDir>[0], tls?: { key: Buffer; cert: Buffer }): Promise<string> {
  const server = tls ? http2.createSecureServer(tls) : http2.createServer();
  server.on('stream', stream => stream.respond({ ':status': 200 }, { endStream: true }));
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const bytes = randomBytes(5 * 1024 * 1024 + 777);
const digest = createHash('sha256').update(bytes).digest('hex');

t.test('plaintext (--insecure): the answers of GET /v1/revisions/<sha256>', async t => {
  const dir = await tempDir(t);
  const coordinator = await startCoordinator(t, path.join(dir, 'data'));
  const api = new ControlApi(coordinator.address, 60_000);
  t.teardown(() => api.close());
  await api.createApplication({ name: 'shop' });
  const file = path.join(dir, 'rev.tar');
  await fs.writeFile(file, bytes);
  await api.uploadRevision({ application: 'shop', bundleType: 'tar', description: 't', expectedDigest: digest }, fileChunks(file, 1024 * 1024));
  const at = coordinator.address;
  const url = `/v1/revisions/${digest}`;

  const whole = await request(at, url);
  t.equal(whole.status, 200);
  t.equal(whole.headers['content-length'], String(bytes.length));
  t.equal(whole.headers['content-type'], 'application/octet-stream');
  t.equal(whole.headers['accept-ranges'], 'bytes');
  t.equal(whole.headers.etag, `"${digest}"`);
  t.equal(whole.headers['x-ferry-revisions'], '1', 'marked as the download handler\'s answer');
  t.ok(whole.body.equals(bytes), 'the stored bytes');

  const rest = await request(at, url, { headers: { range: 'bytes=1000-' } });
  t.equal(rest.status, 206, 'a range from an offset: 206');
  t.equal(rest.headers['content-range'], `bytes 1000-${bytes.length - 1}/${bytes.length}`);
  t.ok(rest.body.equals(bytes.subarray(1000)), 'from byte 1000 on');

  const head = await request(at, url, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers['content-length'], String(bytes.length));
  t.equal(head.body.length, 0, 'HEAD: no body');

  const closed = await request(at, url, { headers: { range: 'bytes=0-10' } });
  t.equal(closed.status, 416, 'a closed range is not served');
  t.match(closed.body.toString(), /use bytes=N-/);
  const past = await request(at, url, { headers: { range: `bytes=${bytes.length + 1}-` } });
  t.equal(past.status, 416);
  t.equal(past.headers['content-range'], `bytes */${bytes.length}`);
  t.match(past.body.toString(), /past the end of revision/);

  const post = await request(at, url, { method: 'POST' });
  t.equal(post.status, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  const elsewhere = await request(at, '/metrics');
  t.equal(elsewhere.status, 404);
  t.match(elsewhere.body.toString(), /serves gRPC and revision downloads/);
  const notDigest = await request(at, '/v1/revisions/../../ferry.db');
  t.equal(notDigest.status, 400, 'a path that is not a digest never reaches the file system');
  t.match(notDigest.body.toString(), /not a revision digest/);
  const unknown = await request(at, `/v1/revisions/${'ab'.repeat(32)}`);
  t.equal(unknown.status, 404);
  t.equal(unknown.headers['x-ferry-revisions'], '1', 'refusals are marked too');
  t.match(unknown.body.toString(), /not known to the coordinator/);

  t.test('the agent\'s transport: from an offset, to the end, and an unknown revision', async t => {
    const tr = httpRevisionTransport(at, 'h1');
    t.ok((await collect(tr.open(digest, 4242))).equals(bytes.subarray(4242)));
    t.equal((await collect(tr.open(digest, bytes.length))).length, 0, 'resuming a complete download: nothing left, no error');
    const err = await failure(collect(tr.open('cd'.repeat(32), 0)));
    t.ok(isFerryError(err) && err.code === 'NOT_FOUND', 'NOT_FOUND, permanent');
    t.notOk(neverAnswered(err), 'a refusal is an answer: no fallback');
  });

  t.test('a connection cut mid-body: the cache resumes with a Range from the bytes it has, and verifies', async t => {
    // A TCP relay to the coordinator that cuts its first connection after ~2 MiB of the answer.
    let connections = 0;
    const relay = net.createServer(client => {
      const first = connections++ === 0;
      const upstream = net.connect(Number(at.slice(at.lastIndexOf(':') + 1)), '127.0.0.1');
      let relayed = 0;
      client.pipe(upstream);
      upstream.on('data', d => {
        relayed += d.length;
        client.write(d);
        if (first && relayed > 2 * 1024 * 1024) {
          client.destroy();
          upstream.destroy();
        }
      });
      upstream.on('end', () => client.end());
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>(resolve => relay.listen(0, '127.0.0.1', () => resolve()));
    t.teardown(() => new Promise<void>(resolve => relay.close(() => resolve())));
    const retries: number[] = [];
    const cache = new RevisionCache({
      dir: await tempDir(t), transport: httpRevisionTransport(`127.0.0.1:${(relay.address() as AddressInfo).port}`, 'h1'),
      sleep: async () => {}, onRetry: i => retries.push(i.offset),
    });
    t.ok((await fs.readFile(await cache.ensure(digest, bytes.length, 'tar'))).equals(bytes), 'the whole revision, verified');
    t.equal(retries.length, 1, 'one retry');
    t.ok(retries[0]! > 0 && retries[0]! < bytes.length, `resumed from byte ${retries[0]}, not from 0`);
    t.equal(connections, 2);
    t.match(coordinator.output(), new RegExp(`revision fetch .*offset=${retries[0]}.*transport=http`), 'the second request asked for the rest (Range)');
  });

  t.test('an HTTP/2-only server gets the agent to fall back to FetchRevision; a refusal does not', async t => {
    const old = await http2Only(t);
    const direct = await failure(collect(httpRevisionTransport(old, 'h1').open(digest, 0)));
    t.ok(neverAnswered(direct), `no HTTP answer from an HTTP/2-only server: ${String(direct)}`);
    const grpc = grpcRevisionTransport(at, 'h1');
    t.teardown(() => grpc.close());
    const fellBack: unknown[] = [];
    const via: string[] = [];
    const tr = fallbackTransport(httpRevisionTransport(old, 'h1'), grpc, { fellBack: e => fellBack.push(e), opened: v => via.push(v) });
    const cache = new RevisionCache({ dir: await tempDir(t), transport: tr });
    t.ok((await fs.readFile(await cache.ensure(digest, bytes.length, 'tar'))).equals(bytes), 'the revision, verified, over gRPC');
    t.equal(fellBack.length, 1, 'the fallback is reported');
    t.same(via, ['grpc']);

    const refused: unknown[] = [];
    const strict = fallbackTransport(httpRevisionTransport(at, 'h1'), grpc, { fellBack: e => refused.push(e) });
    const err = await failure(collect(strict.open('cd'.repeat(32), 0)));
    t.ok(isFerryError(err) && err.code === 'NOT_FOUND');
    t.equal(refused.length, 0, 'an HTTP refusal is final');
  });
});

t.test('an HTTP answer that is not the download handler\'s (a proxy in between) is not taken as Ferry\'s word', async t => {
  const proxy = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('no route\n'));
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>(resolve => proxy.close(() => resolve())));
  const err = await failure(collect(httpRevisionTransport(`127.0.0.1:${(proxy.address() as AddressInfo).port}`, 'h1').open(digest, 0)));
  t.notOk(isFerryError(err), `not a refusal: ${String(err)}`);
  t.ok(neverAnswered(err), 'so the agent falls back to FetchRevision');
  t.match(String(err), /without x-ferry-revisions/);
});

t.test('cancelled and finished downloads give their send buffers back to the shared pool (HTTP and FetchRevision)', async t => {
  const dir = await tempDir(t);
  const c = await startCoordinator(t, path.join(dir, 'data'), ['--metrics-listen', '127.0.0.1:0']);
  const metricsUrl = await waitFor('the coordinator metrics address', () => /ferry-coordinator metrics on (http:\S+)/.exec(c.output())?.[1]);
  const api = new ControlApi(c.address, 60_000);
  t.teardown(() => api.close());
  await api.createApplication({ name: 'shop' });
  const big = randomBytes(24 * 1024 * 1024);
  const bigDigest = createHash('sha256').update(big).digest('hex');
  const file = path.join(dir, 'big.tar');
  await fs.writeFile(file, big);
  await api.uploadRevision({ application: 'shop', bundleType: 'tar', description: 't', expectedDigest: bigDigest }, fileChunks(file, 1024 * 1024));
  const buffers = async () => {
    const text = await (await request(metricsUrl.replace(/^http:\/\//, '').replace(/\/metrics$/, ''), '/metrics')).body.toString();
    const get = (state: string) => Number(new RegExp(`^ferry_revision_send_buffers\\{state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    return { inUse: get('in_use'), capacity: get('capacity') };
  };
  // Walk away from downloads after their first bytes, over both transports, several at once
  // (from several hosts: one host holds at most maxDownloadsPerHost downloads at once).
  const http1 = httpRevisionTransport(c.address, 'h1');
  const grpc = grpcRevisionTransport(c.address, 'h1');
  t.teardown(() => grpc.close());
  const hosts = [...Array(4)].map((_, i) => ({ http: httpRevisionTransport(c.address, `w${i}`), grpc: grpcRevisionTransport(c.address, `w${i}`) }));
  t.teardown(() => hosts.forEach(h => h.grpc.close()));
  const walkAway = async (tr: RevisionTransport) => {
    const ac = new AbortController();
    const stream = await tr.open(bigDigest, 0, ac.signal);
    await new Promise<void>(resolve => stream.once('data', () => resolve()));
    ac.abort();
    stream.destroy();
  };
  await Promise.all(hosts.flatMap(h => [walkAway(h.http), walkAway(h.grpc)]));
  // And two that finish.
  t.ok((await collect(http1.open(bigDigest, 0))).equals(big));
  t.ok((await collect(grpc.open(bigDigest, 0))).equals(big));
  const after = await waitFor('every send buffer back in the pool', async () => {
    const b = await buffers();
    return b.inUse === 0 ? b : undefined;
  });
  t.same(after, { inUse: 0, capacity: 64 }, 'none kept by the 8 abandoned downloads or the 2 finished ones; the pool stays at 64');
});

t.test('a failure once the bytes flow is retried as it is, never switched to the other transport', async t => {
  const flaky: RevisionTransport = {
    open: async () => Readable.from((async function* () {
      yield Buffer.from('abc');
      throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    })()),
  };
  const other: RevisionTransport = {
    open: async () => Readable.from([Buffer.from('should not be used')]),
  };
  const fellBack: unknown[] = [];
  const err = await failure(collect(fallbackTransport(flaky, other, { fellBack: e => fellBack.push(e) }).open(digest, 0)));
  t.match(String(err), /ECONNRESET/);
  t.equal(fellBack.length, 0);
});

t.test('TLS: an enrolled host downloads with its certificate; others are refused and audited', async t => {
  const dir = await tempDir(t);
  const data = path.join(dir, 'data');
  const c = await startCoordinator(t, data, [], '127.0.0.1:0', { tls: true });
  const { caFile, fingerprint, admin } = await readTrust(data);
  const as = asCaller(c.address, { FERRY_CA: caFile });
  t.equal((await as(admin, ['app', 'create', 'shop'])).code, 0);
  const file = path.join(dir, 'rev.tar');
  await fs.writeFile(file, bytes);
  const pushed = await as(admin, ['revision', 'push', file, '--app', 'shop']);
  t.equal(pushed.code, 0, pushed.stderr);
  const root = path.join(dir, 'h1');
  const enrolled = await enrollHost({ coordinator: c.address, token: await mintToken(t, as, admin, 'agent', ['--uses', '1', '--tag', 'role=web']), fingerprint, rootDir: root, hostId: 'h1' });
  t.equal(enrolled.code, 0, enrolled.stderr);
  const identity = await loadAgentIdentity(root);
  t.ok(identity, 'h1 is enrolled');

  const tr = httpRevisionTransport(c.address, 'h1', () => identity);
  const notTarget = await failure(collect(tr.open(digest, 0)));
  t.ok(isFerryError(notTarget) && notTarget.code === 'PERMISSION_DENIED', 'before h1 is a target of a deployment of the revision: refused (403)');
  // h1 becomes a target: its agent registers, a group selects it, the revision is deployed to it.
  await startAgent(t, { coordinator: c.address, rootDir: root, hostId: 'h1', tags: { role: 'web' } });
  await waitFor('h1 to connect', async () => (await as(admin, ['hosts', 'list', '--json'])).json?.hosts?.some((h: any) => h.id === 'h1' && h.connected));
  t.equal((await as(admin, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  const created = await as(admin, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--json']);
  t.equal(created.code, 0, created.stderr);
  await waitFor('h1 to be a target', async () => (await as(admin, ['deploy', 'status', created.json.deployment.id, '--json'])).json?.hosts?.length > 0);
  const cache = new RevisionCache({ dir: await tempDir(t), transport: tr });
  t.ok((await fs.readFile(await cache.ensure(digest, bytes.length, 'tar'))).equals(bytes), 'downloaded over HTTPS with the host certificate, verified');

  const ca = await fs.readFile(caFile);
  const url = `/v1/revisions/${digest}`;
  const anonymous = await request(c.address, url, { tls: { ca } });
  t.equal(anonymous.status, 401, 'no client certificate: 401');
  t.match(anonymous.body.toString(), /client certificate they get by enrolling/);
  const plain = await failure(request(c.address, url));
  t.ok(plain, 'plain HTTP to the TLS port gets no answer');

  const revoked = await as(admin, ['hosts', 'revoke', 'h1']);
  t.equal(revoked.code, 0, revoked.stderr);
  const err = await failure(collect(tr.open(digest, 0)));
  t.ok(isFerryError(err) && err.code === 'UNAUTHENTICATED', 'a revoked host is refused, permanently');
  t.match(String(err), /was revoked/);

  const audit = await as(admin, ['audit', '--json', '--action', 'GET /v1/revisions/']);
  t.equal(audit.code, 0, audit.stderr);
  const records = audit.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l));
  t.ok(records.some(r => r.actor === 'anonymous' && r.outcome === 'refused' && r.code === 'UNAUTHENTICATED' && r.target.revision === digest), 'audit: the anonymous download refused');
  t.ok(records.some(r => r.actor === 'host:h1' && r.outcome === 'refused' && /was revoked/.test(r.message)), 'audit: the revoked host refused');
  t.notOk(records.some(r => r.outcome === 'ok'), 'downloads that were served are reads, not audited');

  t.test('an HTTP/2-only TLS server refuses the HTTP/1.1 protocol: the agent falls back', async t => {
    const old = await http2Only(t, { key: await fs.readFile(path.join(data, 'tls', 'server.key')), cert: await fs.readFile(path.join(data, 'tls', 'server.crt')) });
    const id = await loadAgentIdentity(root);
    const direct = await failure(collect(httpRevisionTransport(old, 'h1', () => id).open(digest, 0)));
    t.ok(neverAnswered(direct), `no HTTP answer from an HTTP/2-only TLS server: ${String(direct)}`);
  });
});
