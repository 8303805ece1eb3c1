import t from 'tap';
import { HeartbeatPace } from '../../coordinator/agents/pace.js';
import { resolveCoordinatorConfig } from '../../coordinator/config.js';
import { streamSilenceMs } from '../../coordinator/services/liveness.js';

/** The heartbeat pace's arithmetic (coordinator/agents/pace.ts) and its setting. */
t.test('the interval grows in whole steps to keep the fleet under the rate, the timeout with it', async t => {
  const pace = new HeartbeatPace({ intervalMs: 5000, timeoutMs: 15_000, maxPerSecond: 500 });
  t.equal(pace.intervalMs, 5000);
  t.equal(pace.observe(2500), false, '2,500 hosts every 5 s are 500 a second: unchanged');
  t.equal(pace.intervalMs, 5000);
  t.equal(pace.observe(2501), true, 'one more: stretched');
  t.same([pace.intervalMs, pace.timeoutMs], [10_000, 30_000], 'to the next whole step, the timeout in the same ratio');
  t.equal(pace.observe(10_000), true);
  t.same([pace.intervalMs, pace.timeoutMs], [20_000, 60_000], '10,000 hosts: every 20 s, lost after 60 s');
  t.equal(pace.observe(9000), false, 'a smaller fleet never shortens it: agents told 20 s must not be judged by less');
  t.equal(pace.observe(0), false);
  t.same([pace.intervalMs, pace.timeoutMs], [20_000, 60_000]);
});

t.test('a custom timeout keeps its ratio; rate 0 never stretches', async t => {
  const custom = new HeartbeatPace({ intervalMs: 1000, timeoutMs: 8000, maxPerSecond: 100 });
  custom.observe(250);
  t.same([custom.intervalMs, custom.timeoutMs], [3000, 24_000], '250 hosts at 100 a second: 3 steps');
  const off = new HeartbeatPace({ intervalMs: 5000, timeoutMs: 15_000, maxPerSecond: 0 });
  t.equal(off.observe(1_000_000), false);
  t.same([off.intervalMs, off.timeoutMs], [5000, 15_000]);
});

t.test('--max-heartbeat-rate: default 250, flag, environment, bad values named', async t => {
  const resolve = (flags: object, env: NodeJS.ProcessEnv = {}) => resolveCoordinatorConfig({ data: '/tmp/x', ...flags }, { FERRY_COORDINATOR_CONFIG: '', ...env }, '/tmp');
  t.equal(resolve({}).maxHeartbeatRate, 250);
  t.equal(resolve({ maxHeartbeatRate: '0' }).maxHeartbeatRate, 0);
  t.equal(resolve({}, { FERRY_MAX_HEARTBEAT_RATE: '2000' }).maxHeartbeatRate, 2000);
  t.throws(() => resolve({ maxHeartbeatRate: 'fast' }), /--max-heartbeat-rate/);
  t.throws(() => resolve({ maxHeartbeatRate: '-1' }), /--max-heartbeat-rate/);
});

t.test('a silent stream is dropped after 3 intervals, at least 30 s, never later than the timeout', async t => {
  t.equal(streamSilenceMs(5000, 15_000), 15_000, 'defaults: the timeout comes first (the host is lost, its stream with it)');
  t.equal(streamSilenceMs(5000, 120_000), 30_000, 'a long timeout: dropped after 30 s, judged reconnecting until 120 s');
  t.equal(streamSilenceMs(20_000, 300_000), 60_000, 'paced to 20 s: 3 intervals');
  t.equal(streamSilenceMs(40_000, 120_000), 120_000, '10,000 hosts at the default rate: the timeout');
});
