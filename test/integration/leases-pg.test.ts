/**
 * Leases in PostgreSQL (coordinator/replicas/leases.ts): one holder at a time, a paused or partitioned
 * holder stops acting before another replica can take over, a fenced transaction holds a takeover off and a
 * stale holder's fenced write is refused, renewals in one statement, and the keeper that holds a set of
 * leases. Real PostgreSQL (Debian's, test/helpers/postgres.ts); the partition is a TCP relay that stops
 * forwarding (packets dropped, no reset), as a cut network does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { isFerryError } from '../../common/errors.js';
import { fence, HeldLease, LeaseKeeper, leaseTiming, PgLeases } from '../../coordinator/replicas/leases.js';
import { createPool, rows, transaction } from '../../coordinator/store/pg-db.js';
import { migratePg } from '../../coordinator/store/pg-migrations.js';
import { startPostgres } from '../helpers/postgres.js';
import { tcpRelay } from '../helpers/tcp-relay.js';

const server = await startPostgres(t);
const url = server.url(await server.createDatabase());
const pool = createPool({ connectionString: url, max: 8 });
t.teardown(() => pool.end());
await migratePg(pool);
await pool.query('CREATE TABLE writes (seq SERIAL PRIMARY KEY, lease TEXT NOT NULL, who TEXT NOT NULL, epoch BIGINT NOT NULL)');

/** Short leases so the test takes seconds: 2 s, stopping 0.6 s early. */
const fast = leaseTiming(2000, 600);
const now = (): number => performance.now();

/**
 * Polls `acquire` until it succeeds; resolves to the lease and the monotonic time it was granted. A try that
 * times out (the row locked by a fenced transaction longer than the statement's time limit) counts as "not yet".
 */
async function acquireWhenFree(leases: PgLeases, name: string, everyMs = 25): Promise<{ lease: HeldLease; at: number }> {
  for (;;) {
    const lease = await leases.acquire(name).catch((err: unknown) => {
      if (err instanceof Error && /timeout/i.test(err.message)) return undefined;
      throw err;
    });
    if (lease !== undefined) return { lease, at: now() };
    await sleep(everyMs);
  }
}

/** Resolves to the monotonic time `lease.valid()` turned false (polled every 5 ms). */
async function lapse(lease: HeldLease): Promise<number> {
  while (lease.valid()) await sleep(5);
  return now();
}

t.test('one holder at a time; renew keeps the epoch; release hands over with the next epoch', async t => {
  const a = new PgLeases(pool, 'replica-a', fast);
  const b = new PgLeases(pool, 'replica-b', fast);
  const held = await a.acquire('group:web');
  t.ok(held?.valid(), 'a takes the free lease');
  t.equal(held!.epoch, 1);
  t.equal(await b.acquire('group:web'), undefined, 'b cannot take it while a holds it');
  const again = await a.acquire('group:web');
  t.equal(again?.epoch, 1, 'a taking it again while it holds it keeps the epoch');
  t.same(await a.renew([held!]), [held], 'a renews it');
  t.same(await a.held(), [{ name: 'group:web', epoch: 1 }]);
  await a.release(held!);
  t.notOk(held!.valid(), 'released: a may no longer act under it');
  const taken = await b.acquire('group:web');
  t.equal(taken?.epoch, 2, 'b takes it at once, with the next epoch');
  t.same(await a.renew([again!]), [], 'a\'s other handle of the old epoch cannot be renewed');
  t.notOk(again!.valid());
  t.same(await a.held(), []);
});

t.test('a paused holder stops acting before anyone else can take its lease', async t => {
  const a = new PgLeases(pool, 'replica-a', fast);
  const b = new PgLeases(pool, 'replica-b', fast);
  const held = await a.acquire('group:paused');
  t.ok(held);
  // a is "paused": it never renews. b tries every 25 ms from the start.
  const [lapsedAt, taken] = await Promise.all([lapse(held!), acquireWhenFree(b, 'group:paused')]);
  t.ok(lapsedAt < taken.at, `a stopped ${Math.round(taken.at - lapsedAt)} ms before b took over`);
  t.ok(taken.at - lapsedAt >= 400, 'with the margin (600 ms) between them, less the polling');
  t.equal(taken.lease.epoch, held!.epoch + 1);
  t.same(await a.renew([held!]), [], 'a waking up cannot renew it');
  const back = await a.acquire('group:paused');
  t.equal(back, undefined, 'nor take it back while b holds it');
});

t.test('a fenced transaction holds a takeover off; a stale holder\'s fenced write is refused; writes never interleave', async t => {
  const a = new PgLeases(pool, 'replica-a', fast);
  const b = new PgLeases(pool, 'replica-b', fast);
  const held = (await a.acquire('group:fenced'))!;
  const order: string[] = [];
  let takeover: Promise<{ lease: HeldLease; at: number }> | undefined;
  await transaction(pool, async q => {
    await fence(q, held);
    await q.query('INSERT INTO writes (lease, who, epoch) VALUES ($1, $2, $3)', ['group:fenced', 'a', held.epoch]);
    // While a's transaction is open its lease expires in the database; b's takeover must wait for it.
    takeover = acquireWhenFree(b, 'group:fenced').then(r => { order.push('b took over'); return r; });
    await sleep(2600);
    await q.query('INSERT INTO writes (lease, who, epoch) VALUES ($1, $2, $3)', ['group:fenced', 'a', held.epoch]);
    order.push('a committed');
  });
  const { lease: bLease } = await takeover!;
  t.same(order, ['a committed', 'b took over'], 'the takeover waited for the fenced transaction');
  t.ok(bLease.epoch > held.epoch, 'b holds a later epoch');

  const refused = await transaction(pool, async q => {
    await fence(q, held);
    await q.query('INSERT INTO writes (lease, who, epoch) VALUES ($1, $2, $3)', ['group:fenced', 'a', held.epoch]);
  }).then(() => undefined, (err: unknown) => err);
  t.ok(isFerryError(refused, 'FAILED_PRECONDITION'), 'a\'s later fenced write is refused');
  // Even a handle that believes it is valid (its local deadline forged forward) is refused by the database.
  const forged = new HeldLease(held.name, held.holder, held.epoch, now() + 60_000);
  const refusedToo = await transaction(pool, async q => { await fence(q, forged); }).then(() => undefined, (err: unknown) => err);
  t.ok(isFerryError(refusedToo, 'FAILED_PRECONDITION'), 'an old epoch is refused by the database itself');
  await transaction(pool, async q => {
    await fence(q, bLease);
    await q.query('INSERT INTO writes (lease, who, epoch) VALUES ($1, $2, $3)', ['group:fenced', 'b', bLease.epoch]);
  });
  const written = await rows<{ who: string; epoch: number }>(pool, 'SELECT who, epoch FROM writes WHERE lease = @lease ORDER BY seq', { lease: 'group:fenced' });
  t.same(written.map(w => `${w.who}@${w.epoch}`), ['a@1', 'a@1', `b@${bLease.epoch}`], 'a\'s writes, then b\'s: none of a\'s after the takeover');
});

t.test('renewal of many leases is one statement; a lease lost to another replica drops out', async t => {
  const a = new PgLeases(pool, 'replica-a', fast);
  const b = new PgLeases(pool, 'replica-b', fast);
  const names = Array.from({ length: 50 }, (_, i) => `batch:${i}`);
  const held = (await Promise.all(names.map(n => a.acquire(n)))).filter((l): l is HeldLease => l !== undefined);
  t.equal(held.length, 50);
  // One of them expires in the database (as if a's renewals had not arrived) and b takes it.
  await pool.query("UPDATE leases SET expires_at = clock_timestamp() - interval '1 second' WHERE name = 'batch:7'");
  t.ok(await b.acquire('batch:7'));
  const kept = await a.renew(held);
  t.equal(kept.length, 49);
  t.notOk(held[7]!.valid(), 'the lost one is no longer valid on a');
  t.ok(held.filter((_, i) => i !== 7).every(l => l.valid()));
  const { rows: counts } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM leases WHERE holder = 'replica-a' AND name LIKE 'batch:%'");
  t.equal(counts[0]!.n, 49);
});

t.test('a holder cut off from the database stops acting before another replica takes over', async t => {
  const link = await tcpRelay(url);
  t.teardown(link.close);
  const cutPool = createPool({ connectionString: link.url, max: 2, connectionTimeoutMillis: 1000 });
  t.teardown(() => { void cutPool.end().catch(() => undefined); });
  const a = new PgLeases(cutPool, 'replica-a', fast);
  const b = new PgLeases(pool, 'replica-b', fast);
  const held = (await a.acquire('group:partitioned'))!;
  t.ok(held.valid());
  link.cut();
  // a keeps trying to renew through the cut link; each try times out (half the TTL) and keeps nothing.
  const renewing = (async () => {
    const errors: unknown[] = [];
    while (held.valid()) {
      await a.renew([held]).catch((err: unknown) => { errors.push(err); });
    }
    return errors;
  })();
  const [lapsedAt, taken] = await Promise.all([lapse(held), acquireWhenFree(b, 'group:partitioned')]);
  t.ok(lapsedAt < taken.at, `a gave up ${Math.round(taken.at - lapsedAt)} ms before b took over`);
  t.ok((await renewing).length >= 1, 'a\'s renewals failed (timed out) rather than hanging');
  t.equal(taken.lease.epoch, held.epoch + 1);
});

t.test('two keepers share a set of leases: never both, and a stopped keeper hands over at once', async t => {
  const names = Array.from({ length: 10 }, (_, i) => `keep:${i}`);
  const events: string[] = [];
  const keeper = (id: string, p = pool) => {
    const k = new LeaseKeeper(new PgLeases(p, id, fast), {
      intervalMs: 100,
      onAcquired: l => events.push(`${id}+${l.name}`),
      onLost: l => events.push(`${id}-${l.name}`),
    });
    k.want(names);
    return k;
  };
  const a = keeper('keeper-a');
  const b = keeper('keeper-b');
  a.start();
  b.start();
  t.teardown(async () => { await a.stop(); await b.stop(); });
  // Watch for 1.5 s (several TTL fractions): no name is ever valid on both.
  const deadline = now() + 1500;
  let both = 0;
  while (now() < deadline) {
    for (const n of names) if (a.get(n) && b.get(n)) both++;
    await sleep(10);
  }
  t.equal(both, 0, 'no lease held by both keepers at once');
  t.equal(a.heldNames().length + b.heldNames().length, 10, 'every lease held by one of them');
  const stoppedAt = now();
  const hadA = a.heldNames();
  await a.stop();
  while (b.heldNames().length < 10) await sleep(20);
  const handover = now() - stoppedAt;
  t.ok(handover < 1000, `b holds all ten ${Math.round(handover)} ms after a stopped (released, not expired: TTL 2 s)`);
  for (const n of hadA) t.ok(events.includes(`keeper-a-${n}`), `a reported ${n} lost when it stopped`);
});

t.test('a keeper whose database goes away reports its leases lost before the other keeper takes them', async t => {
  const link = await tcpRelay(url);
  t.teardown(link.close);
  const cutPool = createPool({ connectionString: link.url, max: 2, connectionTimeoutMillis: 1000 });
  t.teardown(() => { void cutPool.end().catch(() => undefined); });
  const names = ['cut:0', 'cut:1', 'cut:2'];
  const lostAt = new Map<string, number>();
  const acquiredAt = new Map<string, number>();
  const errors: unknown[] = [];
  const a = new LeaseKeeper(new PgLeases(cutPool, 'keeper-a', fast), { intervalMs: 100, onLost: l => lostAt.set(l.name, now()), onError: e => errors.push(e) });
  a.want(names);
  await a.tick();
  t.same(a.heldNames(), names, 'a holds them');
  a.start();
  const b = new LeaseKeeper(new PgLeases(pool, 'keeper-b', fast), { intervalMs: 50, onAcquired: l => acquiredAt.set(l.name, now()) });
  b.want(names);
  b.start();
  t.teardown(async () => { await b.stop(); await a.stop(); });
  link.cut();
  // a's ticks time out; anything asking a whether it may act gets "no" once the deadline passes.
  while (acquiredAt.size < names.length) {
    for (const n of names) a.get(n);
    await sleep(5);
  }
  for (const n of names) {
    t.ok(lostAt.has(n), `a reported ${n} lost`);
    t.ok(lostAt.get(n)! < acquiredAt.get(n)!, `${n}: lost on a ${Math.round(acquiredAt.get(n)! - lostAt.get(n)!)} ms before b took it`);
  }
  t.ok(errors.length >= 1, 'a\'s ticks reported the unreachable database');
});
