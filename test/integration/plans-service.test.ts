import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createLogger } from '../../coordinator/log.js';
import { RevisionTrees } from '../../coordinator/revisions/revision-tree.js';
import { startCoordinator } from '../../coordinator/server.js';
import { createApplication, createGroup } from '../../coordinator/services/catalog.js';
import { createDeployment } from '../../coordinator/services/deployments.js';
import { executePlan, planDeployment } from '../../coordinator/services/plans.js';
import type { Context } from '../../coordinator/context.js';
import { pack, writeBundle } from '../helpers/bundle.js';
import { tempDir } from '../helpers/temp.js';
import { coordinatorConfig } from '../helpers/coordinator-config.js';

/**
 * The plan service in a real coordinator (real SQLite, real revision store, a fake clock): the
 * refusals the e2e test cannot reach in reasonable time (expiry) or cannot hold still (a busy
 * group), a revision that would fail everywhere, and a host whose last deployment failed before Install.
 */
const HOUR = 3_600_000;

async function setUp(t: Test) {
  const dir = await tempDir(t, 'ferry-plans-');
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock = { now: () => now };
  const running = await startCoordinator({
    ...coordinatorConfig(path.join(dir, 'data')),
    logLevel: 'error', maxRevisionBytes: 1 << 26,
  }, createLogger({ level: 'error', console: false }), { clock });
  t.teardown(() => running.stop());
  const ctx = running.context;
  await createApplication(ctx, 'shop');
  await createGroup(ctx, { application: 'shop', name: 'web', tagSets: [[{ key: 'role', value: 'web' }]] });
  await ctx.store.upsertHost({
    id: 'h1', hostname: 'web-1', tags: { role: 'web' }, agentVersion: '0.1.0', facts: {}, connected: true,
    lastSeenAt: new Date(now).toISOString(), registeredAt: new Date(now).toISOString(),
  });
  const push = async (name: string, appspec: string) => {
    const src = await writeBundle(path.join(dir, name), { appspec, files: { 'www/index.html': name } });
    const bytes = await readFile(pack(src, path.join(dir, `${name}.tgz`), 'tgz'));
    const upload = await ctx.revisions.begin(1 << 26);
    await upload.write(bytes);
    const { digest, size } = await upload.commit();
    await ctx.store.addRevision({ digest, application: 'shop', size, bundleType: 'tgz', description: name, createdAt: new Date(now).toISOString() });
    return digest;
  };
  const trees = new RevisionTrees(ctx.revisions, 1 << 30);
  const plan = (revision: string) => planDeployment(ctx, trees, { application: 'shop', group: 'web', revision });
  return { ctx: ctx as Context, push, plan, advance: (ms: number) => void (now += ms) };
}

const GOOD = 'version: 0.0\nos: linux\nfiles:\n  - source: www\n    destination: /srv/shop\n';

t.test('a plan expires after 24 hours', async t => {
  const s = await setUp(t);
  const p = await s.plan(await s.push('v1', GOOD));
  t.equal(Date.parse(p.expiresAt) - Date.parse(p.createdAt), 24 * HOUR);
  s.advance(24 * HOUR + 1);
  await t.rejects(async () => await executePlan(s.ctx, p.id), { code: 'FAILED_PRECONDITION', message: new RegExp(`plan ${p.id} expired at ${p.expiresAt}`) });
  await t.rejects(async () => await executePlan(s.ctx, 'p-NOSUCH000'), { code: 'NOT_FOUND', message: /plan p-NOSUCH000 does not exist; make one with: ferry deploy plan/ });
});

t.test('a plan is refused while its group has a deployment queued or running', async t => {
  const s = await setUp(t);
  const digest = await s.push('v1', GOOD);
  const p = await s.plan(digest);
  const other = await createDeployment(s.ctx, { application: 'shop', group: 'web', revision: digest });
  await t.rejects(async () => await executePlan(s.ctx, p.id), { code: 'FAILED_PRECONDITION', message: new RegExp(`group web has deployment ${other.id} Queued`) });
  t.equal((await s.ctx.store.getPlan(p.id))?.usedBy, undefined, 'the refused plan stays unused');
  const during = await s.plan(digest);
  t.match(during.document.notes.join('\n'), new RegExp(`group web has deployment ${other.id} (Queued|InProgress): --from-plan is refused until it ends`), 'a plan made meanwhile says so');
});

t.test('a revision that would fail on every host is refused at plan time, naming the problem', async t => {
  const s = await setUp(t);
  const bad = await s.push('bad', 'version: 0.0\nos: windows\n');
  await t.rejects(s.plan(bad), { code: 'FAILED_PRECONDITION', message: /would fail on every host: .*os/ });
  const clash = await s.push('clash', `${GOOD}  - source: www/index.html\n    destination: /srv/shop\n`);
  await t.rejects(s.plan(clash), { code: 'FAILED_PRECONDITION', message: /would fail Install on every host: .*same destination \/srv\/shop\/index.html/ });
});

t.test('a host whose last deployment failed before Install has an unknown current revision', async t => {
  const s = await setUp(t);
  const v1 = await s.push('v1', GOOD);
  const d = await createDeployment(s.ctx, { application: 'shop', group: 'web', revision: v1 });
  t.ok(await s.ctx.store.startDeployment(d.id, [{ deploymentId: d.id, hostId: 'h1', status: 'Pending', position: 0 }], 0, d.createdAt));
  await s.ctx.store.recordHostRevision({ hostId: 'h1', groupId: d.groupId, revisionDigest: v1, lastStatus: 'Failed', deploymentId: d.id, at: d.createdAt });
  const p = await s.plan(await s.push('v2', GOOD));
  t.same(p.document.hosts.map(h => [h.hostId, h.changeKey, h.current?.installed]), [['h1', 'unknown', false]]);
  const change = p.document.changes[0]!;
  t.equal(change.diff, undefined, 'no file diff against an unknown revision');
  t.same(change.hooks[0], { event: 'ApplicationStop', source: 'previous', revision: '', scripts: [] });
  t.match(change.notes.join(' '), /failed before Install/);
  await s.ctx.store.putEventRecord({ deploymentId: d.id, hostId: 'h1', event: 'Install', status: 'Succeeded' });
  const after = await s.plan(await s.push('v3', GOOD));
  t.same(after.document.hosts.map(h => h.changeKey), [v1], 'Install had succeeded: the host has that revision\'s files');
});
