/**
 * The Store contract, events part: the persistent event log appended with every status change,
 * webhook triggers (never showing their secrets) and the delivery outbox. Run through `storeContract`.
 */
import type { StoreTest } from './store-contract.js';
import { anEventRecord, at, givenDeployment, givenHosts, givenStarted, givenWorld } from './store-builders.js';

const SECRET = 's3cret-s3cret-s3cret';

export function eventsContract(test: StoreTest): void {
  test('a lifecycle event record changes compare-and-set: a late InProgress never overwrites Succeeded', async (t, store) => {
    const world = await givenWorld(store);
    const [h1] = await givenHosts(store, 1);
    const d = await givenStarted(store, world, [h1!]);
    const ref = { deploymentId: d.id, hostId: h1!.id, event: 'Install' };
    await store.putEventRecord(anEventRecord({ ...ref, status: 'InProgress', startedAt: at(3) }));
    await store.putEventRecord(anEventRecord({ ...ref, status: 'Succeeded', startedAt: at(3), endedAt: at(4), durationMs: 1000 }));
    await store.putEventRecord(anEventRecord({ ...ref, status: 'InProgress', startedAt: at(3) }));
    await store.putEventRecord(anEventRecord({ ...ref, status: 'Failed', startedAt: at(3), endedAt: at(5) }));
    t.match(await store.listEventRecords(d.id, h1!.id), [{ event: 'Install', status: 'Succeeded', endedAt: at(4), durationMs: 1000 }]);
  });

  test('putting a lifecycle event record answers the status the stored record had before, refused or not', async (t, store) => {
    const world = await givenWorld(store);
    const [h1, h2] = await givenHosts(store, 2);
    const d = await givenStarted(store, world, [h1!, h2!]);
    const ref = { deploymentId: d.id, hostId: h1!.id, event: 'Install' };
    t.equal(await store.putEventRecord(anEventRecord({ ...ref, status: 'InProgress', startedAt: at(3) })), undefined, 'new');
    t.equal(await store.putEventRecord(anEventRecord({ ...ref, event: 'AfterInstall', status: 'Succeeded' })), undefined, 'another event is another record');
    t.equal(await store.putEventRecord(anEventRecord({ ...ref, hostId: h2!.id, status: 'Succeeded' })), undefined, 'another host is another record');
    t.equal(await store.putEventRecord(anEventRecord({ ...ref, status: 'Succeeded', startedAt: at(3), endedAt: at(4) })), 'InProgress');
    t.equal(await store.putEventRecord(anEventRecord({ ...ref, status: 'Succeeded', startedAt: at(3), endedAt: at(4) })), 'Succeeded', 'repeated');
    t.equal(await store.putEventRecord(anEventRecord({ ...ref, status: 'InProgress', startedAt: at(3) })), 'Succeeded', 'refused (a late InProgress)');
    t.match(await store.listEventRecords(d.id, h1!.id), [{ event: 'Install', status: 'Succeeded' }, { event: 'AfterInstall', status: 'Succeeded' }]);
  });

  test('every deployment, host and lifecycle status change appends one event, in order', async (t, store) => {
    const world = await givenWorld(store);
    const [h1] = await givenHosts(store, 1);
    const before = await store.lastEventSeq();
    const d = await givenStarted(store, world, [h1!]);
    const ref = { deploymentId: d.id, hostId: h1!.id };
    t.ok(await store.transitionHostDeployment(d.id, h1!.id, 'InProgress', { startedAt: at(2) }));
    await store.putEventRecord(anEventRecord({ ...ref, event: 'Install', status: 'Pending', startedAt: undefined }));
    await store.putEventRecord(anEventRecord({ ...ref, event: 'Install', status: 'InProgress', startedAt: at(3) }));
    await store.putEventRecord(anEventRecord({ ...ref, event: 'Install', status: 'Succeeded', startedAt: at(3), endedAt: at(4) }));
    await store.putEventRecord(anEventRecord({ ...ref, event: 'Install', status: 'Succeeded', startedAt: at(3), endedAt: at(4) }));
    t.ok(await store.transitionHostDeployment(d.id, h1!.id, 'Succeeded', { completedAt: at(5) }));
    t.ok(await store.transitionDeployment(d.id, 'Succeeded', { completedAt: at(6) }));
    const events = await store.listEvents({ afterSeq: before });
    t.same(events.map(e => [e.kind, e.status, e.lifecycleEvent ?? '']), [
      ['DeploymentCreated', 'Created', ''],
      ['DeploymentStart', 'InProgress', ''],
      ['InstanceStart', 'InProgress', ''],
      ['LifecycleEvent', 'InProgress', 'Install'],
      ['LifecycleEvent', 'Succeeded', 'Install'],
      ['InstanceSuccess', 'Succeeded', ''],
      ['DeploymentSuccess', 'Succeeded', ''],
    ], 'Pending records and repeated reports append nothing');
    const seqs = events.map(e => e.seq);
    t.same(seqs, [...seqs].sort((a, b) => a - b));
    t.equal(await store.lastEventSeq(), seqs.at(-1));
    t.match(events[0], { application: world.application.name, groupId: world.group.id, groupName: world.group.name, deploymentId: d.id });
    t.same(events[1]!.payload.overview, { Pending: 1 }, 'DeploymentStart counts the targets it started with');
    t.equal(events[1]!.at, at(1), 'at is the row\'s own time where it has one');
    t.match(events[5], { hostId: h1!.id, at: at(5), payload: { hostname: h1!.hostname, lifecycleEvents: [{ event: 'Install', status: 'Succeeded', startedAt: at(3), endedAt: at(4) }] } });
    t.match(events[6]!.payload, { overview: { Succeeded: 1 }, createTime: d.createdAt, completeTime: at(6) });
    t.equal(await store.transitionDeployment(d.id, 'Failed'), false);
    t.equal(await store.lastEventSeq(), seqs.at(-1), 'a refused transition appends nothing');
  });

  test('failures, stops, pauses and rollbacks have their own kinds', async (t, store) => {
    const world = await givenWorld(store);
    const [h1] = await givenHosts(store, 1);
    const before = await store.lastEventSeq();
    const d = await givenStarted(store, world, [h1!]);
    await store.transitionDeployment(d.id, 'Paused', { pauseReason: 'operator' });
    await store.transitionDeployment(d.id, 'InProgress');
    await store.transitionHostDeployment(d.id, h1!.id, 'Unknown', { errorCode: 'AGENT_LOST', errorMessage: 'silent' });
    await store.transitionDeployment(d.id, 'Failed', { errorCode: 'HEALTH_CONSTRAINTS', errorMessage: 'too many failed', completedAt: at(9) });
    const rollback = await givenDeployment(store, world, { creator: 'rollback', rollbackOf: d.id });
    t.ok(await store.linkRollback(d.id, rollback.id));
    t.ok(await store.transitionDeployment(rollback.id, 'Stopped', { completedAt: at(10) }));
    const events = await store.listEvents({ afterSeq: before });
    t.same(events.map(e => e.kind), [
      'DeploymentCreated', 'DeploymentStart', 'DeploymentPause', 'DeploymentResume', 'InstanceUnknown', 'DeploymentFailure',
      'DeploymentCreated', 'DeploymentRollback', 'DeploymentStop',
    ]);
    t.match(events[5]!.payload, { errorCode: 'HEALTH_CONSTRAINTS', errorMessage: 'too many failed' });
    t.match(events[7], { deploymentId: d.id, payload: { rolledBackBy: rollback.id } }, 'the rolled-back deployment\'s event names its rollback');
  });

  test('events are read after a seq, per application, up to a limit; kept across a reopen', async (t, store, session) => {
    const a = await givenWorld(store);
    const b = await givenWorld(store);
    const before = await store.lastEventSeq();
    const da = await givenDeployment(store, a);
    const db = await givenDeployment(store, b);
    await store.transitionDeployment(da.id, 'Stopped');
    const all = await store.listEvents({ afterSeq: before });
    t.same(all.map(e => e.deploymentId), [da.id, db.id, da.id]);
    t.same((await store.listEvents({ afterSeq: all[0]!.seq })).map(e => e.seq), all.slice(1).map(e => e.seq), 'exactly after the seq');
    t.same((await store.listEvents({ afterSeq: before, application: b.application.name })).map(e => e.deploymentId), [db.id]);
    t.equal((await store.listEvents({ afterSeq: before, limit: 2 })).length, 2);
    if (session.reopen) {
      const again = await session.reopen();
      t.same(await again.listEvents({ afterSeq: before }), all, 'the log survives a restart');
    }
  });

  test('a trigger is created with a test delivery, updated in place, listed without its secret, removed', async (t, store) => {
    const { group } = await givenWorld(store);
    const first = await store.setTrigger({ groupId: group.id, name: 'ops', url: 'http://127.0.0.1:1/hook', events: ['DeploymentFailure'], secret: SECRET }, at(1));
    t.equal(first.created, true);
    t.match(first.trigger, { name: 'ops', url: 'http://127.0.0.1:1/hook', events: ['DeploymentFailure'], pending: 1, delivered: 0 });
    t.notOk(JSON.stringify(first.trigger).includes(SECRET), 'the view never holds the secret');
    t.match((await store.listEvents({ afterSeq: first.testSeq - 1 }))[0], { kind: 'TriggerTest', groupId: group.id, status: 'Test' });
    const due = await store.dueDeliveries(Date.parse(at(1)), 10);
    t.same(due.map(j => [j.triggerName, j.event.kind, j.secret]), [['ops', 'TriggerTest', SECRET]], 'the worker gets the secret');
    const second = await store.setTrigger({ groupId: group.id, name: 'ops', url: 'http://127.0.0.1:2/hook', events: ['DeploymentStart', 'DeploymentFailure'] }, at(2));
    t.equal(second.created, false);
    t.equal(second.trigger.id, first.trigger.id);
    t.equal((await store.dueDeliveries(Date.parse(at(2)), 10)).find(j => j.event.seq === second.testSeq)?.secret, SECRET, 'an update without a secret keeps it');
    await t.rejects(async () => await store.setTrigger({ groupId: group.id, name: 'new', url: 'http://x/', events: ['DeploymentStart'] }, at(3)), { code: 'INVALID_ARGUMENT' });
    await t.rejects(async () => await store.setTrigger({ groupId: 'nope', name: 'x', url: 'http://x/', events: ['DeploymentStart'], secret: SECRET }, at(3)), { code: 'NOT_FOUND' });
    t.same((await store.listTriggers(group.id)).map(x => x.url), ['http://127.0.0.1:2/hook']);
    t.equal(await store.removeTrigger(group.id, 'ops'), true);
    t.equal(await store.removeTrigger(group.id, 'ops'), false);
    t.same(await store.listTriggers(group.id), []);
    t.same(await store.dueDeliveries(Date.parse(at(9)), 10), [], 'its pending deliveries went with it');
  });

  test('a trigger\'s format is json unless given; an update without one keeps it; the worker gets it', async (t, store) => {
    const { group } = await givenWorld(store);
    const plain = await store.setTrigger({ groupId: group.id, name: 'hook', url: 'http://x/1', events: ['DeploymentFailure'], secret: SECRET }, at(1));
    t.equal(plain.trigger.format, 'json', 'the default');
    const chat = await store.setTrigger({ groupId: group.id, name: 'chat', url: 'http://x/2', events: ['DeploymentFailure'], secret: SECRET, format: 'slack' }, at(1));
    t.equal(chat.trigger.format, 'slack');
    const kept = await store.setTrigger({ groupId: group.id, name: 'chat', url: 'http://x/3', events: ['DeploymentStart'] }, at(2));
    t.equal(kept.trigger.format, 'slack', 'an update without a format keeps it');
    const due = await store.dueDeliveries(Date.parse(at(2)), 10);
    t.same(due.map(j => [j.triggerName, j.format]), [['hook', 'json'], ['chat', 'slack'], ['chat', 'slack']]);
    t.equal((await store.setTrigger({ groupId: group.id, name: 'chat', url: 'http://x/3', events: ['DeploymentStart'], format: 'teams' }, at(3))).trigger.format, 'teams');
    t.same((await store.listTriggers(group.id)).map(x => [x.name, x.format]), [['chat', 'teams'], ['hook', 'json']]);
    await t.rejects(async () => await store.setTrigger({ groupId: group.id, name: 'bad', url: 'http://x/4', events: ['DeploymentStart'], secret: SECRET, format: 'irc' as 'json' }, at(4)),
      { code: 'INVALID_ARGUMENT' });
  });

  test('a status change enqueues one delivery per trigger of its group subscribed to its kind', async (t, store) => {
    const world = await givenWorld(store);
    const other = await givenWorld(store);
    await store.setTrigger({ groupId: world.group.id, name: 'fail', url: 'http://x/1', events: ['DeploymentFailure'], secret: SECRET }, at(0));
    await store.setTrigger({ groupId: world.group.id, name: 'all', url: 'http://x/2', events: ['DeploymentStart', 'DeploymentFailure'], secret: SECRET }, at(0));
    await store.setTrigger({ groupId: other.group.id, name: 'other', url: 'http://x/3', events: ['DeploymentFailure'], secret: SECRET }, at(0));
    for (const j of await store.dueDeliveries(Date.parse(at(0)), 10)) await store.recordDelivery(j.id, { at: at(0), delivered: true, status: 200, gaveUp: false });
    const [h1] = await givenHosts(store, 1);
    const d = await givenStarted(store, world, [h1!]);
    await store.transitionDeployment(d.id, 'Failed', { completedAt: at(3) });
    const due = await store.dueDeliveries(Date.parse(at(3)), 10);
    t.same(due.map(j => `${j.triggerName}:${j.event.kind}`).sort(), ['all:DeploymentFailure', 'all:DeploymentStart', 'fail:DeploymentFailure']);
    t.ok(due.every(j => j.event.deploymentId === d.id && j.attempts === 0));
  });

  test('delivery attempts are recorded: retry later, delivered, given up; trigger counters follow', async (t, store) => {
    const { group } = await givenWorld(store);
    await store.setTrigger({ groupId: group.id, name: 'ops', url: 'http://x/', events: ['DeploymentStart'], secret: SECRET }, at(0));
    const [job] = await store.dueDeliveries(1000, 10);
    await store.recordDelivery(job!.id, { at: at(1), delivered: false, status: 500, error: 'HTTP 500', nextAttemptAt: 5000, gaveUp: false });
    t.same(await store.dueDeliveries(4999, 10), [], 'not due before its next attempt');
    t.equal(await store.nextDeliveryAt(), 5000);
    t.match((await store.listTriggers(group.id))[0], { lastStatus: 500, lastError: 'HTTP 500', failedAttempts: 1, pending: 1, delivered: 0 });
    const [again] = await store.dueDeliveries(5000, 10);
    t.equal(again?.attempts, 1);
    await store.recordDelivery(again!.id, { at: at(2), delivered: true, status: 204, gaveUp: false });
    t.match((await store.listTriggers(group.id))[0], { lastStatus: 204, lastDeliveredAt: at(2), delivered: 1, failedAttempts: 1, pending: 0 });
    t.notOk((await store.listTriggers(group.id))[0]!.lastError, 'a delivery clears the last error');
    t.equal(await store.nextDeliveryAt(), undefined);
    await store.recordDelivery(again!.id, { at: at(3), delivered: false, error: 'late', gaveUp: false });
    t.equal((await store.listTriggers(group.id))[0]!.failedAttempts, 1, 'a finished delivery is not recorded again');
    await store.setTrigger({ groupId: group.id, name: 'ops', url: 'http://x/', events: ['DeploymentStart'] }, at(4));
    const [test] = await store.dueDeliveries(Date.parse(at(4)), 10);
    await store.recordDelivery(test!.id, { at: at(5), delivered: false, error: 'ECONNREFUSED; gave up after 1 attempt(s)', gaveUp: true });
    t.match((await store.listTriggers(group.id))[0], { givenUp: 1, pending: 0, lastError: /ECONNREFUSED/ });
    t.same(await store.dueDeliveries(Date.parse(at(9)), 10), []);
  });

  test('claimed deliveries are not handed out again until the claim expires or the attempt sets the next one', async (t, store) => {
    const { group } = await givenWorld(store);
    await store.setTrigger({ groupId: group.id, name: 'a', url: 'http://x/1', events: ['DeploymentStart'], secret: SECRET }, at(0));
    await store.setTrigger({ groupId: group.id, name: 'b', url: 'http://x/2', events: ['DeploymentStart'], secret: SECRET }, at(0));
    const due = await store.dueDeliveries(1000, 10);
    t.equal(due.length, 2, 'two deliveries due (the triggers\' test events)');
    const [first] = await store.claimDeliveries(1000, 1, 60_000);
    t.equal(first?.id, due[0]!.id, 'a claim takes the oldest due first');
    t.same((await store.claimDeliveries(1000, 10, 60_000)).map(j => j.id), [due[1]!.id], 'a second claim gets only what the first did not take');
    t.same(await store.claimDeliveries(1000, 10, 60_000), [], 'nothing left to claim');
    t.same(await store.dueDeliveries(60_999, 10), [], 'claimed deliveries are not due while claimed');
    await store.recordDelivery(first!.id, { at: at(1), delivered: false, status: 500, error: 'HTTP 500', nextAttemptAt: 5000, gaveUp: false });
    t.same((await store.claimDeliveries(5000, 10, 60_000)).map(j => j.id), [first!.id], 'a failed attempt\'s next attempt replaces the claim');
    t.same((await store.claimDeliveries(61_000, 10, 60_000)).map(j => j.id), [due[1]!.id], 'an expired claim (its claimer died) is claimed again');
  });

  test('releasing claims makes claimed, unfinished deliveries due from when they were claimed; backoffs and finished ones stay', async (t, store) => {
    const { group } = await givenWorld(store);
    for (const name of ['delivered', 'given-up', 'backing-off', 'in-flight', 'retry-in-flight']) {
      await store.setTrigger({ groupId: group.id, name, url: `http://x/${name}`, events: ['DeploymentStart'], secret: SECRET }, at(0));
    }
    const claimed = await store.claimDeliveries(1000, 10, 60_000);
    const [delivered, givenUp, backingOff, inFlight, retry] = claimed;
    t.same(claimed.map(j => j.triggerName), ['delivered', 'given-up', 'backing-off', 'in-flight', 'retry-in-flight']);
    await store.recordDelivery(delivered!.id, { at: at(1), delivered: true, status: 204, gaveUp: false });
    await store.recordDelivery(givenUp!.id, { at: at(1), delivered: false, status: 500, error: 'HTTP 500; gave up after 1 attempt(s)', gaveUp: true });
    await store.recordDelivery(backingOff!.id, { at: at(1), delivered: false, status: 500, error: 'HTTP 500', nextAttemptAt: 500_000, gaveUp: false });
    await store.recordDelivery(retry!.id, { at: at(1), delivered: false, status: 503, error: 'HTTP 503', nextAttemptAt: 2000, gaveUp: false });
    t.same((await store.claimDeliveries(2000, 10, 60_000)).map(j => j.id), [retry!.id], 'the retry is claimed for its second attempt');
    const before = (await store.listTriggers(group.id)).map(({ name, delivered, failedAttempts, givenUp, pending }) => ({ name, delivered, failedAttempts, givenUp, pending }));

    t.equal(await store.releaseDeliveryClaims(), 2, 'the two claimed deliveries whose attempts were never recorded');
    t.same((await store.dueDeliveries(1000, 10)).map(j => j.id), [inFlight!.id], 'each is due from when it was claimed');
    const due = await store.dueDeliveries(2000, 10);
    t.same(due.map(j => [j.id, j.attempts]), [[inFlight!.id, 0], [retry!.id, 1]], 'attempts unchanged: a cut-short attempt is not one');
    t.same((await store.dueDeliveries(499_999, 10)).map(j => j.id), [inFlight!.id, retry!.id], 'a backoff is not a claim: it keeps its time');
    t.equal(await store.nextDeliveryAt(), 1000);
    t.same((await store.listTriggers(group.id)).map(({ name, delivered, failedAttempts, givenUp, pending }) => ({ name, delivered, failedAttempts, givenUp, pending })),
      before, 'delivered and given-up deliveries and every counter untouched');
    t.equal(await store.releaseDeliveryClaims(), 0, 'nothing claimed any more');

    t.same((await store.claimDeliveries(3000, 10, 60_000)).map(j => j.id), [inFlight!.id, retry!.id], 'released deliveries are claimed again');
    await store.recordDelivery(inFlight!.id, { at: at(2), delivered: true, status: 200, gaveUp: false });
    await store.recordDelivery(retry!.id, { at: at(2), delivered: false, status: 500, error: 'HTTP 500', nextAttemptAt: 400_000, gaveUp: false });
    t.equal(await store.releaseDeliveryClaims(), 0, 'a recorded attempt ends its claim');
    t.equal(await store.nextDeliveryAt(), 400_000, 'the recorded retry keeps its backoff');
  });

  test('pending deliveries survive a reopen (the outbox is persistent)', async (t, store, session) => {
    if (!session.reopen) return t.pass('memory-only store');
    const { group } = await givenWorld(store);
    await store.setTrigger({ groupId: group.id, name: 'ops', url: 'http://x/', events: ['DeploymentStart'], secret: SECRET }, at(0));
    const again = await session.reopen();
    t.same((await again.dueDeliveries(Date.parse(at(1)), 10)).map(j => j.triggerName), ['ops']);
  });

  test('retention keeps the newest events and those a delivery still waits for', async (t, store) => {
    const world = await givenWorld(store);
    await store.setTrigger({ groupId: world.group.id, name: 'ops', url: 'http://x/', events: ['DeploymentStart'], secret: SECRET }, at(0));
    const pendingSeq = (await store.dueDeliveries(Date.parse(at(0)), 10))[0]!.event.seq;
    for (let i = 0; i < 5; i++) await givenDeployment(store, world);
    const last = await store.lastEventSeq();
    const oldest = (await store.listEvents()).map(e => e.seq).filter(seq => seq !== pendingSeq);
    t.equal(await store.pruneEvents(2, 2), 2, 'a limit: at most that many');
    t.same((await store.listEvents()).map(e => e.seq).filter(seq => seq !== pendingSeq), oldest.slice(2), 'the oldest went first');
    const removed = await store.pruneEvents(2);
    t.ok(removed > 0);
    const left = (await store.listEvents()).map(e => e.seq);
    t.same(left, [pendingSeq, last - 1, last], 'the newest two, and the one still to deliver');
    t.equal(await store.pruneEvents(2, 5), 0, 'nothing past the retention: nothing removed');
    t.equal(await store.lastEventSeq(), last, 'seq never goes back');
    await givenDeployment(store, world);
    t.equal((await store.listEvents({ afterSeq: last }))[0]?.seq, last + 1);
    await t.rejects(async () => await store.pruneEvents(0), { code: 'INVALID_ARGUMENT' }, 'the newest event always stays');
    await t.rejects(async () => await store.pruneEvents(2, 0), { code: 'INVALID_ARGUMENT' }, 'a limit of 0 is named');
  });
}
