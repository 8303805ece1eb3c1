import t from 'tap';
import { AgentRegistry } from '../../coordinator/agents/registry.js';
import { hostState } from '../../coordinator/services/liveness.js';

const liveness = { timeoutMs: 15_000, startedMono: 0, restartGraceMs: 45_000 };

t.test('the hosts that fell silent between two liveness checks are exactly those judged lost at the second and not the first', async t => {
  const registry = new AgentRegistry();
  const heardAt = [1_000, 4_999, 5_000, 5_001, 9_000, 10_000, 10_001, 30_000];
  heardAt.forEach((at, i) => registry.markHeard(`h${i}`, at));
  const lostAt = (now: number) => heardAt.flatMap((at, i) => (hostState(true, at, now, liveness) === 'lost' ? [`h${i}`] : []));
  const [first, second] = [20_000, 25_000];
  const fellSilent = registry.heardBetween(first - liveness.timeoutMs, second - liveness.timeoutMs);
  t.same(fellSilent.sort(), lostAt(second).filter(id => !lostAt(first).includes(id)).sort());
  t.same(fellSilent.sort(), ['h3', 'h4', 'h5'], 'heard in (5 s, 10 s]');
  registry.markHeard('h4', 24_000);
  t.same(registry.heardBetween(first - liveness.timeoutMs, second - liveness.timeoutMs).sort(), ['h3', 'h5'], 'heard again since: not silent');
});
