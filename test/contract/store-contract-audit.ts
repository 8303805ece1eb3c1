/** The Store contract, audit part: append-only in seq order, filters, refusals folded per address and minute, retention. */
import type { AuditEntry } from '../../coordinator/domain/audit.js';
import type { StoreTest } from './store-contract.js';
import { at } from './store-builders.js';

function entry(over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: at(0), actor: 'token:abcdefghij01', role: 'deployer', action: 'ControlService/CreateDeployment', peer: '10.1.2.3:40000',
    outcome: 'ok', code: '', message: '', target: { application: 'shop', group: 'web' }, ...over,
  };
}

const refusal = (over: Partial<AuditEntry> = {}) => entry({ actor: 'anonymous', role: '', outcome: 'refused', code: 'UNAUTHENTICATED', message: 'no token', ...over });

export function auditContract(test: StoreTest): void {
  test('audit records are kept as given, in seq order, and survive a reopen', async (t, store, session) => {
    const a = await store.appendAudit(entry(), 60_000);
    const b = await store.appendAudit(entry({ at: at(1), action: 'ControlService/RevokeHost', target: { hostId: 'h2' }, outcome: 'failed', code: 'NOT_FOUND', message: 'host h2 does not exist' }), 60_000);
    t.ok(b > a, 'seq grows');
    const all = await (await session.reopen?.() ?? store).listAudit();
    t.same(all.map(r => r.seq), [a, b]);
    t.same(all[0], { ...entry(), seq: a, count: 1, lastAt: at(0) });
    t.equal(all[1]!.code, 'NOT_FOUND');
    t.same(all[1]!.target, { hostId: 'h2' });
  });

  test('audit filters: after a seq, by actor, by action (full or method), by outcome, the newest N', async (t, store) => {
    const s1 = await store.appendAudit(entry(), 0);
    await store.appendAudit(entry({ actor: 'token:other0000000', action: 'ControlService/CreateToken' }), 0);
    const s3 = await store.appendAudit(refusal({ at: at(2) }), 0);
    t.same((await store.listAudit({ afterSeq: s1 })).map(r => r.seq), [s1 + 1, s3]);
    t.same((await store.listAudit({ actor: 'token:other0000000' })).map(r => r.action), ['ControlService/CreateToken']);
    t.same((await store.listAudit({ action: 'CreateDeployment' })).length, 2);
    t.same((await store.listAudit({ action: 'ControlService/CreateToken' })).length, 1);
    t.same((await store.listAudit({ action: 'Deployment' })).length, 0, 'a method name matches whole, not as a substring');
    t.same((await store.listAudit({ outcome: 'refused' })).map(r => r.seq), [s3]);
    t.same((await store.listAudit({ last: 2 })).map(r => r.seq), [s1 + 1, s3], 'newest two, oldest first');
    t.same((await store.listAudit({ limit: 1 })).map(r => r.seq), [s1]);
  });

  test('identical refusals from one address within the fold window become one record with a count', async (t, store) => {
    const first = await store.appendAudit(refusal({ at: at(0), peer: '10.9.9.9:1000' }), 60_000);
    t.equal(await store.appendAudit(refusal({ at: at(30), peer: '10.9.9.9:1001' }), 60_000), first, 'another port of the same address folds');
    const other = await store.appendAudit(refusal({ at: at(31), peer: '10.9.9.8:1000' }), 60_000);
    t.not(other, first, 'another address does not');
    const late = await store.appendAudit(refusal({ at: at(200), peer: '10.9.9.9:1002' }), 60_000);
    t.not(late, first, 'nor one after the window');
    const okCall = await store.appendAudit(entry({ at: at(201) }), 60_000);
    t.not(await store.appendAudit(entry({ at: at(202) }), 60_000), okCall, 'successful calls never fold');
    const folded = (await store.listAudit()).find(r => r.seq === first)!;
    t.equal(folded.count, 2);
    t.equal(folded.at, at(0));
    t.equal(folded.lastAt, at(30));
  });

  test('pruning deletes records last seen before the cutoff, keeps recent ones and folds still recurring, and says how many', async (t, store, session) => {
    await store.appendAudit(entry({ at: at(10) }), 60_000);
    await store.appendAudit(refusal({ at: at(20) }), 60_000);
    const foldedOld = await store.appendAudit(refusal({ at: at(50), peer: '10.7.7.7:1' }), 60_000);
    t.equal(await store.appendAudit(refusal({ at: at(99), peer: '10.7.7.7:2' }), 60_000), foldedOld, 'a refusal folded at 99 s');
    const atCutoff = await store.appendAudit(entry({ at: at(100), action: 'ControlService/CreateToken' }), 60_000);
    const recent = await store.appendAudit(entry({ at: at(150) }), 60_000);
    t.equal(await store.pruneAudit(at(100)), 3, 'the ok record, the refusal and the fold last seen at 99 s');
    t.same((await store.listAudit()).map(r => r.seq), [atCutoff, recent], 'one at the cutoff is not before it: kept');
    t.equal(await store.pruneAudit(at(100)), 0, 'nothing left to delete');

    const kept = await store.appendAudit(refusal({ at: at(160), peer: '10.8.8.8:1' }), 60_000);
    t.equal(await store.appendAudit(refusal({ at: at(210), peer: '10.8.8.8:2' }), 60_000), kept);
    t.equal(await store.pruneAudit(at(200)), 2, 'records at 100 and 150 s go');
    t.same((await store.listAudit()).map(r => ({ seq: r.seq, at: r.at, lastAt: r.lastAt, count: r.count })), [{ seq: kept, at: at(160), lastAt: at(210), count: 2 }],
      'a folded record that began before the cutoff but recurred after it is kept whole');
    const next = await store.appendAudit(entry({ at: at(300) }), 60_000);
    t.ok(next > recent, 'seqs are never reused after a prune');
    t.same((await (await session.reopen?.() ?? store).listAudit()).map(r => r.seq), [kept, next], 'the deletion is durable');
  });

  test('pruning in batches deletes the oldest first, at most limit at a time', async (t, store) => {
    for (const second of [5, 1, 4, 2, 3]) await store.appendAudit(entry({ at: at(second) }), 0);
    t.equal(await store.pruneAudit(at(10), 2), 2);
    t.same((await store.listAudit()).map(r => r.at), [at(5), at(4), at(3)], 'the two oldest by time went (not the lowest seqs)');
    t.equal(await store.pruneAudit(at(10), 2), 2);
    t.equal(await store.pruneAudit(at(10), 2), 1);
    t.equal(await store.pruneAudit(at(10), 2), 0);
    t.same(await store.listAudit(), []);
  });

  test('pruning refuses a cutoff that is not an ISO-8601 UTC time and a bad limit, deleting nothing', async (t, store) => {
    await store.appendAudit(entry({ at: at(1) }), 0);
    for (const before of ['2024-01-01', 'zzz', '', '1704067200000']) {
      await t.rejects(async () => await store.pruneAudit(before), { code: 'INVALID_ARGUMENT' }, `before '${before}'`);
    }
    for (const limit of [0, -1, 1.5]) await t.rejects(async () => await store.pruneAudit(at(10), limit), { code: 'INVALID_ARGUMENT' }, `limit ${limit}`);
    t.equal((await store.listAudit()).length, 1);
  });

  test('an unknown outcome is refused by the store', async (t, store) => {
    await t.rejects(async () => await store.appendAudit(entry({ outcome: 'maybe' as AuditEntry['outcome'] }), 0));
    t.same(await store.listAudit(), []);
  });
}
