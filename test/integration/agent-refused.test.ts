import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import t from 'tap';
import { REFUSED_BACKOFF, refusedDelay } from '../../agent/link/backoff.js';
import { FakeCoordinator, startDaemon } from '../helpers/fake-coordinator.js';
import { tempDir } from '../helpers/temp.js';

/**
 * A revoked host (the coordinator answers Register with UNAUTHENTICATED) backs off to minutes —
 * 1 min doubling to a 30 min cap, equal jitter — instead of reconnecting every few hundred ms, and
 * says once per try that it must enroll again. A real agent process; the base shortened to 400 ms.
 */

t.test('refusal retries: equal jitter from the base, doubling, capped at 30 min', async t => {
  t.same(REFUSED_BACKOFF, { baseMs: 60_000, capMs: 1_800_000 });
  t.equal(refusedDelay(1, REFUSED_BACKOFF, () => 0), 30_000, 'never near zero: half the ceiling at least');
  t.equal(refusedDelay(1, REFUSED_BACKOFF, () => 0.999999), 59_999);
  t.equal(refusedDelay(3, REFUSED_BACKOFF, () => 0), 120_000);
  t.equal(refusedDelay(20, REFUSED_BACKOFF, () => 0.999999), 1_799_999, 'capped');
});

t.test('a revoked agent retries Register a handful of times in 4 s, not dozens, and says why once per try', async t => {
  const fake = await FakeCoordinator.start();
  t.teardown(() => fake.stop());
  fake.refuse = { code: grpc.status.UNAUTHENTICATED, details: 'the certificate of host h1 was revoked at 2026-12-07T00:00:00Z: enroll it again with a new join token' };
  const root = path.join(await tempDir(t), 'root');
  const agent = startDaemon(t, fake, root, ['--host-id', 'h1'], { FERRY_AGENT_REFUSED_RETRY_BASE: '400ms' });
  await fake.waitFor('the first Register', () => fake.streams >= 1);
  const first = fake.timed('register')[0]!.at;
  await new Promise(resolve => setTimeout(resolve, 4000));
  const within = fake.timed('register').filter(r => r.at <= first + 4000).map(r => r.at);
  // Waits of [200, 400), [400, 800), [800, 1600), [1600, 3200) ms: 4 or 5 tries in 4 s (the old 0.5 s policy made ~15; a revoked host ~25).
  t.ok(within.length >= 3 && within.length <= 5, `${within.length} tries in 4 s`);
  const gaps = within.slice(1).map((at, i) => at - within[i]!);
  t.ok(gaps.every(g => g >= 190), `never under half the base: ${gaps.join(', ')} ms`);
  t.ok(gaps.every((g, i) => i === 0 || g >= gaps[i - 1]! * 0.9), `growing: ${gaps.join(', ')} ms`);
  const said = agent.stderr().split('\n').filter(l => l.includes("this host's certificate was revoked") && l.includes('enroll again'));
  t.ok(said.length >= within.length - 1 && said.length <= fake.streams, `one line per try: ${said.length} lines, ${fake.streams} tries`);
  t.notOk(agent.stderr().includes('could not register with the coordinator; retrying'), 'not the unreachable-coordinator message');
});
