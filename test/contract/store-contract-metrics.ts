/**
 * The Store contract, metrics part: the counts the coordinator's Prometheus gauges read at scrape
 * time. Run through `storeContract`.
 */
import type { StoreTest } from './store-contract.js';
import { at, givenDeployment, givenHosts, givenStarted, givenWorld } from './store-builders.js';

export function metricsContract(test: StoreTest): void {
  test('counts are empty on an empty store', async (t, store) => {
    t.same(await store.countDeploymentsByStatus(), []);
    t.same(await store.countHostDeploymentsByStatus(), []);
  });

  test('deployments are counted by status', async (t, store) => {
    const world = await givenWorld(store);
    await givenDeployment(store, world, { status: 'Queued' });
    await givenDeployment(store, world, { status: 'Queued' });
    const done = await givenDeployment(store, world);
    t.ok(await store.transitionDeployment(done.id, 'InProgress', { startedAt: at(1) }));
    t.ok(await store.transitionDeployment(done.id, 'Succeeded', { completedAt: at(2) }));
    await givenDeployment(store, world);
    t.same(
      [...await store.countDeploymentsByStatus()].sort((a, b) => a.status.localeCompare(b.status)),
      [{ status: 'Created', count: 1 }, { status: 'Queued', count: 2 }, { status: 'Succeeded', count: 1 }],
    );
  });

  test('host deployments are counted by status and error code (empty when none)', async (t, store) => {
    const hosts = await givenHosts(store, 4);
    const d = await givenStarted(store, await givenWorld(store), hosts);
    const [h1, h2, h3] = hosts.map(h => h.id);
    t.ok(await store.transitionHostDeployment(d.id, h1!, 'InProgress', { startedAt: at(2) }));
    t.ok(await store.transitionHostDeployment(d.id, h1!, 'Failed', { completedAt: at(3), errorCode: 'SCRIPT_FAILED', errorMessage: 'exit 1' }));
    t.ok(await store.transitionHostDeployment(d.id, h2!, 'InProgress', { startedAt: at(2) }));
    t.ok(await store.transitionHostDeployment(d.id, h2!, 'Unknown', { errorCode: 'AGENT_LOST', errorMessage: 'silent' }));
    t.ok(await store.transitionHostDeployment(d.id, h3!, 'InProgress', { startedAt: at(2) }));
    const key = (c: { status: string; errorCode: string }) => `${c.status}/${c.errorCode}`;
    t.same(
      [...await store.countHostDeploymentsByStatus()].sort((a, b) => key(a).localeCompare(key(b))),
      [
        { status: 'Failed', errorCode: 'SCRIPT_FAILED', count: 1 },
        { status: 'InProgress', errorCode: '', count: 1 },
        { status: 'Pending', errorCode: '', count: 1 },
        { status: 'Unknown', errorCode: 'AGENT_LOST', count: 1 },
      ],
    );
  });
}
