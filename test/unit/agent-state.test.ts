import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isFerryError } from '../../common/errors.js';
import { LIFECYCLE_EVENTS } from '../../common/lifecycle/events.js';
import type { Invocation } from '../../agent/lifecycle/invocation.js';
import { ChildProcessRunner, type OutputStream, type RunOptions } from '../../agent/lifecycle/process-runner.js';
import { recoverInterrupted } from '../../agent/lifecycle/recovery.js';
import type { EventResult } from '../../agent/lifecycle/types.js';
import { layoutFor } from '../../agent/state/layout.js';
import { type LockHolder, acquireHostLock } from '../../common/pid-lock.js';
import { type CrashMarker, readMarkers, writeMarker } from '../../agent/state/markers.js';
import { pruneDeployments } from '../../agent/state/retention.js';
import { tempDir } from '../helpers/temp.js';

/** A pid that belonged to a process which has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true', { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

/** The error a promise rejects with; fails the test when it resolves. */
async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, got none');
}

t.test('the host lock', async t => {
  t.test('is a file naming its holder, removed on release', async t => {
    const file = path.join(await tempDir(t), 'sub', 'ferry-agent.lock');
    const lock = await acquireHostLock(file, { wait: false, deploymentId: 'd-1' });
    const holder = JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
    t.equal(holder.pid, process.pid, 'the holder is this process');
    t.equal(holder.deploymentId, 'd-1', 'the holder names its deployment');
    t.ok(!Number.isNaN(Date.parse(holder.since)), 'since is a timestamp');
    await lock.release();
    await t.rejects(fs.stat(file), { code: 'ENOENT' }, 'release removes the file');
  });

  t.test('a second acquire without waiting fails with LOCKED naming the holder', async t => {
    const file = path.join(await tempDir(t), 'ferry-agent.lock');
    const lock = await acquireHostLock(file, { wait: false, deploymentId: 'd-1' });
    t.teardown(() => lock.release());
    const err = await rejectionOf(acquireHostLock(file, { wait: false, deploymentId: 'd-2' }));
    t.ok(isFerryError(err, 'LOCKED'), 'the code is LOCKED');
    t.match(err.message, `(pid ${process.pid}, d-1, since `, 'the message names the holder pid and deployment');
    t.match(err.message, file, 'the message names the lock file');
  });

  t.test('a lock left by a dead process is taken over', async t => {
    const file = path.join(await tempDir(t), 'ferry-agent.lock');
    const pid = await deadPid();
    await fs.writeFile(file, JSON.stringify({ pid, since: 'x' }));
    const lock = await acquireHostLock(file, { wait: false, pollMs: 5 });
    t.teardown(() => lock.release());
    const holder = JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
    t.equal(holder.pid, process.pid, 'this process now holds the lock');
  });

  t.test('a waiting acquire resolves once the holder releases', async t => {
    const file = path.join(await tempDir(t), 'ferry-agent.lock');
    const first = await acquireHostLock(file, { wait: false, deploymentId: 'd-1' });
    let announce!: (h: LockHolder | undefined) => void;
    const waiting = new Promise<LockHolder | undefined>(r => (announce = r));
    let acquired = false;
    const second = acquireHostLock(file, { wait: true, pollMs: 5, deploymentId: 'd-2', onWait: announce }).then(l => {
      acquired = true;
      return l;
    });
    const holder = await waiting;
    t.equal(holder?.deploymentId, 'd-1', 'onWait is told who holds the lock');
    t.notOk(acquired, 'the second acquire waits while the lock is held');
    await first.release();
    const lock = await second;
    t.teardown(() => lock.release());
    const now = JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
    t.equal(now.deploymentId, 'd-2', 'the waiter holds the lock after the release');
  });

  t.test('a waiting acquire gives up when its signal is aborted', async t => {
    const file = path.join(await tempDir(t), 'ferry-agent.lock');
    const lock = await acquireHostLock(file, { wait: false });
    t.teardown(() => lock.release());
    const err = await rejectionOf(acquireHostLock(file, { wait: true, pollMs: 5, signal: AbortSignal.abort() }));
    t.ok(isFerryError(err, 'LOCKED'), 'the code is LOCKED');
    t.match(err.message, `gave up waiting for ${file}`);
  });
});

t.test('pruneDeployments keeps the newest directories and every protected one', async t => {
  const cases: { name: string; ages: Record<string, number>; keep: number; protect: string[]; removed: string[] }[] = [
    { name: 'keeps the newest N by mtime', ages: { a: 50, b: 40, c: 30, d: 20, e: 10 }, keep: 2, protect: [], removed: ['a', 'b', 'c'] },
    { name: 'mtime, not name, decides', ages: { a: 10, b: 50, c: 30 }, keep: 1, protect: [], removed: ['b', 'c'] },
    { name: 'removes nothing when there are at most N', ages: { a: 20, b: 10 }, keep: 5, protect: [], removed: [] },
    {
      name: 'never deletes a protected directory and counts it toward N',
      ages: { a: 50, b: 40, c: 30, d: 20, e: 10 },
      keep: 2,
      protect: ['a'],
      removed: ['b', 'c', 'd'],
    },
    { name: 'keeps every protected directory even beyond N', ages: { a: 50, b: 40, c: 30 }, keep: 1, protect: ['a', 'b'], removed: ['c'] },
    { name: 'ignores a protected directory that does not exist', ages: { a: 50, b: 40, c: 30 }, keep: 2, protect: ['zz'], removed: ['a'] },
  ];
  const now = Date.now() / 1000;
  for (const c of cases) {
    const groupDir = await tempDir(t);
    for (const [name, age] of Object.entries(c.ages)) {
      await fs.mkdir(path.join(groupDir, name, 'deployment-archive'), { recursive: true });
      await fs.utimes(path.join(groupDir, name), now - age, now - age);
    }
    await fs.writeFile(path.join(groupDir, 'stray-file'), '');
    await fs.utimes(path.join(groupDir, 'stray-file'), now - 1000, now - 1000);
    const removed = await pruneDeployments(groupDir, c.keep, c.protect.map(n => path.join(groupDir, n)));
    t.strictSame(removed.map(d => path.basename(d)).sort(), c.removed, c.name);
    const left = (await fs.readdir(groupDir)).sort();
    const expected = [...Object.keys(c.ages).filter(n => !c.removed.includes(n)), 'stray-file'].sort();
    t.strictSame(left, expected, `${c.name}: what is left on disk`);
  }
  t.strictSame(await pruneDeployments(path.join(await tempDir(t), 'missing'), 1, []), [], 'a missing group dir prunes nothing');
});

t.test('recoverInterrupted reports an interrupted deployment as FailedAfterRestart', async t => {
  const layout = layoutFor(await tempDir(t));
  const now = Date.parse('2024-05-01T12:00:00.000Z');
  const done = (event: EventResult['event'], status: EventResult['status'] = 'Succeeded'): EventResult =>
    ({ event, status, startedAt: '2024-05-01T11:00:00.000Z' });
  const finished = [
    done('BeforeBlockTraffic', 'Skipped'),
    done('AfterBlockTraffic', 'Skipped'),
    done('ApplicationStop'),
    done('DownloadBundle'),
    done('BeforeInstall'),
    done('Install'),
  ];
  const marker = (over: Partial<CrashMarker>): CrashMarker => ({
    deploymentId: 'd-1', groupId: 'g-1', groupName: 'web', applicationName: 'shop',
    event: 'AfterInstall', pid: 4242, eventStartedAt: '2024-05-01T11:59:00.000Z', finished, ...over,
  });
  await fs.mkdir(layout.deploymentDir('g-1', 'd-1'), { recursive: true });
  await writeMarker(layout, marker({}));
  await writeMarker(layout, marker({ deploymentId: 'd-2', event: 'ApplicationStart', finished: [] }));
  await fs.writeFile(layout.crashMarker('d-3'), 'not json');

  const recovered = await recoverInterrupted(layout, now);
  t.strictSame(recovered.map(r => r.marker.deploymentId), ['d-1', 'd-2', 'd-3'], 'every marker is recovered');
  t.strictSame(await readMarkers(layout), [], 'the markers are cleared');

  const r1 = recovered[0]!.result;
  const message = 'the agent stopped (pid 4242) while AfterInstall was running (started 2024-05-01T11:59:00.000Z); its outcome is unknown';
  t.match(r1, {
    deploymentId: 'd-1', groupId: 'g-1', groupName: 'web', applicationName: 'shop', status: 'Failed',
    error: { event: 'AfterInstall', code: 'FailedAfterRestart', message },
    startedAt: '2024-05-01T11:59:00.000Z', endedAt: '2024-05-01T12:00:00.000Z',
    deploymentDir: layout.deploymentDir('g-1', 'd-1'),
  }, 'the result is Failed on the marker event');
  t.strictSame(r1.events.map(e => e.event), [...LIFECYCLE_EVENTS], 'every lifecycle event is reported, in order');
  const byEvent = new Map(r1.events.map(e => [e.event, e]));
  for (const f of finished) t.strictSame(byEvent.get(f.event), f, `${f.event} keeps its finished result`);
  t.strictSame(byEvent.get('AfterInstall'), {
    event: 'AfterInstall', status: 'Failed', errorCode: 'FailedAfterRestart', message, endedAt: '2024-05-01T12:00:00.000Z',
  }, 'the running event failed after restart');
  for (const e of ['ApplicationStart', 'ValidateService', 'BeforeAllowTraffic', 'AfterAllowTraffic'] as const) {
    t.strictSame(byEvent.get(e), { event: e, status: 'Skipped', message: 'because AfterInstall failed' }, `${e} is Skipped`);
  }
  const written = JSON.parse(await fs.readFile(layout.resultFile('g-1', 'd-1'), 'utf8')) as unknown;
  t.strictSame(written, r1, 'result.json is written into the existing deployment dir');

  t.equal(recovered[1]!.result.error?.event, 'ApplicationStart', 'a marker without a deployment dir is still reported');
  await t.rejects(fs.stat(layout.deploymentDir('g-1', 'd-2')), { code: 'ENOENT' }, 'no deployment dir is created for it');

  const r3 = recovered[2]!.result;
  t.match(r3, { deploymentId: 'd-3', status: 'Failed', deploymentDir: '', error: { code: 'FailedAfterRestart' } },
    'an unreadable marker is reported by its name');
  t.match(r3.error?.message, 'pid unknown', 'with an unknown pid');
});

t.test('recoverInterrupted reports a custom event in its place when the marker lists the run\'s events', async t => {
  const layout = layoutFor(await tempDir(t));
  const events = [...LIFECYCLE_EVENTS.slice(0, 8), 'CustomEvent', ...LIFECYCLE_EVENTS.slice(8)];
  await writeMarker(layout, {
    deploymentId: 'd-1', groupId: 'g-1', groupName: 'web', applicationName: 'shop',
    event: 'CustomEvent', pid: 1, eventStartedAt: '2024-05-01T11:59:00.000Z', finished: [], events,
  });
  const [r] = await recoverInterrupted(layout, Date.parse('2024-05-01T12:00:00.000Z'));
  t.strictSame(r?.result.events.map(e => e.event), events);
  t.match(r?.result.events[8], { event: 'CustomEvent', status: 'Failed', errorCode: 'FailedAfterRestart' });
});

t.test('ChildProcessRunner', async t => {
  const runner = new ChildProcessRunner();

  const bash = async (t: Test, body: string, over: Partial<Invocation> = {}) => {
    const cwd = await tempDir(t);
    return { file: '/bin/bash', args: ['-c', body], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd, timeoutMs: 10_000, location: 'x.sh', ...over };
  };
  const run = async (inv: Invocation, over: Partial<RunOptions> = {}) => {
    const lines: Record<OutputStream, string[]> = { stdout: [], stderr: [] };
    const started = Date.now();
    const outcome = await runner.run(inv, {
      onLine: (s, l) => lines[s].push(l),
      killGraceMs: 2000,
      outputGraceMs: 2000,
      ...over,
    });
    return { outcome, lines, ms: Date.now() - started };
  };

  t.test('splits each stream into lines, in order, including a last line without a newline', async t => {
    const { outcome, lines } = await run(await bash(t, "echo a; echo b >&2; printf 'c\\r\\nd\\n'; echo e >&2; printf f"));
    t.strictSame(outcome, { kind: 'exited', exitCode: 0, signal: null, outputsLeftOpen: false }, 'the script exited 0');
    t.strictSame(lines.stdout, ['a', 'c', 'd', 'f'], 'stdout lines');
    t.strictSame(lines.stderr, ['b', 'e'], 'stderr lines');
  });

  t.test('runs in the invocation cwd with its env', async t => {
    const inv = await bash(t, 'pwd; echo "$GREETING"', {});
    inv.env.GREETING = 'hello';
    const { lines } = await run(inv);
    t.strictSame(lines.stdout, [await fs.realpath(inv.cwd), 'hello']);
  });

  t.test('reports how the script ended', async t => {
    const cases = [
      { name: 'an exit code', body: 'exit 3', exitCode: 3, signal: null },
      { name: 'a signal', body: 'kill -KILL $$', exitCode: null, signal: 'SIGKILL' },
    ];
    for (const c of cases) {
      const { outcome } = await run(await bash(t, c.body));
      t.strictSame(outcome, { kind: 'exited', exitCode: c.exitCode, signal: c.signal, outputsLeftOpen: false }, c.name);
    }
  });

  t.test('a script past its deadline is timed out', async t => {
    const cases = [
      { name: 'TERM ends a script that does not trap it', body: 'echo ready; sleep 30', killed: false },
      { name: 'KILL follows when the script ignores TERM', body: "trap '' TERM; echo ready; sleep 30", killed: true },
    ];
    for (const c of cases) {
      const { outcome, lines, ms } = await run(await bash(t, c.body, { timeoutMs: 300 }), { killGraceMs: 200 });
      t.strictSame(outcome, { kind: 'timed-out', killed: c.killed }, c.name);
      t.strictSame(lines.stdout, ['ready'], `${c.name}: output before the deadline is kept`);
      t.ok(ms < 3000, `${c.name}: ends promptly (${ms} ms)`);
    }
  });

  t.test('a background child holding the outputs does not hold the script', async t => {
    const dir = await tempDir(t);
    const pidFile = path.join(dir, 'sleeper.pid');
    t.teardown(async () => {
      const pid = Number(await fs.readFile(pidFile, 'utf8').catch(() => ''));
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
    });
    const { outcome, lines, ms } = await run(
      await bash(t, `sleep 30 & echo $! > ${pidFile}; echo x`),
      { outputGraceMs: 200 },
    );
    t.strictSame(outcome, { kind: 'exited', exitCode: 0, signal: null, outputsLeftOpen: true }, 'exited with outputs left open');
    t.strictSame(lines.stdout, ['x'], 'the output is read');
    t.ok(ms < 5000, `returns well before the sleeper ends (${ms} ms)`);

    // The deadline no longer applies once the script itself has exited in time.
    const late = await run(await bash(t, `sleep 30 & echo $! >> ${pidFile}.2; echo y`, { timeoutMs: 300 }), { outputGraceMs: 1000 });
    t.strictSame(late.outcome, { kind: 'exited', exitCode: 0, signal: null, outputsLeftOpen: true }, 'a deadline passing during the output grace is not a timeout');
    const sleeper = Number((await fs.readFile(`${pidFile}.2`, 'utf8')).trim());
    let alive = true;
    try { process.kill(sleeper, 0); } catch { alive = false; }
    t.ok(alive, 'the background process the script started was not killed');
    try { process.kill(sleeper, 'SIGKILL'); } catch { /* gone */ }
  });

  t.test('an aborted signal cancels the script', async t => {
    const controller = new AbortController();
    const { outcome, ms } = await run(await bash(t, 'echo ready; sleep 30'), {
      killGraceMs: 200,
      signal: controller.signal,
      onLine: (_s, line) => line === 'ready' && controller.abort(),
    });
    t.strictSame(outcome, { kind: 'cancelled' });
    t.ok(ms < 3000, `ends promptly (${ms} ms)`);
  });

  t.test('a signal aborted before the start cancels the script', async t => {
    const { outcome } = await run(await bash(t, 'sleep 30'), { killGraceMs: 200, signal: AbortSignal.abort() });
    t.strictSame(outcome, { kind: 'cancelled' });
  });

  t.test('a file that does not exist fails to spawn', async t => {
    const dir = await tempDir(t);
    const { outcome } = await run(await bash(t, '', { file: path.join(dir, 'nope.sh'), args: [] }));
    t.match(outcome, { kind: 'spawn-failed', message: /ENOENT/ });
  });
});
