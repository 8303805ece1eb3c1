import t from 'tap';
import { type Fleet, HOOKS, startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor } from '../helpers/fleet.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5'];

const deploy = (f: Fleet, args: string[]) =>
  ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--wait', '--json', ...args], { timeoutMs: 90_000 });

/** Max number of hosts whose [startedAt, completedAt] overlap at one instant. */
function maxInFlight(hosts: any[]): number {
  const points = hosts.flatMap(h => [[Date.parse(h.startedAt), 1], [Date.parse(h.completedAt), -1]] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of points) max = Math.max(max, (cur += d));
  return max;
}

t.test('5 agents: one deployment per built-in config installs every file and runs the hooks in order on every host (mount namespace)', async t => {
  const f = await startFleet(t, HOSTS);
  const cases = [
    { version: 'v1', config: 'OneAtATime', inFlight: 1 },
    { version: 'v2', config: 'HalfAtATime', inFlight: 2 }, // minimum ceil(50% of 5) = 3 → 2 at a time
    { version: 'v3', config: 'AllAtOnce', inFlight: 5 },
  ];
  let previous: string | undefined;
  for (const c of cases) {
    const digest = await f.push(await f.bundle(c.version));
    const r = await deploy(f, ['--revision', digest, '--config', c.config]);
    t.equal(r.code, 0, `${c.config}: ${r.stderr.slice(-400)}`);
    const d = r.json;
    t.equal(d.deployment.status, 'Succeeded', c.config);
    t.equal(d.deployment.configName, c.config);
    t.equal(d.hosts.length, 5);
    t.ok(d.hosts.every((h: any) => h.status === 'Succeeded'), `${c.config}: every host succeeded`);
    t.ok(maxInFlight(d.hosts) <= c.inFlight, `${c.config}: at most ${c.inFlight} host(s) at a time (saw ${maxInFlight(d.hosts)})`);
    for (const h of HOSTS) {
      const lines = (await f.proof(h)).filter(l => l.startsWith(`${c.version}:`) || (previous && l.startsWith(`${previous}:ApplicationStop`)));
      const expected = [
        ...(previous ? [`${previous}:ApplicationStop`] : []),
        ...HOOKS.filter(e => e !== 'ApplicationStop').flatMap(e => [`${c.version}:${e}`, ...(e === 'ValidateService' ? [`${c.version}:installed:${c.version}`] : [])]),
      ];
      t.same(lines, expected, `${c.config} on ${h}: hooks in order, files installed`);
    }
    previous = c.version;
  }
});

t.test('a hook failure on one host with OneAtATime stops dispatch and fails the deployment (mount namespace)', async t => {
  const f = await startFleet(t, HOSTS.slice(0, 4));
  const digest = await f.push(await f.bundle('bad', { ValidateService: '[ "$HOST_LABEL" != h2 ] || { echo "h2 is unhealthy" >&2; exit 3; }' }));
  const r = await deploy(f, ['--revision', digest]);
  t.equal(r.code, 1, 'ferry deploy create --wait exits 1 on a failed deployment');
  t.match(r.json, { exitCode: 1, outcome: 'failed' }, 'the --json document says how the wait ended');
  const d = r.json;
  t.equal(d.deployment.status, 'Failed');
  t.equal(d.deployment.errorCode, 'HEALTH_CONSTRAINTS');
  const byId = new Map(d.hosts.map((h: any) => [h.hostId, h]));
  const h2: any = byId.get('h2');
  t.equal(h2.status, 'Failed');
  t.equal(h2.errorCode, 'ScriptFailed');
  t.match(h2.errorMessage, /ValidateService/);
  const started = d.hosts.filter((h: any) => h.startedAt).sort((a: any, b: any) => a.startedAt.localeCompare(b.startedAt));
  t.equal(started[started.length - 1].hostId, 'h2', 'no host was started after the failed one');
  const skipped = d.hosts.filter((h: any) => h.status === 'Skipped');
  t.equal(skipped.length, 4 - started.length, 'every host after the failed one is skipped');
  t.ok(skipped.length > 0 || started.length === 4);
  for (const h of skipped) t.same(await f.proof(h.hostId), [], `${h.hostId} never ran a hook`);
  const logs = await ferry(f.coordinator.address, ['deploy', 'logs', d.deployment.id, '--host', 'h2']);
  t.match(logs.stdout, /h2 is unhealthy/, 'the failing hook\'s output is kept on the coordinator');
});

t.test('a second deployment to the same group queues, then runs (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2']);
  const slow = await f.push(await f.bundle('slow', { ApplicationStart: 'sleep 3' }));
  const next = await f.push(await f.bundle('next'));
  const a = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', slow, '--json']);
  t.equal(a.code, 0, a.stderr);
  await waitFor('the first deployment to start', async () =>
    (await ferry(f.coordinator.address, ['deploy', 'status', a.json.deployment.id, '--json'])).json?.deployment.status === 'InProgress');
  const b = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', next, '--json']);
  t.equal(b.json.deployment.status, 'Queued', 'the second waits while the group is busy');
  const bDone = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', next, '--json'])
    .then(() => waitFor('both deployments to succeed', async () => {
      const list = (await ferry(f.coordinator.address, ['deploy', 'list', '--app', 'shop', '--json'])).json?.deployments ?? [];
      return list.length === 3 && list.every((d: any) => d.status === 'Succeeded') && list;
    }, 60_000));
  const [third, second, first] = bDone as any[];
  t.equal(first.id, a.json.deployment.id);
  t.ok(Date.parse(second.startedAt) >= Date.parse(first.completedAt), 'the queued deployment started after the first ended');
  t.ok(Date.parse(third.startedAt) >= Date.parse(second.completedAt), 'and the next after it, in order');
});
