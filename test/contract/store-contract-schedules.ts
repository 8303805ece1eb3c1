/**
 * The Store contract, windows and schedules: a group's deployment windows, a deployment's window
 * fields, and scheduled deployments (claiming a run exactly once, results, cancel, restart).
 * Run through `storeContract`.
 */
import type { Schedule } from '../../coordinator/domain/schedules.js';
import type { StoreTest } from './store-contract.js';
import { type World, at, givenDeployment, givenWorld } from './store-builders.js';

let counter = 0;

/** A cron schedule by default; an `undefined` in `over` removes that field. */
const aSchedule = (world: World, over: Partial<Schedule> = {}): Schedule => Object.fromEntries(Object.entries({
  id: `s-${++counter}`, application: world.application.name, groupId: world.group.id, groupName: world.group.name,
  revision: 'latest', options: { description: 'nightly', ignoreWindow: true, approveAfter: 1 },
  cron: '0 2 * * *', timezone: 'Europe/Paris', state: 'Active', nextRunAt: at(100), createdBy: 'me@host', createdAt: at(0), ...over,
}).filter(([, v]) => v !== undefined)) as unknown as Schedule;

export function scheduleContract(test: StoreTest): void {
  test('a group keeps its deployment windows; none by default', async (t, store) => {
    const world = await givenWorld(store);
    t.equal((await store.getGroupById(world.group.id))?.windows, undefined, 'no windows: absent');
    const windows = [{ cron: '0 9 * * 1-5', durationMs: 8 * 3_600_000, timezone: 'Europe/Paris' }];
    await store.setGroupWindows(world.group.id, windows);
    t.same((await store.getGroupById(world.group.id))?.windows, windows);
    await store.setGroupWindows(world.group.id, []);
    t.equal((await store.getGroupById(world.group.id))?.windows, undefined, 'cleared');
    await t.rejects(async () => await store.setGroupWindows('nope', windows), { code: 'NOT_FOUND' });
    const withWindows = await givenWorld(store, { windows });
    t.same((await store.getGroupById(withWindows.group.id))?.windows, windows, 'created with windows');
  });

  test('a deployment keeps --ignore-window, its window pause and its schedule; creator schedule round-trips', async (t, store, session) => {
    const world = await givenWorld(store);
    const s = aSchedule(world);
    await store.createSchedule(s);
    const d = await givenDeployment(store, world, { status: 'Queued', creator: 'schedule', scheduleId: s.id, ignoreWindow: true });
    t.strictSame(await store.getDeployment(d.id), d);
    const plain = await givenDeployment(store, world, { status: 'Queued' });
    t.equal((await store.getDeployment(plain.id))?.creator, 'user');
    t.equal((await store.getDeployment(plain.id))?.scheduleId, undefined);
    t.equal((await store.getDeployment(plain.id))?.ignoreWindow, undefined);
    t.ok(await store.startDeployment(d.id, [], 0, at(1)));
    t.ok(await store.transitionDeployment(d.id, 'Paused', { pauseReason: 'outside window', pauseKind: 'window' }));
    t.equal((await store.getDeployment(d.id))?.pauseKind, 'window');
    const again = await session.reopen?.() ?? store;
    t.equal((await again.getDeployment(d.id))?.creator, 'schedule', 'after a restart too');
    t.ok(await again.transitionDeployment(d.id, 'InProgress', { pauseReason: null, pauseKind: null }));
    t.equal((await again.getDeployment(d.id))?.pauseKind, undefined);
  });

  test('a schedule is stored as given, listed (Active by default) and survives a reopen', async (t, store, session) => {
    const world = await givenWorld(store);
    const nightly = aSchedule(world);
    const once = aSchedule(world, { cron: undefined, at: at(50), timezone: 'UTC', nextRunAt: at(50), options: {} });
    await store.createSchedule(nightly);
    await store.createSchedule(once);
    t.strictSame(await store.getSchedule(nightly.id), nightly);
    t.strictSame(await store.getSchedule(once.id), once);
    t.equal(await store.getSchedule('nope'), undefined);
    await t.rejects(async () => await store.createSchedule(nightly), { code: 'ALREADY_EXISTS' });
    await t.rejects(async () => await store.createSchedule(aSchedule(world, { groupId: 'nope' })), { code: 'NOT_FOUND' });
    await t.rejects(async () => await store.createSchedule(aSchedule(world, { at: at(5) })), { code: 'INVALID_ARGUMENT' }, 'at and cron together');
    t.same((await store.listSchedules({ application: world.application.name })).map(s => s.id), [nightly.id, once.id]);
    t.ok(await store.transitionSchedule(once.id, 'Cancelled'));
    t.same((await store.listSchedules({ application: world.application.name })).map(s => s.id), [nightly.id], 'Active only');
    t.same((await store.listSchedules({ application: world.application.name, all: true })).map(s => s.id), [nightly.id, once.id]);
    const again = await session.reopen?.() ?? store;
    t.strictSame(await again.getSchedule(nightly.id), nightly, 'after a restart');
  });

  test('due schedules: Active with a next run at or before now, soonest first', async (t, store) => {
    const world = await givenWorld(store);
    const late = aSchedule(world, { nextRunAt: at(30) });
    const early = aSchedule(world, { nextRunAt: at(10) });
    const future = aSchedule(world, { nextRunAt: at(90) });
    const cancelled = aSchedule(world, { nextRunAt: at(5) });
    for (const s of [late, early, future, cancelled]) await store.createSchedule(s);
    await store.transitionSchedule(cancelled.id, 'Cancelled');
    t.same((await store.dueSchedules(at(30))).map(s => s.id), [early.id, late.id]);
    t.same(await store.dueSchedules(at(1)), []);
  });

  test('a run is claimed once: the next run moves on, a one-shot is Done, then the result is recorded', async (t, store) => {
    const world = await givenWorld(store);
    const nightly = aSchedule(world, { nextRunAt: at(10) });
    const once = aSchedule(world, { cron: undefined, at: at(10), nextRunAt: at(10) });
    await store.createSchedule(nightly);
    await store.createSchedule(once);
    t.ok(await store.claimScheduleRun(nightly.id, at(10), at(90), at(12)));
    t.notOk(await store.claimScheduleRun(nightly.id, at(10), at(90), at(13)), 'the same run twice: refused');
    t.match(await store.getSchedule(nightly.id), { state: 'Active', nextRunAt: at(90), lastRunAt: at(12) });
    t.ok(await store.claimScheduleRun(once.id, at(10), null, at(12)));
    const done = await store.getSchedule(once.id);
    t.equal(done?.state, 'Done');
    t.equal(done?.nextRunAt, undefined);
    t.same((await store.dueSchedules(at(100))).map(s => s.id), [nightly.id], 'a Done schedule is never due');
    const d = await givenDeployment(store, world, { status: 'Queued', creator: 'schedule', scheduleId: nightly.id });
    await store.recordScheduleResult(nightly.id, { deploymentId: d.id });
    t.equal((await store.getSchedule(nightly.id))?.lastDeploymentId, d.id);
    await store.recordScheduleResult(nightly.id, { error: 'no revisions yet' });
    t.match(await store.getSchedule(nightly.id), { lastError: 'no revisions yet' });
    t.equal((await store.getSchedule(nightly.id))?.lastDeploymentId, undefined, 'a failed run replaces the last result');
    await t.rejects(async () => await store.recordScheduleResult('nope', { error: 'x' }), { code: 'NOT_FOUND' });
    await t.rejects(async () => await store.recordScheduleResult(nightly.id, { deploymentId: 'nope' }), { code: 'NOT_FOUND' });
  });

  test('cancel is compare-and-set: only an Active schedule, and it is never due again', async (t, store) => {
    const world = await givenWorld(store);
    const s = aSchedule(world, { nextRunAt: at(10) });
    await store.createSchedule(s);
    t.ok(await store.transitionSchedule(s.id, 'Cancelled'));
    t.notOk(await store.transitionSchedule(s.id, 'Cancelled'), 'twice: no change');
    t.notOk(await store.transitionSchedule(s.id, 'Active'), 'no way back');
    t.notOk(await store.claimScheduleRun(s.id, at(10), at(90), at(11)), 'a cancelled schedule cannot be claimed');
    t.match(await store.getSchedule(s.id), { state: 'Cancelled' });
    t.equal((await store.getSchedule(s.id))?.nextRunAt, undefined);
    t.same(await store.dueSchedules(at(100)), []);
  });
}
