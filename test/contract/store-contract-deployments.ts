/**
 * The Store contract, part two: status changes against the transition tables, starting
 * deployments, one active deployment per group, queues and history. Run through `storeContract`.
 */
import {
  DEPLOYMENT_STATUSES, DEPLOYMENT_TRANSITIONS, HOST_DEPLOYMENT_STATUSES, HOST_DEPLOYMENT_TRANSITIONS, canTransition,
} from '../../coordinator/domain/status.js';
import type { StoreTest } from './store-contract.js';
import {
  aConfig, aHost, aLogLine, aTarget, at, givenDeployment, givenHosts, givenStarted, givenWorld, pathTo, targetsOn,
} from './store-builders.js';

export function statusContract(test: StoreTest): void {
  test('a deployment status change succeeds exactly when the transition table allows it', async (t, store) => {
    for (const from of DEPLOYMENT_STATUSES) {
      for (const to of DEPLOYMENT_STATUSES) {
        const d = await givenDeployment(store, await givenWorld(store));
        const path = pathTo(DEPLOYMENT_TRANSITIONS, 'Created', from);
        if (path === undefined) {
          t.fail(`${from} is unreachable from Created`);
          continue;
        }
        for (const step of path) await store.transitionDeployment(d.id, step);
        t.equal((await store.getDeployment(d.id))?.status, from, `walked to ${from}`);
        const allowed = canTransition(DEPLOYMENT_TRANSITIONS, from, to);
        t.equal(await store.transitionDeployment(d.id, to), allowed, `${from} → ${to} ${allowed ? 'allowed' : 'refused'}`);
        t.equal((await store.getDeployment(d.id))?.status, allowed ? to : from);
      }
    }
  });

  test('a host deployment status change succeeds exactly when the transition table allows it', async (t, store) => {
    const pairs = HOST_DEPLOYMENT_STATUSES.flatMap(from => HOST_DEPLOYMENT_STATUSES.map(to => ({ from, to })));
    const hosts = await givenHosts(store, pairs.length);
    const d = await givenStarted(store, await givenWorld(store), hosts);
    for (const [i, { from, to }] of pairs.entries()) {
      const hostId = hosts[i]?.id ?? '';
      const path = pathTo(HOST_DEPLOYMENT_TRANSITIONS, 'Pending', from);
      if (path === undefined) {
        t.fail(`${from} is unreachable from Pending`);
        continue;
      }
      for (const step of path) await store.transitionHostDeployment(d.id, hostId, step);
      t.equal((await store.getHostDeployment(d.id, hostId))?.status, from, `walked to ${from}`);
      const allowed = canTransition(HOST_DEPLOYMENT_TRANSITIONS, from, to);
      t.equal(await store.transitionHostDeployment(d.id, hostId, to), allowed, `${from} → ${to} ${allowed ? 'allowed' : 'refused'}`);
      t.equal((await store.getHostDeployment(d.id, hostId))?.status, allowed ? to : from);
    }
  });

  test('host deployments are listed by position, by host and status, and patched', async (t, store) => {
    const [h1, h2] = await givenHosts(store, 2);
    if (h1 === undefined || h2 === undefined) throw new Error('two hosts');
    const world = await givenWorld(store);
    const d1 = await givenDeployment(store, world);
    t.ok(await store.startDeployment(d1.id, [aTarget({ deploymentId: d1.id, hostId: h2.id, position: 1 }),
      aTarget({ deploymentId: d1.id, hostId: h1.id, position: 0 })], 1, at(1)));
    t.same((await store.listHostDeployments(d1.id)).map(h => h.hostId), [h1.id, h2.id]);
    t.strictSame(await store.getHostDeployment(d1.id, h1.id), aTarget({ deploymentId: d1.id, hostId: h1.id, position: 0 }));
    t.equal(await store.getHostDeployment(d1.id, 'nope'), undefined);
    t.ok(await store.transitionHostDeployment(d1.id, h1.id, 'InProgress', { startedAt: at(2), currentEvent: 'BeforeInstall' }));
    await store.patchHostDeployment(d1.id, h1.id, { currentEvent: 'Install' });
    t.match(await store.getHostDeployment(d1.id, h1.id), { status: 'InProgress', currentEvent: 'Install', startedAt: at(2) });
    await store.patchHostDeployment(d1.id, h1.id, { currentEvent: null });
    t.notOk('currentEvent' in (await store.getHostDeployment(d1.id, h1.id) ?? {}), 'null clears the current event');
    await t.rejects(async () => await store.patchHostDeployment(d1.id, 'nope', { currentEvent: 'Install' }), { code: 'NOT_FOUND' });
    t.ok(await store.transitionHostDeployment(d1.id, h1.id, 'Succeeded', { completedAt: at(3) }));
    t.strictSame(await store.listHostDeploymentStates(d1.id), [
      { hostId: h1.id, status: 'Succeeded', position: 0, completedAt: at(3) }, { hostId: h2.id, status: 'Pending', position: 1 },
    ], 'the planner\'s columns, in position order');
    t.ok(await store.transitionDeployment(d1.id, 'Succeeded'));
    const d2 = await givenStarted(store, world, [h1]);
    t.same((await store.hostDeploymentsOnHost(h1.id)).map(h => h.deploymentId), [d1.id, d2.id]);
    t.same((await store.hostDeploymentsOnHost(h1.id, ['Pending', 'InProgress'])).map(h => h.deploymentId), [d2.id]);
    t.same(await store.hostDeploymentsOnHost(h2.id, ['Succeeded']), []);
  });

  test('a host is a revision target when a deployment of that revision has a host deployment on it, in any status', async (t, store) => {
    const [h1, h2] = await givenHosts(store, 2);
    if (h1 === undefined || h2 === undefined) throw new Error('two hosts');
    const world = await givenWorld(store);
    const created = await givenDeployment(store, world);
    t.notOk(await store.isRevisionTarget(h1.id, world.revision.digest), 'a deployment not started yet targets nobody');
    t.ok(await store.startDeployment(created.id, [aTarget({ deploymentId: created.id, hostId: h1.id })], 1, at(1)));
    t.ok(await store.isRevisionTarget(h1.id, world.revision.digest));
    t.ok(await store.transitionHostDeployment(created.id, h1.id, 'Skipped'));
    t.ok(await store.isRevisionTarget(h1.id, world.revision.digest), 'still, once it ended');
    t.notOk(await store.isRevisionTarget(h2.id, world.revision.digest), 'another host of the fleet is not');
    t.notOk(await store.isRevisionTarget(h1.id, 'ab'.repeat(32)), 'nor is another revision');
  });
}

export function activeDeploymentContract(test: StoreTest): void {
  test('listDeployments with a host lists the deployments that targeted it, newest first, across groups', async (t, store) => {
    const [h1, h2] = await givenHosts(store, 2);
    if (h1 === undefined || h2 === undefined) throw new Error('two hosts');
    const web = await givenWorld(store);
    const api = await givenWorld(store);
    const first = await givenStarted(store, web, [h1, h2], { createdAt: at(1) });
    t.ok(await store.transitionDeployment(first.id, 'Failed', { completedAt: at(2) }));
    const onlyH2 = await givenStarted(store, web, [h2], { createdAt: at(3) });
    t.ok(await store.transitionDeployment(onlyH2.id, 'Succeeded', { completedAt: at(4) }));
    const other = await givenStarted(store, api, [h1], { createdAt: at(5) });
    await givenDeployment(store, web, { status: 'Queued', createdAt: at(6) });
    t.same((await store.listDeployments({ hostId: h1.id })).map(d => d.id), [other.id, first.id], 'queued ones have no targets yet');
    t.same((await store.listDeployments({ hostId: h2.id })).map(d => d.id), [onlyH2.id, first.id]);
    t.same((await store.listDeployments({ hostId: h1.id, limit: 1 })).map(d => d.id), [other.id]);
    t.same((await store.listDeployments({ hostId: h1.id, groupId: web.group.id })).map(d => d.id), [first.id]);
    t.same(await store.listDeployments({ hostId: 'no-such-host' }), []);
  });


  test('starting a deployment moves it to InProgress and inserts its targets together', async (t, store) => {
    const hosts = await givenHosts(store, 3);
    const d = await givenDeployment(store, await givenWorld(store), { status: 'Queued' });
    t.ok(await store.startDeployment(d.id, targetsOn(d, hosts), 2, at(4)));
    t.match(await store.getDeployment(d.id), { status: 'InProgress', startedAt: at(4), minHealthyHosts: 2 });
    t.strictSame(await store.listHostDeployments(d.id), targetsOn(d, hosts));
    t.notOk(await store.startDeployment(d.id, [], 1, at(5)), 'an InProgress deployment cannot be started again');
  });

  test('a deployment that cannot start changes nothing', async (t, store) => {
    const [host] = await givenHosts(store, 1);
    const world = await givenWorld(store);
    const stopped = await givenDeployment(store, world, { status: 'Stopped' });
    t.notOk(await store.startDeployment(stopped.id, targetsOn(stopped, [aHost()]), 1, at(1)));
    t.same(await store.listHostDeployments(stopped.id), []);
    const d = await givenDeployment(store, world);
    const ghost = aTarget({ deploymentId: d.id, hostId: 'no-such-host', position: 1 });
    await t.rejects(async () => await store.startDeployment(d.id, [...targetsOn(d, host ? [host] : []), ghost], 1, at(1)), { code: 'NOT_FOUND', message: /no-such-host/ });
    t.equal((await store.getDeployment(d.id))?.status, 'Created', 'the status change was rolled back');
    t.same(await store.listHostDeployments(d.id), [], 'no target was kept');
  });

  test('two deployments of one group are never active together', async (t, store) => {
    const hosts = await givenHosts(store, 2);
    const world = await givenWorld(store);
    const first = await givenStarted(store, world, hosts);
    const second = await givenDeployment(store, world, { status: 'Queued' });
    t.notOk(await store.startDeployment(second.id, targetsOn(second, hosts), 1, at(2)), 'second start refused');
    t.equal((await store.getDeployment(second.id))?.status, 'Queued');
    t.same(await store.listHostDeployments(second.id), [], 'its targets were not inserted');
    t.notOk(await store.transitionDeployment(second.id, 'InProgress'), 'nor can it move to InProgress directly');
    t.equal((await store.activeDeployment(world.group.id))?.id, first.id);
    t.ok(await store.transitionDeployment(first.id, 'Paused'));
    t.notOk(await store.startDeployment(second.id, targetsOn(second, hosts), 1, at(3)), 'a paused deployment holds the group');
    t.equal((await store.activeDeployment(world.group.id))?.status, 'Paused');
    t.ok(await store.transitionDeployment(first.id, 'InProgress'));
    t.ok(await store.transitionDeployment(first.id, 'Succeeded', { completedAt: at(4) }));
    t.equal(await store.activeDeployment(world.group.id), undefined);
    t.ok(await store.startDeployment(second.id, targetsOn(second, hosts), 1, at(5)), 'after the first completes, the second starts');
    t.equal((await store.listHostDeployments(second.id)).length, 2);
  });

  test('deployments of different groups can be active together', async (t, store) => {
    const hosts = await givenHosts(store, 1);
    const a = await givenStarted(store, await givenWorld(store), hosts);
    const b = await givenStarted(store, await givenWorld(store), hosts);
    t.equal((await store.getDeployment(a.id))?.status, 'InProgress');
    t.equal((await store.getDeployment(b.id))?.status, 'InProgress');
  });

  test('nextQueued is the group\'s first-created Queued deployment, whatever the clock said', async (t, store) => {
    const world = await givenWorld(store);
    const other = await givenWorld(store);
    t.equal(await store.nextQueued(world.group.id), undefined);
    await givenDeployment(store, other, { status: 'Queued', createdAt: at(0) });
    await givenDeployment(store, world, { status: 'Created', createdAt: at(1) });
    const oldest = await givenDeployment(store, world, { status: 'Queued', createdAt: at(9) });
    // The wall clock went back an hour: still queued behind the first.
    const second = await givenDeployment(store, world, { status: 'Queued', createdAt: at(-3600) });
    const tie = await givenDeployment(store, world, { status: 'Queued', createdAt: at(-3600) });
    t.equal((await store.nextQueued(world.group.id))?.id, oldest.id);
    t.ok(await store.transitionDeployment(oldest.id, 'Stopped'));
    t.equal((await store.nextQueued(world.group.id))?.id, second.id, 'created second, though its clock reads earlier');
    t.ok(await store.transitionDeployment(second.id, 'Stopped'));
    t.equal((await store.nextQueued(world.group.id))?.id, tie.id);
  });

  test('lastSuccessfulDeployment is the Succeeded one completed last', async (t, store) => {
    const hosts = await givenHosts(store, 1);
    const world = await givenWorld(store);
    t.equal(await store.lastSuccessfulDeployment(world.group.id), undefined);
    const older = await givenDeployment(store, world, { createdAt: at(1) });
    const newer = await givenStarted(store, world, hosts, { createdAt: at(2) });
    t.ok(await store.transitionDeployment(newer.id, 'Succeeded', { completedAt: at(20) }));
    t.ok(await store.startDeployment(older.id, targetsOn(older, hosts), 1, at(21)));
    t.ok(await store.transitionDeployment(older.id, 'Succeeded', { completedAt: at(30) }));
    const failed = await givenStarted(store, world, hosts, { createdAt: at(3) });
    t.ok(await store.transitionDeployment(failed.id, 'Failed', { completedAt: at(40) }));
    t.equal((await store.lastSuccessfulDeployment(world.group.id))?.id, older.id);
    t.equal(await store.lastSuccessfulDeployment((await givenWorld(store)).group.id), undefined);
  });

  test('the target (lastSuccessfulDeployment) is never a catch-up, and goes by the order deployments ended, not the clock', async (t, store) => {
    const hosts = await givenHosts(store, 1);
    const world = await givenWorld(store);
    const user = await givenStarted(store, world, hosts, { createdAt: at(1) });
    t.ok(await store.transitionDeployment(user.id, 'Succeeded', { completedAt: at(50) }));
    const catchUp = await givenStarted(store, world, hosts, { createdAt: at(2), creator: 'autoscaling' });
    t.ok(await store.transitionDeployment(catchUp.id, 'Succeeded', { completedAt: at(60) }));
    t.equal((await store.lastSuccessfulDeployment(world.group.id))?.id, user.id, 'a catch-up deployment never becomes the target');
    // The wall clock went back: the deployment that ended last still wins.
    const later = await givenStarted(store, world, hosts, { createdAt: at(3) });
    t.ok(await store.transitionDeployment(later.id, 'Succeeded', { completedAt: at(-3600) }));
    t.equal((await store.lastSuccessfulDeployment(world.group.id))?.id, later.id);
    const scheduled = await givenStarted(store, world, hosts, { createdAt: at(4), creator: 'schedule' });
    t.ok(await store.transitionDeployment(scheduled.id, 'Succeeded', { completedAt: at(70) }));
    t.match(await store.getDeployment(scheduled.id), { creator: 'schedule' }, 'a scheduled deployment is stored as creator schedule');
    t.equal((await store.lastSuccessfulDeployment(world.group.id))?.id, scheduled.id);
  });

  test('desired state is the coordinator\'s: run by default, stop once set, apart from the reported status', async (t, store) => {
    const hosts = await givenHosts(store, 1);
    const world = await givenWorld(store);
    const d = await givenStarted(store, world, hosts);
    t.ok(await store.transitionHostDeployment(d.id, hosts[0]!.id, 'InProgress', { startedAt: at(2) }));
    t.equal((await store.getHostDeployment(d.id, hosts[0]!.id))?.desired, undefined, 'run (the default) is not spelled out');
    await store.patchHostDeployment(d.id, hosts[0]!.id, { desired: 'stop' });
    t.match(await store.getHostDeployment(d.id, hosts[0]!.id), { status: 'InProgress', desired: 'stop' });
    t.match(await store.hostDeploymentsOnHost(hosts[0]!.id, ['InProgress']), [{ deploymentId: d.id, desired: 'stop' }]);
  });

  test('data survives closing and reopening the store', async (t, store, session) => {
    if (session.reopen === undefined) {
      t.pass('this store has no reopen');
      return;
    }
    const hosts = await givenHosts(store, 1);
    const world = await givenWorld(store);
    const config = aConfig();
    await store.createConfig(config);
    const d = await givenStarted(store, world, hosts);
    await store.appendLogs([aLogLine({ deploymentId: d.id, hostId: hosts[0]?.id ?? '', line: 'kept' })], 1000);
    const configsBefore = await store.listConfigs();
    const again = await session.reopen();
    t.strictSame(await again.getGroupById(world.group.id), world.group);
    t.strictSame(await again.getRevision(world.application.name, world.revision.digest), world.revision);
    t.strictSame(await again.getConfig(config.name), config);
    t.same(await again.listConfigs(), configsBefore, 'built-ins were not seeded twice');
    t.equal((await again.getDeployment(d.id))?.status, 'InProgress');
    t.equal((await again.listHostDeployments(d.id)).length, 1);
    t.same((await again.listLogs(d.id)).map(l => l.line), ['kept']);
    t.equal((await again.activeDeployment(world.group.id))?.id, d.id);
    t.notOk(await again.startDeployment((await givenDeployment(again, world)).id, [], 1, at(9)), 'the one-active rule still holds');
  });
}
