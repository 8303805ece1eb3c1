#!/usr/bin/env node
// Runs the tap suite and ends with the line CI reads: "N passed, N failed".
// Extra arguments go to tap (e.g. `npm test -- test/unit/appspec.test.ts`).
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const tapBin = fileURLToPath(new URL('../node_modules/tap/dist/esm/run.mjs', import.meta.url));

// Integration tests run the built binaries: build (and type-check) first, so they never test stale code.
const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
if (build.status !== 0) {
  process.stdout.write('\nbuild failed\n0 passed, 1 failed\n');
  process.exit(1);
}
const args = [tapBin, '--reporter=tap', ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });

let summary = null;
let tail = '';
child.stdout.on('data', chunk => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4096);
  const m = /# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?/.exec(tail);
  if (m) summary = { total: Number(m[1]), pass: Number(m[2]), fail: Number(m[3] ?? 0) };
});
child.on('close', code => {
  const failed = summary ? Math.max(summary.fail, summary.total - summary.pass) : 1;
  const passed = summary ? summary.pass : 0;
  // A non-zero tap exit with no counted failure (crash, timeout) still counts as one failure.
  const reportedFailed = code !== 0 && failed === 0 ? 1 : failed;
  process.stdout.write(`\n${passed} passed, ${reportedFailed} failed\n`);
  process.exit(code === 0 && reportedFailed === 0 ? 0 : 1);
});
