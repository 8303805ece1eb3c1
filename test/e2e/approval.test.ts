import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { gate } from '../helpers/bundle.js';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor } from '../helpers/fleet.js';

const status = async (address: string, id: string) => (await ferry(address, ['deploy', 'status', id, '--json'])).json;

t.test('an approval gate pauses after N hosts; resume refuses, approve continues, reject stops (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2', 'h3']);
  const v1 = await f.push(await f.bundle('v1'));
  const created = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--approve-after', '1', '--json']);
  t.equal(created.code, 0, created.stderr);
  const id = created.json.deployment.id;
  const paused = await waitFor('the gate', async () => {
    const d = await status(f.coordinator.address, id);
    return d?.deployment.status === 'Paused' && d;
  }, 30_000);
  t.equal(paused.deployment.awaitingApproval, true);
  t.equal(paused.deployment.pauseKind, 'approval');
  t.match(paused.deployment.pauseReason, /awaiting approval: 1 host\(s\) succeeded.*ferry deploy approve/);
  t.equal(paused.hosts.filter((h: any) => h.status === 'Succeeded').length, 1);
  t.equal(paused.hosts.filter((h: any) => h.status === 'Pending').length, 2, 'no other host started');
  const resume = await ferry(f.coordinator.address, ['deploy', 'resume', id]);
  t.equal(resume.code, 1);
  t.match(resume.stderr, /waiting for approval/);
  t.equal((await ferry(f.coordinator.address, ['deploy', 'approve', id])).code, 0);
  const done = await waitFor('the deployment to finish', async () => {
    const d = await status(f.coordinator.address, id);
    return d?.deployment.status === 'Succeeded' && d;
  }, 30_000);
  t.ok(done.hosts.every((h: any) => h.status === 'Succeeded'));

  const v2 = await f.push(await f.bundle('v2'));
  const second = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2, '--approve-after', '1', '--json']);
  const id2 = second.json.deployment.id;
  await waitFor('the second gate', async () => (await status(f.coordinator.address, id2))?.deployment.awaitingApproval);
  const reject = await ferry(f.coordinator.address, ['deploy', 'reject', id2, '--reason', 'error rate up', '--json']);
  t.equal(reject.code, 0, reject.stderr);
  t.equal(reject.json.deployment.status, 'Stopped');
  t.match(reject.json.deployment.errorMessage, /rejected: error rate up/);
  t.equal(reject.json.hosts.filter((h: any) => h.status === 'Skipped').length, 2);
  const bad = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2, '--approve-after', 'first-zone']);
  t.equal(bad.code, 1, 'the coordinator refuses it');
  t.match(bad.stderr, /--approve-after first-zone needs a zonal deployment config; OneAtATime is not zonal/);
});

t.test('ferry deploy pause stops new hosts from starting until resume (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2']);
  const release = path.join(f.dir, 'release');
  const v1 = await f.push(await f.bundle('v1', { ApplicationStart: gate(release) }));
  const created = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--json']);
  const id = created.json.deployment.id;
  await waitFor('h1 to start', async () => (await status(f.coordinator.address, id))?.hosts.some((h: any) => h.status === 'InProgress'));
  const pause = await ferry(f.coordinator.address, ['deploy', 'pause', id, '--json']);
  t.equal(pause.code, 0, pause.stderr);
  t.equal(pause.json.deployment.status, 'Paused');
  t.match(pause.json.deployment.pauseReason, /paused by .*ferry deploy resume/);
  t.equal(pause.json.deployment.pauseKind, 'operator');
  await fs.writeFile(release, '');
  await waitFor('h1 to finish', async () => (await status(f.coordinator.address, id))?.hosts.some((h: any) => h.status === 'Succeeded'));
  await new Promise(r => setTimeout(r, 1500));
  const still = await status(f.coordinator.address, id);
  t.equal(still.deployment.status, 'Paused');
  t.equal(still.hosts.filter((h: any) => h.status === 'Pending').length, 1, 'the next host waits while paused');
  t.equal((await ferry(f.coordinator.address, ['deploy', 'resume', id])).code, 0);
  const done = await waitFor('the deployment to finish', async () => {
    const d = await status(f.coordinator.address, id);
    return d?.deployment.status === 'Succeeded' && d;
  }, 30_000);
  t.ok(done.hosts.every((h: any) => h.status === 'Succeeded'));
});

t.test('an operator pause of a deployment with an approval gate is an operator pause: wait --until-approval does not return, approve refuses, resume continues (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2', 'h3']);
  const release = path.join(f.dir, 'release');
  const v1 = await f.push(await f.bundle('v1', { ApplicationStart: gate(release) }));
  const created = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--approve-after', '2', '--json']);
  const id = created.json.deployment.id;
  await waitFor('h1 to start', async () => (await status(f.coordinator.address, id))?.hosts.some((h: any) => h.status === 'InProgress'));
  const pause = await ferry(f.coordinator.address, ['deploy', 'pause', id, '--json']);
  t.equal(pause.code, 0, pause.stderr);
  t.equal(pause.json.deployment.pauseKind, 'operator');
  t.equal(pause.json.deployment.awaitingApproval, false, 'an operator pause is not the approval gate');
  // Before, wait --until-approval returned 0 here ("awaiting approval") while approve refused.
  const waited = await ferry(f.coordinator.address, ['deploy', 'wait', id, '--until-approval', '--timeout', '3s']);
  t.not(waited.code, 0, `deploy wait --until-approval does not report the gate: ${waited.stdout}`);
  const approve = await ferry(f.coordinator.address, ['deploy', 'approve', id]);
  t.equal(approve.code, 1, 'approve refuses: it is not waiting for approval');
  t.match(approve.stderr, /not waiting for approval/);
  await fs.writeFile(release, '');
  t.equal((await ferry(f.coordinator.address, ['deploy', 'resume', id])).code, 0, 'resume continues the operator pause');
  const gated = await waitFor('the gate after 2 hosts', async () => {
    const d = await status(f.coordinator.address, id);
    return d?.deployment.status === 'Paused' && d;
  }, 60_000);
  t.equal(gated.deployment.pauseKind, 'approval');
  t.equal(gated.deployment.awaitingApproval, true);
  t.equal((await ferry(f.coordinator.address, ['deploy', 'wait', id, '--until-approval', '--timeout', '10s'])).code, 0, 'now wait --until-approval returns');
  t.equal((await ferry(f.coordinator.address, ['deploy', 'approve', id])).code, 0);
  await waitFor('the deployment to finish', async () => (await status(f.coordinator.address, id))?.deployment.status === 'Succeeded', 60_000);
});
