/**
 * The Store contract, deployment plans (`ferry deploy plan`): stored whole, read back
 * equal, survive a reopen, and are used at most once (compare-and-set). Run through `storeContract`.
 */
import type { DeploymentPlanRecord } from '../../coordinator/domain/plan.js';
import type { StoreTest } from './store-contract.js';
import { type World, at, givenDeployment, givenWorld } from './store-builders.js';

let plans = 0;

export const aPlan = (world: World, over: Partial<DeploymentPlanRecord> = {}): DeploymentPlanRecord => ({
  id: `p-${String(++plans).padStart(9, '0')}`,
  application: world.application.name,
  groupId: world.group.id,
  groupName: world.group.name,
  revisionDigest: world.revision.digest,
  configName: world.group.configName,
  options: { description: 'release 2', fileExistsBehavior: 'DISALLOW', ignoreApplicationStopFailures: false, approveAfter: 1 },
  fingerprint: 'sha256:abc',
  document: {
    hosts: [{ hostId: 'h1', hostname: 'web-1', wave: 1, changeKey: 'none' }],
    waves: [{ index: 1, hostIds: ['h1'] }],
    changes: [{ key: 'none', fromRevision: '', hooks: [], diff: { added: [{ path: '/srv/a', kind: 'file', change: 'added', detail: '1 bytes' }], changed: [], removed: [], permissions: [], unchanged: 0 }, notes: [] }],
    notes: [], minimumHealthy: { type: 'ONE_AT_A_TIME' }, windows: [],
    fingerprintInput: { group: { id: world.group.id }, config: { name: 'OneAtATime' }, hosts: [{ hostId: 'h1', revision: '', lastStatus: '' }] },
  },
  createdAt: at(1),
  expiresAt: at(2),
  ...over,
});

export function planContract(test: StoreTest): void {
  test('a plan is stored whole and read back equal, also after a reopen', async (t, store, session) => {
    const plan = aPlan(await givenWorld(store));
    await store.createPlan(plan);
    t.same(await store.getPlan(plan.id), plan);
    t.equal(await store.getPlan('p-missing'), undefined);
    if (session.reopen) t.same(await (await session.reopen()).getPlan(plan.id), plan, 'kept across a reopen');
  });

  test('a plan id is unique; a plan needs its application and group', async (t, store) => {
    const world = await givenWorld(store);
    const plan = aPlan(world);
    await store.createPlan(plan);
    await t.rejects(async () => await store.createPlan(plan), { code: 'ALREADY_EXISTS' });
    await t.rejects(async () => await store.createPlan(aPlan(world, { groupId: 'no-such-group' })), { code: 'NOT_FOUND', message: /deployment group no-such-group/ });
  });

  test('a plan is used at most once', async (t, store) => {
    const world = await givenWorld(store);
    const plan = aPlan(world);
    await store.createPlan(plan);
    const first = await givenDeployment(store, world);
    const second = await givenDeployment(store, world);
    t.ok(await store.markPlanUsed(plan.id, first.id), 'the first deployment uses it');
    t.notOk(await store.markPlanUsed(plan.id, second.id), 'a second one cannot');
    t.equal((await store.getPlan(plan.id))?.usedBy, first.id);
    t.notOk(await store.markPlanUsed('p-missing', first.id), 'an unknown plan is not used');
    await t.rejects(async () => await store.markPlanUsed(await aPlanStored(store, world), 'd-missing'), { code: 'NOT_FOUND' });
  });
}

async function aPlanStored(store: Parameters<Parameters<StoreTest>[1]>[1], world: World): Promise<string> {
  const plan = aPlan(world);
  await store.createPlan(plan);
  return plan.id;
}
