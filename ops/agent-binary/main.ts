/**
 * `npm run build:agent`: builds dist/agent-binary/ferry-agent-linux-<arch> (build.ts). Run after
 * `npm run build` (the script does both).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAgentBinary } from './build.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const say = (line: string) => void process.stdout.write(`${line}\n`);

try {
  const t0 = performance.now();
  const b = await buildAgentBinary(repo, say);
  say(`${path.relative(repo, b.file)}: ${(b.size / 1024 / 1024).toFixed(1)} MiB, sha256 ${b.sha256}${b.cached ? ' (cached: inputs unchanged)' : ''}`);
  say(`  ${b.modules} modules, ${(b.bundleBytes / 1024).toFixed(0)} KiB of JavaScript, no coordinator code, no native module; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} catch (err) {
  process.stderr.write(`build:agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
