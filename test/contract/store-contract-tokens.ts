/** The Store contract, tokens part: records by id, hashes only, one-use tokens spent exactly once. */
import type { TokenRecord } from '../../coordinator/security/tokens.js';
import type { ConsoleSessionRecord } from '../../coordinator/store/store.js';
import type { StoreTest } from './store-contract.js';
import { at } from './store-builders.js';

function aToken(over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    id: 'abcdefghij01', role: 'deployer', secretHash: 'ab'.repeat(32), description: 'ci', createdAt: at(0),
    expiresAt: null, usesLeft: null, revokedAt: null, createdBy: 'init', hostId: null, tags: null, ...over,
  };
}

export function tokensContract(test: StoreTest): void {
  test('a token is kept as given and found by id; a second one with that id is refused', async (t, store, session) => {
    const token = aToken({ expiresAt: at(60), usesLeft: 3 });
    await store.createToken(token);
    t.same(await (await session.reopen?.() ?? store).getToken(token.id), token);
    await t.rejects(async () => session.store.createToken(aToken()), { code: 'ALREADY_EXISTS' });
    t.equal(await session.store.getToken('nope00000000'), undefined);
  });

  test('tokens are listed oldest first', async (t, store) => {
    await store.createToken(aToken({ id: 'bbbbbbbbbbbb', createdAt: at(2) }));
    await store.createToken(aToken({ id: 'aaaaaaaaaaaa', createdAt: at(1) }));
    t.same((await store.listTokens()).map(x => x.id), ['aaaaaaaaaaaa', 'bbbbbbbbbbbb']);
  });

  test('a one-use token is spent once; unlimited tokens never run out', async (t, store) => {
    await store.createToken(aToken({ id: 'once00000000', usesLeft: 1 }));
    t.ok(await store.consumeToken('once00000000', at(1)));
    t.notOk(await store.consumeToken('once00000000', at(2)), 'the second use is refused');
    t.equal((await store.getToken('once00000000'))?.usesLeft, 0);
    await store.createToken(aToken({ id: 'many00000000' }));
    for (let i = 0; i < 3; i++) t.ok(await store.consumeToken('many00000000', at(i)));
    t.equal((await store.getToken('many00000000'))?.usesLeft, null);
  });

  test('expired, revoked and unknown tokens cannot be spent', async (t, store) => {
    await store.createToken(aToken({ id: 'expiring0000', expiresAt: at(10) }));
    t.ok(await store.consumeToken('expiring0000', at(9)));
    t.notOk(await store.consumeToken('expiring0000', at(10)), 'not at its expiry');
    await store.createToken(aToken({ id: 'revoked00000' }));
    t.ok(await store.revokeToken('revoked00000', at(1)));
    t.notOk(await store.revokeToken('revoked00000', at(2)), 'revoking twice changes nothing');
    t.equal((await store.getToken('revoked00000'))?.revokedAt, at(1));
    t.notOk(await store.consumeToken('revoked00000', at(3)));
    t.notOk(await store.consumeToken('unknown00000', at(3)));
    t.notOk(await store.revokeToken('unknown00000', at(3)));
  });

  test('a role outside the known ones is refused', async (t, store) => {
    await t.rejects(async () => await store.createToken(aToken({ role: 'root' as TokenRecord['role'] })), { code: 'INVALID_ARGUMENT' });
  });
}

export function consoleSessionsContract(test: StoreTest): void {
  const aSession = (over: Partial<ConsoleSessionRecord> = {}): ConsoleSessionRecord => ({
    idHash: 'a1'.repeat(32), tokenId: 'abcdefghij01', actor: 'token:abcdefghij01', role: 'deployer', createdAt: at(0), expiresAt: at(100), ...over,
  });

  test('a console session is kept by the hash of its id, across a reopen, until it expires or is deleted', async (t, store, session) => {
    await store.createToken(aToken());
    const s = aSession();
    await store.createConsoleSession(s, 10);
    await store.createConsoleSession(aSession({ idHash: 'b2'.repeat(32), tokenId: null, actor: 'insecure-local', role: 'admin' }), 10);
    const reopened = await session.reopen?.() ?? store;
    t.same(await reopened.getConsoleSession(s.idHash, at(99)), s);
    t.equal(await reopened.getConsoleSession(s.idHash, at(100)), undefined, 'not at its expiry');
    t.equal(await reopened.getConsoleSession('ff'.repeat(32), at(1)), undefined);
    t.equal((await reopened.getConsoleSession('b2'.repeat(32), at(1)))?.tokenId, null, 'insecure-local has no token');
    await reopened.deleteConsoleSession(s.idHash);
    t.equal(await reopened.getConsoleSession(s.idHash, at(1)), undefined, 'signed out');
    await reopened.deleteConsoleSession(s.idHash);
  });

  test('a session id is saved once; a session of an unknown token is refused', async (t, store) => {
    await store.createToken(aToken());
    await store.createConsoleSession(aSession(), 10);
    await t.rejects(async () => store.createConsoleSession(aSession({ createdAt: at(1) }), 10), { code: 'ALREADY_EXISTS' });
    await t.rejects(async () => store.createConsoleSession(aSession({ idHash: 'e5'.repeat(32), tokenId: 'nobody000000' }), 10), { code: 'NOT_FOUND' });
  });

  test('revoking a token deletes its console sessions, and only its own', async (t, store) => {
    await store.createToken(aToken());
    await store.createToken(aToken({ id: 'other0000000' }));
    await store.createConsoleSession(aSession(), 10);
    await store.createConsoleSession(aSession({ idHash: 'c3'.repeat(32), tokenId: 'other0000000', actor: 'token:other0000000' }), 10);
    t.ok(await store.revokeToken('abcdefghij01', at(1)));
    t.equal(await store.getConsoleSession('a1'.repeat(32), at(2)), undefined, 'the revoked token\'s session is gone');
    t.ok(await store.getConsoleSession('c3'.repeat(32), at(2)), 'another token\'s session stays');
  });

  test('a token keeps its newest sessions only, up to the number asked', async (t, store) => {
    await store.createToken(aToken());
    for (let i = 0; i < 4; i++) await store.createConsoleSession(aSession({ idHash: String(i).repeat(64), createdAt: at(i) }), 3);
    t.equal(await store.getConsoleSession('0'.repeat(64), at(5)), undefined, 'the oldest went');
    t.same(await Promise.all([1, 2, 3].map(async i => Boolean(await store.getConsoleSession(String(i).repeat(64), at(5))))), [true, true, true]);
    for (const i of [4, 5]) await store.createConsoleSession(aSession({ idHash: String(i).repeat(64), createdAt: at(9) }), 1);
    t.same(await Promise.all([3, 4, 5].map(async i => Boolean(await store.getConsoleSession(String(i).repeat(64), at(9))))), [false, false, true],
      'of two made at the same time, the one saved last is the newest');
  });

  test('saving a session deletes the sessions that expired by then', async (t, store) => {
    await store.createToken(aToken());
    await store.createConsoleSession(aSession({ expiresAt: at(5) }), 10);
    await store.createConsoleSession(aSession({ idHash: 'd4'.repeat(32), createdAt: at(10), expiresAt: at(110) }), 10);
    t.equal(await store.getConsoleSession('a1'.repeat(32), at(0)), undefined, 'pruned, even asked about an earlier time');
  });
}

export function hostCertificatesContract(test: StoreTest): void {
  const cert = (fingerprint: string, hostId: string) => ({
    fingerprint, hostId, issuedAt: at(0), expiresAt: at(86_400), tokenId: 'join00000000', revokedAt: null,
  });

  test('an issued host certificate is found by its fingerprint, as given', async (t, store, session) => {
    await store.addHostCertificate(cert('AA:01', 'h1'));
    t.same(await (await session.reopen?.() ?? store).getHostCertificate('AA:01'), cert('AA:01', 'h1'));
    t.equal(await session.store.getHostCertificate('BB:02'), undefined);
    await t.rejects(async () => session.store.addHostCertificate(cert('AA:01', 'h2')), { code: 'ALREADY_EXISTS' });
  });

  test("revoking a host revokes every certificate it has, once, and no other host's", async (t, store) => {
    await store.addHostCertificate(cert('AA:01', 'h1'));
    await store.addHostCertificate(cert('AA:02', 'h1'));
    await store.addHostCertificate(cert('BB:01', 'h2'));
    t.same([...await store.revokedHostIds()], [], 'no host is revoked yet');
    t.equal(await store.revokeHostCertificates('h1', at(5)), 2);
    t.same([...await store.revokedHostIds()], ['h1'], 'a host whose every certificate is revoked is no target');
    t.equal(await store.revokeHostCertificates('h1', at(6)), 0, 'already revoked');
    t.equal((await store.getHostCertificate('AA:02'))?.revokedAt, at(5));
    t.equal((await store.getHostCertificate('BB:01'))?.revokedAt, null);
    t.equal(await store.revokeHostCertificates('nobody', at(7)), 0);
  });

  test('a host\'s active certificate is one neither revoked nor expired; revoking may spare one', async (t, store) => {
    t.equal(await store.activeHostCertificate('h1', at(1)), undefined, 'none yet');
    await store.addHostCertificate(cert('AA:01', 'h1'));
    await store.addHostCertificate({ ...cert('AA:02', 'h1'), expiresAt: at(100_000) });
    t.equal((await store.activeHostCertificate('h1', at(1)))?.fingerprint, 'AA:02', 'the one valid longest');
    t.equal(await store.activeHostCertificate('h1', at(200_000)), undefined, 'expired ones do not count');
    t.equal(await store.revokeHostCertificates('h1', at(2), 'AA:02'), 1, 'all but the one spared');
    t.equal((await store.activeHostCertificate('h1', at(3)))?.fingerprint, 'AA:02');
    t.equal(await store.revokeHostCertificates('h1', at(4)), 1);
    t.equal(await store.activeHostCertificate('h1', at(5)), undefined, 'revoked ones do not count');
  });

  test('a join token may be bound to one host id', async (t, store, session) => {
    await store.createToken({ id: 'bound0000000', role: 'agent', secretHash: 'a'.repeat(64), description: '', createdAt: at(0), expiresAt: null, usesLeft: 1, revokedAt: null, createdBy: 'init', hostId: 'h1', tags: null });
    t.equal((await (await session.reopen?.() ?? store).getToken('bound0000000'))?.hostId, 'h1');
  });

  test('a join token may carry the tags it grants', async (t, store, session) => {
    await store.createToken(aToken({ id: 'tagged000000', role: 'agent', tags: { role: 'web', env: 'prod' } }));
    t.same((await (await session.reopen?.() ?? store).getToken('tagged000000'))?.tags, { role: 'web', env: 'prod' });
  });

  test('a host\'s granted and claimed tags are kept apart: a claim never changes the grant, a grant never the claim', async (t, store, session) => {
    t.equal(await store.getHostTags('h1'), undefined);
    await store.recordClaimedTags('h1', { role: 'db' });
    t.same(await store.getHostTags('h1'), { hostId: 'h1', granted: {}, claimed: { role: 'db' }, grantedBy: '', grantedAt: '' }, 'a claim alone grants nothing');
    await store.grantHostTags('h1', { role: 'web' }, 'token:admin0000000', at(1));
    await store.recordClaimedTags('h1', { role: 'web', extra: 'x' });
    t.same(await (await session.reopen?.() ?? store).getHostTags('h1'), { hostId: 'h1', granted: { role: 'web' }, claimed: { role: 'web', extra: 'x' }, grantedBy: 'token:admin0000000', grantedAt: at(1) });
    await session.store.grantHostTags('h1', {}, 'token:admin0000000', at(2));
    t.same((await session.store.getHostTags('h1'))?.claimed, { role: 'web', extra: 'x' });
  });
}
