#!/usr/bin/env node
// The slow package check (not in the unit suite: installing compiles or fetches better-sqlite3).
// `npm run check:pack`: npm pack → npm install -g --prefix TMP ./ferry-*.tgz → the installed
// ferry-agent, ferry-coordinator and ferry run, and `ferry-agent install` works from the package.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ferry-pack-'));
const keep = process.argv.includes('--keep');
const step = (what) => console.log(`check-pack: ${what}`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts });

try {
  const started = Date.now();
  step(`npm pack (runs prepack: the build) into ${tmp}`);
  run('npm', ['pack', '--loglevel=warn', '--pack-destination', tmp], { cwd: repo });
  const tgz = readdirSync(tmp).find(f => /^ferry-.*\.tgz$/.test(f));
  if (!tgz) throw new Error('npm pack made no ferry-*.tgz');
  const prefix = path.join(tmp, 'global');
  step(`npm install -g --prefix ${prefix} ./${tgz}`);
  run('npm', ['install', '-g', '--prefix', prefix, `./${tgz}`], { cwd: tmp, stdio: ['ignore', 'inherit', 'inherit'] });
  const bin = (name) => path.join(prefix, 'bin', name);
  step(`ferry-agent --version: ${run(bin('ferry-agent'), ['--version']).trim()}`);
  run(bin('ferry'), ['--help']);
  step('ferry --help: ok');
  const dry = run(bin('ferry-agent'), ['install', '--dry-run', '--prefix', path.join(tmp, 'root'), '--coordinator', '10.0.0.5:7420', '--no-systemd']);
  if (!dry.includes('runtime packages in node_modules')) throw new Error(`unexpected install --dry-run output:\n${dry}`);
  step('ferry-agent install --dry-run from the package: ok');
  await new Promise((resolve, reject) => {
    const child = spawn(bin('ferry-coordinator'), ['--data', path.join(tmp, 'data'), '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the installed coordinator did not start in 30s')); }, 30_000);
    child.stdout.on('data', b => {
      if (String(b).includes('listening on')) {
        clearTimeout(timer);
        step(`installed coordinator: ${String(b).trim()}`);
        child.kill('SIGTERM');
        child.on('exit', resolve);
      }
    });
    child.on('error', reject);
  });
  step(`ok in ${Math.round((Date.now() - started) / 1000)} s`);
} finally {
  if (keep) console.log(`check-pack: kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
