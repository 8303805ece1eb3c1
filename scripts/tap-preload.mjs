// Loaded into every test process (package.json "tap" → "node-arg": --import of this file).
//
// tap's @tapjs/processinfo puts itself (an --import in NODE_OPTIONS) into every process a test
// starts, to collect coverage from it. Coverage is off for this suite ("disable-coverage"), yet in
// the bin/* processes the tests start by the thousand (every `ferry` call, coordinator and agent)
// it still costs a module-loader thread, a hook on every module load and a JSON file written at
// exit: about twice the CPU time of a short `ferry` call. So the processes the tests start get
// NODE_OPTIONS without it. The test process itself keeps it (tap's runner reads its output).
//
// If coverage is ever turned on (processinfo told to cover files), nothing is stripped.
import { appendFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import path from 'node:path';

const PROCESSINFO = /(^|\s)"?--(?:import|loader|experimental-loader)[= ]"?[^"\s]*@tapjs[\\/]processinfo[\\/][^"\s]*"?/g;

export function withoutProcessInfo(nodeOptions) {
  return (nodeOptions ?? '').replace(PROCESSINFO, '').trim();
}

let onSpawn;
try {
  // processinfo re-adds itself to each spawn through process-on-spawn (its dependency, a
  // process-wide singleton); a listener added after its own runs after it.
  onSpawn = createRequire(import.meta.resolve('@tapjs/processinfo'))('process-on-spawn');
} catch {
  onSpawn = undefined; // another tap layout: tests still pass, only slower (and leftovers stay)
}

if (process.env._TAPJS_PROCESSINFO_COVERAGE_ !== '1') {
  onSpawn?.addListener(opts => {
    const stripped = withoutProcessInfo(opts.env.NODE_OPTIONS);
    const env = { ...opts.env };
    if (stripped) env.NODE_OPTIONS = stripped;
    else delete env.NODE_OPTIONS;
    opts.env = env;
  });
}

/**
 * The test process itself (tap sets TAP_CHILD_KEY for each file it runs; processes a test starts
 * inherit the key, and FERRY_TEST_OWNER below tells them apart).
 */
const isTestProcess = Boolean(process.env.TAP_CHILD_KEY) && process.env.FERRY_TEST_OWNER?.split(':')[0] !== process.env.TAP_CHILD_KEY;

/** Opt-in timing (FERRY_TEST_TIMES=file, scripts/run-tests.mjs): one JSON line per test file at its exit. */
if (isTestProcess && process.env.FERRY_TEST_TIMES) {
  const timesFile = process.env.FERRY_TEST_TIMES;
  process.on('exit', () => {
    const self = process.resourceUsage();
    // utime, stime, cutime, cstime (fields 14-17, in clock ticks of 1/100 s): the children counted
    // are those waited for, and each of them counts its own waited children (agents' hooks).
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    const childCpuMs = (Number(fields[13]) + Number(fields[14])) * 10;
    const line = {
      file: path.relative(process.cwd(), process.argv[1] ?? ''),
      wallMs: Math.round(performance.now()),
      cpuMs: Math.round((self.userCPUTime + self.systemCPUTime) / 1000),
      childCpuMs,
    };
    appendFileSync(timesFile, `${JSON.stringify(line)}\n`);
  });
}

/**
 * No test leaves processes behind, even when tap kills it on its timeout (SIGKILL: no exit handler
 * runs). Every process the test starts gets FERRY_TEST_OWNER=<token> in its environment (and
 * passes it on); on the first start, scripts/test-reaper.mjs starts beside the test, detached, with
 * a pipe from it: when the test process ends, however, the pipe closes and the reaper ends every
 * process holding the token, and their descendants.
 */
if (isTestProcess && onSpawn) {
  const token = `${process.env.TAP_CHILD_KEY}:${process.pid}`;
  const file = path.relative(process.cwd(), process.argv[1] ?? '');
  let reaper = null;
  onSpawn.addListener(opts => {
    if (reaper === 'starting') return; // the reaper itself: not marked, not watched
    opts.env = { ...opts.env, FERRY_TEST_OWNER: token };
    if (reaper) return;
    reaper = 'starting';
    const env = { ...process.env };
    delete env.FERRY_TEST_OWNER;
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [new URL('./test-reaper.mjs', import.meta.url).pathname, token, file], {
      detached: true, stdio: ['pipe', 'ignore', 'inherit'], env,
    });
    child.unref();
    child.stdin.unref();
    child.stdin.on('error', () => {}); // the reaper gone first: nothing to write anyway
    reaper = child;
  });
}
