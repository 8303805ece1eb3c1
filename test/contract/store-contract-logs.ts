/**
 * The Store contract, part three: lifecycle event records, hook output, what each host runs and
 * automatic deployments of late hosts. Run through `storeContract`.
 */
import type { Host } from '../../coordinator/domain/types.js';
import type { StoreTest } from './store-contract.js';
import { aLogLine, anEventRecord, at, givenHosts, givenStarted, givenWorld } from './store-builders.js';

function twoHosts(hosts: Host[]): [Host, Host] {
  const [a, b] = hosts;
  if (a === undefined || b === undefined) throw new Error('test setup: two hosts');
  return [a, b];
}

export function logAndRevisionContract(test: StoreTest): void {
  test('an event record is replaced per (deployment, host, event) and listed in report order', async (t, store) => {
    const [h1, h2] = twoHosts(await givenHosts(store, 2));
    const d = await givenStarted(store, await givenWorld(store), [h1, h2]);
    const ref = { deploymentId: d.id, hostId: h1.id };
    await store.putEventRecord(anEventRecord({ ...ref, event: 'BeforeInstall', status: 'InProgress', message: 'running' }));
    await store.putEventRecord(anEventRecord({ ...ref, event: 'Install', status: 'Pending', startedAt: undefined }));
    await store.putEventRecord(anEventRecord({ deploymentId: d.id, hostId: h2.id, event: 'BeforeInstall' }));
    const done = {
      ...ref, event: 'BeforeInstall', status: 'Failed' as const, errorCode: 'ScriptFailed', exitCode: 3,
      startedAt: at(1), endedAt: at(4), durationMs: 3000,
    };
    await store.putEventRecord(done);
    t.strictSame(await store.listEventRecords(d.id, h1.id), [done, { ...ref, event: 'Install', status: 'Pending' }],
      'the replaced record lost its message; absent fields stay absent');
    t.equal((await store.listEventRecords(d.id)).length, 3);
    t.same(await store.listEventRecords(d.id, 'nope'), []);
    await t.rejects(async () => await store.putEventRecord(anEventRecord({ deploymentId: d.id, hostId: 'nope' })), { code: 'NOT_FOUND' });
  });

  test('hook output is kept per host up to a byte limit, newest lines kept, seq increasing', async (t, store) => {
    const [h1, h2] = twoHosts(await givenHosts(store, 2));
    const d = await givenStarted(store, await givenWorld(store), [h1, h2]);
    const line = (hostId: string, text: string) => aLogLine({ deploymentId: d.id, hostId, line: text });
    const kept = async (hostId: string) => (await store.listLogs(d.id, { hostId })).map(l => l.line);
    await store.appendLogs([line(h1.id, 'aaaa'), line(h2.id, 'zz'), line(h1.id, 'bbbb'), line(h1.id, 'cccc')], 10);
    t.same(await kept(h1.id), ['bbbb', 'cccc'], 'oldest dropped until the rest fit');
    t.same(await kept(h2.id), ['zz'], 'another host keeps its own lines');
    await store.appendLogs([line(h1.id, 'dd')], 10);
    t.same(await kept(h1.id), ['bbbb', 'cccc', 'dd'], 'exactly at the limit is kept');
    await store.appendLogs([line(h1.id, '€€')], 10);
    t.same(await kept(h1.id), ['dd', '€€'], 'the limit counts UTF-8 bytes, not characters');
    const seqs = (await store.listLogs(d.id)).map(l => l.seq);
    t.same(seqs, [...seqs].sort((a, b) => a - b), 'listed in seq order');
    t.equal(new Set(seqs).size, seqs.length, 'seq is unique');
    await store.appendLogs([line(h2.id, 'late')], 10);
    const last = (await store.listLogs(d.id)).at(-1);
    t.ok(last !== undefined && last.seq > Math.max(...seqs), 'a new line gets a higher seq than any before');
    await store.appendLogs([], 10);
    await t.rejects(async () => await store.appendLogs([line('nope', 'x')], 10), { code: 'NOT_FOUND' });
  });

  test('hook output is read after a seq, per host, up to a limit', async (t, store) => {
    const [h1, h2] = twoHosts(await givenHosts(store, 2));
    const d = await givenStarted(store, await givenWorld(store), [h1, h2]);
    const lines = ['one', 'two', 'three', 'four', 'five'].map((text, i) =>
      aLogLine({ deploymentId: d.id, hostId: i % 2 === 0 ? h1.id : h2.id, line: text, stream: i === 4 ? 'stderr' : 'stdout' }));
    await store.appendLogs(lines, 1 << 20);
    const all = await store.listLogs(d.id);
    t.same(all.map(l => l.line), ['one', 'two', 'three', 'four', 'five']);
    t.strictSame(all[4], { ...lines[4], seq: all[4]?.seq });
    const second = all[1]?.seq ?? 0;
    t.same((await store.listLogs(d.id, { afterSeq: second })).map(l => l.line), ['three', 'four', 'five']);
    t.same((await store.listLogs(d.id, { hostId: h1.id })).map(l => l.line), ['one', 'three', 'five']);
    t.same((await store.listLogs(d.id, { hostId: h1.id, afterSeq: second, limit: 1 })).map(l => l.line), ['three']);
    t.same((await store.listLogs(d.id, { limit: 2 })).map(l => l.line), ['one', 'two']);
    t.same(await store.listLogs('no-such-deployment'), []);
  });

  test('what a host of a group runs is one record, replaced', async (t, store) => {
    const [h1, h2] = twoHosts(await givenHosts(store, 2));
    const world = await givenWorld(store);
    const d = await givenStarted(store, world, [h1, h2]);
    const base = { groupId: world.group.id, deploymentId: d.id };
    await store.recordHostRevision({ ...base, hostId: h1.id, revisionDigest: 'r1', lastStatus: 'Succeeded', at: at(1) });
    await store.recordHostRevision({ ...base, hostId: h2.id, revisionDigest: 'r1', lastStatus: 'Failed', at: at(2) });
    const latest = { ...base, hostId: h1.id, revisionDigest: 'r2', lastStatus: 'Failed' as const, at: at(3) };
    await store.recordHostRevision(latest);
    const states = await store.hostRevisions(world.group.id);
    t.equal(states.length, 2);
    t.strictSame(states.find(s => s.hostId === h1.id), latest);
    t.same(await store.hostRevisions((await givenWorld(store)).group.id), []);
  });

  test('a late host is claimed for a revision once', async (t, store) => {
    const [h1, h2] = twoHosts(await givenHosts(store, 2));
    const group = (await givenWorld(store)).group.id;
    t.ok(await store.claimAutoDeployment(group, h1.id, 'r1'), 'first claim');
    t.notOk(await store.claimAutoDeployment(group, h1.id, 'r1'), 'second claim of the same revision');
    t.ok(await store.claimAutoDeployment(group, h1.id, 'r2'), 'another revision');
    t.ok(await store.releaseAutoDeployment(group, h1.id, 'r1'), 'a claim given back');
    t.notOk(await store.releaseAutoDeployment(group, h1.id, 'r1'), 'only once');
    t.ok(await store.claimAutoDeployment(group, h1.id, 'r1'), 'and claimed again');
    t.ok(await store.claimAutoDeployment(group, h2.id, 'r1'), 'another host');
  });
}
