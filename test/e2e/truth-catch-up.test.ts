import t from 'tap';
import { type Fleet, startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';

/**
 * Truthful rollouts, rule 1: nothing is deployed that nobody asked for. A group's target revision
 * is its last successful deployment not made by catch-up; catch-up goes only to hosts that were not
 * targets of that deployment, when the group is idle. Checked on the hosts' own files.
 */

const list = async (f: Fleet) => (await ferry(f.coordinator.address, ['deploy', 'list', '--app', 'shop', '--json'])).json.deployments as any[];
const status = async (f: Fleet, id: string) => (await ferry(f.coordinator.address, ['deploy', 'status', id, '--json'])).json?.deployment?.status;
const installed = async (f: Fleet, host: string) => (await f.proof(host)).filter(l => l.includes(':installed:')).at(-1)?.split(':installed:')[1];

t.test('coordinator SIGKILL mid-rollout: v2 succeeds and no host is reverted to v1 (no unrequested deployment) (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2', 'h3'], { fixedPort: true });
  const v1 = await f.push(await f.bundle('v1'));
  const first = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--wait', '--json'], { timeoutMs: 90_000 });
  t.equal(first.code, 0, first.stderr);
  const v2 = await f.push(await f.bundle('v2', { ApplicationStart: 'sleep 2' }));
  const created = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2, '--json']);
  const id = created.json.deployment.id as string;
  // Kill it once v2 has succeeded on one host and runs on the next (OneAtATime).
  await waitFor('one host done with v2, the next in flight', async () => {
    const hosts = (await ferry(f.coordinator.address, ['deploy', 'status', id, '--json'])).json?.hosts ?? [];
    return hosts.some((h: any) => h.status === 'Succeeded') && hosts.some((h: any) => h.status === 'InProgress');
  }, 30_000);
  await f.restartCoordinator();
  await waitForHosts(f.coordinator.address, ['h1', 'h2', 'h3'], 30_000);
  await waitFor('v2 to succeed', async () => (await status(f, id)) === 'Succeeded', 60_000);
  // Give a wrong catch-up every chance to happen: registrations and scheduler passes.
  await f.restartCoordinator();
  await waitForHosts(f.coordinator.address, ['h1', 'h2', 'h3'], 30_000);
  await new Promise(r => setTimeout(r, 2500));
  const deployments = await list(f);
  t.same(deployments.filter(d => d.creator === 'autoscaling').map(d => d.id), [], 'no catch-up deployment was created');
  for (const h of ['h1', 'h2', 'h3']) t.equal(await installed(f, h), 'v2', `${h} runs v2 (its own files)`);
});

t.test('overlapping groups on the same hosts, many deployments: no unrequested deployment, every host on its group\'s last revision (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2', 'h3'], { config: 'AllAtOnce' });
  for (const g of ['blue', 'green']) {
    const r = await ferry(f.coordinator.address, ['group', 'create', '--app', 'shop', '--name', g, '--tag-set', 'role=web', '--config', 'AllAtOnce']);
    t.equal(r.code, 0, r.stderr);
  }
  const revisions: string[] = [];
  for (const v of ['a', 'b', 'c']) revisions.push(await f.push(await f.bundle(v)));
  // Every group's deployments at once, so groups finish while the others run.
  const ids: string[] = [];
  for (const digest of revisions) {
    for (const g of ['web', 'blue', 'green']) {
      const r = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', g, '--revision', digest,
        '--file-exists-behavior', 'OVERWRITE', '--json']);
      t.equal(r.code, 0, `${g} ${digest.slice(0, 8)}: ${r.stderr}`);
      ids.push(r.json.deployment.id);
    }
  }
  const requested = ids.length;
  await waitFor('every requested deployment to end', async () => {
    const all = await list(f);
    return ids.every(id => ['Succeeded', 'Failed', 'Stopped'].includes(all.find(d => d.id === id)?.status))
      && all.every(d => ['Succeeded', 'Failed', 'Stopped'].includes(d.status));
  }, 120_000);
  t.same((await list(f)).filter(d => ids.includes(d.id)).map(d => d.status), ids.map(() => 'Succeeded'), 'every requested deployment succeeded');
  await new Promise(r => setTimeout(r, 2000));
  const deployments = await list(f);
  t.equal(deployments.length, requested, 'exactly the deployments that were asked for');
  t.same(deployments.filter(d => d.creator === 'autoscaling').map(d => `${d.groupName}:${d.revision.slice(0, 8)}`), []);
  for (const h of ['h1', 'h2', 'h3']) t.equal(await installed(f, h), 'c', `${h} runs the last revision`);

  // A host that joins all three groups later is caught up in each, not only in the first: the
  // others' catch-ups find it busy, give their claim back and come again once it is idle (soak finding).
  await f.addAgent('h4');
  await waitForHosts(f.coordinator.address, ['h4']);
  const caughtUp = await waitFor('h4 to be caught up in web, blue and green', async () => {
    const autos = (await list(f)).filter(d => d.creator === 'autoscaling' && d.status === 'Succeeded');
    const groups = new Set(autos.map(d => d.groupName));
    return groups.size === 3 && autos;
  }, 90_000);
  t.same(caughtUp.map(d => d.groupName).sort(), ['blue', 'green', 'web'], 'one catch-up per group');
  t.ok(caughtUp.every(d => d.revision === revisions[2]), 'each to its group\'s target revision');
  t.equal(await installed(f, 'h4'), 'c', 'h4 runs the last revision');
  const after = await list(f);
  t.same(after.filter(d => !ids.includes(d.id) && d.creator !== 'autoscaling').map(d => d.id), [], 'nothing else was deployed');
});

t.test('a host that joins later is caught up once; a host that failed is not redeployed by itself (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2'], { config: 'AllAtOnce' });
  const v1 = await f.push(await f.bundle('v1', { ValidateService: '[ "$HOST_LABEL" != h2 ]' }));
  const r = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--wait', '--json'], { timeoutMs: 90_000 });
  t.equal(r.code, 0, 'AllAtOnce succeeds with one host failed');
  // h2 failed v1: restarting its agent must not redeploy it.
  await f.agents.get('h2')!.kill('SIGTERM');
  await f.addAgent('h2');
  await f.addAgent('h3');
  await waitForHosts(f.coordinator.address, ['h2', 'h3']);
  const auto = await waitFor('a catch-up of h3 to succeed', async () => (await list(f)).find(d => d.creator === 'autoscaling' && d.status === 'Succeeded'), 30_000);
  t.equal(auto.revision, v1);
  await new Promise(r => setTimeout(r, 1500));
  const autos = (await list(f)).filter(d => d.creator === 'autoscaling');
  t.equal(autos.length, 1, 'only the new host was caught up');
  t.equal(await installed(f, 'h3'), 'v1', 'h3 runs v1');
  const shown = await ferry(f.coordinator.address, ['group', 'show', '--app', 'shop', '--name', 'web', '--json']);
  t.equal(shown.json.lastSuccessfulDeploymentId, r.json.deployment.id, 'the catch-up did not become the group\'s target');
});
