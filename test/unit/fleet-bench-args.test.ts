import t from 'tap';
import { parseFleetArgs } from '../../bench/fleet.js';

/** `npm run bench -- fleet` flags (bench/fleet.ts): defaults, each flag, and every bad one named. */
t.test('defaults, flags in both spellings, and bad values named', async t => {
  t.same(parseFleetArgs([], undefined), { agents: 1000, configs: ['AllAtOnce', 'HalfAtATime'], rounds: 1, json: false });
  t.same(parseFleetArgs(['--agents', '10000', '--connections=10000', '--config', 'OneAtATime', '--json'], 3),
    { agents: 10000, configs: ['OneAtATime'], rounds: 3, json: true, connections: 10000 });
  t.throws(() => parseFleetArgs(['--connections', '0'], undefined), /--connections: '0' is not a positive whole number/);
  t.throws(() => parseFleetArgs(['--connections'], undefined), /--connections: a value is required/);
  t.throws(() => parseFleetArgs(['--agents', '1.5'], undefined), /--agents: '1.5' is not a positive whole number/);
  t.throws(() => parseFleetArgs(['--config', 'Fast'], undefined), /--config: 'Fast' is not one of AllAtOnce, HalfAtATime, OneAtATime/);
  t.throws(() => parseFleetArgs(['--agent', '5'], undefined), /fleet: unknown argument '--agent'/);
});
