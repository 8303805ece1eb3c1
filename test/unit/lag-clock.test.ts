import t from 'tap';
import { LagClock } from '../../coordinator/agents/lag-clock.js';
import { hostState } from '../../coordinator/services/liveness.js';

const liveness = { timeoutMs: 15_000, startedMono: 0, restartGraceMs: 45_000 };

t.test('a stalled event loop does not count as an agent\'s silence', async t => {
  let real = 0;
  const clock = new LagClock(() => real, 50, 50);
  // Ticking normally for 10 s: the clock keeps real time.
  for (let i = 0; i < 200; i++) {
    real += 50;
    clock.tick();
  }
  t.equal(clock.now(), 10_000, 'no lag: real time');
  const heard = clock.now(); // the last heartbeat the coordinator processed
  // The loop is blocked for 20 s (longer than the 15 s timeout): no tick runs meanwhile.
  real += 20_000;
  t.ok(clock.now() - heard <= 100, `a synchronous pass moves the clock by one tick at most (moved ${clock.now() - heard} ms)`);
  clock.tick();
  t.equal(hostState(true, heard, clock.now(), liveness), 'connected', 'judged after the stall: not lost (the real clock would say lost)');
  t.equal(hostState(true, heard, real, liveness), 'lost', 'what the wall of real time would have said');
  t.equal(clock.stalledMs(), 20_000 - 100, 'the stall is measured');
});

t.test('a host silent while the loop keeps up is lost after the timeout', async t => {
  let real = 0;
  const clock = new LagClock(() => real, 50, 50);
  const heard = clock.now();
  for (let i = 0; i < 299; i++) {
    real += 50;
    clock.tick();
    t.equal(hostState(true, heard, clock.now(), liveness), 'connected');
  }
  real += 50;
  clock.tick();
  t.equal(hostState(true, heard, clock.now(), liveness), 'lost', '15 s of real silence');
  t.equal(clock.stalledMs(), 0);
});

t.test('a slow but running loop slows the clock, never turns it back', async t => {
  let real = 0;
  const clock = new LagClock(() => real, 50, 50);
  let last = clock.now();
  for (const step of [30, 400, 10, 5000, 120, 0]) {
    real += step;
    t.ok(clock.now() >= last, 'monotonic between ticks');
    last = clock.now();
    clock.tick();
    t.ok(clock.now() >= last, 'monotonic at a tick');
    last = clock.now();
  }
  t.equal(clock.now(), 30 + 100 + 10 + 100 + 100 + 0, 'each gap counted up to one tick plus slack');
});
