/**
 * The Store contract, in domain terms: any implementation of `Store` must pass it
 * (`storeContract(t, makeStore)`). Each subtest gets a fresh store from `makeStore` and closes it.
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

export * from './store-builders.js';

export interface StoreFixture {
  store: Store;
  /** Opens the same data again; the contract closes `store` first. Omit for a memory-only store. */
  reopen?: () => Store;
}

/** A live store for one subtest; `reopen()` closes it and continues on the reopened one. */
export interface StoreSession {
  store: Store;
  reopen?: () => Store;
}

export type StoreTest = (name: string, body: (t: Test, store: Store, session: StoreSession) => unknown) => void;

export function storeContract(t: Test, makeStore: () => Promise<StoreFixture>): void {
  const test: StoreTest = (name, body) => {
    t.test(name, async t => {
      const fixture = await makeStore();
      const session: StoreSession = { store: fixture.store };
      if (fixture.reopen !== undefined) {
        const reopen = fixture.reopen;
        session.reopen = () => {
          session.store.close();
          session.store = reopen();
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
  test('the built-in deployment configs exist from the start', (t, store) => {
    const builtIns = store.listConfigs().filter(c => c.builtIn).map(({ name, minimumHealthy }) => ({ name, minimumHealthy }));
    t.same(builtIns.sort((a, b) => a.name.localeCompare(b.name)), [
      { name: 'AllAtOnce', minimumHealthy: { type: 'HOST_COUNT', value: 0 } },
      { name: 'HalfAtATime', minimumHealthy: { type: 'FLEET_PERCENT', value: 50 } },
      { name: 'OneAtATime', minimumHealthy: { type: 'ONE_AT_A_TIME' } },
    ]);
    t.equal(store.getConfig('OneAtATime')?.builtIn, true);
  });

  test('configs are created once and read back', (t, store) => {
    const config = aConfig({ minimumHealthy: { type: 'FLEET_PERCENT', value: 75 } });
    store.createConfig(config);
    t.strictSame(store.getConfig(config.name), config);
    t.ok(store.listConfigs().some(c => c.name === config.name));
    t.equal(store.getConfig('NoSuchConfig'), undefined);
    t.throws(() => store.createConfig(aConfig({ name: config.name })), { code: 'ALREADY_EXISTS', message: new RegExp(config.name) });
    t.throws(() => store.createConfig(aConfig({ name: 'HalfAtATime' })), { code: 'ALREADY_EXISTS', message: /HalfAtATime/ });
  });

  test('a zonal config keeps its zonal settings; other configs have none', (t, store) => {
    const zonal = aConfig({
      minimumHealthy: { type: 'HOST_COUNT', value: 2 },
      zonal: { monitorMs: 600_000, firstZoneMonitorMs: 1_800_000, minimumHealthyPerZone: { type: 'FLEET_PERCENT', value: 50 } },
    });
    store.createConfig(zonal);
    t.strictSame(store.getConfig(zonal.name), zonal);
    t.strictSame(store.listConfigs().find(c => c.name === zonal.name), zonal);
    t.equal('zonal' in store.getConfig('OneAtATime')!, false, 'the built-ins are not zonal');
  });

  test('a deployment keeps its zonal approval gate', (t, store) => {
    const world = givenWorld(store);
    const gated = givenDeployment(store, world, { approveAfterZones: 1 });
    t.strictSame(store.getDeployment(gated.id), gated);
    const plain = givenDeployment(store, world);
    t.equal('approveAfterZones' in store.getDeployment(plain.id)!, false);
  });

  test('applications are created once and listed by name', (t, store) => {
    store.createApplication(anApplication({ name: 'web-shop' }));
    store.createApplication(anApplication({ name: 'api' }));
    t.strictSame(store.getApplication('api'), { name: 'api', createdAt: at(0) });
    t.equal(store.getApplication('nope'), undefined);
    t.same(store.listApplications().map(a => a.name), ['api', 'web-shop']);
    t.throws(() => store.createApplication(anApplication({ name: 'api' })), { code: 'ALREADY_EXISTS', message: /api/ });
  });

  test('group names are unique per application and groups need their application and config', (t, store) => {
    store.createApplication(anApplication({ name: 'shop' }));
    store.createApplication(anApplication({ name: 'blog' }));
    const web = aGroup({ application: 'shop', name: 'web' });
    store.createGroup(web);
    store.createGroup(aGroup({ application: 'blog', name: 'web' }));
    t.strictSame(store.getGroup('shop', 'web'), web, 'tag sets and all fields read back');
    t.strictSame(store.getGroupById(web.id), web);
    t.equal(store.getGroup('shop', 'db'), undefined);
    t.equal(store.getGroupById('nope'), undefined);
    t.same(store.listGroups('shop').map(g => g.id), [web.id]);
    t.equal(store.listGroups().length, 2);
    t.throws(() => store.createGroup(aGroup({ application: 'shop', name: 'web' })), { code: 'ALREADY_EXISTS', message: /web/ });
    t.throws(() => store.createGroup(aGroup({ application: 'ghost' })), { code: 'NOT_FOUND', message: /ghost/ });
    t.throws(() => store.createGroup(aGroup({ application: 'shop', configName: 'Nope' })), { code: 'NOT_FOUND', message: /Nope/ });
  });

  test('adding a revision twice keeps the first and returns it', (t, store) => {
    store.createApplication(anApplication({ name: 'shop' }));
    const first = aRevision({ digest: 'abc', description: 'first', commit: '0123abcd', createdAt: at(1) });
    t.strictSame(store.addRevision(first), first);
    t.strictSame(store.addRevision(aRevision({ digest: 'abc', description: 'second', createdAt: at(2) })), first);
    t.equal(store.listRevisions('shop').length, 1);
    const plain = store.addRevision(aRevision({ digest: 'def', createdAt: at(3) }));
    t.notOk('commit' in plain, 'an absent commit stays absent');
    t.throws(() => store.addRevision(aRevision({ application: 'ghost' })), { code: 'NOT_FOUND', message: /ghost/ });
  });

  test('revisions are found by application and digest, by digest alone, and newest first', (t, store) => {
    store.createApplication(anApplication({ name: 'shop' }));
    store.createApplication(anApplication({ name: 'blog' }));
    store.addRevision(aRevision({ digest: 'old', createdAt: at(1) }));
    store.addRevision(aRevision({ digest: 'new', createdAt: at(5) }));
    store.addRevision(aRevision({ digest: 'mid', createdAt: at(3) }));
    store.addRevision(aRevision({ application: 'blog', digest: 'only-blog', createdAt: at(9) }));
    t.equal(store.getRevision('shop', 'mid')?.digest, 'mid');
    t.equal(store.getRevision('blog', 'mid'), undefined);
    t.equal(store.findRevisionByDigest('only-blog')?.application, 'blog');
    t.equal(store.findRevisionByDigest('missing'), undefined);
    t.same(store.listRevisions('shop').map(r => r.digest), ['new', 'mid', 'old']);
    t.equal(store.latestRevision('shop')?.digest, 'new');
    t.equal(store.latestRevision('nothing'), undefined);
  });

  test('upserting a host updates it, keeps registeredAt and marks it connected', (t, store) => {
    const host = aHost({ id: 'h1', registeredAt: at(1), lastSeenAt: at(1) });
    store.upsertHost(host);
    t.strictSame(store.getHost('h1'), host);
    store.setHostConnected('h1', false, at(5));
    t.match(store.getHost('h1'), { connected: false, lastSeenAt: at(5) });
    const { zone: _zone, ...withoutZone } = aHost({
      id: 'h1', tags: { role: 'api' }, facts: { cpus: 8 }, agentVersion: '0.2.0', connected: false,
      registeredAt: at(7), lastSeenAt: at(7),
    });
    store.upsertHost(withoutZone);
    t.strictSame(store.getHost('h1'), { ...withoutZone, connected: true, registeredAt: at(1) });
    store.touchHost('h1', at(9));
    t.equal(store.getHost('h1')?.lastSeenAt, at(9));
    store.upsertHost(aHost({ id: 'h0' }));
    t.same(store.listHosts().map(h => h.id).sort(), ['h0', 'h1']);
    t.equal(store.getHost('nope'), undefined);
    t.throws(() => store.touchHost('nope', at(1)), { code: 'NOT_FOUND' });
    t.throws(() => store.setHostConnected('nope', true, at(1)), { code: 'NOT_FOUND' });
  });
}

function deploymentContract(test: StoreTest): void {
  test('a deployment reads back as created, optional fields absent', (t, store) => {
    const world = givenWorld(store);
    const deployment = givenDeployment(store, world, { fileExistsBehavior: 'RETAIN', creator: 'rollback' });
    t.strictSame(store.getDeployment(deployment.id), deployment);
    for (const key of ['targetHostIds', 'minHealthyHosts', 'errorCode', 'errorMessage', 'startedAt', 'completedAt']) {
      t.notOk(key in (store.getDeployment(deployment.id) ?? {}), `${key} is absent`);
    }
    const late = givenDeployment(store, world, { creator: 'autoscaling', targetHostIds: ['h1', 'h2'], status: 'Queued' });
    t.strictSame(store.getDeployment(late.id), late, 'target host ids read back');
    t.equal(store.getDeployment('nope'), undefined);
  });

  test('group policies (auto-rollback, alarms, rollback config) are stored and read back', (t, store) => {
    const world = givenWorld(store);
    store.setGroupAutoRollback(world.group.id, ['failure', 'alarm']);
    store.setGroupAlarms(world.group.id, ['cpu > 80% for 1m']);
    store.setGroupRollbackConfig(world.group.id, 'AllAtOnce');
    t.match(store.getGroupById(world.group.id), { autoRollback: ['failure', 'alarm'], alarms: ['cpu > 80% for 1m'], rollbackConfig: 'AllAtOnce' });
    store.setGroupRollbackConfig(world.group.id, null);
    t.notOk('rollbackConfig' in (store.getGroupById(world.group.id) ?? {}), 'null clears the rollback config');
    t.throws(() => store.setGroupRollbackConfig(world.group.id, 'NoSuchConfig'), { code: 'NOT_FOUND', message: /NoSuchConfig/ });
    t.throws(() => store.setGroupAlarms('no-such-group', []), { code: 'NOT_FOUND' });
  });

  test('a group\'s tag sets and config are replaced (group update) and read back', (t, store) => {
    const world = givenWorld(store);
    const sets = [[{ key: 'role', value: 'api' }], [{ key: 'env' }, { value: 'prod' }]];
    store.setGroupTagSets(world.group.id, sets);
    store.setGroupConfig(world.group.id, 'HalfAtATime');
    t.match(store.getGroupById(world.group.id), { tagSets: sets, configName: 'HalfAtATime' });
    t.strictSame(store.getGroup(world.application.name, world.group.name)?.tagSets, sets);
    t.throws(() => store.setGroupConfig(world.group.id, 'NoSuchConfig'), { code: 'NOT_FOUND', message: /NoSuchConfig/ });
    t.equal(store.getGroupById(world.group.id)?.configName, 'HalfAtATime', 'unchanged by the refused update');
    t.throws(() => store.setGroupTagSets('no-such-group', sets), { code: 'NOT_FOUND' });
    t.throws(() => store.setGroupConfig('no-such-group', 'AllAtOnce'), { code: 'NOT_FOUND' });
  });

  test('a rollback is linked both ways once, and is the next queued deployment before older ones', (t, store) => {
    const world = givenWorld(store);
    const failed = givenDeployment(store, world, { createdAt: at(1), status: 'Queued' });
    const waiting = givenDeployment(store, world, { createdAt: at(2), status: 'Queued' });
    const rollback = givenDeployment(store, world, { createdAt: at(3), status: 'Queued', creator: 'rollback', rollbackOf: failed.id });
    t.ok(store.linkRollback(failed.id, rollback.id));
    t.notOk(store.linkRollback(failed.id, waiting.id), 'a deployment is rolled back once');
    t.equal(store.getDeployment(failed.id)?.rolledBackBy, rollback.id);
    t.equal(store.getDeployment(rollback.id)?.rollbackOf, failed.id);
    t.equal(store.nextQueued(world.group.id)?.id, rollback.id, 'the rollback goes first');
  });

  test('a deployment needs a unique id, its group and its revision', (t, store) => {
    const world = givenWorld(store);
    const deployment = givenDeployment(store, world);
    t.throws(() => store.createDeployment(deploymentOf(world, { id: deployment.id })), { code: 'ALREADY_EXISTS', message: new RegExp(deployment.id) });
    t.throws(() => store.createDeployment(deploymentOf(world, { groupId: 'no-such-group' })), { code: 'NOT_FOUND', message: /no-such-group/ });
    t.throws(() => store.createDeployment(deploymentOf(world, { revisionDigest: 'no-such-digest' })), { code: 'NOT_FOUND', message: /no-such-digest/ });
  });

  test('deployments are listed newest first by creation order (a sequence, not the clock), filtered, 50 by default', (t, store) => {
    const shop = givenWorld(store);
    const blog = givenWorld(store);
    const first = givenDeployment(store, shop, { createdAt: at(1) });
    const second = givenDeployment(store, blog, { createdAt: at(2) });
    const third = givenDeployment(store, shop, { createdAt: at(3), status: 'Queued' });
    // Created last, though the clock went back an hour in between.
    const sameInstant = givenDeployment(store, blog, { createdAt: at(-3600) });
    const ids = (filter?: Parameters<Store['listDeployments']>[0]): string[] => store.listDeployments(filter).map(d => d.id);
    t.same(ids(), [sameInstant.id, third.id, second.id, first.id], 'created later first, whatever the clock said');
    t.same(ids({ application: shop.application.name }), [third.id, first.id]);
    t.same(ids({ groupId: blog.group.id }), [sameInstant.id, second.id]);
    t.same(ids({ statuses: ['Queued'] }), [third.id]);
    t.same(ids({ statuses: [] }), []);
    t.same(ids({ limit: 2 }), [sameInstant.id, third.id]);
    for (let i = 0; i < 50; i++) givenDeployment(store, shop, { createdAt: at(10 + i) });
    t.equal(store.listDeployments().length, 50);
    t.equal(store.listDeployments({ limit: 100 }).length, 54);
  });

  test('a status change applies its patch; null clears a field; a refused change applies nothing', (t, store) => {
    const world = givenWorld(store);
    const d = givenDeployment(store, world);
    t.ok(store.transitionDeployment(d.id, 'InProgress', { startedAt: at(1), minHealthyHosts: 2 }));
    t.ok(store.transitionDeployment(d.id, 'Paused', { errorCode: 'AWAITING_APPROVAL', errorMessage: 'waiting' }));
    t.match(store.getDeployment(d.id), { status: 'Paused', startedAt: at(1), minHealthyHosts: 2, errorCode: 'AWAITING_APPROVAL' });
    t.ok(store.transitionDeployment(d.id, 'InProgress', { errorCode: null, errorMessage: null }));
    const resumed = store.getDeployment(d.id);
    t.notOk(resumed !== undefined && ('errorCode' in resumed || 'errorMessage' in resumed), 'error cleared');
    t.ok(store.transitionDeployment(d.id, 'Failed', { errorCode: 'HOST_FAILED', completedAt: at(9) }));
    t.notOk(store.transitionDeployment(d.id, 'Succeeded', { errorCode: 'OTHER', completedAt: at(10) }));
    t.match(store.getDeployment(d.id), { status: 'Failed', errorCode: 'HOST_FAILED', completedAt: at(9) });
    t.notOk(store.transitionDeployment('no-such-deployment', 'Stopped'), 'an unknown id changes nothing');
  });
}
