import t from 'tap';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor } from '../helpers/fleet.js';

const deploy = (address: string, revision: string, extra: string[] = []) =>
  ferry(address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', revision, '--wait', '--json', ...extra], { timeoutMs: 90_000 });
const list = async (address: string) => (await ferry(address, ['deploy', 'list', '--json'])).json.deployments as any[];
const until = (address: string, id: string, statuses = ['Succeeded', 'Failed', 'Stopped']) =>
  waitFor(`${id} to end`, async () => {
    const d = (await ferry(address, ['deploy', 'status', id, '--json'])).json;
    return statuses.includes(d?.deployment.status) && d.hosts.every((h: any) => h.status !== 'InProgress') && d;
  }, 60_000);

t.test('a failing ValidateService with auto-rollback restores the previous files on every host byte for byte, from the cache (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2', 'h3']);
  const update = await ferry(f.coordinator.address, ['group', 'update', '--app', 'shop', '--name', 'web', '--auto-rollback', 'failure', '--rollback-config', 'AllAtOnce', '--json']);
  t.equal(update.code, 0, update.stderr);
  t.equal(update.json.rollbackConfig, 'AllAtOnce');
  const v1 = await f.push(await f.bundle('v1'));
  t.equal((await deploy(f.coordinator.address, v1)).code, 0);
  const good = Object.fromEntries(await Promise.all(['h1', 'h2', 'h3'].map(async h => [h, await f.files(h)])));
  t.match(good.h1, /^only-v1\.txt version\.txt [0-9a-f]{16}$/);

  const v2 = await f.push(await f.bundle('v2', { ValidateService: '[ "$HOST_LABEL" != h2 ] || exit 9' }));
  const bad = await deploy(f.coordinator.address, v2);
  t.equal(bad.code, 4, 'ferry deploy create --wait exits 4: failed and rolled back');
  t.match(bad.json, { exitCode: 4, outcome: 'rolled-back' }, 'the --json document says how the wait ended');
  t.equal(bad.json.deployment.status, 'Failed');
  const rollbackId = bad.json.deployment.rolledBackBy;
  t.match(rollbackId, /^d-/);
  t.match(bad.json.deployment.errorMessage, new RegExp(`rolled back by ${rollbackId}`));
  const rb = await until(f.coordinator.address, rollbackId);
  t.equal(rb.deployment.status, 'Succeeded');
  t.equal(rb.deployment.creator, 'rollback');
  t.equal(rb.deployment.rollbackOf, bad.json.deployment.id, 'linked both ways');
  t.equal(rb.deployment.revision, v1);
  t.equal(rb.deployment.configName, 'AllAtOnce', 'the group\'s rollback config');
  t.same(rb.hosts.map((h: any) => h.hostId).sort(), ['h1', 'h2'], 'only the hosts the failed deployment touched');
  for (const h of ['h1', 'h2', 'h3']) t.equal(await f.files(h), good[h], `${h}: the files are v1's, byte for byte (v2's only-v2.txt is gone)`);
  const fetches = [...f.coordinator.output().matchAll(/revision fetch .*revision=([0-9a-f]{64}) host_id=(\w+)/g)].map(m => `${m[2]}:${m[1]}`);
  for (const h of ['h1', 'h2']) t.equal(fetches.filter(x => x === `${h}:${v1}`).length, 1, `${h} downloaded v1 once: the rollback used its cache`);
});

t.test('with no earlier successful revision the failure says so plainly (mount namespace)', async t => {
  const f = await startFleet(t, ['h1']);
  await ferry(f.coordinator.address, ['group', 'update', '--app', 'shop', '--name', 'web', '--auto-rollback', 'failure']);
  const v1 = await f.push(await f.bundle('v1', { ApplicationStart: 'exit 1' }));
  const r = await deploy(f.coordinator.address, v1);
  t.equal(r.code, 1);
  t.match(r.json.deployment.errorMessage, /no rollback: group web has no earlier successful deployment/);
  t.equal(r.json.deployment.rolledBackBy, '');
  t.equal((await list(f.coordinator.address)).length, 1, 'no rollback deployment was created');
});

t.test('ferry deploy rollback and redeploy; stop --rollback (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2']);
  const v1 = await f.push(await f.bundle('v1'));
  const v2 = await f.push(await f.bundle('v2'));
  t.equal((await deploy(f.coordinator.address, v1)).code, 0);
  const v1Files = await f.files('h1');
  const second = await deploy(f.coordinator.address, v2);
  t.equal(second.code, 0);
  const v2Files = await f.files('h1');

  const manual = await ferry(f.coordinator.address, ['deploy', 'rollback', second.json.deployment.id, '--json']);
  t.equal(manual.code, 0, manual.stderr);
  t.equal(manual.json.deployment.creator, 'rollback');
  t.equal(manual.json.deployment.revision, v1);
  t.equal((await until(f.coordinator.address, manual.json.deployment.id)).deployment.status, 'Succeeded');
  t.equal(await f.files('h1'), v1Files);

  const again = await ferry(f.coordinator.address, ['deploy', 'redeploy', second.json.deployment.id, '--json']);
  t.equal(again.code, 0, again.stderr);
  t.equal(again.json.deployment.revision, v2);
  t.equal((await until(f.coordinator.address, again.json.deployment.id)).deployment.status, 'Succeeded');
  t.equal(await f.files('h2'), v2Files);

  const slow = await f.push(await f.bundle('v3', { ApplicationStart: 'sleep 30' }));
  const created = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', slow, '--json']);
  const id = created.json.deployment.id;
  await waitFor('h1 to start v3', async () => (await ferry(f.coordinator.address, ['deploy', 'status', id, '--json'])).json?.hosts
    .some((h: any) => h.currentEvent === 'ApplicationStart'));
  const stop = await ferry(f.coordinator.address, ['deploy', 'stop', id, '--rollback', '--json']);
  t.equal(stop.code, 0, stop.stderr);
  t.equal(stop.json.deployment.status, 'Stopped');
  const rbId = stop.json.deployment.rolledBackBy;
  t.match(rbId, /^d-/);
  const rb = await until(f.coordinator.address, rbId);
  t.equal(rb.deployment.status, 'Succeeded');
  t.equal(rb.deployment.revision, v2, 'back to the last successful revision');
  t.equal(await f.files('h1'), v2Files);

  const bogus = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--auto-rollback', 'sometimes']);
  t.equal(bogus.code, 2);
  t.match(bogus.stderr, /--auto-rollback: 'sometimes'/);
});
