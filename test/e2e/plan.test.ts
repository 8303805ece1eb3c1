import path from 'node:path';
import t from 'tap';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';

/**
 * `ferry deploy plan` against a real coordinator and agents: deploy v1, plan v2 (hosts,
 * waves, hooks with their revision, added / changed / removed / permission changes), execute it
 * with --from-plan; then plans refused once used, or once the group or its hosts changed.
 */
t.test('plan a deployment, execute exactly it, and refuse a plan once the group changed (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2']);
  const c = (args: string[], timeoutMs = 90_000) => ferry(f.coordinator.address, args, { timeoutMs });
  const www = path.join(f.appDir, 'www');
  const v1 = await f.push(await f.bundle('v1', {}, { 'www/run.sh': { content: 'echo run\n', mode: 0o644 }, 'www/same.txt': 'same' }));
  const v2 = await f.push(await f.bundle('v2', {}, { 'www/run.sh': { content: 'echo run\n', mode: 0o755 }, 'www/same.txt': 'same' }));
  const first = await c(['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--wait', '--json']);
  t.equal(first.code, 0, first.stderr);

  const planned = await c(['deploy', 'plan', '--app', 'shop', '--group', 'web', '--revision', v2, '--description', 'v2 from a plan', '--json']);
  t.equal(planned.code, 0, planned.stderr);
  const plan = planned.json;
  t.match(plan.id, /^p-[A-Z0-9]{9}$/);
  t.equal(plan.revision, v2);
  t.same(plan.waves.map((w: any) => w.hostIds), [['h1'], ['h2']], 'OneAtATime: one host per wave');
  t.same(plan.hosts.map((h: any) => [h.hostId, h.currentRevision, h.changeKey]), [['h1', v1, v1], ['h2', v1, v1]]);
  t.equal(plan.changes.length, 1, 'hosts with the same current revision share one change');
  const change = plan.changes[0];
  t.same(change.hooks.map((h: any) => `${h.event}@${h.revision === v1 ? 'v1' : h.revision === v2 ? 'v2' : '?'}`), [
    'ApplicationStop@v1', 'DownloadBundle@v2', 'BeforeInstall@v2', 'Install@v2', 'AfterInstall@v2', 'ApplicationStart@v2', 'ValidateService@v2',
  ]);
  t.same(change.hooks[0].scripts.map((s: any) => s.location), ['scripts/ApplicationStop.sh']);
  const d = change.diff;
  t.same(d.added.map((x: any) => x.path), [path.join(www, 'only-v2.txt')], 'added');
  t.same(d.removed.map((x: any) => x.path), [path.join(www, 'only-v1.txt')], 'removed');
  t.same(d.changed.map((x: any) => x.path), [path.join(www, 'version.txt')], 'changed');
  t.same(d.permissions.map((x: any) => [x.path, x.detail]), [[path.join(www, 'run.sh'), 'mode 0644 → 0755']], 'permission change');
  t.equal(d.unchanged, 1, 'same.txt is unchanged');
  t.same(await f.proof('h1'), (await f.proof('h1')).filter(l => l.startsWith('v1:')), 'planning ran nothing on the hosts');

  const shown = await c(['deploy', 'plan', '--show', plan.id]);
  t.equal(shown.code, 0, shown.stderr);
  t.match(shown.stdout, /wave 1: h1( \(\S+\))?\n\s+wave 2: h2( \(\S+\))?/, 'hosts named by id, with the hostname beside it');
  t.match(shown.stdout, /Files: 1 added, 1 changed, 1 removed, 1 permission change, 1 unchanged/);
  t.match(shown.stdout, new RegExp(`ApplicationStop\\s+${v1.slice(0, 12)} \\(current\\)`));
  t.match(shown.stdout, new RegExp(`ferry deploy create --from-plan ${plan.id}`));

  const run = await c(['deploy', 'create', '--from-plan', plan.id, '--wait', '--json']);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.json.deployment.status, 'Succeeded');
  t.equal(run.json.deployment.revision, v2, 'the plan\'s revision');
  t.equal(run.json.deployment.configName, 'OneAtATime', 'the plan\'s config');
  t.equal(run.json.deployment.description, 'v2 from a plan', 'the plan\'s options');
  for (const h of ['h1', 'h2']) {
    t.same((await f.proof(h)).filter(l => l.startsWith('v2:') || l === 'v1:ApplicationStop'),
      ['v1:ApplicationStop', 'v2:BeforeInstall', 'v2:AfterInstall', 'v2:ApplicationStart', 'v2:ValidateService', 'v2:installed:v2'],
      `${h}: the hooks the plan listed, from the revisions it named`);
  }
  const used = await c(['deploy', 'plan', '--show', plan.id, '--json']);
  t.equal(used.json.usedBy, run.json.deployment.id, 'the plan records the deployment that executed it');

  const again = await c(['deploy', 'create', '--from-plan', plan.id]);
  t.equal(again.code, 1, 'a used plan is refused');
  t.match(again.stderr, new RegExp(`plan ${plan.id} was already executed by deployment ${run.json.deployment.id}`));

  // A host joins: the plan made before is out of date.
  const back = await c(['deploy', 'plan', '--app', 'shop', '--group', 'web', '--revision', v1, '--json']);
  t.equal(back.code, 0, back.stderr);
  t.same(back.json.changes[0].hooks[0], { event: 'ApplicationStop', source: 'previous', revision: v2, scripts: [{ location: 'scripts/ApplicationStop.sh', timeoutSeconds: 60, runas: '' }] });
  await f.addAgent('h3');
  await waitForHosts(f.coordinator.address, ['h1', 'h2', 'h3']);
  await waitFor('h3 to get the group\'s revision', async () => {
    const hosts = await c(['hosts', 'show', 'h3', '--json']);
    return hosts.json?.revisions?.some((r: any) => r.revision === v2 && r.lastStatus === 'Succeeded');
  }, 60_000);
  const stale = await c(['deploy', 'create', '--from-plan', back.json.id, '--wait']);
  t.equal(stale.code, 1, 'a plan for a changed group is refused');
  t.match(stale.stderr, /out of date: the group changed since it was made:\n\s+- hosts added to the group: h3/);
  t.match(stale.stderr, /make a new plan: ferry deploy plan --app shop --group web/);

  // The group's definition changes: refused, naming the field.
  const fresh = await c(['deploy', 'plan', '--app', 'shop', '--group', 'web', '--revision', v1, '--json']);
  t.equal(fresh.json.hosts.length, 3);
  const update = await c(['group', 'update', '--app', 'shop', '--name', 'web', '--rollback-config', 'AllAtOnce']);
  t.equal(update.code, 0, update.stderr);
  const changed = await c(['deploy', 'create', '--from-plan', fresh.json.id]);
  t.equal(changed.code, 1);
  t.match(changed.stderr, /group rollbackConfig changed: unset → AllAtOnce/);
  const list = await c(['deploy', 'list', '--app', 'shop', '--json']);
  t.notOk(list.json.deployments.some((x: any) => x.revision === v1 && x.creator === 'user' && x.id !== first.json.deployment.id),
    'no refused plan created a deployment');
});
