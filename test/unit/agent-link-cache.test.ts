import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FerryError, isFerryError } from '../../common/errors.js';
import { REVISION_DIGEST_FILE, RevisionCache, type RevisionTransport, retainedDigests } from '../../agent/link/revision-cache.js';
import { layoutFor } from '../../agent/state/layout.js';
import { tempDir } from '../helpers/temp.js';

const CHUNK = 1000;

/** A revision of `size` random bytes and its digest. */
function revision(size = 10 * CHUNK) {
  const bytes = randomBytes(size);
  return { bytes, digest: createHash('sha256').update(bytes).digest('hex'), size };
}

interface FakeTransport extends RevisionTransport {
  offsets: number[];
}

/**
 * Serves `bytes` in CHUNK pieces. `failures[i]`, when set, makes the i-th call throw after that
 * many chunks (a dropped connection); `serve` replaces the bytes served (corruption).
 */
function fakeTransport(bytes: Buffer, opts: { failures?: (number | undefined)[]; error?: () => Error } = {}): FakeTransport {
  const offsets: number[] = [];
  return {
    offsets,
    async open(_digest, offset) {
      const call = offsets.push(offset) - 1;
      const failAfter = opts.failures?.[call];
      return Readable.from((async function* () {
        let chunks = 0;
        for (let pos = offset; pos < bytes.length; pos += CHUNK) {
          if (failAfter !== undefined && chunks === failAfter) throw (opts.error ?? (() => new Error('connection reset')))();
          yield bytes.subarray(pos, Math.min(bytes.length, pos + CHUNK));
          chunks += 1;
        }
      })());
    },
  };
}

function cacheWith(dir: string, transport: RevisionTransport, sleeps: number[] = [], maxAttempts = 10) {
  return new RevisionCache({
    dir, transport, maxAttempts, random: () => 0.5,
    sleep: async ms => void sleeps.push(ms),
  });
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

t.test('a complete cached revision is used as is: no fetch', async t => {
  const dir = await tempDir(t);
  const r = revision();
  await fs.writeFile(path.join(dir, `${r.digest}.tgz`), r.bytes);
  const transport = fakeTransport(r.bytes);
  const file = await cacheWith(dir, transport).ensure(r.digest, r.size, 'tgz');
  t.equal(file, path.join(dir, `${r.digest}.tgz`));
  t.same(transport.offsets, [], 'never downloaded twice');
});

t.test('a revision is downloaded, verified and renamed into place', async t => {
  const dir = await tempDir(t);
  const r = revision();
  const transport = fakeTransport(r.bytes);
  const file = await cacheWith(dir, transport).ensure(r.digest, r.size, 'zip');
  t.same(await fs.readFile(file), r.bytes);
  t.same(await fs.readdir(dir), [`${r.digest}.zip`], 'no partial file left');
  t.same(transport.offsets, [0]);
  t.equal((await fs.stat(dir)).mode & 0o777, 0o700, 'the cache dir is the agent\'s alone (docs/security.md: revisions may carry secrets)');
  t.equal((await fs.stat(file)).mode & 0o777, 0o600, 'so is a cached revision');
});

t.test('a transfer that fails midway resumes from the bytes already written', async t => {
  const dir = await tempDir(t);
  const r = revision();
  const transport = fakeTransport(r.bytes, { failures: [3, 2] });
  const sleeps: number[] = [];
  const file = await cacheWith(dir, transport, sleeps).ensure(r.digest, r.size, 'tar');
  t.same(transport.offsets, [0, 3 * CHUNK, 5 * CHUNK], 'each retry asks for the next byte');
  t.same(await fs.readFile(file), r.bytes);
  t.same(sleeps, [250, 250], 'progress resets the backoff; full jitter (random 0.5 of a 500 ms ceiling)');
});

t.test('a partial file left by an earlier run is re-hashed and resumed', async t => {
  const dir = await tempDir(t);
  const r = revision();
  await fs.writeFile(path.join(dir, `${r.digest}.partial`), r.bytes.subarray(0, 4 * CHUNK + 17));
  const transport = fakeTransport(r.bytes);
  const file = await cacheWith(dir, transport).ensure(r.digest, r.size, 'tgz');
  t.same(transport.offsets, [4 * CHUNK + 17]);
  t.same(await fs.readFile(file), r.bytes);
});

t.test('a cached copy corrupted since it was downloaded is not used: it is evicted and downloaded again', async t => {
  const dir = await tempDir(t);
  const r = revision();
  const transport = fakeTransport(r.bytes);
  const cache = cacheWith(dir, transport);
  const file = await cache.ensure(r.digest, r.size, 'tgz');
  t.same(transport.offsets, [0]);
  const damaged = Buffer.from(r.bytes);
  damaged.writeUInt8(damaged.readUInt8(3 * CHUNK) ^ 0xff, 3 * CHUNK);
  await fs.writeFile(file, damaged);
  t.equal(await cache.ensure(r.digest, r.size, 'tgz'), file);
  t.same(transport.offsets, [0, 0], 'downloaded again from the start');
  t.same(await fs.readFile(file), r.bytes, 'the cache holds the verified bytes again');
  t.equal(await cache.ensure(r.digest, r.size, 'tgz'), file);
  t.same(transport.offsets, [0, 0], 'an intact copy is used as is');
});

t.test('a checksum mismatch deletes the partial and fails with CHECKSUM_MISMATCH', async t => {
  const dir = await tempDir(t);
  const r = revision();
  const corrupt = Buffer.from(r.bytes);
  corrupt.writeUInt8(corrupt.readUInt8(5 * CHUNK) ^ 0xff, 5 * CHUNK);
  const err = await errorOf(cacheWith(dir, fakeTransport(corrupt)).ensure(r.digest, r.size, 'tgz'));
  t.ok(isFerryError(err, 'CHECKSUM_MISMATCH'), `${err.message}`);
  const actual = createHash('sha256').update(corrupt).digest('hex');
  t.equal(err.message, `revision ${r.digest}: downloaded bytes hash to ${actual}; the transfer or the stored revision is corrupt`);
  t.same(await fs.readdir(dir), [], 'nothing kept: the next attempt starts over');
});

t.test('more bytes than the announced size is a mismatch', async t => {
  const dir = await tempDir(t);
  const r = revision();
  const err = await errorOf(cacheWith(dir, fakeTransport(Buffer.concat([r.bytes, Buffer.from('x')]))).ensure(r.digest, r.size - 1, 'tgz'));
  t.ok(isFerryError(err, 'CHECKSUM_MISMATCH'));
  t.same(await fs.readdir(dir), []);
});

t.test('retries are bounded; the partial stays for a later resume', async t => {
  const dir = await tempDir(t);
  const r = revision();
  const transport = fakeTransport(r.bytes, { failures: [2, 0, 0, 0] });
  const sleeps: number[] = [];
  const err = await errorOf(cacheWith(dir, transport, sleeps, 3).ensure(r.digest, r.size, 'tgz'));
  t.ok(isFerryError(err, 'UNAVAILABLE'));
  t.match(err.message, /download failed 3 times in a row \(at byte 2000 of 10000\): connection reset/);
  t.same(sleeps, [250, 500], 'exponential: 500 ms then 1 s ceilings');
  t.equal((await fs.stat(path.join(dir, `${r.digest}.partial`))).size, 2 * CHUNK);
});

t.test('a permanent refusal is not retried', async t => {
  const dir = await tempDir(t);
  const r = revision();
  const transport = fakeTransport(r.bytes, { failures: [0], error: () => new FerryError('NOT_FOUND', 'no such revision') });
  const err = await errorOf(cacheWith(dir, transport).ensure(r.digest, r.size, 'tgz'));
  t.ok(isFerryError(err, 'NOT_FOUND'));
  t.same(transport.offsets, [0]);
});

t.test('a digest that is not a SHA-256 is refused before any I/O', async t => {
  const dir = await tempDir(t);
  const err = await errorOf(cacheWith(path.join(dir, 'c'), fakeTransport(Buffer.alloc(0))).ensure('../../etc/passwd', 1, 'tgz'));
  t.ok(isFerryError(err, 'INVALID_ARGUMENT'));
  t.same(await fs.readdir(dir), []);
});

t.test('prune keeps the revisions retained deployments use, and drops the rest', async t => {
  const root = await tempDir(t);
  const layout = layoutFor(root);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(x => x.repeat(64)) as [string, string, string, string];
  const cacheDir = path.join(root, 'revisions');
  await fs.mkdir(cacheDir);
  for (const name of [`${a}.tgz`, `${b}.zip`, `${c}.tar`, `${d}.partial`, 'notes.txt']) await fs.writeFile(path.join(cacheDir, name), 'x');
  for (const [dep, digest] of [['d-1', a], ['d-2', b]] as const) {
    await fs.mkdir(layout.deploymentDir('g1', dep), { recursive: true });
    await fs.writeFile(path.join(layout.deploymentDir('g1', dep), REVISION_DIGEST_FILE), digest + '\n');
  }
  const keep = await retainedDigests(layout);
  t.same([...keep].sort(), [a, b]);
  keep.add(d); // a queued deployment's download
  const removed = await cacheWith(cacheDir, fakeTransport(Buffer.alloc(0))).prune(keep);
  t.same(removed, [`${c}.tar`]);
  t.same((await fs.readdir(cacheDir)).sort(), [`${a}.tgz`, `${b}.zip`, `${d}.partial`, 'notes.txt'].sort());
});

t.test('an abort stops a download even when the transport ignores the signal', async t => {
  const dir = await tempDir(t);
  const r = revision();
  let served = 0;
  const deaf: RevisionTransport = {
    async open() {
      return Readable.from((async function* () {
        for (let pos = 0; pos < r.bytes.length; pos += CHUNK) {
          await new Promise(resolve => setTimeout(resolve, 5)); // a slow link
          served += 1;
          yield r.bytes.subarray(pos, Math.min(r.bytes.length, pos + CHUNK));
        }
      })());
    },
  };
  const ac = new AbortController();
  const cache = new RevisionCache({ dir, transport: deaf, random: () => 0.5, onBytes: () => ac.abort() });
  const err = await errorOf(cache.ensure(r.digest, r.size, 'tgz', ac.signal));
  t.match(err.message, /cancelled/);
  const total = Math.ceil(r.bytes.length / CHUNK);
  t.ok(served < total, `stopped after ${served} of ${total} chunks`);
  t.notOk((await fs.readdir(dir)).some(n => n.endsWith('.tgz')), 'nothing verified, nothing installed');
});
