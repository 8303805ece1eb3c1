/**
 * The Store contract, per-deployment host counts (Store.hostDeploymentCounts): whatever changes a
 * deployment's host deployments (start, transitions allowed or refused, a rolled-back transaction, a
 * deleted group), the counts equal a recount of the rows. Run through `storeContract`.
 */
import type { Test } from 'tap';
import {
  HOST_DEPLOYMENT_STATUSES, HOST_DEPLOYMENT_TRANSITIONS, type HostDeploymentCounts, type HostDeploymentStatus,
} from '../../coordinator/domain/status.js';
import type { Store } from '../../coordinator/store/store.js';
import type { StoreTest } from './store-contract.js';
import { aTarget, at, givenDeployment, givenHosts, givenStarted, givenWorld } from './store-builders.js';

/** The counts as the rows say (what the store must keep without counting). */
export async function recount(store: Store, deploymentId: string): Promise<HostDeploymentCounts> {
  const counts = Object.fromEntries(HOST_DEPLOYMENT_STATUSES.map(s => [s, 0])) as HostDeploymentCounts;
  for (const hd of await store.listHostDeployments(deploymentId)) counts[hd.status] += 1;
  return counts;
}

async function same(t: Test, store: Store, deploymentId: string, what: string): Promise<void> {
  t.strictSame(await store.hostDeploymentCounts(deploymentId), await recount(store, deploymentId), what);
}

/** A small deterministic generator (mulberry32): the same walk on every run and engine. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function countsContract(test: StoreTest): void {
  test('host counts: all 0 for a deployment without targets or unknown; every target Pending once started', async (t, store) => {
    const world = await givenWorld(store);
    const created = await givenDeployment(store, world);
    const zero = { Pending: 0, InProgress: 0, Succeeded: 0, Failed: 0, Skipped: 0, Unknown: 0 };
    t.strictSame(await store.hostDeploymentCounts(created.id), zero);
    t.strictSame(await store.hostDeploymentCounts('no-such-deployment'), zero);
    const d = await givenStarted(store, world, await givenHosts(store, 3));
    t.strictSame(await store.hostDeploymentCounts(d.id), { ...zero, Pending: 3 });
  });

  test('host counts equal a recount after every step of a random walk of allowed and refused transitions', async (t, store) => {
    const hosts = await givenHosts(store, 8);
    const world = await givenWorld(store);
    const d = await givenStarted(store, world, hosts);
    const other = await givenStarted(store, await givenWorld(store), hosts.slice(0, 3));
    const next = random(16);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    let moved = 0;
    for (let step = 0; step < 120; step += 1) {
      const hostId = pick(hosts).id;
      const to: HostDeploymentStatus = pick(HOST_DEPLOYMENT_STATUSES);
      const from = (await store.getHostDeployment(d.id, hostId))!.status;
      const changed = await store.transitionHostDeployment(d.id, hostId, to, { completedAt: at(step) });
      t.equal(changed, HOST_DEPLOYMENT_TRANSITIONS[from].includes(to), `${from} → ${to}`);
      if (changed) moved += 1;
      // Non-status fields never move a count.
      await store.patchHostDeployment(d.id, hostId, { currentEvent: 'Install' });
      t.strictSame(await store.hostDeploymentCounts(d.id), await recount(store, d.id));
    }
    t.ok(moved > 10, `the walk moved statuses (${moved} times)`);
    await same(t, store, other.id, 'another deployment on the same hosts kept its own counts');
  });

  test('host counts: a rolled-back transaction and a start that fails change no count', async (t, store) => {
    const hosts = await givenHosts(store, 4);
    const world = await givenWorld(store);
    const d = await givenStarted(store, world, hosts);
    await store.transitionHostDeployment(d.id, hosts[0]!.id, 'InProgress');
    const before = await store.hostDeploymentCounts(d.id);
    await t.rejects(store.transaction(async () => {
      await store.transitionHostDeployment(d.id, hosts[0]!.id, 'Succeeded');
      await store.transitionHostDeployment(d.id, hosts[1]!.id, 'InProgress');
      throw new Error('rolled back');
    }), /rolled back/);
    t.strictSame(await store.hostDeploymentCounts(d.id), before, 'the rolled-back moves left no trace');
    // The group is busy: the second deployment cannot start, and inserts none of its targets.
    const second = await givenDeployment(store, world);
    t.notOk(await store.startDeployment(second.id, hosts.map((h, i) => aTarget({ deploymentId: second.id, hostId: h.id, position: i })), 1, at(2)));
    t.strictSame(await store.hostDeploymentCounts(second.id), { Pending: 0, InProgress: 0, Succeeded: 0, Failed: 0, Skipped: 0, Unknown: 0 });
    await same(t, store, d.id, 'the first deployment still counts right');
  });

  test('host counts go with the deployments of a deleted group; other groups keep theirs', async (t, store) => {
    const hosts = await givenHosts(store, 3);
    const doomed = await givenWorld(store);
    const kept = await givenWorld(store);
    const d = await givenStarted(store, doomed, hosts);
    const k = await givenStarted(store, kept, hosts);
    await store.transitionHostDeployment(d.id, hosts[0]!.id, 'InProgress');
    await store.transitionHostDeployment(k.id, hosts[1]!.id, 'InProgress');
    await store.deleteGroup(doomed.group.id);
    t.strictSame(await store.hostDeploymentCounts(d.id), { Pending: 0, InProgress: 0, Succeeded: 0, Failed: 0, Skipped: 0, Unknown: 0 });
    t.strictSame(await store.hostDeploymentCounts(k.id), { Pending: 2, InProgress: 1, Succeeded: 0, Failed: 0, Skipped: 0, Unknown: 0 });
  });

  test('host counts survive closing and reopening the store', async (t, store, session) => {
    const hosts = await givenHosts(store, 3);
    const d = await givenStarted(store, await givenWorld(store), hosts);
    await store.transitionHostDeployment(d.id, hosts[2]!.id, 'Skipped');
    const reopened = session.reopen ? await session.reopen() : store;
    t.strictSame(await reopened.hostDeploymentCounts(d.id), { Pending: 2, InProgress: 0, Succeeded: 0, Failed: 0, Skipped: 1, Unknown: 0 });
  });
}

/**
 * Deployments whose targets are in every status (for the migrations' backfill on an existing
 * database: store.test.ts, store-pg.test.ts); returns their ids.
 */
export async function givenDeploymentsInEveryStatus(store: Store): Promise<string[]> {
  const hosts = await givenHosts(store, 6);
  const first = await givenStarted(store, await givenWorld(store), hosts);
  const walks: HostDeploymentStatus[][] = [[], ['InProgress'], ['InProgress', 'Succeeded'], ['Failed'], ['Skipped'], ['InProgress', 'Unknown']];
  for (const [i, walk] of walks.entries()) for (const to of walk) await store.transitionHostDeployment(first.id, hosts[i]!.id, to);
  const second = await givenStarted(store, await givenWorld(store), hosts.slice(2));
  await store.transitionHostDeployment(second.id, hosts[2]!.id, 'InProgress');
  return [first.id, second.id];
}
