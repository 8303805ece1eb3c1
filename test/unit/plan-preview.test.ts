import t from 'tap';
import { parseAppSpec } from '../../common/appspec/parse.js';
import { diffCounts, diffInstalled } from '../../coordinator/plan-preview/diff.js';
import { plannedHooks } from '../../coordinator/plan-preview/hooks.js';
import { installedTree } from '../../coordinator/plan-preview/installed.js';
import { buildPlan } from '../../coordinator/plan-preview/build.js';
import { explainChanges, fingerprint, fingerprintInput } from '../../coordinator/plan-preview/fingerprint.js';
import { simulateWaves } from '../../coordinator/plan-preview/waves.js';
import type { RevisionTree, TreeEntry } from '../../coordinator/plan-preview/types.js';
import type { DeploymentConfig, DeploymentGroup } from '../../coordinator/domain/types.js';

const APPSPEC = (extra = '') => `version: 0.0
os: linux
files:
  - source: app
    destination: /srv/shop
hooks:
  ApplicationStop:
    - location: scripts/stop.sh
  ApplicationStart:
    - location: scripts/start.sh
      timeout: 60
      runas: shop
${extra}`;

/** A revision tree from `{path: content}` (mode 0644) or `{path: [content, mode]}`; `@target` makes a symlink. */
function tree(digest: string, files: Record<string, string | [string, number]>, appspec = APPSPEC()): RevisionTree {
  const entries = new Map<string, TreeEntry>();
  for (const [p, v] of Object.entries({ 'appspec.yml': appspec, ...files })) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) entries.set(parts.slice(0, i).join('/'), { kind: 'dir', mode: 0o755 });
    const [content, mode] = typeof v === 'string' ? [v, 0o644] : v;
    entries.set(p, content.startsWith('@')
      ? { kind: 'symlink', mode: 0o777, linkTarget: content.slice(1) }
      : { kind: 'file', mode, sha256: `sha-of-${content}`, size: content.length });
  }
  const parsed = parseAppSpec(appspec, 'appspec.yml');
  return { digest, entries, ...(parsed.spec && { spec: parsed.spec }), problems: parsed.problems.map(p => p.message) };
}

const installed = (r: RevisionTree) => installedTree(r.spec!, r);
const diffOf = (a: RevisionTree, b: RevisionTree) => diffInstalled(installed(a), installed(b));

t.test('the file diff between two revisions, at destination paths', async t => {
  const v1 = tree('v1', { 'app/index.html': 'one', 'app/old.css': 'css', 'app/run.sh': ['run', 0o644], 'app/same.txt': 'same', 'app/current': '@releases/1' });
  const rows: { name: string; next: RevisionTree; want: Partial<Record<'added' | 'changed' | 'removed' | 'permissions' | 'unchanged', number>>; detail?: RegExp }[] = [
    { name: 'unchanged', next: tree('v1b', { 'app/index.html': 'one', 'app/old.css': 'css', 'app/run.sh': ['run', 0o644], 'app/same.txt': 'same', 'app/current': '@releases/1' }), want: { added: 0, changed: 0, removed: 0, permissions: 0 } },
    { name: 'added', next: tree('v2', { 'app/index.html': 'one', 'app/old.css': 'css', 'app/run.sh': ['run', 0o644], 'app/same.txt': 'same', 'app/current': '@releases/1', 'app/new.js': 'js' }), want: { added: 1, changed: 0, removed: 0 } },
    { name: 'changed content', next: tree('v2', { 'app/index.html': 'two', 'app/old.css': 'css', 'app/run.sh': ['run', 0o644], 'app/same.txt': 'same', 'app/current': '@releases/1' }), want: { changed: 1, added: 0 }, detail: /content sha-of-o → sha-of-t \(3 → 3 bytes\)/ },
    { name: 'changed symlink', next: tree('v2', { 'app/index.html': 'one', 'app/old.css': 'css', 'app/run.sh': ['run', 0o644], 'app/same.txt': 'same', 'app/current': '@releases/2' }), want: { changed: 1 }, detail: /link target releases\/1 → releases\/2/ },
    { name: 'removed', next: tree('v2', { 'app/index.html': 'one', 'app/run.sh': ['run', 0o644], 'app/same.txt': 'same', 'app/current': '@releases/1' }), want: { removed: 1, added: 0, changed: 0 } },
    { name: 'permission change (mode in the bundle)', next: tree('v2', { 'app/index.html': 'one', 'app/old.css': 'css', 'app/run.sh': ['run', 0o755], 'app/same.txt': 'same', 'app/current': '@releases/1' }), want: { permissions: 1, changed: 0 }, detail: /mode 0644 → 0755/ },
  ];
  for (const row of rows) {
    const d = diffOf(v1, row.next);
    const counts = diffCounts(d);
    for (const [k, v] of Object.entries(row.want)) t.equal(counts[k as keyof typeof counts], v, `${row.name}: ${k}`);
    if (row.detail) t.match([...d.changed, ...d.permissions].map(c => c.detail).join('\n'), row.detail, `${row.name}: detail`);
  }
  const removed = diffOf(v1, rows[4]!.next).removed[0];
  t.same(removed && { path: removed.path, kind: removed.kind, change: removed.change }, { path: '/srv/shop/old.css', kind: 'file', change: 'removed' }, 'a removed file is named at its destination');
  t.same(diffOf(v1, rows[1]!.next).added.map(c => c.path), ['/srv/shop/new.js']);
});

t.test('permissions: sections change mode, owner and group at destinations', async t => {
  const files = { 'app/index.html': 'one', 'app/bin/run': 'run' };
  const v1 = tree('v1', files);
  const v2 = tree('v2', files, APPSPEC(`permissions:
  - object: /srv/shop
    pattern: "**"
    owner: shop
    group: shop
    mode: 640
    type: [file]
`));
  const d = diffOf(v1, v2);
  t.same(d.permissions.map(c => c.path), ['/srv/shop/bin/run', '/srv/shop/index.html']);
  t.match(d.permissions[0]!.detail, /mode 0644 → 0640; owner unset → shop; group unset → shop/);
  t.equal(d.changed.length + d.added.length + d.removed.length, 0);
  const both = diffOf(v1, tree('v3', { ...files, 'app/index.html': 'new' }, APPSPEC('permissions:\n  - object: /srv/shop/index.html\n    mode: 600\n')));
  t.match(both.changed[0]!.detail, /content .*; mode 0644 → 0600/, 'content and mode change together: one changed entry');
});

t.test('a first install adds every file', async t => {
  const d = diffInstalled(new Map(), installed(tree('v1', { 'app/a': 'a', 'app/b/c': 'c' })));
  t.same(d.added.map(c => c.path), ['/srv/shop/a', '/srv/shop/b/c']);
});

t.test('a files source with a trailing slash plans as the agent installs it (docs/operations.md)', async t => {
  for (const source of ['app/', 'app/.', './app/', 'app']) {
    const spec = APPSPEC().replace('source: app', `source: ${source}`);
    const d = diffInstalled(new Map(), installed(tree('v1', { 'app/a': 'a', 'app/b/c': 'c' }, spec)));
    t.same(d.added.map(c => c.path), ['/srv/shop/a', '/srv/shop/b/c'], source);
  }
});

t.test('hooks: stop scripts from the current revision, the rest from the new one', async t => {
  const v1 = tree('v1', { 'app/a': 'a' });
  const v2 = tree('v2', { 'app/a': 'b' }, APPSPEC('  ValidateService:\n    - location: scripts/check.sh\n'.replace(/^/, '')).replace('hooks:\n', 'hooks:\n  BeforeInstall:\n    - location: scripts/before.sh\n'));
  const next = { digest: 'v2', spec: v2.spec! };
  const upgrade = plannedHooks({ type: 'known', digest: 'v1', spec: v1.spec! }, next);
  t.same(upgrade.map(h => `${h.event}@${h.revision}`), [
    'ApplicationStop@v1', 'DownloadBundle@v2', 'BeforeInstall@v2', 'Install@v2', 'ApplicationStart@v2', 'ValidateService@v2',
  ]);
  t.same(upgrade.find(h => h.event === 'ApplicationStart')?.scripts, [{ location: 'scripts/start.sh', timeoutSeconds: 60, runas: 'shop' }]);
  const first = plannedHooks({ type: 'none' }, next);
  t.notOk(first.some(h => h.source === 'previous'), 'a first install runs no ApplicationStop');
  const unknown = plannedHooks({ type: 'unknown' }, next);
  t.same(unknown[0], { event: 'ApplicationStop', source: 'previous', revision: '', scripts: [] });
});

const config = (over: Partial<DeploymentConfig> = {}): DeploymentConfig =>
  ({ name: 'HalfAtATime', minimumHealthy: { type: 'FLEET_PERCENT', value: 50 }, builtIn: true, createdAt: '', ...over });

t.test('waves come from the planner, every host succeeding', async t => {
  const hosts = ['h1', 'h2', 'h3', 'h4'].map(hostId => ({ hostId, revisionHealth: 'old' as const }));
  t.same(simulateWaves(hosts, config()).waves.map(w => w.hostIds), [['h1', 'h2'], ['h3', 'h4']], 'HalfAtATime');
  t.same(simulateWaves(hosts, config({ minimumHealthy: { type: 'ONE_AT_A_TIME' } })).waves.length, 4, 'OneAtATime');
  t.same(simulateWaves(hosts, config({ minimumHealthy: { type: 'HOST_COUNT', value: 0 } })).waves.map(w => w.hostIds), [['h1', 'h2', 'h3', 'h4']], 'AllAtOnce');
  const mixed = [{ hostId: 'a', revisionHealth: 'old' as const }, { hostId: 'b', revisionHealth: 'unhealthy' as const }];
  t.same(simulateWaves(mixed, config({ minimumHealthy: { type: 'ONE_AT_A_TIME' } })).order, ['b', 'a'], 'unhealthy hosts first');
  const zonal = simulateWaves(
    [{ hostId: 'z1', zone: 'b', revisionHealth: 'old' }, { hostId: 'z2', zone: 'a', revisionHealth: 'old' }, { hostId: 'z3', revisionHealth: 'old' }],
    config({ minimumHealthy: { type: 'HOST_COUNT', value: 0 }, zonal: { monitorMs: 60_000, firstZoneMonitorMs: 600_000, minimumHealthyPerZone: { type: 'HOST_COUNT', value: 0 } } }),
  );
  t.same(zonal.waves.map(w => [w.zone ?? '-', ...w.hostIds]), [['a', 'z2'], ['b', 'z1'], ['-', 'z3']], 'zones in name order, hosts without a zone last');
  const impossible = simulateWaves(hosts, config({ minimumHealthy: { type: 'HOST_COUNT', value: 4 } }));
  t.match(impossible.failure, /no host can be taken out of service/);
  t.match(simulateWaves([], config()).failure, /selects no hosts/);
});

t.test('a plan groups hosts by their current revision and computes each diff once', async t => {
  const v1 = tree('v1', { 'app/a': 'a' });
  const v2 = tree('v2', { 'app/a': 'b', 'app/n': 'n' });
  const body = buildPlan({
    next: v2, previous: new Map([['v1', v1]]), config: config(), fileExistsBehavior: 'DISALLOW',
    hosts: [
      { hostId: 'h1', hostname: 'one', current: { digest: 'v1', lastStatus: 'Succeeded', installed: true } },
      { hostId: 'h2', hostname: 'two', current: { digest: 'v1', lastStatus: 'Succeeded', installed: true } },
      { hostId: 'h3', hostname: 'three' },
    ],
  });
  t.same(body.hosts.map(h => [h.hostId, h.changeKey, h.wave]), [['h3', 'none', 1], ['h1', 'v1', 2], ['h2', 'v1', 3]], 'first installs first; HalfAtATime of 3 keeps 2 healthy');
  t.equal(body.changes.length, 2);
  const fromV1 = body.changes.find(c => c.key === 'v1')!;
  t.same(diffCounts(fromV1.diff!), { added: 1, changed: 1, removed: 0, permissions: 0, unchanged: 0 });
  t.throws(() => buildPlan({ next: tree('bad', {}, 'version: 0.0\n'), previous: new Map(), hosts: [], config: config(), fileExistsBehavior: 'DISALLOW' }),
    { code: 'FAILED_PRECONDITION', message: /would fail on every host/ });
});

t.test('the fingerprint changes with hosts, revisions and the group, and says what changed', async t => {
  const group: DeploymentGroup = { id: 'g', application: 'shop', name: 'web', tagSets: [[{ key: 'role', value: 'web' }]], configName: 'HalfAtATime', autoRollback: [], alarms: [], createdAt: 'x' };
  const base = fingerprintInput(group, config(), [{ hostId: 'h1', revision: 'v1', lastStatus: 'Succeeded' }]);
  t.equal(fingerprint(base), fingerprint(fingerprintInput({ ...group, createdAt: 'other' }, config(), [{ hostId: 'h1', revision: 'v1', lastStatus: 'Succeeded' }])));
  const cases: [string, ReturnType<typeof fingerprintInput>, RegExp][] = [
    ['a host joined', fingerprintInput(group, config(), [{ hostId: 'h1', revision: 'v1', lastStatus: 'Succeeded' }, { hostId: 'h2' }]), /hosts added to the group: h2/],
    ['a host left', fingerprintInput(group, config(), []), /hosts no longer in the group .*: h1/],
    ['a revision changed', fingerprintInput(group, config(), [{ hostId: 'h1', revision: 'v3', lastStatus: 'Succeeded' }]), /host h1's revision changed: v1 \(Succeeded\) → v3 \(Succeeded\)/],
    ['the config changed', fingerprintInput({ ...group, configName: 'AllAtOnce' }, config(), [{ hostId: 'h1', revision: 'v1', lastStatus: 'Succeeded' }]), /group configName changed: HalfAtATime → AllAtOnce/],
  ];
  for (const [name, now, reason] of cases) {
    t.not(fingerprint(now), fingerprint(base), name);
    t.match(explainChanges(base, now).join('\n'), reason, name);
  }
});
