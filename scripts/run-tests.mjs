#!/usr/bin/env node
// Runs the tap suite and ends with the line CI reads: "N passed, N failed".
// Extra arguments go to tap (e.g. `npm test -- test/unit/appspec.test.ts`).
//
// The tests run as the JavaScript tsc just built into dist/test/ (the build compiles test/ too):
// without a TypeScript loader in every test process, which saves seconds of CPU per file. A test
// file given as test/**/*.ts runs as its dist/test/**/*.js twin (source maps point failures back at
// the .ts lines); a directory under test/ runs its twin under dist/test/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePrerequisites } from './test-prereqs.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const tapBin = path.join(root, 'node_modules/tap/dist/esm/run.mjs');

// FERRY_TEST_TIMES=file: each test file's wall time and CPU time (its own and that of the processes
// it started and waited for) are written there, slowest CPU first (scripts/tap-preload.mjs records).
const timesFile = process.env.FERRY_TEST_TIMES ? path.resolve(process.env.FERRY_TEST_TIMES) : null;
if (timesFile) writeFileSync(timesFile, '');

// The Debian packages the tests need: installed as root, named otherwise (scripts/test-prereqs.mjs).
ensurePrerequisites();

// Integration tests run the built binaries: build (and type-check) first, so they never test stale code.
const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit', cwd: root });
if (build.status !== 0) {
  process.stdout.write('\nbuild failed\n0 passed, 1 failed\n');
  process.exit(1);
}

/** test/**\/*.test.ts under `dir` (a path relative to the checkout), as their dist/ twins. */
function compiledTests(dir) {
  const out = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...compiledTests(rel));
    else if (entry.name.endsWith('.test.ts')) out.push(toDist(rel));
  }
  return out.sort();
}

/** test/x/y.test.ts → dist/test/x/y.test.js (the source list decides: a stale dist file never runs). */
function toDist(rel) {
  return path.posix.join('dist', rel.replace(/\.ts$/, '.js'));
}

// Test paths under test/ become their dist/ twins; anything else goes to tap as given.
const args = [];
let hasFiles = false;
for (const arg of process.argv.slice(2)) {
  const rel = path.relative(root, path.resolve(arg)).split(path.sep).join('/');
  const isPath = !arg.startsWith('-') && existsSync(arg);
  if (isPath) hasFiles = true;
  if (isPath && rel.startsWith('test/')) args.push(...(statSync(arg).isDirectory() ? compiledTests(rel) : [toDist(rel)]));
  else args.push(arg);
}
if (!hasFiles) args.push(...compiledTests('test'));
// With only compiled tests to run, tap's TypeScript plugin need not load ts-node into each test process.
const onlyJs = !args.some(a => !a.startsWith('-') && /\.[cm]?tsx?$/.test(a));
const tapArgs = [tapBin, '--reporter=tap', ...(onlyJs ? ['--test-env=TAP_TYPE_STRIP_ONLY=1'] : []), ...args];
const env = timesFile ? { ...process.env, FERRY_TEST_TIMES: timesFile } : process.env;
const child = spawn(process.execPath, tapArgs, { stdio: ['ignore', 'pipe', 'inherit'], cwd: root, env });

let summary = null;
let tail = '';
child.stdout.on('data', chunk => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4096);
  // tap's own summary is its last line of this form (a test's output may quote a nested run's).
  const m = [...tail.matchAll(/^# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?/gm)].at(-1);
  if (m) summary = { total: Number(m[1]), pass: Number(m[2]), fail: Number(m[3] ?? 0) };
});
child.on('close', code => {
  const failed = summary ? Math.max(summary.fail, summary.total - summary.pass) : 1;
  const passed = summary ? summary.pass : 0;
  // A non-zero tap exit with no counted failure (crash, timeout) still counts as one failure.
  const reportedFailed = code !== 0 && failed === 0 ? 1 : failed;
  if (timesFile) writeTimes(timesFile, args.filter(a => a.startsWith('dist/')));
  process.stdout.write(`\n${passed} passed, ${reportedFailed} failed\n`);
  process.exit(code === 0 && reportedFailed === 0 ? 0 : 1);
});

/** Rewrites the preload's JSON lines as a table, most CPU first; files that wrote none (killed) are named. */
function writeTimes(file, files) {
  const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line));
  rows.sort((a, b) => b.cpuMs + b.childCpuMs - (a.cpuMs + a.childCpuMs));
  const sum = key => rows.reduce((n, r) => n + r[key], 0);
  const lines = ['cpu_ms\twall_ms\tself_cpu_ms\tchildren_cpu_ms\tfile'];
  for (const r of rows) lines.push(`${r.cpuMs + r.childCpuMs}\t${r.wallMs}\t${r.cpuMs}\t${r.childCpuMs}\t${r.file}`);
  lines.push(`${sum('cpuMs') + sum('childCpuMs')}\t${sum('wallMs')}\t${sum('cpuMs')}\t${sum('childCpuMs')}\ttotal (${rows.length} files)`);
  const seen = new Set(rows.map(r => r.file));
  for (const f of files.filter(f => !seen.has(f))) lines.push(`-\t-\t-\t-\t${f} (no record: killed, or not a test process)`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}
