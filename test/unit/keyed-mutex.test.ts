import t from 'tap';
import { KeyedMutex, filterSeq, mapSeq } from '../../coordinator/async.js';

/** Resolves after the current macrotask: other queued work gets its turn in between. */
const tick = () => new Promise<void>(resolve => setImmediate(resolve));

t.test('runs of one key never interleave; other keys run meanwhile', async t => {
  const locks = new KeyedMutex();
  const log: string[] = [];
  const work = (key: string, name: string) => locks.run(key, async () => {
    log.push(`${name} read`);
    await tick();
    await tick();
    log.push(`${name} write`);
  });
  await Promise.all([work('g1', 'a'), work('g1', 'b'), work('g2', 'c')]);
  t.same(log.filter(l => !l.startsWith('c')), ['a read', 'a write', 'b read', 'b write'], 'b reads only after a wrote');
  t.ok(log.indexOf('c read') < log.indexOf('a write'), 'another key is not held up');
  t.notOk(locks.busy('g1'), 'a key without waiters is forgotten');
});

t.test('a failed run releases the key, and its caller gets the error', async t => {
  const locks = new KeyedMutex();
  await t.rejects(locks.run('g', async () => {
    await tick();
    throw new Error('boom');
  }), /boom/);
  t.equal(await locks.run('g', async () => 'next'), 'next');
});

t.test('re-entrant within the holder; work the holder leaves running waits once it settled', async t => {
  const locks = new KeyedMutex();
  const log: string[] = [];
  let later: Promise<void> | undefined;
  await locks.run('g', async () => {
    // Nested (the scheduler stopping a deployment of the group it drives): runs at once.
    t.equal(await locks.run('g', async () => 'inner'), 'inner');
    // Left running (a kick, a timer): must not inherit the hold after the holder is done.
    later = new Promise<void>(resolve => setTimeout(() => {
      void locks.run('g', async () => {
        log.push('later');
      }).then(resolve);
    }, 5));
  });
  let release!: () => void;
  const holding = locks.run('g', () => new Promise<void>(resolve => {
    log.push('second holder');
    release = resolve;
  }));
  await new Promise(resolve => setTimeout(resolve, 30));
  t.same(log, ['second holder'], 'the late work waits for the second holder');
  release();
  await holding;
  await later;
  t.same(log, ['second holder', 'later']);
});

t.test('filterSeq and mapSeq keep order and call one at a time', async t => {
  let inFlight = 0;
  let most = 0;
  const slow = async <T>(v: T): Promise<T> => {
    inFlight++;
    most = Math.max(most, inFlight);
    await tick();
    inFlight--;
    return v;
  };
  t.same(await filterSeq([1, 2, 3, 4], async n => (await slow(n)) % 2 === 0), [2, 4]);
  t.same(await mapSeq(['a', 'b'], async (s, i) => `${await slow(s)}${i}`), ['a0', 'b1']);
  t.equal(most, 1);
});
