// Started by scripts/tap-preload.mjs beside a test process, on its first spawn: waits for that
// process to end, however it ends (tap's timeout ends with SIGKILL, which runs no exit handler),
// then ends every process the test left running.
//
// Usage: node test-reaper.mjs TOKEN TEST-FILE, stdin a pipe from the test process (EOF = it ended).
// Left running = every process whose environment holds FERRY_TEST_OWNER=TOKEN (the preload puts it
// into each process the test starts, and processes inherit it), and every descendant of one of
// those (an agent's hooks, a detached child with a scrubbed environment). They get SIGTERM (agents
// end their hooks, PostgreSQL shuts down), and SIGKILL after a grace; a line on stderr names them.
import { readdirSync, readFileSync } from 'node:fs';

const [token, testFile = '?'] = process.argv.slice(2);
const GRACE_MS = 3000;
const SETTLE_MS = 500;

/** pid → { ppid, state, environ-has-token, command line } of every process we may see. */
function processes() {
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      let marked = false;
      try {
        marked = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`FERRY_TEST_OWNER=${token}`);
      } catch {
        marked = false; // another user's process: not ours
      }
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.set(pid, { ppid: Number(ppid), state, marked, cmdline });
    } catch {
      // ended while we looked
    }
  }
  return out;
}

/** The marked processes and all their descendants, still alive (zombies excluded), but not us. */
function leftOver() {
  const procs = processes();
  const children = new Map();
  for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const found = new Set();
  const queue = [...procs].filter(([, p]) => p.marked).map(([pid]) => pid);
  while (queue.length > 0) {
    const pid = queue.pop();
    if (found.has(pid)) continue;
    found.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  found.delete(process.pid);
  return [...found].filter(pid => procs.get(pid)?.state !== 'Z').map(pid => ({ pid, cmdline: procs.get(pid).cmdline }));
}

function signal(list, sig) {
  for (const { pid } of list) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

async function reap() {
  let left = leftOver();
  // A child that ends when its parent does (esbuild's service: at the end of its stdin) gets a moment.
  for (let waited = 0; left.length > 0 && waited < SETTLE_MS; waited += 50) {
    await sleep(50);
    left = leftOver();
  }
  if (left.length === 0) return;
  process.stderr.write(`test reaper: ${testFile} left ${left.length} process(es) running, ended now: ${left.map(p => `${p.pid} ${p.cmdline.slice(0, 120)}`).join('; ')}\n`);
  signal(left, 'SIGTERM');
  const deadline = Date.now() + GRACE_MS;
  while (Date.now() < deadline) {
    await sleep(100);
    left = leftOver();
    if (left.length === 0) return;
  }
  // What is still there (or was started since) gets SIGKILL, until nothing is.
  for (let round = 0; round < 20 && left.length > 0; round++) {
    signal(left, 'SIGKILL');
    await sleep(50);
    left = leftOver();
  }
}

process.stdin.on('data', () => {});
process.stdin.on('close', () => {
  reap().then(
    () => process.exit(0),
    err => {
      process.stderr.write(`test reaper: ${testFile}: ${err?.stack ?? err}\n`);
      process.exit(1);
    },
  );
});
