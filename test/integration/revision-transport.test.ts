import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform, pipeline } from 'node:stream';
import t from 'tap';
import { isFerryError } from '../../common/errors.js';
import { grpcRevisionTransport } from '../../agent/link/transport.js';
import { httpRevisionTransport } from '../../agent/link/http-transport.js';
import { RevisionCache } from '../../agent/link/revision-cache.js';
import { ControlApi } from '../../cli/client.js';
import { fileChunks } from '../../cli/bundle.js';
import { startCoordinator } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

// A real coordinator (bin/, built) serving revisions on its one port; the agent's two revision
// transports against it, the same cases for each: FetchRevision (gRPC) and GET /v1/revisions (HTTP/1.1).
const dir = await tempDir(t);
const coordinator = await startCoordinator(t, path.join(dir, 'data'));
const api = new ControlApi(coordinator.address, 60_000);
t.teardown(() => api.close());
await api.createApplication({ name: 'shop' });
// Larger than two of the coordinator's 4 MiB chunks, not a multiple of them.
const bytes = randomBytes(9 * 1024 * 1024 + 12345);
const digest = createHash('sha256').update(bytes).digest('hex');
const file = path.join(dir, 'rev.tar');
await fs.writeFile(file, bytes);
await api.uploadRevision({ application: 'shop', bundleType: 'tar', description: 't', expectedDigest: digest }, fileChunks(file, 1024 * 1024));
const stored = path.join(coordinator.dataDir, 'revisions', 'sha256', digest.slice(0, 2), digest);

type Kind = 'grpc' | 'http';

function transporter(kind: Kind) {
  return (tt: Parameters<typeof tempDir>[0]) => {
    if (kind === 'http') return httpRevisionTransport(coordinator.address, 'h1');
    const tr = grpcRevisionTransport(coordinator.address, 'h1');
    tt.teardown(() => tr.close());
    return tr;
  };
}

async function collect(opened: Promise<AsyncIterable<Buffer>>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of await opened) parts.push(b);
  return Buffer.concat(parts);
}

for (const kind of ['grpc', 'http'] as const) {
  const transport = transporter(kind);
  t.test(`${kind}: a revision downloads through the revision cache, verified, twice over one session`, async t => {
    const tr = transport(t);
    const cache = new RevisionCache({ dir: await tempDir(t), transport: tr });
    const p = await cache.ensure(digest, bytes.length, 'tar');
    t.same(await fs.readFile(p), bytes);
    t.same(await collect(tr.open(digest, 0)), bytes, 'a second fetch on the same transport');
  });

  t.test(`${kind}: a fetch from an offset gets the rest, from that byte on`, async t => {
    const tr = transport(t);
    for (const offset of [1, 4 * 1024 * 1024, bytes.length - 1, bytes.length]) {
      t.same(await collect(tr.open(digest, offset)), bytes.subarray(offset), `offset ${offset}`);
    }
  });

  t.test(`${kind}: an unknown revision is a permanent NOT_FOUND, with the coordinator's message`, async t => {
    const tr = transport(t);
    const unknown = 'ab'.repeat(32);
    const err = await collect(tr.open(unknown, 0)).then(() => undefined, (e: unknown) => e);
    t.ok(isFerryError(err) && err.code === 'NOT_FOUND', 'NOT_FOUND');
    t.match((err as Error).message, /not known to the coordinator/);
    t.same(await collect(tr.open(digest, bytes.length - 10)), bytes.subarray(-10), 'the transport still works after a refusal');
  });

  t.test(`${kind}: an abort cancels the download midway; nothing is installed`, async t => {
    const tr = transport(t);
    const cacheDir = await tempDir(t);
    const ac = new AbortController();
    let seen = 0;
    const cache = new RevisionCache({
      dir: cacheDir,
      transport: {
        async open(d, offset, signal) {
          const counted = new Transform({
            transform(b: Buffer, _enc, done) {
              seen += b.length;
              if (seen > 1024 * 1024) ac.abort(); // the agent is stopping
              done(null, b);
            },
          });
          pipeline(await tr.open(d, offset, signal), counted, () => {});
          return counted;
        },
      },
    });
    const err = await cache.ensure(digest, bytes.length, 'tar', ac.signal).then(() => undefined, (e: unknown) => e);
    t.match(String(err), /cancelled/);
    t.ok(seen < bytes.length, `stopped after ${seen} of ${bytes.length} bytes`);
    t.notOk((await fs.readdir(cacheDir)).some(n => n.endsWith('.tar')), 'no verified file');
  });

  t.test(`${kind}: a corrupted stored revision fails verification and installs nothing`, async t => {
    const original = await fs.readFile(stored);
    t.teardown(() => fs.writeFile(stored, original));
    const bad = Buffer.from(original);
    bad.writeUInt8(bad.readUInt8(6 * 1024 * 1024) ^ 0xff, 6 * 1024 * 1024);
    await fs.writeFile(stored, bad);
    const cacheDir = await tempDir(t);
    const cache = new RevisionCache({ dir: cacheDir, transport: transport(t) });
    const err = await cache.ensure(digest, bytes.length, 'tar').then(() => undefined, (e: unknown) => e);
    t.ok(isFerryError(err) && err.code === 'CHECKSUM_MISMATCH', 'CHECKSUM_MISMATCH');
    t.same(await fs.readdir(cacheDir), [], 'neither the partial nor a verified file is left');
  });
}
