/**
 * Attack (docs/security.md): 40 stalled downloads from one enrolled host took all 64 of the
 * coordinator's shared send buffers, and another host's download then timed out with 0 bytes.
 * Now a host holds at most maxDownloadsPerHost downloads at once (the rest are refused), and a
 * download whose reader makes no progress for downloadStallTimeout is cut and its buffers returned,
 * over HTTP/1.1 and FetchRevision alike.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import https from 'node:https';
import type http from 'node:http';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { httpRevisionTransport } from '../../agent/link/http-transport.js';
import { type AgentIdentity, channelCredentials, loadAgentIdentity } from '../../agent/link/identity.js';
import { agentClient, grpcRevisionTransport } from '../../agent/link/transport.js';
import type { RevisionTransport } from '../../agent/link/revision-cache.js';
import { REVISION_PATH } from '../../proto/revision-http.js';
import { pack, writeBundle } from '../helpers/bundle.js';
import { tlsCoordinator, webFleet } from '../helpers/security.js';

// Through the environment, so that a coordinator without the setting still starts (and starves).
process.env.FERRY_DOWNLOAD_STALL_TIMEOUT = '4s';

const SIZE = 24 * 1024 * 1024;

async function download(tr: RevisionTransport, digest: string): Promise<number> {
  let n = 0;
  for await (const b of await tr.open(digest, 0)) n += (b as Buffer).length;
  return n;
}

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms).unref())]);
}

/** A GET of the revision as `identity` whose body is never read. */
function stalledGet(address: string, identity: AgentIdentity, digest: string): Promise<http.IncomingMessage> {
  const [host, port] = [address.split(':')[0]!, Number(address.split(':')[1])];
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      host, port, path: `${REVISION_PATH}${digest}`, method: 'GET', agent: false,
      ...{ ca: identity.ca, key: identity.key, cert: identity.cert, ALPNProtocols: ['http/1.1'] },
    };
    const req = https.request(options, res => {
      res.pause();
      resolve(res);
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('one host\'s stalled downloads cannot starve another host, and a stalled reader is cut', async t => {
  const s = await tlsCoordinator(t);
  await webFleet(t, s, ['a1', 'b1']);
  const src = await writeBundle(path.join(s.dir, 'bundle'), { appspec: { version: 0.0, os: 'linux' } });
  await fs.writeFile(path.join(src, 'blob.bin'), randomBytes(SIZE));
  const pushed = await s.as(s.admin, ['revision', 'push', pack(src, path.join(s.dir, 'big.tgz'), 'tgz'), '--app', 'shop', '--json']);
  t.equal(pushed.code, 0, pushed.stderr);
  const digest = pushed.json.revision.digest as string;
  const total = Number(pushed.json.revision.size);
  // Both hosts are targets, so both may download it (security/revision-access.ts).
  const deployed = await s.as(s.admin, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--wait', '--json']);
  t.equal(deployed.code, 0, deployed.stderr);

  const a1 = (await loadAgentIdentity(path.join(s.dir, 'a1')))!;
  const b1 = (await loadAgentIdentity(path.join(s.dir, 'b1')))!;

  // a1 opens 40 downloads and reads none of them.
  const answers = await Promise.all(Array.from({ length: 40 }, () => stalledGet(s.c.address, a1, digest)));
  t.teardown(() => answers.forEach(r => r.destroy()));
  const started = Date.now();
  const accepted = answers.filter(r => r.statusCode === 200);
  const refused = answers.filter(r => r.statusCode === 429);
  t.equal(accepted.length, 4, 'a host gets maxDownloadsPerHost (4) downloads at once');
  t.equal(refused.length, 36, 'the rest are refused with 429');
  const body = await new Promise<string>(resolve => {
    let text = '';
    refused[0]?.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text)).resume();
    if (!refused[0]) resolve('');
  });
  t.match(body, /4 downloads .*maxDownloadsPerHost/, 'the refusal names the limit and its setting');
  // The cap counts FetchRevision too.
  const client = agentClient(s.c.address, 'session', channelCredentials(a1));
  t.teardown(() => client.close());
  const refusedGrpc = await within(15_000, 'a1\'s fifth download over FetchRevision', new Promise<grpc.ServiceError | undefined>(resolve => {
    const call = client.FetchRevision({ digest, offset: 0, hostId: 'a1' });
    call.on('error', resolve);
    call.on('data', () => undefined);
    call.on('end', () => resolve(undefined));
  }));
  t.equal(refusedGrpc?.code, grpc.status.RESOURCE_EXHAUSTED, `a1's fifth download over FetchRevision is refused too: ${refusedGrpc?.details}`);

  // b1's downloads complete meanwhile, over both transports.
  const grpcB1 = grpcRevisionTransport(s.c.address, 'b1', () => channelCredentials(b1));
  t.teardown(() => grpcB1.close());
  t.equal(await within(15_000, 'b1 over HTTP', download(httpRevisionTransport(s.c.address, 'b1', () => b1), digest)), total, 'b1 downloads the whole revision over HTTP');
  t.equal(await within(15_000, 'b1 over FetchRevision', download(grpcB1, digest)), total, 'and over FetchRevision');

  // a1's stalled HTTP readers were cut after the stall timeout (4 s here): reading now, each gets
  // what its socket buffers held and then the end of a connection, never the whole revision.
  await new Promise(resolve => setTimeout(resolve, Math.max(0, started + 6000 - Date.now())));
  const received = await within(15_000, 'the stalled HTTP downloads to end', Promise.all(accepted.map(r => new Promise<number>(resolve => {
    let n = 0;
    r.on('data', (d: Buffer) => (n += d.length));
    r.once('close', () => resolve(n));
    r.once('error', () => undefined);
    r.resume();
  }))));
  t.ok(received.every(n => n < total), `every stalled HTTP download was cut (got ${received.map(n => `${(n / 2 ** 20).toFixed(1)} MiB`).join(', ')} of ${(total / 2 ** 20).toFixed(1)} MiB)`);

  // Its slots are free again: a1, reading now, downloads it.
  t.equal(await within(15_000, 'a1 over HTTP', download(httpRevisionTransport(s.c.address, 'a1', () => a1), digest)), total, 'a1, reading now, downloads it');
});
