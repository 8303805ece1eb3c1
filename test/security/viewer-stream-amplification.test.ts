/**
 * Attack (docs/security.md): 300 paused `StreamLogs` on a deployment with 1 MiB of logs took the
 * coordinator from 241 MB to 820 MB RSS: every stream queued the whole log for a client that never
 * read it. Server streams now stop producing while the client is not reading (a few dozen messages
 * queued at most per stream), and one caller holds at most maxStreamsPerCaller streams.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { hooksFor, pack, writeBundle } from '../helpers/bundle.js';
import { waitFor } from '../helpers/fleet.js';
import { tlsCoordinator, webFleet } from '../helpers/security.js';
import { mintToken } from '../helpers/trust.js';

async function rssBytes(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

const TOKENS = 4;
/** The default of maxStreamsPerCaller (coordinator/config.ts). */
const PER_CALLER = 64;

t.test('paused StreamLogs cost the coordinator little memory, and a caller past its stream limit is refused', async t => {
  const s = await tlsCoordinator(t);
  await webFleet(t, s, ['h1']);
  const src = path.join(s.dir, 'bundle');
  // About 1 MiB of hook output: 5,000 lines of 200 characters.
  await writeBundle(src, {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) },
    scripts: { 'scripts/ApplicationStart.sh': `head -c 1000000 /dev/zero | tr '\\0' 'x' | fold -w 199` },
  });
  t.equal((await s.as(s.admin, ['revision', 'push', pack(src, path.join(s.dir, 'b.tgz'), 'tgz'), '--app', 'shop'])).code, 0);
  const deployed = await s.as(s.admin, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait', '--json']);
  t.equal(deployed.code, 0, deployed.stderr);
  const deploymentId = deployed.json.deployment.id as string;
  await waitFor('the hook output to be stored', async () => {
    const logs = await s.as(s.admin, ['deploy', 'logs', deploymentId]);
    return logs.stdout.length > 900_000;
  });

  const pid = s.c.child.pid!;
  const before = await rssBytes(pid);
  const streams: grpc.ClientReadableStream<unknown>[] = [];
  t.teardown(() => streams.forEach(c => c.cancel()));
  const opened = (c: grpc.ClientReadableStream<unknown>) => new Promise<void>((resolve, reject) => {
    c.once('metadata', () => resolve());
    c.once('error', reject);
  });
  // Several viewers, each holding as many streams as it may, none of them reading.
  const apis = await Promise.all(Array.from({ length: TOKENS }, async () => s.controlApi(await mintToken(t, s.as, s.admin, 'viewer'))));
  for (const api of apis) {
    const mine = Array.from({ length: PER_CALLER }, () => api.streamLogs({ deploymentId, follow: true }) as grpc.ClientReadableStream<unknown>);
    streams.push(...mine);
    await Promise.all(mine.map(opened));
  }
  t.equal(streams.length, TOKENS * PER_CALLER, `${streams.length} paused streams are open`);

  // One more for the first viewer: refused, naming the limit and its setting.
  const extra = apis[0]!.streamLogs({ deploymentId, follow: true }) as grpc.ClientReadableStream<unknown>;
  streams.push(extra);
  const refused = await new Promise<grpc.ServiceError | undefined>(resolve => {
    extra.on('error', resolve);
    extra.on('data', () => undefined);
    setTimeout(() => resolve(undefined), 10_000);
  });
  t.ok(refused, `the ${PER_CALLER + 1}th stream of one caller is refused`);
  t.equal(refused?.code, grpc.status.RESOURCE_EXHAUSTED, refused?.message ?? 'no error');
  t.match(refused?.details, /64 streams .*maxStreamsPerCaller/, 'the message names the limit and its setting');

  // Let every stream produce what it will, then measure.
  await new Promise(resolve => setTimeout(resolve, 3000));
  const after = await rssBytes(pid);
  const grown = after - before;
  t.comment(`coordinator RSS ${(before / 2 ** 20).toFixed(0)} MiB → ${(after / 2 ** 20).toFixed(0)} MiB with ${streams.length - 1} paused streams of ~1 MiB of logs`);
  // Unbounded, each stream queues its whole log (more than 1 MiB each: over 256 MiB in all); bounded,
  // each holds at most 128 unsent lines plus its HTTP/2 stream (measured: under 50 MiB for the 256).
  t.ok(grown < 128 * 2 ** 20, `RSS grew by ${(grown / 2 ** 20).toFixed(1)} MiB (bound: 128 MiB)`);

  // A viewer that reads gets the whole log, and a paused stream that resumes reading does too.
  const resumed = streams[0]!;
  streams.slice(1).forEach(c => c.cancel());
  const lines = await within(30_000, 'a reading viewer to get the log', new Promise<number>((resolve, reject) => {
    let n = 0;
    const c = apis[1]!.streamLogs({ deploymentId, follow: false }) as grpc.ClientReadableStream<unknown>;
    c.on('data', () => n++);
    c.on('end', () => resolve(n));
    c.on('error', reject);
  }));
  t.ok(lines >= 5000, `a reading viewer got all ${lines} lines`);
  const got = await within(30_000, 'the paused follower to get the log', new Promise<number>(resolve => {
    let n = 0;
    resumed.on('data', () => {
      n++;
      if (n === lines) resolve(n);
    });
  }));
  t.equal(got, lines, 'a paused follower that resumes reading gets every line');
});

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);
}
