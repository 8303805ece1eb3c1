/**
 * `npm run bench -- agent-binary`: the agent binary (npm run build:agent) against `node bin/ferry-agent`
 * in the same run: what a host must hold, start-up time of `--version`, and the idle RSS of an agent
 * connected to a coordinator.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildAgentBinary } from '../ops/agent-binary/build.js';
import { ownEntries, runtimePackages } from '../ops/install/facts.js';
import { REPO } from '../test/helpers/agent-cli.js';
import { type Proc, startAgent } from '../test/helpers/fleet.js';
import { fmt, percentile, startEnv } from './lib.js';

async function du(p: string): Promise<number> {
  const st = await fs.stat(p);
  if (!st.isDirectory()) return p.endsWith('.map') ? 0 : st.size;
  let sum = 0;
  for (const e of await fs.readdir(p)) sum += await du(path.join(p, e));
  return sum;
}

/** What `ferry-agent install` copies (ops/install/facts.ts) plus the node binary that runs it. */
async function npmInstallBytes(): Promise<number> {
  let sum = (await fs.stat(process.execPath)).size;
  for (const e of [...ownEntries(REPO), ...runtimePackages(REPO)]) sum += await du(await fs.realpath(path.join(REPO, e)));
  return sum;
}

function timeVersion(argv: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, [...argv.slice(1), '--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} --version: ${r.stderr}`);
  return performance.now() - t0;
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

async function idleRss(proc: Proc, samples: number): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    values.push(rssKiB(proc.child.pid!));
    await new Promise(r => setTimeout(r, 500));
  }
  return percentile(values, 50);
}

export async function agentBinaryBench(report: (line: string) => void, rounds: number): Promise<void> {
  const bin = await buildAgentBinary(REPO, line => process.stdout.write(`  ${line}\n`));
  const node = [process.execPath, path.join(REPO, 'bin', 'ferry-agent')];
  const [binBytes, npmBytes] = [bin.size, await npmInstallBytes()];
  report(`agent-binary  size: binary ${(binBytes / 2 ** 20).toFixed(1)} MiB vs node + package files ${(npmBytes / 2 ** 20).toFixed(1)} MiB (${(binBytes / npmBytes).toFixed(2)}×)`);

  const [a, b]: [number[], number[]] = [[], []];
  for (let i = 0; i < 2; i++) {
    // warm the page cache
    timeVersion([bin.file]);
    timeVersion(node);
  }
  for (let i = 0; i < rounds * 4; i++) {
    a.push(timeVersion([bin.file]));
    b.push(timeVersion(node));
  }
  const [ma, mb] = [percentile(a, 50), percentile(b, 50)];
  report(`              --version, median of ${a.length}: binary ${fmt(ma)} ms vs node bin/ferry-agent ${fmt(mb)} ms (${(ma / mb).toFixed(2)}×)`);

  const env = await startEnv('agent-binary');
  try {
    const common = { coordinator: env.coordinator.address, tags: { role: 'idle' }, args: ['--log-level', 'warn'] };
    const viaBinary = await startAgent(env.cleanup, { ...common, rootDir: path.join(env.dir, 'a'), hostId: 'binary', program: bin.file, env: { NODE_OPTIONS: '' } });
    const viaNode = await startAgent(env.cleanup, { ...common, rootDir: path.join(env.dir, 'b'), hostId: 'node', env: { NODE_OPTIONS: '' } });
    const connected = async () => (await env.api.listHosts()).hosts.filter(h => h.connected).length === 2;
    for (let i = 0; i < 600 && !(await connected()); i++) await new Promise(r => setTimeout(r, 100));
    if (!(await connected())) throw new Error('the agents did not connect');
    const [ra, rb] = await Promise.all([idleRss(viaBinary, rounds * 4), idleRss(viaNode, rounds * 4)]);
    report(`              idle RSS, connected: binary ${(ra / 1024).toFixed(1)} MiB vs node bin/ferry-agent ${(rb / 1024).toFixed(1)} MiB (${(ra / rb).toFixed(2)}×)`);
  } finally {
    await env.cleanup.run();
  }
}
