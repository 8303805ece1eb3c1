/**
 * The Store contract, in domain terms: any implementation of `Store` must pass it
 * (`storeContract(t, makeStore)`), the Store being asynchronous on both engines. Each subtest gets a fresh store from `makeStore` and closes it.
 */
import type { Test } from 'tap';
import type { Store } from '../../coordinator/store/store.js';
import {
  aConfig, aGroup, aHost, aRevision, anApplication, at, deploymentOf, givenDeployment, givenWorld,
} from './store-builders.js';
import { activeDeploymentContract, statusContract } from './store-contract-deployments.js';
import { eventsContract } from './store-contract-events.js';
import { logAndRevisionContract } from './store-contract-logs.js';
import { metricsContract } from './store-contract-metrics.js';
import { consoleSessionsContract, hostCertificatesContract, tokensContract } from './store-contract-tokens.js';
import { planContract } from './store-contract-plans.js';
import { scheduleContract } from './store-contract-schedules.js';
import { auditContract } from './store-contract-audit.js';
import { countsContract } from './store-contract-counts.js';

export * from './store-builders.js';

export interface StoreFixture {
  store: Store;
  /** Opens the same data again; the contract closes `store` first. Omit for a memory-only store. */
  reopen?: () => Promise<Store>;
}

/** A live store for one subtest; `reopen()` closes it and continues on the reopened one. */
export interface StoreSession {
  store: Store;
  reopen?: () => Promise<Store>;
}

export type StoreTest = (name: string, body: (t: Test, store: Store, session: StoreSession) => unknown) => void;

export function storeContract(t: Test, makeStore: () => Promise<StoreFixture>): void {
  const test: StoreTest = (name, body) => {
    t.test(name, async t => {
      const fixture = await makeStore();
      const session: StoreSession = { store: fixture.store };
      if (fixture.reopen !== undefined) {
        const reopen = fixture.reopen;
        session.reopen = async () => {
          await session.store.close();
          session.store = await reopen();
          return session.store;
        };
      }
      t.teardown(() => session.store.close());
      await body(t, session.store, session);
    });
  };
  catalogContract(test);
  deploymentContract(test);
  statusContract(test);
  countsContract(test);
  activeDeploymentContract(test);
  logAndRevisionContract(test);
  metricsContract(test);
  tokensContract(test);
  consoleSessionsContract(test);
  hostCertificatesContract(test);
  eventsContract(test);
  planContract(test);
  auditContract(test);
  scheduleContract(test);
}

function catalogContract(test: StoreTest): void {
  test('the built-in deployment configs exist from the start', async (t, store) => {
    const builtIns = (await store.listConfigs()).filter(c => c.builtIn).map(({ name, minimumHealthy }) => ({ name, minimumHealthy }));
    t.same(builtIns.sort((a, b) => a.name.localeCompare(b.name)), [
      { name: 'AllAtOnce', minimumHealthy: { type: 'HOST_COUNT', value: 0 } },
      { name: 'HalfAtATime', minimumHealthy: { type: 'FLEET_PERCENT', value: 50 } },
      { name: 'OneAtATime', minimumHealthy: { type: 'ONE_AT_A_TIME' } },
    ]);
    t.equal((await store.getConfig('OneAtATime'))?.builtIn, true);
  });

  test('configs are created once and read back', async (t, store) => {
    const config = aConfig({ minimumHealthy: { type: 'FLEET_PERCENT', value: 75 } });
    await store.createConfig(config);
    t.strictSame(await store.getConfig(config.name), config);
    t.ok((await store.listConfigs()).some(c => c.name === config.name));
    t.equal(await store.getConfig('NoSuchConfig'), undefined);
    await t.rejects(async () => await store.createConfig(aConfig({ name: config.name })), { code: 'ALREADY_EXISTS', message: new RegExp(config.name) });
    await t.rejects(async () => await store.createConfig(aConfig({ name: 'HalfAtATime' })), { code: 'ALREADY_EXISTS', message: /HalfAtATime/ });
  });

  test('a zonal config keeps its zonal settings; other configs have none', async (t, store) => {
    const zonal = aConfig({
      minimumHealthy: { type: 'HOST_COUNT', value: 2 },
      zonal: { monitorMs: 600_000, firstZoneMonitorMs: 1_800_000, minimumHealthyPerZone: { type: 'FLEET_PERCENT', value: 50 } },
    });
    await store.createConfig(zonal);
    t.strictSame(await store.getConfig(zonal.name), zonal);
    t.strictSame((await store.listConfigs()).find(c => c.name === zonal.name), zonal);
    t.equal('zonal' in (await store.getConfig('OneAtATime'))!, false, 'the built-ins are not zonal');
  });

  test('a deployment keeps who created it; one made without it says nothing', async (t, store) => {
    const world = await givenWorld(store);
    const made = await givenDeployment(store, world, { createdBy: 'token:abcdefghij01 (ci)' });
    t.strictSame(await store.getDeployment(made.id), made);
    t.equal((await store.listDeployments({ limit: 10 })).find(d => d.id === made.id)?.createdBy, 'token:abcdefghij01 (ci)');
    const plain = await givenDeployment(store, world);
    t.equal('createdBy' in (await store.getDeployment(plain.id))!, false);
  });

  test('transaction resolves to what its function returns, the writes inside kept; a throw is passed on', async (t, store) => {
    const made = await store.transaction(async () => {
      await store.createApplication(anApplication({ name: 'batched-1' }));
      await store.createApplication(anApplication({ name: 'batched-2' }));
      return 'done';
    });
    t.equal(made, 'done');
    t.same((await store.listApplications()).map(a => a.name), ['batched-1', 'batched-2']);
    await t.rejects(store.transaction(async () => {
      throw new Error('stop');
    }), /stop/);
  });

  test('transaction is one: a throw out of it rolls back every write inside, a caught failure inside keeps the others', async (t, store) => {
    await t.rejects(store.transaction(async () => {
      await store.createApplication(anApplication({ name: 'undone' }));
      throw new Error('stop');
    }), /stop/);
    t.equal(await store.getApplication('undone'), undefined, 'rolled back');
    await store.transaction(async () => {
      await store.createApplication(anApplication({ name: 'kept-1' }));
      await t.rejects(store.createApplication(anApplication({ name: 'kept-1' })), { code: 'ALREADY_EXISTS' });
      await store.createApplication(anApplication({ name: 'kept-2' }));
    });
    t.same((await store.listApplications()).map(a => a.name), ['kept-1', 'kept-2'], 'the failed write did not undo the others');
  });

  test('a call from outside an open transaction is neither part of it nor rolled back with it', async (t, store) => {
    let inside!: () => void;
    const entered = new Promise<void>(resolve => (inside = resolve));
    let release!: () => void;
    const held = new Promise<void>(resolve => (release = resolve));
    const tx = store.transaction(async () => {
      await store.createApplication(anApplication({ name: 'inside' }));
      inside();
      await held;
      throw new Error('undo');
    });
    await entered;
    const outside = store.createApplication(anApplication({ name: 'outside' }));
    release();
    await t.rejects(tx, /undo/);
    await outside;
    t.same((await store.listApplications()).map(a => a.name), ['outside'], 'only the outside write stays');
  });

  test('a deployment keeps its zonal approval gate', async (t, store) => {
    const world = await givenWorld(store);
    const gated = await givenDeployment(store, world, { approveAfterZones: 1 });
    t.strictSame(await store.getDeployment(gated.id), gated);
    const plain = await givenDeployment(store, world);
    t.equal('approveAfterZones' in (await store.getDeployment(plain.id))!, false);
  });

  test('applications are created once and listed by name', async (t, store) => {
    await store.createApplication(anApplication({ name: 'web-shop' }));
    await store.createApplication(anApplication({ name: 'api' }));
    t.strictSame(await store.getApplication('api'), { name: 'api', createdAt: at(0) });
    t.equal(await store.getApplication('nope'), undefined);
    t.same((await store.listApplications()).map(a => a.name), ['api', 'web-shop']);
    await t.rejects(async () => await store.createApplication(anApplication({ name: 'api' })), { code: 'ALREADY_EXISTS', message: /api/ });
  });

  test('group names are unique per application and groups need their application and config', async (t, store) => {
    await store.createApplication(anApplication({ name: 'shop' }));
    await store.createApplication(anApplication({ name: 'blog' }));
    const web = aGroup({ application: 'shop', name: 'web' });
    await store.createGroup(web);
    await store.createGroup(aGroup({ application: 'blog', name: 'web' }));
    t.strictSame(await store.getGroup('shop', 'web'), web, 'tag sets and all fields read back');
    t.strictSame(await store.getGroupById(web.id), web);
    t.equal(await store.getGroup('shop', 'db'), undefined);
    t.equal(await store.getGroupById('nope'), undefined);
    t.same((await store.listGroups('shop')).map(g => g.id), [web.id]);
    t.equal((await store.listGroups()).length, 2);
    await t.rejects(async () => await store.createGroup(aGroup({ application: 'shop', name: 'web' })), { code: 'ALREADY_EXISTS', message: /web/ });
    await t.rejects(async () => await store.createGroup(aGroup({ application: 'ghost' })), { code: 'NOT_FOUND', message: /ghost/ });
    await t.rejects(async () => await store.createGroup(aGroup({ application: 'shop', configName: 'Nope' })), { code: 'NOT_FOUND', message: /Nope/ });
  });

  test('adding a revision twice keeps the first and returns it', async (t, store) => {
    await store.createApplication(anApplication({ name: 'shop' }));
    const first = aRevision({ digest: 'abc', description: 'first', commit: '0123abcd', createdAt: at(1) });
    t.strictSame(await store.addRevision(first), first);
    t.strictSame(await store.addRevision(aRevision({ digest: 'abc', description: 'second', createdAt: at(2) })), first);
    t.equal((await store.listRevisions('shop')).length, 1);
    const plain = await store.addRevision(aRevision({ digest: 'def', createdAt: at(3) }));
    t.notOk('commit' in plain, 'an absent commit stays absent');
    await t.rejects(async () => await store.addRevision(aRevision({ application: 'ghost' })), { code: 'NOT_FOUND', message: /ghost/ });
  });

  test('revisions are found by application and digest, by digest alone, and newest first', async (t, store) => {
    await store.createApplication(anApplication({ name: 'shop' }));
    await store.createApplication(anApplication({ name: 'blog' }));
    await store.addRevision(aRevision({ digest: 'old', createdAt: at(1) }));
    await store.addRevision(aRevision({ digest: 'new', createdAt: at(5) }));
    await store.addRevision(aRevision({ digest: 'mid', createdAt: at(3) }));
    await store.addRevision(aRevision({ application: 'blog', digest: 'only-blog', createdAt: at(9) }));
    t.equal((await store.getRevision('shop', 'mid'))?.digest, 'mid');
    t.equal(await store.getRevision('blog', 'mid'), undefined);
    t.equal((await store.findRevisionByDigest('only-blog'))?.application, 'blog');
    t.equal(await store.findRevisionByDigest('missing'), undefined);
    t.same((await store.listRevisions('shop')).map(r => r.digest), ['new', 'mid', 'old']);
    t.equal((await store.latestRevision('shop'))?.digest, 'new');
    t.equal(await store.latestRevision('nothing'), undefined);
  });

  test('last-seen times of many hosts are written at once; connected only where said; unknown hosts skipped', async (t, store) => {
    for (const id of ['a', 'b', 'c']) await store.upsertHost(aHost({ id, lastSeenAt: at(1) }));
    await store.setHostConnected('b', false, at(2));
    await store.setHostConnected('c', false, at(2));
    t.equal(await store.recordHostsSeen([]), 0);
    t.equal(await store.recordHostsSeen([
      { id: 'a', at: at(5) }, { id: 'b', at: at(6) }, { id: 'c', at: at(7), connected: true }, { id: 'gone', at: at(8), connected: true },
    ]), 3);
    t.match(await store.getHost('a'), { lastSeenAt: at(5), connected: true });
    t.match(await store.getHost('b'), { lastSeenAt: at(6), connected: false }, 'a time alone leaves a disconnected host disconnected');
    t.match(await store.getHost('c'), { lastSeenAt: at(7), connected: true });
    t.equal(await store.getHost('gone'), undefined);
    t.equal(await store.recordHostsSeen([{ id: 'a', at: at(4) }]), 1);
    t.equal((await store.getHost('a'))?.lastSeenAt, at(5), 'a heartbeat time older than the stored one (a registration since) does not move it back');
    // Inside a transaction it is part of it: rolled back with it.
    await t.rejects(store.transaction(async () => {
      await store.recordHostsSeen([{ id: 'a', at: at(9) }]);
      throw new Error('roll back');
    }));
    t.equal((await store.getHost('a'))?.lastSeenAt, at(5));
  });

  test('host presence is every listed host by id: connected flag and last-seen time only', async (t, store) => {
    for (const id of ['z', 'a', 'm']) await store.upsertHost(aHost({ id, lastSeenAt: at(1), facts: { cpus: 4 } }));
    await store.setHostConnected('m', false, at(3));
    await store.removeHost('z', at(4));
    t.strictSame(await store.listHostPresence(), [
      { id: 'a', connected: true, lastSeenAt: at(1) },
      { id: 'm', connected: false, lastSeenAt: at(3) },
    ]);
    t.strictSame(await store.listHostPresence(), (await store.listHosts()).map(h => ({ id: h.id, connected: h.connected, lastSeenAt: h.lastSeenAt })));
  });

  test('upserting a host updates it, keeps registeredAt and marks it connected', async (t, store) => {
    const host = aHost({ id: 'h1', registeredAt: at(1), lastSeenAt: at(1) });
    await store.upsertHost(host);
    t.strictSame(await store.getHost('h1'), host);
    await store.setHostConnected('h1', false, at(5));
    t.match(await store.getHost('h1'), { connected: false, lastSeenAt: at(5) });
    const { zone: _zone, ...withoutZone } = aHost({
      id: 'h1', tags: { role: 'api' }, facts: { cpus: 8 }, agentVersion: '0.2.0', connected: false,
      registeredAt: at(7), lastSeenAt: at(7),
    });
    await store.upsertHost(withoutZone);
    t.strictSame(await store.getHost('h1'), { ...withoutZone, connected: true, registeredAt: at(1) });
    t.equal(await store.recordHostsSeen([{ id: 'h1', at: at(9) }]), 1);
    t.match(await store.getHost('h1'), { lastSeenAt: at(9), connected: true });
    await store.upsertHost(aHost({ id: 'h0' }));
    t.same((await store.listHosts()).map(h => h.id).sort(), ['h0', 'h1']);
    t.equal(await store.getHost('nope'), undefined);
    await t.rejects(async () => await store.setHostConnected('nope', true, at(1)), { code: 'NOT_FOUND' });
  });
}

function deploymentContract(test: StoreTest): void {
  test('a deployment reads back as created, optional fields absent', async (t, store) => {
    const world = await givenWorld(store);
    const deployment = await givenDeployment(store, world, { fileExistsBehavior: 'RETAIN', creator: 'rollback' });
    t.strictSame(await store.getDeployment(deployment.id), deployment);
    for (const key of ['targetHostIds', 'minHealthyHosts', 'errorCode', 'errorMessage', 'startedAt', 'completedAt']) {
      t.notOk(key in (await store.getDeployment(deployment.id) ?? {}), `${key} is absent`);
    }
    const late = await givenDeployment(store, world, { creator: 'autoscaling', targetHostIds: ['h1', 'h2'], status: 'Queued' });
    t.strictSame(await store.getDeployment(late.id), late, 'target host ids read back');
    t.equal(await store.getDeployment('nope'), undefined);
  });

  test('group policies (auto-rollback, alarms, rollback config) are stored and read back', async (t, store) => {
    const world = await givenWorld(store);
    await store.setGroupAutoRollback(world.group.id, ['failure', 'alarm']);
    await store.setGroupAlarms(world.group.id, ['cpu > 80% for 1m']);
    await store.setGroupRollbackConfig(world.group.id, 'AllAtOnce');
    t.match(await store.getGroupById(world.group.id), { autoRollback: ['failure', 'alarm'], alarms: ['cpu > 80% for 1m'], rollbackConfig: 'AllAtOnce' });
    await store.setGroupRollbackConfig(world.group.id, null);
    t.notOk('rollbackConfig' in (await store.getGroupById(world.group.id) ?? {}), 'null clears the rollback config');
    await t.rejects(async () => await store.setGroupRollbackConfig(world.group.id, 'NoSuchConfig'), { code: 'NOT_FOUND', message: /NoSuchConfig/ });
    await t.rejects(async () => await store.setGroupAlarms('no-such-group', []), { code: 'NOT_FOUND' });
  });

  test('a group\'s tag sets and config are replaced (group update) and read back', async (t, store) => {
    const world = await givenWorld(store);
    const sets = [[{ key: 'role', value: 'api' }], [{ key: 'env' }, { value: 'prod' }]];
    await store.setGroupTagSets(world.group.id, sets);
    await store.setGroupConfig(world.group.id, 'HalfAtATime');
    t.match(await store.getGroupById(world.group.id), { tagSets: sets, configName: 'HalfAtATime' });
    t.strictSame((await store.getGroup(world.application.name, world.group.name))?.tagSets, sets);
    await t.rejects(async () => await store.setGroupConfig(world.group.id, 'NoSuchConfig'), { code: 'NOT_FOUND', message: /NoSuchConfig/ });
    t.equal((await store.getGroupById(world.group.id))?.configName, 'HalfAtATime', 'unchanged by the refused update');
    await t.rejects(async () => await store.setGroupTagSets('no-such-group', sets), { code: 'NOT_FOUND' });
    await t.rejects(async () => await store.setGroupConfig('no-such-group', 'AllAtOnce'), { code: 'NOT_FOUND' });
  });

  test('a rollback is linked both ways once, and is the next queued deployment before older ones', async (t, store) => {
    const world = await givenWorld(store);
    const failed = await givenDeployment(store, world, { createdAt: at(1), status: 'Queued' });
    const waiting = await givenDeployment(store, world, { createdAt: at(2), status: 'Queued' });
    const rollback = await givenDeployment(store, world, { createdAt: at(3), status: 'Queued', creator: 'rollback', rollbackOf: failed.id });
    t.ok(await store.linkRollback(failed.id, rollback.id));
    t.notOk(await store.linkRollback(failed.id, waiting.id), 'a deployment is rolled back once');
    t.equal((await store.getDeployment(failed.id))?.rolledBackBy, rollback.id);
    t.equal((await store.getDeployment(rollback.id))?.rollbackOf, failed.id);
    t.equal((await store.nextQueued(world.group.id))?.id, rollback.id, 'the rollback goes first');
  });

  test('a deployment needs a unique id, its group and its revision', async (t, store) => {
    const world = await givenWorld(store);
    const deployment = await givenDeployment(store, world);
    await t.rejects(async () => await store.createDeployment(deploymentOf(world, { id: deployment.id })), { code: 'ALREADY_EXISTS', message: new RegExp(deployment.id) });
    await t.rejects(async () => await store.createDeployment(deploymentOf(world, { groupId: 'no-such-group' })), { code: 'NOT_FOUND', message: /no-such-group/ });
    await t.rejects(async () => await store.createDeployment(deploymentOf(world, { revisionDigest: 'no-such-digest' })), { code: 'NOT_FOUND', message: /no-such-digest/ });
  });

  test('deployments are listed newest first by creation order (a sequence, not the clock), filtered, 50 by default', async (t, store) => {
    const shop = await givenWorld(store);
    const blog = await givenWorld(store);
    const first = await givenDeployment(store, shop, { createdAt: at(1) });
    const second = await givenDeployment(store, blog, { createdAt: at(2) });
    const third = await givenDeployment(store, shop, { createdAt: at(3), status: 'Queued' });
    // Created last, though the clock went back an hour in between.
    const sameInstant = await givenDeployment(store, blog, { createdAt: at(-3600) });
    const ids = async (filter?: Parameters<Store['listDeployments']>[0]): Promise<string[]> => (await store.listDeployments(filter)).map(d => d.id);
    t.same(await ids(), [sameInstant.id, third.id, second.id, first.id], 'created later first, whatever the clock said');
    t.same(await ids({ application: shop.application.name }), [third.id, first.id]);
    t.same(await ids({ groupId: blog.group.id }), [sameInstant.id, second.id]);
    t.same(await ids({ statuses: ['Queued'] }), [third.id]);
    t.same(await ids({ statuses: [] }), []);
    t.same(await ids({ limit: 2 }), [sameInstant.id, third.id]);
    for (let i = 0; i < 50; i++) await givenDeployment(store, shop, { createdAt: at(10 + i) });
    t.equal((await store.listDeployments()).length, 50);
    t.equal((await store.listDeployments({ limit: 100 })).length, 54);
  });

  test('a status change applies its patch; null clears a field; a refused change applies nothing', async (t, store) => {
    const world = await givenWorld(store);
    const d = await givenDeployment(store, world);
    t.ok(await store.transitionDeployment(d.id, 'InProgress', { startedAt: at(1), minHealthyHosts: 2 }));
    t.ok(await store.transitionDeployment(d.id, 'Paused', { errorCode: 'AWAITING_APPROVAL', errorMessage: 'waiting' }));
    t.match(await store.getDeployment(d.id), { status: 'Paused', startedAt: at(1), minHealthyHosts: 2, errorCode: 'AWAITING_APPROVAL' });
    t.ok(await store.transitionDeployment(d.id, 'InProgress', { errorCode: null, errorMessage: null }));
    const resumed = await store.getDeployment(d.id);
    t.notOk(resumed !== undefined && ('errorCode' in resumed || 'errorMessage' in resumed), 'error cleared');
    t.ok(await store.transitionDeployment(d.id, 'Failed', { errorCode: 'HOST_FAILED', completedAt: at(9) }));
    t.notOk(await store.transitionDeployment(d.id, 'Succeeded', { errorCode: 'OTHER', completedAt: at(10) }));
    t.match(await store.getDeployment(d.id), { status: 'Failed', errorCode: 'HOST_FAILED', completedAt: at(9) });
    t.notOk(await store.transitionDeployment('no-such-deployment', 'Stopped'), 'an unknown id changes nothing');
  });
}
