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
  test('a deployment status change succeeds exactly when the transition table allows it', (t, store) => {
    for (const from of DEPLOYMENT_STATUSES) {
      for (const to of DEPLOYMENT_STATUSES) {
        const d = givenDeployment(store, givenWorld(store));
        const path = pathTo(DEPLOYMENT_TRANSITIONS, 'Created', from);
        if (path === undefined) {
          t.fail(`${from} is unreachable from Created`);
          continue;
        }
        for (const step of path) store.transitionDeployment(d.id, step);
        t.equal(store.getDeployment(d.id)?.status, from, `walked to ${from}`);
        const allowed = canTransition(DEPLOYMENT_TRANSITIONS, from, to);
        t.equal(store.transitionDeployment(d.id, to), allowed, `${from} → ${to} ${allowed ? 'allowed' : 'refused'}`);
        t.equal(store.getDeployment(d.id)?.status, allowed ? to : from);
      }
    }
  });

  test('a host deployment status change succeeds exactly when the transition table allows it', (t, store) => {
    const pairs = HOST_DEPLOYMENT_STATUSES.flatMap(from => HOST_DEPLOYMENT_STATUSES.map(to => ({ from, to })));
    const hosts = givenHosts(store, pairs.length);
    const d = givenStarted(store, givenWorld(store), hosts);
    pairs.forEach(({ from, to }, i) => {
      const hostId = hosts[i]?.id ?? '';
      const path = pathTo(HOST_DEPLOYMENT_TRANSITIONS, 'Pending', from);
      if (path === undefined) {
        t.fail(`${from} is unreachable from Pending`);
        return;
      }
      for (const step of path) store.transitionHostDeployment(d.id, hostId, step);
      t.equal(store.getHostDeployment(d.id, hostId)?.status, from, `walked to ${from}`);
      const allowed = canTransition(HOST_DEPLOYMENT_TRANSITIONS, from, to);
      t.equal(store.transitionHostDeployment(d.id, hostId, to), allowed, `${from} → ${to} ${allowed ? 'allowed' : 'refused'}`);
      t.equal(store.getHostDeployment(d.id, hostId)?.status, allowed ? to : from);
    });
  });

  test('host deployments are listed by position, by host and status, and patched', (t, store) => {
    const [h1, h2] = givenHosts(store, 2);
    if (h1 === undefined || h2 === undefined) throw new Error('two hosts');
    const world = givenWorld(store);
    const d1 = givenDeployment(store, world);
    t.ok(store.startDeployment(d1.id, [aTarget({ deploymentId: d1.id, hostId: h2.id, position: 1 }),
      aTarget({ deploymentId: d1.id, hostId: h1.id, position: 0 })], 1, at(1)));
    t.same(store.listHostDeployments(d1.id).map(h => h.hostId), [h1.id, h2.id]);
    t.strictSame(store.getHostDeployment(d1.id, h1.id), aTarget({ deploymentId: d1.id, hostId: h1.id, position: 0 }));
    t.equal(store.getHostDeployment(d1.id, 'nope'), undefined);
    t.ok(store.transitionHostDeployment(d1.id, h1.id, 'InProgress', { startedAt: at(2), currentEvent: 'BeforeInstall' }));
    store.patchHostDeployment(d1.id, h1.id, { currentEvent: 'Install' });
    t.match(store.getHostDeployment(d1.id, h1.id), { status: 'InProgress', currentEvent: 'Install', startedAt: at(2) });
    store.patchHostDeployment(d1.id, h1.id, { currentEvent: null });
    t.notOk('currentEvent' in (store.getHostDeployment(d1.id, h1.id) ?? {}), 'null clears the current event');
    t.throws(() => store.patchHostDeployment(d1.id, 'nope', { currentEvent: 'Install' }), { code: 'NOT_FOUND' });
    t.ok(store.transitionHostDeployment(d1.id, h1.id, 'Succeeded', { completedAt: at(3) }));
    t.ok(store.transitionDeployment(d1.id, 'Succeeded'));
    const d2 = givenStarted(store, world, [h1]);
    t.same(store.hostDeploymentsOnHost(h1.id).map(h => h.deploymentId), [d1.id, d2.id]);
    t.same(store.hostDeploymentsOnHost(h1.id, ['Pending', 'InProgress']).map(h => h.deploymentId), [d2.id]);
    t.same(store.hostDeploymentsOnHost(h2.id, ['Succeeded']), []);
  });

  test('a host is a revision target when a deployment of that revision has a host deployment on it, in any status', (t, store) => {
    const [h1, h2] = givenHosts(store, 2);
    if (h1 === undefined || h2 === undefined) throw new Error('two hosts');
    const world = givenWorld(store);
    const created = givenDeployment(store, world);
    t.notOk(store.isRevisionTarget(h1.id, world.revision.digest), 'a deployment not started yet targets nobody');
    t.ok(store.startDeployment(created.id, [aTarget({ deploymentId: created.id, hostId: h1.id })], 1, at(1)));
    t.ok(store.isRevisionTarget(h1.id, world.revision.digest));
    t.ok(store.transitionHostDeployment(created.id, h1.id, 'Skipped'));
    t.ok(store.isRevisionTarget(h1.id, world.revision.digest), 'still, once it ended');
    t.notOk(store.isRevisionTarget(h2.id, world.revision.digest), 'another host of the fleet is not');
    t.notOk(store.isRevisionTarget(h1.id, 'ab'.repeat(32)), 'nor is another revision');
  });
}

export function activeDeploymentContract(test: StoreTest): void {
  test('listDeployments with a host lists the deployments that targeted it, newest first, across groups', (t, store) => {
    const [h1, h2] = givenHosts(store, 2);
    if (h1 === undefined || h2 === undefined) throw new Error('two hosts');
    const web = givenWorld(store);
    const api = givenWorld(store);
    const first = givenStarted(store, web, [h1, h2], { createdAt: at(1) });
    t.ok(store.transitionDeployment(first.id, 'Failed', { completedAt: at(2) }));
    const onlyH2 = givenStarted(store, web, [h2], { createdAt: at(3) });
    t.ok(store.transitionDeployment(onlyH2.id, 'Succeeded', { completedAt: at(4) }));
    const other = givenStarted(store, api, [h1], { createdAt: at(5) });
    givenDeployment(store, web, { status: 'Queued', createdAt: at(6) });
    t.same(store.listDeployments({ hostId: h1.id }).map(d => d.id), [other.id, first.id], 'queued ones have no targets yet');
    t.same(store.listDeployments({ hostId: h2.id }).map(d => d.id), [onlyH2.id, first.id]);
    t.same(store.listDeployments({ hostId: h1.id, limit: 1 }).map(d => d.id), [other.id]);
    t.same(store.listDeployments({ hostId: h1.id, groupId: web.group.id }).map(d => d.id), [first.id]);
    t.same(store.listDeployments({ hostId: 'no-such-host' }), []);
  });


  test('starting a deployment moves it to InProgress and inserts its targets together', (t, store) => {
    const hosts = givenHosts(store, 3);
    const d = givenDeployment(store, givenWorld(store), { status: 'Queued' });
    t.ok(store.startDeployment(d.id, targetsOn(d, hosts), 2, at(4)));
    t.match(store.getDeployment(d.id), { status: 'InProgress', startedAt: at(4), minHealthyHosts: 2 });
    t.strictSame(store.listHostDeployments(d.id), targetsOn(d, hosts));
    t.notOk(store.startDeployment(d.id, [], 1, at(5)), 'an InProgress deployment cannot be started again');
  });

  test('a deployment that cannot start changes nothing', (t, store) => {
    const [host] = givenHosts(store, 1);
    const world = givenWorld(store);
    const stopped = givenDeployment(store, world, { status: 'Stopped' });
    t.notOk(store.startDeployment(stopped.id, targetsOn(stopped, [aHost()]), 1, at(1)));
    t.same(store.listHostDeployments(stopped.id), []);
    const d = givenDeployment(store, world);
    const ghost = aTarget({ deploymentId: d.id, hostId: 'no-such-host', position: 1 });
    t.throws(() => store.startDeployment(d.id, [...targetsOn(d, host ? [host] : []), ghost], 1, at(1)), { code: 'NOT_FOUND', message: /no-such-host/ });
    t.equal(store.getDeployment(d.id)?.status, 'Created', 'the status change was rolled back');
    t.same(store.listHostDeployments(d.id), [], 'no target was kept');
  });

  test('two deployments of one group are never active together', (t, store) => {
    const hosts = givenHosts(store, 2);
    const world = givenWorld(store);
    const first = givenStarted(store, world, hosts);
    const second = givenDeployment(store, world, { status: 'Queued' });
    t.notOk(store.startDeployment(second.id, targetsOn(second, hosts), 1, at(2)), 'second start refused');
    t.equal(store.getDeployment(second.id)?.status, 'Queued');
    t.same(store.listHostDeployments(second.id), [], 'its targets were not inserted');
    t.notOk(store.transitionDeployment(second.id, 'InProgress'), 'nor can it move to InProgress directly');
    t.equal(store.activeDeployment(world.group.id)?.id, first.id);
    t.ok(store.transitionDeployment(first.id, 'Paused'));
    t.notOk(store.startDeployment(second.id, targetsOn(second, hosts), 1, at(3)), 'a paused deployment holds the group');
    t.equal(store.activeDeployment(world.group.id)?.status, 'Paused');
    t.ok(store.transitionDeployment(first.id, 'InProgress'));
    t.ok(store.transitionDeployment(first.id, 'Succeeded', { completedAt: at(4) }));
    t.equal(store.activeDeployment(world.group.id), undefined);
    t.ok(store.startDeployment(second.id, targetsOn(second, hosts), 1, at(5)), 'after the first completes, the second starts');
    t.equal(store.listHostDeployments(second.id).length, 2);
  });

  test('deployments of different groups can be active together', (t, store) => {
    const hosts = givenHosts(store, 1);
    const a = givenStarted(store, givenWorld(store), hosts);
    const b = givenStarted(store, givenWorld(store), hosts);
    t.equal(store.getDeployment(a.id)?.status, 'InProgress');
    t.equal(store.getDeployment(b.id)?.status, 'InProgress');
  });

  test('nextQueued is the group\'s first-created Queued deployment, whatever the clock said', (t, store) => {
    const world = givenWorld(store);
    const other = givenWorld(store);
    t.equal(store.nextQueued(world.group.id), undefined);
    givenDeployment(store, other, { status: 'Queued', createdAt: at(0) });
    givenDeployment(store, world, { status: 'Created', createdAt: at(1) });
    const oldest = givenDeployment(store, world, { status: 'Queued', createdAt: at(9) });
    // The wall clock went back an hour: still queued behind the first.
    const second = givenDeployment(store, world, { status: 'Queued', createdAt: at(-3600) });
    const tie = givenDeployment(store, world, { status: 'Queued', createdAt: at(-3600) });
    t.equal(store.nextQueued(world.group.id)?.id, oldest.id);
    t.ok(store.transitionDeployment(oldest.id, 'Stopped'));
    t.equal(store.nextQueued(world.group.id)?.id, second.id, 'created second, though its clock reads earlier');
    t.ok(store.transitionDeployment(second.id, 'Stopped'));
    t.equal(store.nextQueued(world.group.id)?.id, tie.id);
  });

  test('lastSuccessfulDeployment is the Succeeded one completed last', (t, store) => {
    const hosts = givenHosts(store, 1);
    const world = givenWorld(store);
    t.equal(store.lastSuccessfulDeployment(world.group.id), undefined);
    const older = givenDeployment(store, world, { createdAt: at(1) });
    const newer = givenStarted(store, world, hosts, { createdAt: at(2) });
    t.ok(store.transitionDeployment(newer.id, 'Succeeded', { completedAt: at(20) }));
    t.ok(store.startDeployment(older.id, targetsOn(older, hosts), 1, at(21)));
    t.ok(store.transitionDeployment(older.id, 'Succeeded', { completedAt: at(30) }));
    const failed = givenStarted(store, world, hosts, { createdAt: at(3) });
    t.ok(store.transitionDeployment(failed.id, 'Failed', { completedAt: at(40) }));
    t.equal(store.lastSuccessfulDeployment(world.group.id)?.id, older.id);
    t.equal(store.lastSuccessfulDeployment(givenWorld(store).group.id), undefined);
  });

  test('the target (lastSuccessfulDeployment) is never a catch-up, and goes by the order deployments ended, not the clock', (t, store) => {
    const hosts = givenHosts(store, 1);
    const world = givenWorld(store);
    const user = givenStarted(store, world, hosts, { createdAt: at(1) });
    t.ok(store.transitionDeployment(user.id, 'Succeeded', { completedAt: at(50) }));
    const catchUp = givenStarted(store, world, hosts, { createdAt: at(2), creator: 'autoscaling' });
    t.ok(store.transitionDeployment(catchUp.id, 'Succeeded', { completedAt: at(60) }));
    t.equal(store.lastSuccessfulDeployment(world.group.id)?.id, user.id, 'a catch-up deployment never becomes the target');
    // The wall clock went back: the deployment that ended last still wins.
    const later = givenStarted(store, world, hosts, { createdAt: at(3) });
    t.ok(store.transitionDeployment(later.id, 'Succeeded', { completedAt: at(-3600) }));
    t.equal(store.lastSuccessfulDeployment(world.group.id)?.id, later.id);
    const scheduled = givenStarted(store, world, hosts, { createdAt: at(4), creator: 'schedule' });
    t.ok(store.transitionDeployment(scheduled.id, 'Succeeded', { completedAt: at(70) }));
    t.match(store.getDeployment(scheduled.id), { creator: 'schedule' }, 'a scheduled deployment is stored as creator schedule');
    t.equal(store.lastSuccessfulDeployment(world.group.id)?.id, scheduled.id);
  });

  test('desired state is the coordinator\'s: run by default, stop once set, apart from the reported status', (t, store) => {
    const hosts = givenHosts(store, 1);
    const world = givenWorld(store);
    const d = givenStarted(store, world, hosts);
    t.ok(store.transitionHostDeployment(d.id, hosts[0]!.id, 'InProgress', { startedAt: at(2) }));
    t.equal(store.getHostDeployment(d.id, hosts[0]!.id)?.desired, undefined, 'run (the default) is not spelled out');
    store.patchHostDeployment(d.id, hosts[0]!.id, { desired: 'stop' });
    t.match(store.getHostDeployment(d.id, hosts[0]!.id), { status: 'InProgress', desired: 'stop' });
    t.match(store.hostDeploymentsOnHost(hosts[0]!.id, ['InProgress']), [{ deploymentId: d.id, desired: 'stop' }]);
  });

  test('data survives closing and reopening the store', (t, store, session) => {
    if (session.reopen === undefined) {
      t.pass('this store has no reopen');
      return;
    }
    const hosts = givenHosts(store, 1);
    const world = givenWorld(store);
    const config = aConfig();
    store.createConfig(config);
    const d = givenStarted(store, world, hosts);
    store.appendLogs([aLogLine({ deploymentId: d.id, hostId: hosts[0]?.id ?? '', line: 'kept' })], 1000);
    const configsBefore = store.listConfigs();
    const again = session.reopen();
    t.strictSame(again.getGroupById(world.group.id), world.group);
    t.strictSame(again.getRevision(world.application.name, world.revision.digest), world.revision);
    t.strictSame(again.getConfig(config.name), config);
    t.same(again.listConfigs(), configsBefore, 'built-ins were not seeded twice');
    t.equal(again.getDeployment(d.id)?.status, 'InProgress');
    t.equal(again.listHostDeployments(d.id).length, 1);
    t.same(again.listLogs(d.id).map(l => l.line), ['kept']);
    t.equal(again.activeDeployment(world.group.id)?.id, d.id);
    t.notOk(again.startDeployment(givenDeployment(again, world).id, [], 1, at(9)), 'the one-active rule still holds');
  });
}
