/**
 * The agent registry with several replicas (coordinator/agents/registry.ts spanReplicas): hosts whose streams
 * another replica holds are seen through what the store says of them. Pure, with injected clocks.
 */
import t from 'tap';
import { AgentRegistry, type AgentSession } from '../../coordinator/agents/registry.js';

function replicated(now: { wall: number; mono: number }, floor = -Infinity) {
  const relayed: string[] = [];
  const registry = new AgentRegistry();
  registry.spanReplicas({ relay: id => relayed.push(id), wall: () => now.wall, monotonic: () => now.mono, flushLagMs: () => 10_000, floor, replicaGoneGraceMs: 35_000 });
  return { registry, relayed };
}

const local = (hostId: string, sent: unknown[]): AgentSession => ({ hostId, connectedAt: 0, send: m => { sent.push(m); return true; }, close: () => undefined });

t.test('a host connected to another replica: a stand-in session that relays, connected, heard when its replica last wrote', async t => {
  const now = { wall: 1_000_000, mono: 50_000 };
  const { registry, relayed } = replicated(now);
  registry.updateElsewhere([
    { id: 'remote', connected: true, lastSeenAt: new Date(now.wall - 4000).toISOString() },
    { id: 'gone', connected: false, lastSeenAt: new Date(now.wall - 60_000).toISOString() },
  ]);
  t.ok(registry.replicated);
  t.ok(registry.isConnected('remote'), 'connected, per the store');
  t.notOk(registry.local('remote'), 'but its stream is not here');
  const stand = registry.get('remote');
  t.ok(stand?.elsewhere, 'get answers a stand-in');
  t.equal(stand?.acksCommands, undefined, 'which expects no acks here (its replica tracks them)');
  t.ok(stand?.send({ deploy: {} as never }), 'sending through it succeeds');
  t.same(relayed, ['remote'], 'by relaying the host id to the replica holding its stream');
  // Last seen 4 s ago (wall), plus the two-interval allowance: heard 6 s "ahead" on the monotonic clock.
  t.equal(registry.lastHeard('remote'), now.mono - 4000 + 10_000);
  t.notOk(registry.isConnected('gone'), 'a host disconnected in the store is not connected');
  t.notOk(registry.get('gone'), 'and has no session');
  t.equal(registry.lastHeard('gone'), now.mono - 60_000 + 10_000, 'its last-seen time still counts for liveness');
  t.same(registry.connectedHostIds(), ['remote'], 'connected hosts include those elsewhere');
  t.same(registry.localHostIds(), [], 'local ones do not');
});

t.test('a host whose stream is here is its own session; the store\'s view of it is ignored', async t => {
  const now = { wall: 1_000_000, mono: 50_000 };
  const { registry, relayed } = replicated(now);
  const sent: unknown[] = [];
  registry.add(local('h1', sent));
  registry.markHeard('h1', 49_000);
  registry.updateElsewhere([{ id: 'h1', connected: false, lastSeenAt: new Date(0).toISOString() }]);
  t.equal(registry.lastHeard('h1'), 49_000, 'heard here');
  registry.get('h1')!.send({ cancel: { deploymentId: 'd', reason: 'x' } });
  t.equal(sent.length, 1, 'sent on its own stream');
  t.same(relayed, [], 'nothing relayed');
});

t.test('a host whose stream is on a replica that is gone gets the time its agent needs to move', async t => {
  const now = { wall: 1_000_000, mono: 50_000 };
  const { registry } = replicated(now);
  const seen = new Date(now.wall - 20_000).toISOString();
  registry.updateElsewhere([{ id: 'a', connected: true, lastSeenAt: seen }, { id: 'b', connected: true, lastSeenAt: seen }, { id: 'c', connected: true, lastSeenAt: seen }]);
  registry.registeredOn('a', 'replica-1');
  registry.registeredOn('b', 'replica-2');
  const base = now.mono - 20_000 + 10_000;
  t.equal(registry.lastHeard('a'), base, 'before any presence is known: no allowance');
  registry.setLiveReplicas(new Set(['replica-2']));
  t.equal(registry.lastHeard('a'), base + 35_000, 'its replica is gone: the allowance');
  t.equal(registry.lastHeard('b'), base, 'its replica is present: none');
  t.equal(registry.lastHeard('c'), base, 'its replica unknown: none');
});

t.test('no remote host is judged older than the restart grace floor', async t => {
  const now = { wall: 1_000_000, mono: 50_000 };
  const { registry } = replicated(now, 45_000);
  registry.updateElsewhere([{ id: 'old', connected: true, lastSeenAt: new Date(now.wall - 600_000).toISOString() }]);
  t.equal(registry.lastHeard('old'), 45_000);
});

t.test('one coordinator (not replicated): nothing changes', async t => {
  const registry = new AgentRegistry();
  registry.updateElsewhere([{ id: 'x', connected: true, lastSeenAt: new Date().toISOString() }]);
  t.notOk(registry.replicated);
  t.notOk(registry.isConnected('x'));
  t.notOk(registry.get('x'));
  t.equal(registry.lastHeard('x'), undefined);
});
