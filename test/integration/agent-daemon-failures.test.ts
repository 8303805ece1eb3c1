import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { FakeCoordinator, buildRevision, startDaemon } from '../helpers/fake-coordinator.js';
import { tempDir } from '../helpers/temp.js';

async function fake(t: Test): Promise<FakeCoordinator> {
  const f = await FakeCoordinator.start();
  t.teardown(() => f.stop());
  return f;
}

async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 25));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Waits for a hook to write its pid (first word of `pidFile`) and makes sure its process group is
 * gone when the test ends (a killed agent leaves its hook behind).
 */
async function hookPid(t: Test, pidFile: string): Promise<number[]> {
  await waitUntil('the hook to start', () => existsSync(pidFile));
  const pids = (await fs.readFile(pidFile, 'utf8')).trim().split(' ').map(Number);
  t.teardown(() => {
    try { process.kill(-pids[0]!, 'SIGKILL'); } catch { /* gone */ }
  });
  return pids;
}

const ls = (dir: string) => fs.readdir(dir).catch(() => [] as string[]);
const BIG = 1024 * 1024;

t.test('a corrupted revision fails DownloadBundle with the checksum message and installs nothing', async t => {
  const coordinator = await fake(t);
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const installTo = path.join(dir, 'installed');
  const marker = path.join(dir, 'hook-ran');
  const rev = coordinator.addRevision(await buildRevision(dir, {
    installTo, files: { 'index.html': 'v1' }, hooks: { BeforeInstall: `touch ${marker}` },
  }));
  coordinator.fetchBehavior = { corrupt: true };
  startDaemon(t, coordinator, root);
  await coordinator.waitFor('Register', () => coordinator.of('register')[0]);
  coordinator.deploy({ deploymentId: 'd-bad', revisionDigest: rev.digest, revisionSize: rev.size });
  const r = await coordinator.waitFor('the result', () => coordinator.of('result')[0]);
  t.match(r, { status: 'Failed', errorEvent: 'DownloadBundle', errorCode: 'BundleRejected' });
  t.match(r.errorMessage, new RegExp(`revision ${rev.digest}: downloaded bytes hash to [0-9a-f]{64}; the transfer or the stored revision is corrupt`));
  t.ok(r.events.filter(e => e.event !== 'DownloadBundle').every(e => e.status === 'Skipped'), 'nothing else ran');
  t.notOk(existsSync(marker), 'no hook ran');
  t.notOk(existsSync(installTo), 'nothing installed');
  t.notOk(existsSync(path.join(root, 'g-web', 'd-bad', 'deployment-archive')), 'nothing unpacked');
  t.same(await ls(path.join(root, 'revisions')), [], 'the corrupt download is not kept');
});

t.test('a transfer dropped midway resumes from the bytes already received', async t => {
  const coordinator = await fake(t);
  const dir = await tempDir(t);
  const rev = coordinator.addRevision(await buildRevision(dir, { files: { 'blob.bin': randomBytes(BIG) } }));
  t.ok(rev.size > BIG, `a ${rev.size}-byte revision`);
  coordinator.fetchBehavior = { dropAfterBytes: 256 * 1024 };
  startDaemon(t, coordinator, path.join(dir, 'root'));
  await coordinator.waitFor('Register', () => coordinator.of('register')[0]);
  coordinator.deploy({ deploymentId: 'd-1', revisionDigest: rev.digest, revisionSize: rev.size });
  const r = await coordinator.waitFor('the result', () => coordinator.of('result')[0]);
  t.equal(r.status, 'Succeeded', r.errorMessage);
  t.equal(coordinator.fetches.length, 2);
  t.equal(coordinator.fetches[0]!.offset, 0);
  t.ok(coordinator.fetches[1]!.offset > 0 && coordinator.fetches[1]!.offset <= 256 * 1024,
    `the second FetchRevision resumes at ${coordinator.fetches[1]!.offset}`);
});

t.test('an agent killed during a download resumes it after a restart', async t => {
  const coordinator = await fake(t);
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const rev = coordinator.addRevision(await buildRevision(dir, { files: { 'blob.bin': randomBytes(BIG) } }));
  coordinator.fetchBehavior = { stallAfterBytes: 256 * 1024 };
  const first = startDaemon(t, coordinator, root);
  await coordinator.waitFor('Register', () => coordinator.of('register')[0]);
  coordinator.deploy({ deploymentId: 'd-1', revisionDigest: rev.digest, revisionSize: rev.size });
  const partial = path.join(root, 'revisions', `${rev.digest}.partial`);
  await waitUntil('256 KiB in the partial file', async () => (await fs.stat(partial).catch(() => undefined))?.size === 256 * 1024);
  first.kill('SIGKILL');
  await first.exited;
  coordinator.fetchBehavior = {};
  startDaemon(t, coordinator, root);
  const r = await coordinator.waitFor('the result after the restart', () => coordinator.of('result')[0]);
  t.equal(r.status, 'Succeeded', r.errorMessage);
  t.same(coordinator.fetches.map(f => f.offset), [0, 256 * 1024], 'the download resumed from the partial file');
  t.match(coordinator.of('register')[1], { runningDeploymentId: 'd-1' }, 'the new Register names the resumed deployment');
  t.same(await ls(path.join(root, 'agent-state', 'commands')), [], 'the accepted command is gone once reported');
});

t.test('an agent killed (SIGKILL) during a hook reports FailedAfterRestart after its restart', async t => {
  const coordinator = await fake(t);
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const pidFile = path.join(dir, 'hook.pid');
  coordinator.heartbeatIntervalMs = 200;
  const rev = coordinator.addRevision(await buildRevision(dir, {
    hooks: { BeforeInstall: 'echo ok', ApplicationStart: `echo $$ > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; exec sleep 60` },
  }));
  const first = startDaemon(t, coordinator, root);
  await coordinator.waitFor('Register', () => coordinator.of('register')[0]);
  coordinator.deploy({ deploymentId: 'd-1', revisionDigest: rev.digest, revisionSize: rev.size });
  const [hook] = await hookPid(t, pidFile);
  await coordinator.waitFor('a heartbeat naming the running deployment', () => coordinator.of('heartbeat').some(h => h.runningDeploymentId === 'd-1'));
  first.kill('SIGKILL');
  await first.exited;
  t.ok(alive(hook!), 'the killed agent left its hook running');
  process.kill(-hook!, 'SIGKILL');
  const before = coordinator.of('event').length;

  startDaemon(t, coordinator, root);
  const r = await coordinator.waitFor('the recovered result', () => coordinator.of('result')[0]);
  t.match(r, { deploymentId: 'd-1', status: 'Failed', errorEvent: 'ApplicationStart', errorCode: 'FailedAfterRestart' });
  t.match(r.errorMessage, /the agent stopped \(pid \d+\) while ApplicationStart was running/);
  t.match(r.events.find(e => e.event === 'BeforeInstall'), { status: 'Succeeded' }, 'events finished before the crash keep their result');
  t.equal(coordinator.of('event').length, before, 'the deployment is not run again');
  await waitUntil('the acked result to leave the outbox', async () => (await ls(path.join(root, 'agent-state', 'results'))).length === 0);
  t.same(await ls(path.join(root, 'ongoing-deployment')), [], 'the crash marker is consumed');
});

t.test('a CancelCommand kills the running hook and its children', async t => {
  const coordinator = await fake(t);
  const dir = await tempDir(t);
  const pids = path.join(dir, 'pids');
  const rev = coordinator.addRevision(await buildRevision(dir, {
    hooks: { ApplicationStart: `sleep 300 & echo "$$ $!" > ${pids}.tmp; mv ${pids}.tmp ${pids}; wait` },
  }));
  startDaemon(t, coordinator, path.join(dir, 'root'), ['--kill-grace', '2s']);
  await coordinator.waitFor('Register', () => coordinator.of('register')[0]);
  coordinator.deploy({ deploymentId: 'd-1', revisionDigest: rev.digest, revisionSize: rev.size });
  const [script, child] = await hookPid(t, pids) as [number, number];
  const asked = Date.now();
  coordinator.send({ cancel: { deploymentId: 'd-1', reason: 'stopped by the test' } });
  const r = await coordinator.waitFor('the result', () => coordinator.of('result')[0]);
  t.match(r, { status: 'Failed', errorEvent: 'ApplicationStart', errorCode: 'UnknownError' });
  t.match(r.errorMessage, /scripts\/ApplicationStart\.sh was cancelled \(deployment stopped\).*\(cancelled: stopped by the test\)/);
  t.ok(Date.now() - asked < 5000, 'promptly');
  await waitUntil('the hook\'s process group to be gone', () => !alive(script) && !alive(child), 5000);
  t.match(r.events.find(e => e.event === 'ValidateService'), { status: 'Skipped' });
});

t.test('SIGTERM cancels the running deployment, reports it, and exits 0', async t => {
  const coordinator = await fake(t);
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const pidFile = path.join(dir, 'hook.pid');
  const rev = coordinator.addRevision(await buildRevision(dir, {
    hooks: { ApplicationStart: `echo $$ > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; exec sleep 60` },
  }));
  const daemon = startDaemon(t, coordinator, root, ['--kill-grace', '2s']);
  await coordinator.waitFor('Register', () => coordinator.of('register')[0]);
  coordinator.deploy({ deploymentId: 'd-1', revisionDigest: rev.digest, revisionSize: rev.size });
  const [hook] = await hookPid(t, pidFile);
  daemon.kill('SIGTERM');
  t.same(await daemon.exited, { code: 0, signal: null });
  const r = coordinator.of('result')[0];
  t.match(r, { deploymentId: 'd-1', status: 'Failed', errorEvent: 'ApplicationStart' }, 'the result went out before the exit');
  t.match(r?.errorMessage, /cancelled: the agent is stopping/);
  t.notOk(alive(hook!), 'the hook was killed');
  t.notOk(existsSync(path.join(root, 'ferry-agent.lock')), 'the host lock is released');
});
