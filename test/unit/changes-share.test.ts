/**
 * What replicas tell each other as data over the change bus (coordinator/changes.ts share/onShared): alarm
 * states, upgrade commands and answers. Two Changes joined by an in-memory link standing in for PgBus.
 */
import t from 'tap';
import { type ChangeLink, Changes } from '../../coordinator/changes.js';

/** Two replicas' links: what one publishes, the other hears (never itself, as with PgBus). */
function linkedPair(): [ChangeLink, ChangeLink] {
  const listeners: ((names: string[]) => void)[][] = [[], []];
  const link = (me: number): ChangeLink => ({
    publish: names => { for (const fn of listeners[1 - me]!) fn([...names]); },
    onNames: fn => { listeners[me]!.push(fn); return () => undefined; },
    onResync: () => () => undefined,
  });
  return [link(0), link(1)];
}

const tick = () => new Promise(resolve => setImmediate(resolve));

t.test('data shared by one replica reaches the others\' listeners of its topic, not its own', async t => {
  const [la, lb] = linkedPair();
  const a = new Changes();
  const b = new Changes();
  a.connect(la);
  b.connect(lb);
  const atA: unknown[] = [];
  const atB: unknown[] = [];
  a.onShared('upgrade', d => atA.push(d));
  b.onShared('upgrade', d => atB.push(d));
  b.onShared('alarms', () => atB.push('wrong topic'));
  a.share('upgrade', { hostId: 'h1', upgrade: { upgradeId: 'u1' } });
  await tick();
  await tick();
  t.same(atB, [{ hostId: 'h1', upgrade: { upgradeId: 'u1' } }], 'the other replica got it, under its topic only');
  t.same(atA, [], 'not echoed to the sender');
  b.resync();
  await tick();
  t.equal(atB.length, 1, 'a resync wakes watchers, not data listeners');
});

t.test('with one coordinator (no link) sharing is a no-op; a malformed shared name is ignored', async t => {
  const alone = new Changes();
  let heard = 0;
  alone.onShared('alarms', () => heard++);
  alone.share('alarms', { hostId: 'h1', states: [] });
  await tick();
  t.equal(heard, 0);
  const [la, lb] = linkedPair();
  const b = new Changes();
  b.connect(lb);
  b.onShared('alarms', () => heard++);
  la.publish(['share:{not json', 'share:[42]', 'share:["alarms"']);
  await tick();
  await tick();
  t.equal(heard, 0, 'nothing delivered, nothing thrown');
});
