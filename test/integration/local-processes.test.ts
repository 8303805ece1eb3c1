import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { deployLocal, eventOf } from '../helpers/agent-cli.js';
import { gate, hooksFor, writeBundle } from '../helpers/bundle.js';
import { tempDir } from '../helpers/temp.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('a timed-out script is killed with its children within timeout + kill grace', async t => {
  const dir = await tempDir(t);
  const pids = path.join(dir, 'pids');
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart'], 1) },
    // The script and its child both ignore TERM: only the KILL after the grace ends them.
    scripts: { 'scripts/ApplicationStart.sh': `trap '' TERM; (trap '' TERM; sleep 300) & echo "$$ $!" > ${pids}; sleep 300` },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle, ['--kill-grace', '1s']);
  t.equal(r.code, 1);
  const e = eventOf(r.json, 'ApplicationStart');
  t.equal(e.errorCode, 'ScriptTimedOut');
  t.match(e.message, /timed out after 1 s.*TERM, then KILL/);
  t.ok(e.durationMs >= 1000 && e.durationMs < 1000 + 1000 + 3000, `took ${e.durationMs} ms`);
  const [script, child] = (await fs.readFile(pids, 'utf8')).trim().split(' ').map(Number);
  await waitFor('the process group to be gone', async () => !alive(script!) && !alive(child!), 5000);
  t.notOk(alive(child!), 'the script\'s child was killed too');
});

t.test('a script that leaves a daemon holding stdout open does not hang the deployment', async t => {
  const dir = await tempDir(t);
  const pidFile = path.join(dir, 'daemon.pid');
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart', 'ValidateService']) },
    scripts: {
      'scripts/ApplicationStart.sh': `sleep 120 &\necho $! > ${pidFile}\necho started`,
      'scripts/ValidateService.sh': `kill -0 $(cat ${pidFile}) && echo daemon alive`,
    },
  });
  t.teardown(async () => {
    const pid = Number(await fs.readFile(pidFile, 'utf8').catch(() => '0'));
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle, ['--output-grace', '500ms'], { timeoutMs: 30_000 });
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.ok(r.ms < 15_000, `finished in ${r.ms} ms`);
  t.equal(eventOf(r.json, 'ApplicationStart').status, 'Succeeded');
  t.equal(eventOf(r.json, 'ValidateService').status, 'Succeeded', 'the daemon survives its hook');
  t.match(r.json.warnings.join('\n'), /ApplicationStart: scripts\/ApplicationStart\.sh exited but a process it started still holds stdout\/stderr open/);

  const strict = await deployLocal(path.join(dir, 'root'), bundle, ['--output-grace', '500ms', '--fail-on-outputs-left-open', '--deployment-group', 'strict'], { timeoutMs: 30_000 });
  t.equal(strict.code, 1);
  t.equal(eventOf(strict.json, 'ApplicationStart').errorCode, 'OutputsLeftOpen');
  const pid = Number(await fs.readFile(pidFile, 'utf8'));
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
});

t.test('an agent killed mid-hook reports that event FailedAfterRestart on its next run', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const started = path.join(dir, 'started');
  const hang = await writeBundle(path.join(dir, 'hang'), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['AfterInstall', 'ApplicationStart']) },
    scripts: { 'scripts/AfterInstall.sh': 'true', 'scripts/ApplicationStart.sh': `touch ${started}; exec sleep 60` },
  });
  const running = deployLocal(root, hang);
  await waitFor('the hook to start', async () => !!(await fs.stat(started).catch(() => undefined)));
  process.kill(running.pid!, 'SIGKILL');
  await running;
  const interruptedId = (await fs.readdir(path.join(root, 'ongoing-deployment'))).find(n => n.startsWith('d-'));
  t.ok(interruptedId, 'a crash marker was left behind');

  const ok = await writeBundle(path.join(dir, 'ok'), { appspec: { version: 0.0, os: 'linux' } });
  const r = await deployLocal(root, ok);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.same(r.json.interrupted, [{ deploymentId: interruptedId, event: 'ApplicationStart', errorCode: 'FailedAfterRestart' }]);
  t.match(r.stderr, new RegExp(`${interruptedId} was interrupted during ApplicationStart: reported FailedAfterRestart`));
  const result = JSON.parse(await fs.readFile(path.join(root, 'default-local-deployment-group', interruptedId!, 'result.json'), 'utf8'));
  t.equal(result.status, 'Failed');
  t.equal(result.events.find((e: any) => e.event === 'ApplicationStart').errorCode, 'FailedAfterRestart');
  t.equal(result.events.find((e: any) => e.event === 'AfterInstall').status, 'Succeeded', 'events finished before the crash keep their result');
  t.same(await fs.readdir(path.join(root, 'ongoing-deployment')), [], 'the marker is consumed');
});

t.test('two deployments on one root dir never interleave; --no-wait fails at once with exit 3', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const log = path.join(dir, 'log');
  const started = path.join(dir, 'started');
  const release = path.join(dir, 'release');
  const bundle = (name: string, body: string) => writeBundle(path.join(dir, name), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) },
    scripts: { 'scripts/ApplicationStart.sh': body },
  });
  // The slow hook runs until the second deployment says it is waiting for it.
  const slow = await bundle('slow', `touch ${started}; echo slow-start >> ${log}; ${gate(release)}; echo slow-end >> ${log}`);
  const fast = await bundle('fast', `echo fast >> ${log}`);
  const first = deployLocal(root, slow, ['--deployment-group', 'g1']);
  await waitFor('the first hook', async () => !!(await fs.stat(started).catch(() => undefined)));
  const busy = await deployLocal(root, fast, ['--deployment-group', 'g2', '--no-wait']);
  t.equal(busy.code, 3);
  t.match(busy.stderr, /another deployment is running on this host/);
  let secondErr = '';
  const second = await deployLocal(root, fast, ['--deployment-group', 'g2'], {
    onStderr: chunk => {
      secondErr += chunk;
      if (/waiting for the deployment running on this host/.test(secondErr)) void fs.writeFile(release, '');
    },
  });
  t.equal((await first).code, 0);
  t.equal(second.code, 0);
  t.match(second.stderr, /waiting for the deployment running on this host/);
  t.same((await fs.readFile(log, 'utf8')).trim().split('\n'), ['slow-start', 'slow-end', 'fast']);
});

t.test('retention keeps the newest N deployments of a group', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const bundle = await writeBundle(path.join(dir, 'b'), { appspec: { version: 0.0, os: 'linux' }, files: { 'big.bin': 'x'.repeat(1000) } });
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await deployLocal(root, bundle, ['--max-revisions', '3']);
    t.equal(r.code, 0, r.stderr);
    ids.push(r.json.deploymentId);
  }
  const kept = (await fs.readdir(path.join(root, 'default-local-deployment-group'))).sort();
  t.same(kept, ids.slice(-3).sort());
  const last = path.join(root, 'default-local-deployment-group', ids[4]!);
  t.same((await fs.readdir(last)).sort(), ['deployment-archive', 'logs', 'result.json'], 'one copy of the bundle: no bundle.tar beside the archive');
});
