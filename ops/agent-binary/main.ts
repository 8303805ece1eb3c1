/**
 * `npm run build:agent`: builds dist/agent-binary/ferry-agent-linux-<arch> (build.ts) and its
 * .deb and .rpm (packages.ts). Run after
 * `npm run build` (the script does both).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAgentBinary } from './build.js';
import { buildPackages } from './packages.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const say = (line: string) => void process.stdout.write(`${line}\n`);

try {
  const t0 = performance.now();
  const b = await buildAgentBinary(repo, say);
  say(`${path.relative(repo, b.file)}: ${(b.size / 1024 / 1024).toFixed(1)} MiB, sha256 ${b.sha256}${b.cached ? ' (cached: inputs unchanged)' : ''}`);
  say(`  ${b.modules} modules, ${(b.bundleBytes / 1024).toFixed(0)} KiB of JavaScript, no coordinator code, no native module`);
  const p = await buildPackages({ binary: b.file, version: b.version, arch: b.arch, outDir: path.dirname(b.file) }, b.sha256);
  for (const f of [p.deb, p.rpm]) if (f) say(`${path.relative(repo, f)}: ${(statSync(f).size / 1024 / 1024).toFixed(1)} MiB`);
  if (p.rpmMissing) say(`.rpm not built: ${p.rpmMissing}`);
  say(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} catch (err) {
  process.stderr.write(`build:agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
