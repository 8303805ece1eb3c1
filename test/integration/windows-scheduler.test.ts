import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createLogger } from '../../coordinator/log.js';
import { startCoordinator } from '../../coordinator/server.js';
import { gate, hooksFor, pack, writeBundle } from '../helpers/bundle.js';
import { ferry, startAgent, waitFor, waitForHosts } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';
import { coordinatorConfig } from '../helpers/coordinator-config.js';

/**
 * Deployment windows through the real coordinator (in process, so its Clock is injected) with
 * real agents, real gRPC and real SQLite. The clock is "real time + offset": the test moves the
 * offset to jump across window openings and closings; agents keep heart-beating meanwhile.
 */
const HOOKS = ['BeforeInstall', 'ApplicationStart', 'ValidateService'];

t.test('a window holds a deployment Queued, admits it when it opens, and pauses a rollout when it closes (mount namespace)', async t => {
  const dir = await tempDir(t, 'ferry-windows-');
  const appDir = path.join(dir, 'app');
  const proofDir = path.join(dir, 'proof');
  await fs.mkdir(proofDir, { mode: 0o777 });
  let offset = 0;
  const setClock = (at: string) => (offset = Date.parse(at) - Date.now());
  setClock('2026-11-30T06:58:00Z'); // a Monday; 07:58 in Paris
  const coordinator = await startCoordinator(
    // The clock jumps by days: liveness must not call agents lost for it.
    coordinatorConfig(path.join(dir, 'data'), { logLevel: 'info', heartbeatIntervalMs: 1000, agentTimeoutMs: 7 * 86_400_000 }),
    createLogger({ level: 'info', file: path.join(dir, 'coordinator.log'), console: false }),
    { clock: { now: () => Date.now() + offset } },
  );
  t.teardown(() => coordinator.stop());
  const address = coordinator.address;
  const cli = async (...args: string[]) => {
    const r = await ferry(address, [...args, '--json']);
    t.equal(r.code, 0, `ferry ${args.join(' ')}: ${r.stderr}`);
    return r.json;
  };
  for (const hostId of ['h1', 'h2']) {
    await startAgent(t, {
      coordinator: address, rootDir: path.join(dir, 'agents', hostId), hostId, tags: { role: 'web' },
      env: { HOST_LABEL: hostId }, privateDirs: [appDir],
    });
  }
  await waitForHosts(address, ['h1', 'h2']);
  const push = async (version: string, extra: Record<string, string> = {}) => {
    const src = path.join(dir, 'bundles', version);
    await writeBundle(src, {
      appspec: { version: 0.0, os: 'linux', files: [{ source: 'www', destination: path.join(appDir, 'www') }], hooks: hooksFor(HOOKS) },
      files: { 'www/version.txt': version },
      scripts: Object.fromEntries(HOOKS.map(e => [`scripts/${e}.sh`, `echo "${version}:$LIFECYCLE_EVENT" >> ${proofDir}/$HOST_LABEL\n${extra[e] ?? ''}`])),
    });
    return (await cli('revision', 'push', pack(src, path.join(dir, 'bundles', `${version}.tgz`), 'tgz'), '--app', 'shop')).revision.digest as string;
  };
  const status = async (id: string) => (await cli('deploy', 'status', id)).deployment;
  const until = (id: string, wanted: string) => waitFor(`${id} to be ${wanted}`, async () => {
    const d = await cli('deploy', 'status', id);
    return d.deployment.status === wanted && d;
  }, 30_000);

  await cli('app', 'create', 'shop');
  const group = await cli('group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web', '--config', 'OneAtATime',
    '--window', '0 9 * * 1-5', '--window-duration', '8h', '--window-timezone', 'Europe/Paris');
  t.same(group.windows, [{ cron: '0 9 * * 1-5', durationMs: 8 * 3_600_000, timezone: 'Europe/Paris' }]);
  t.equal(group.windowOpen, false);
  t.equal(group.nextWindowAt, '2026-11-30T08:00:00.000Z', '09:00 in Paris is 08:00Z in winter');

  t.test('outside the window a deployment waits Queued, with the next opening shown', async t => {
    const v1 = await push('v1');
    const created = await cli('deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1);
    const id = created.deployment.id;
    t.equal(created.deployment.status, 'Queued');
    t.equal(created.deployment.waitReason, 'waiting for window, opens 2026-11-30T08:00:00.000Z');
    t.equal(created.deployment.nextWindowAt, '2026-11-30T08:00:00.000Z');
    await new Promise(r => setTimeout(r, 1500)); // the scheduler ticks every second: it passed over it
    t.equal((await status(id)).status, 'Queued', 'still held');
    const listed = (await cli('deploy', 'list', '--app', 'shop')).deployments.find((d: any) => d.id === id);
    t.equal(listed.nextWindowAt, '2026-11-30T08:00:00.000Z', 'deploy list shows the opening too');
    const human = await ferry(address, ['deploy', 'status', id]);
    t.match(human.stdout, /Waiting:\s+waiting for window, opens 2026-11-30T08:00:00.000Z/);

    setClock('2026-11-30T08:00:01Z');
    const done = await until(id, 'Succeeded');
    t.ok(done.hosts.every((h: any) => h.status === 'Succeeded'), 'admitted once the window opened');
    t.equal(done.deployment.waitReason, '');
  });

  t.test('--ignore-window starts at once outside the window; the next one still waits', async t => {
    setClock('2026-11-30T17:30:00Z'); // 18:30 in Paris: closed
    const v2 = await push('v2');
    const held = await cli('deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2);
    t.equal(held.deployment.waitReason, 'waiting for window, opens 2026-12-01T08:00:00.000Z');
    const urgent = await cli('deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2, '--ignore-window');
    t.equal(urgent.deployment.ignoreWindow, true);
    await until(urgent.deployment.id, 'Succeeded');
    t.equal((await status(held.deployment.id)).status, 'Queued', 'the one queued before it still waits for its window');
    await cli('deploy', 'stop', held.deployment.id);
  });

  t.test('a rollout whose window closes finishes hosts in flight, pauses, and resumes at the next opening', async t => {
    const updated = await cli('group', 'update', '--app', 'shop', '--name', 'web', '--window', '0 9 * * *', '--window-duration', '1h');
    t.same(updated.windows, [{ cron: '0 9 * * *', durationMs: 3_600_000, timezone: 'UTC' }]);
    setClock('2026-12-02T09:59:00Z');
    // The first host's ApplicationStart lasts until the window has closed under it.
    const release = path.join(dir, 'release-v3');
    const v3 = await push('v3', { ApplicationStart: gate(release) });
    const id = (await cli('deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v3)).deployment.id;
    await waitFor('a first host in flight', async () => (await cli('deploy', 'status', id)).hosts.some((h: any) => h.status === 'InProgress'));
    setClock('2026-12-02T10:00:30Z'); // the window closed under it
    await fs.writeFile(release, '');
    const paused = await waitFor('the pause with one host done', async () => {
      const d = await cli('deploy', 'status', id);
      return d.deployment.status === 'Paused' && d.hosts.some((h: any) => h.status === 'Succeeded') && d;
    }, 30_000);
    t.match(paused.deployment.pauseReason, /^outside window: no new host starts .*opens 2026-12-03T09:00:00.000Z/);
    t.equal(paused.deployment.nextWindowAt, '2026-12-03T09:00:00.000Z');
    t.equal(paused.hosts.filter((h: any) => h.status === 'Pending').length, 1, 'the second host did not start');
    await new Promise(r => setTimeout(r, 1500));
    const still = await cli('deploy', 'status', id);
    t.equal(still.deployment.status, 'Paused');
    t.equal(still.hosts.filter((h: any) => h.status === 'Pending').length, 1);

    setClock('2026-12-03T09:00:05Z');
    const done = await until(id, 'Succeeded');
    t.ok(done.hosts.every((h: any) => h.status === 'Succeeded'), 'resumed by itself and finished');
    t.equal(done.deployment.pauseReason, '');
  });

  t.test('group update --no-window removes the windows', async t => {
    const cleared = await cli('group', 'update', '--app', 'shop', '--name', 'web', '--no-window');
    t.same(cleared.windows, []);
    const bad = await ferry(address, ['group', 'update', '--app', 'shop', '--name', 'web', '--window', '0 9 * *', '--window-timezone', 'Mars/Olympus']);
    t.equal(bad.code, 2, 'a usage error: nothing was sent');
    t.match(bad.stderr, /--window-duration: required with --window/);
    t.match(bad.stderr, /--window-timezone: 'Mars\/Olympus' is not a known IANA timezone/);
    t.match(bad.stderr, /--window: '0 9 \* \*' has 4 field\(s\)/);
  });
});
