import { spawn } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { tempDir } from '../helpers/temp.js';

/**
 * The suite's own hygiene (scripts/tap-preload.mjs, scripts/test-reaper.mjs): a test file that tap
 * kills on its timeout, or that ends forgetting a process, leaves nothing running. Real tap, real
 * processes: a process in the test's group, one with an empty environment, and a detached one
 * (its own process group) whose child has an empty environment too.
 */
const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/dist\/$/, '/');
const tapBin = path.join(root, 'node_modules/tap/dist/esm/run.mjs');
const preload = path.join(root, 'scripts/tap-preload.mjs');

/**
 * A "test" that starts processes, writes their pids, then `end`s: 'hang' (it asks tap for a
 * timeout of 0.5 s from now, then blocks with SIGALRM ignored: tap must SIGKILL it) or 'exit'.
 */
const fixture = (end: 'hang' | 'exit', pidsFile: string) => `
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
process.on('SIGALRM', () => {});
const same = spawn('/bin/sleep', ['300'], { stdio: 'ignore' });
const bare = spawn('/bin/sleep', ['301'], { stdio: 'ignore', env: {} });
const group = spawn('/bin/sh', ['-c', 'env -i /bin/sleep 302 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
group.stdout.once('data', d => {
  writeFileSync(${JSON.stringify(pidsFile)}, [same.pid, bare.pid, group.pid, Number(String(d).trim())].join(' '));
  if (${JSON.stringify(end)} === 'exit') process.exit(0);
  process.stdout.write('TAP version 14\\n# timeout=500\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
});
`;

/** Alive and not a zombie (a zombie's parent, here init, has yet to reap it: it runs nothing). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

t.test('a test file killed on tap\'s timeout, or ending without its processes, leaves none running', async t => {
  const dir = await tempDir(t);
  for (const end of ['hang', 'exit'] as const) writeFileSync(path.join(dir, `${end}.mjs`), fixture(end, path.join(dir, `${end}.pids`)));
  // A tap project of its own (tap loads itself from the project's node_modules), with none of this
  // run's tap or timing variables. FERRY_TEST_OWNER stays: what this test starts is marked as ours,
  // so our own reaper would end what the inner one missed, but only after this file ends: too late.
  writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TAP|_TAPJS|FERRY_TEST_TIMES)/.test(k)));
  const args = [tapBin, '--reporter=tap', '--jobs=2', '--timeout=120', '--disable-coverage', '--allow-incomplete-coverage', '--test-env=TAP_TYPE_STRIP_ONLY=1', `--node-arg=--import=${preload}`, 'hang.mjs', 'exit.mjs'];
  const tap = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  tap.stdout.on('data', d => (out += String(d)));
  tap.stderr.on('data', d => (out += String(d)));
  const code = await new Promise<number | null>(resolve => tap.on('close', resolve));

  const pids = (end: string) => readFileSync(path.join(dir, `${end}.pids`), 'utf8').split(' ').map(Number);
  const all = [...pids('hang'), ...pids('exit')];
  t.teardown(() => all.filter(running).forEach(pid => process.kill(pid, 'SIGKILL')));
  t.not(code, 0, 'tap failed the hanging file');
  t.match(out, /expired: hang\.mjs/, 'tap says the hanging file timed out');

  const deadline = Date.now() + 15_000;
  while (all.some(running) && Date.now() < deadline) await new Promise(r => setTimeout(r, 100));
  t.same(all.filter(running), [], 'every process the two files started has ended (same group, empty env, detached, its child)');
  t.match(out, /test reaper: hang\.mjs left 4 process\(es\) running/, 'the reaper names what it ended');
  t.match(out, /test reaper: exit\.mjs left 4 process\(es\) running/);
  if (!t.passing()) t.comment(`the inner tap run said:\n${out}`);
});
