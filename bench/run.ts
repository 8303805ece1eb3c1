/**
 * `npm run bench [-- dispatch|transfer|allatonce|oneatatime|agent-binary|pg-revisions] [--rounds N]` and
 * `npm run bench -- fleet --agents N [--config AllAtOnce|HalfAtATime|OneAtATime] [--rounds K] [--connections C] [--json]` and
 * `npm run bench -- real-fleet [--agents N]` (200 by default): Ferry's benchmarks, each reported as
 * a ratio against a baseline measured in the same run (these machines are noisy). Not part of
 * `npm test`. Real processes: a coordinator and agents started from bin/, gRPC on loopback.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fallbackTransport, grpcRevisionTransport, agentClient } from '../agent/link/transport.js';
import { httpRevisionTransport } from '../agent/link/http-transport.js';
import { loadAgentIdentity } from '../agent/link/identity.js';
import { asCaller, enrollHost, mintToken, readTrust } from '../test/helpers/trust.js';
import { startAgent, startCoordinator, waitFor } from '../test/helpers/fleet.js';
import { RevisionCache } from '../agent/link/revision-cache.js';
import { agentBinaryBench } from './agent-binary.js';
import { fleetBench, parseFleetArgs } from './fleet.js';
import { pgRevisionsBench } from './pg-revisions.js';
import { realFleetBench } from './real-fleet.js';
import { type Env, deployAndWait, fmt, hookBundle, percentile, push, runDirect, startAgents, startEnv, withCoordinatorOutput } from './lib.js';

const NOOP_EVENTS = ['ApplicationStop', 'BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService', 'BeforeAllowTraffic', 'AfterAllowTraffic'];
const now = () => performance.timeOrigin + performance.now();
const out: string[] = [];
const report = (line: string) => {
  out.push(line);
  process.stdout.write(line + '\n');
};

async function setupGroup(env: Env, group: string, config: string, tag: string) {
  await env.api.createApplication({ name: 'bench' }).catch(() => undefined);
  await env.api.createDeploymentGroup({ application: 'bench', name: group, configName: config, tagSets: [{ filters: [{ key: 'role', value: tag, hasKey: true, hasValue: true }] }] });
}

async function dispatch(): Promise<void> {
  const env = await startEnv('dispatch');
  try {
    await startAgents(env, 1, { role: 'dispatch' });
    await setupGroup(env, 'one', 'AllAtOnce', 'dispatch');
    const stamps = path.join(env.dir, 'stamps');
    const body = `echo "$DEPLOYMENT_ID $(date +%s%N)" >> ${stamps}`;
    const archive = await hookBundle(path.join(env.dir, 'bundle'), Object.fromEntries(NOOP_EVENTS.map(e => [e, body])));
    const revision = await push(env.api, 'bench', archive);
    const rtt: number[] = [];
    for (let i = 0; i < 55; i++) {
      const t0 = performance.now();
      await env.api.listApplications();
      if (i >= 5) rtt.push(performance.now() - t0);
    }
    const latencies: number[] = [];
    for (let i = 0; i < 53; i++) {
      const t0 = now();
      const d = await deployAndWait(env.api, { application: 'bench', group: 'one', revision });
      if (d.deployment?.status !== 'Succeeded') throw new Error(`deployment ${d.deployment?.id} ${d.deployment?.status}`);
      if (i < 3) continue; // warm-up: first install, caches
      const lines = (await fs.readFile(stamps, 'utf8')).trim().split('\n').filter(l => l.startsWith(d.deployment!.id + ' '));
      const first = Math.min(...lines.map(l => Number(BigInt(l.split(' ')[1]!) / 1000n) / 1000));
      latencies.push(first - t0);
    }
    const [p50, p99, r50, r99] = [percentile(latencies, 50), percentile(latencies, 99), percentile(rtt, 50), percentile(rtt, 99)];
    report(`dispatch  create-deployment → first hook running, idle connected agent, ${latencies.length} runs:`);
    report(`          p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms   (target p50 < 50 ms)`);
    report(`          baseline unary gRPC round trip: p50 ${fmt(r50)} ms, p99 ${fmt(r99)} ms → dispatch p50 = ${(p50 / r50).toFixed(1)}× a round trip`);
  } finally {
    await env.cleanup.run();
  }
}

/** A raw TCP server in its own process that streams a file to each connection. */
async function rawTcpServer(file: string): Promise<{ port: number; pid: number; stop(): void }> {
  const code = `const net=require('net'),fs=require('fs');const s=net.createServer(c=>fs.createReadStream(${JSON.stringify(file)},{highWaterMark:1<<20}).pipe(c));s.listen(0,'127.0.0.1',()=>console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>(resolve => child.stdout.once('data', b => resolve(Number(String(b).trim()))));
  return { port, pid: child.pid!, stop: () => child.kill() };
}

async function readTcp(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const s = net.connect(port, '127.0.0.1');
    s.on('data', b => (n += b.length));
    s.on('end', () => resolve(n));
    s.on('error', reject);
  });
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks, USER_HZ = 100
}

interface Sample {
  ms: number;
  serverCpu: number;
  clientCpu: number;
}

/** Runs `fn` (which returns the bytes it moved), timing it and the CPU it and the server used. */
async function sample(size: number, serverPid: number, fn: () => Promise<number>): Promise<Sample> {
  const s0 = cpuMsOf(serverPid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const bytes = await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  if (bytes !== size) throw new Error(`read ${bytes} of ${size} bytes`);
  return { ms, serverCpu: cpuMsOf(serverPid) - s0, clientCpu: (c.user + c.system) / 1000 };
}

/** Reads a transport's stream the way the revision cache does: 'data' events, no promise per chunk. */
function drain(stream: Readable, each: (b: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('data', each);
    stream.on('end', resolve);
    stream.on('error', reject);
  });
}

async function transfer(opts: BenchOptions): Promise<void> {
  const env = await startEnv('transfer');
  try {
    await env.api.createApplication({ name: 'bench' });
    const size = 256 * 1024 * 1024;
    const file = path.join(env.dir, 'rev.tar');
    const fh = await fs.open(file, 'w');
    for (let i = 0; i < size / (16 << 20); i++) await fh.write(randomBytes(16 << 20));
    await fh.close();
    const digest = await push(env.api, 'bench', file, 'tar');
    await fs.rm(file);
    const stored = path.join(env.coordinator.dataDir, 'revisions', 'sha256', digest.slice(0, 2), digest);
    const tcp = await rawTcpServer(stored);
    env.cleanup.teardown(() => tcp.stop());
    const coordinatorPid = env.coordinator.child.pid!;
    const stream = async () => {
      const client = agentClient(env.coordinator.address, 'transfer');
      let n = 0;
      await new Promise<void>((resolve, reject) => {
        const call = client.fetchRevision({ digest, offset: 0, hostId: 'bench' });
        call.on('data', (c: { data: Buffer }) => (n += c.data.length));
        call.on('end', () => resolve());
        call.on('error', reject);
      });
      client.close();
      return n;
    };
    // What the agent does first (agent/start/daemon.ts): GET /v1/revisions/<digest> over HTTP/1.1 on the coordinator's port.
    const httpStream = async () => {
      const transport = httpRevisionTransport(env.coordinator.address, 'bench');
      let n = 0;
      await drain(await transport.open(digest, 0), b => (n += b.length));
      return n;
    };
    // The same revision from a coordinator serving TLS, to an enrolled host (what production runs).
    const tlsData = path.join(env.dir, 'tls-data');
    const secure = await startCoordinator(env.cleanup, tlsData, ['--log-level', 'warn'], '127.0.0.1:0', { tls: true });
    const trust = await readTrust(tlsData);
    const as = asCaller(secure.address, { FERRY_CA: trust.caFile });
    const must = { equal: (a: unknown, b: unknown, m: string) => { if (a !== b) throw new Error(m); } };
    must.equal((await as(trust.admin, ['app', 'create', 'bench'])).code, 0, 'app create over TLS');
    const tlsCopy = path.join(env.dir, 'rev-tls.tar');
    await fs.symlink(stored, tlsCopy);
    const pushed = await as(trust.admin, ['revision', 'push', tlsCopy, '--app', 'bench']);
    must.equal(pushed.code, 0, `revision push over TLS: ${pushed.stderr}`);
    const hostRoot = path.join(env.dir, 'tls-host');
    const enrolled = await enrollHost({ coordinator: secure.address, token: await mintToken(must, as, trust.admin, 'agent', ['--tag', 'role=bench']), fingerprint: trust.fingerprint, rootDir: hostRoot, hostId: 'bench' });
    must.equal(enrolled.code, 0, `enroll: ${enrolled.stderr}`);
    // A host downloads only the revisions deployed to it (docs/security.md, "Downloads"): its agent
    // registers, the revision is deployed to it once (its outcome does not matter), then it is stopped.
    const benchAgent = await startAgent(env.cleanup, { coordinator: secure.address, rootDir: hostRoot, hostId: 'bench', tags: { role: 'bench' } });
    await waitFor('the TLS bench host to connect', async () => (await as(trust.admin, ['hosts', 'list', '--json'])).json?.hosts?.some((h: { id: string; connected: boolean }) => h.id === 'bench' && h.connected), 60_000);
    must.equal((await as(trust.admin, ['group', 'create', '--app', 'bench', '--name', 'bench', '--tag-set', 'role=bench'])).code, 0, 'group create over TLS');
    await as(trust.admin, ['deploy', 'create', '--app', 'bench', '--group', 'bench', '--revision', digest, '--wait']);
    await benchAgent.kill();
    const identity = await loadAgentIdentity(hostRoot);
    const securePid = secure.child.pid!;
    const httpsStream = async () => {
      let n = 0;
      await drain(await httpRevisionTransport(secure.address, 'bench', () => identity).open(digest, 0), b => (n += b.length));
      return n;
    };
    let k = 0;
    const download = (kind: 'http' | 'grpc') => async () => {
      const grpcTransport = grpcRevisionTransport(env.coordinator.address, 'bench');
      const transport = kind === 'grpc' ? grpcTransport : fallbackTransport(httpRevisionTransport(env.coordinator.address, 'bench'), grpcTransport, {
        fellBack: err => {
          throw new Error(`the HTTP download fell back to gRPC: ${String(err)}`);
        },
      });
      const dir = path.join(env.dir, `cache-${k++}`);
      const cache = new RevisionCache({ dir, transport });
      const p = await cache.ensure(digest, size, 'tar');
      grpcTransport.close();
      const bytes = (await fs.stat(p)).size;
      await fs.rm(dir, { recursive: true, force: true });
      return bytes;
    };
    // Interleaved: each round measures raw TCP, then Ferry, so a ratio compares like with like on
    // a machine whose load changes from second to second.
    const raw: Sample[] = [];
    const grpc: Sample[] = [];
    const h1: Sample[] = [];
    const tls: Sample[] = [];
    const agent: Sample[] = [];
    const agentGrpc: Sample[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      raw.push(await sample(size, tcp.pid, () => readTcp(tcp.port)));
      grpc.push(await sample(size, coordinatorPid, stream));
      h1.push(await sample(size, coordinatorPid, httpStream));
      tls.push(await sample(size, securePid, httpsStream));
      agent.push(await sample(size, coordinatorPid, download('http')));
      agentGrpc.push(await sample(size, coordinatorPid, download('grpc')));
      const pct = (x: Sample) => `${((100 * raw[i]!.ms) / x.ms).toFixed(0)}%`;
      process.stdout.write(`  round ${i + 1}: raw ${fmt(raw[i]!.ms)} ms, FetchRevision ${fmt(grpc[i]!.ms)} ms (${pct(grpc[i]!)}), ` +
        `HTTP ${fmt(h1[i]!.ms)} ms (${pct(h1[i]!)}), HTTPS ${fmt(tls[i]!.ms)} ms (${pct(tls[i]!)}), agent download ${fmt(agent[i]!.ms)} ms (${pct(agent[i]!)}), over gRPC ${fmt(agentGrpc[i]!.ms)} ms (${pct(agentGrpc[i]!)})\n`);
    }
    const mibps = (ms: number) => (size / (1024 * 1024) / (ms / 1000)).toFixed(0);
    const median = (xs: number[]) => percentile(xs, 50);
    const ratios = (xs: Sample[]) => xs.map((x, i) => (100 * raw[i]!.ms) / x.ms);
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
    const cpu = (xs: Sample[]) => `CPU per transfer: server ${fmt(median(xs.map(x => x.serverCpu)))} ms, client ${fmt(median(xs.map(x => x.clientCpu)))} ms`;
    const line = (xs: Sample[]) => `median ${fmt(median(xs.map(x => x.ms)))} ms = ${mibps(median(xs.map(x => x.ms)))} MiB/s, best ${fmt(Math.min(...xs.map(x => x.ms)))} ms`;
    report(`transfer  256 MiB revision, loopback, ${opts.rounds} interleaved rounds (ratio = raw TCP time / Ferry time in the same round):`);
    report(`          baseline raw TCP (separate process, same file): ${line(raw)}; ${cpu(raw)}`);
    report(`          FetchRevision (gRPC), grpc-js client, bytes only:  ${line(grpc)}; ${cpu(grpc)}`);
    report(`                                 of raw TCP: median ${median(ratios(grpc)).toFixed(0)}%, range ${range(ratios(grpc))}%`);
    report(`          GET /v1/revisions (HTTP/1.1), the agent's transport, bytes only: ${line(h1)}; ${cpu(h1)}`);
    report(`                                 of raw TCP: median ${median(ratios(h1)).toFixed(0)}%, range ${range(ratios(h1))}% (target ≥ 80%)`);
    report(`          the same over HTTPS (mutual TLS, enrolled host), bytes only: ${line(tls)}; ${cpu(tls)}`);
    report(`                                 of raw (plaintext) TCP: median ${median(ratios(tls)).toFixed(0)}%, range ${range(ratios(tls))}%`);
    report(`          agent download (HTTP + SHA-256 + disk):           ${line(agent)}; ${cpu(agent)}`);
    report(`                                 of raw TCP: median ${median(ratios(agent)).toFixed(0)}%, range ${range(ratios(agent))}%`);
    report(`          agent download over FetchRevision (the fallback): ${line(agentGrpc)}; ${cpu(agentGrpc)}`);
    report(`                                 of raw TCP: median ${median(ratios(agentGrpc)).toFixed(0)}%, range ${range(ratios(agentGrpc))}%`);
  } finally {
    await env.cleanup.run();
  }
}

async function fleetRollout(name: string, hosts: number, config: string): Promise<void> {
  const env = await startEnv(name);
  try {
    const t0 = performance.now();
    await startAgents(env, hosts, { role: name });
    const startup = performance.now() - t0;
    await setupGroup(env, name, config, name);
    const bundleDir = path.join(env.dir, 'bundle');
    const archive = await hookBundle(bundleDir, Object.fromEntries(NOOP_EVENTS.map(e => [e, 'exit 0'])));
    const revision = await push(env.api, 'bench', archive);
    const first = await deployAndWait(env.api, { application: 'bench', group: name, revision });
    if (first.deployment?.status !== 'Succeeded') throw new Error(`first deployment ${first.deployment?.status}`);
    // Steady state: the revision is cached, ApplicationStop of the previous install runs too: 7 hooks per host.
    const t1 = performance.now();
    const second = await deployAndWait(env.api, { application: 'bench', group: name, revision });
    const ferryMs = performance.now() - t1;
    if (second.deployment?.status !== 'Succeeded') throw new Error(`deployment ${second.deployment?.status}`);
    const scripts = NOOP_EVENTS.map(e => path.join(bundleDir, 'scripts', `${e}.sh`));
    const parallel = config === 'AllAtOnce' ? hosts : 1;
    const direct = await runDirect(scripts, hosts, parallel);
    report(`${name.padEnd(9)} ${config} of a 7-hook no-op bundle to ${hosts} agents (agents started in ${fmt(startup)} ms):`);
    report(`          Ferry: ${fmt(ferryMs)} ms total (create → every host done), ${fmt(ferryMs / hosts)} ms per host`);
    report(`          baseline bash running the same 7 scripts per host, ${parallel === 1 ? 'one host after another' : `${parallel} hosts in parallel`}: ${fmt(direct)} ms`);
    report(`          ratio ${(ferryMs / direct).toFixed(1)}×; Ferry's overhead ${fmt((ferryMs - direct) / hosts)} ms per host`);
  } catch (err) {
    throw withCoordinatorOutput(env, err);
  } finally {
    await env.cleanup.run();
  }
}

interface BenchOptions {
  /** Interleaved rounds of the transfer bench (--rounds N). */
  rounds: number;
  /** Real agents of the real-fleet bench (--agents N). */
  agents: number;
}

const BENCHES: Record<string, (opts: BenchOptions) => Promise<void>> = {
  dispatch,
  transfer,
  oneatatime: () => fleetRollout('oneatatime', 10, 'OneAtATime'),
  allatonce: () => fleetRollout('allatonce', 100, 'AllAtOnce'),
  'agent-binary': o => agentBinaryBench(report, o.rounds),
  'pg-revisions': o => pgRevisionsBench(report, o.rounds),
  // Not in the default run (`npm run bench` with no name): 200 real agents take minutes and gigabytes.
  'real-fleet': o => realFleetBench(o.agents, report),
};
const NOT_BY_DEFAULT = new Set(['real-fleet']);

/**
 * `fleet --agents N [--config C]… [--rounds K] [--json]`: the simulated-fleet bench (bench/fleet.ts),
 * alone; with --json its one document is all stdout carries (the progress goes to stderr).
 */
async function fleetMain(args: string[]): Promise<void> {
  let rounds: number | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--rounds' || a.startsWith('--rounds=')) rounds = Number(a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i]);
    else rest.push(a);
  }
  if (rounds !== undefined && (!Number.isInteger(rounds) || rounds < 1)) throw new Error('--rounds: not a positive whole number');
  const o = parseFleetArgs(rest, rounds);
  const say = o.json ? (l: string) => process.stderr.write(l + '\n') : report;
  const r = await fleetBench(o, say);
  if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
}

async function main() {
  const opts: BenchOptions = { rounds: 5, agents: 200 };
  const wanted: string[] = [];
  const args = process.argv.slice(2);
  if (args[0] === 'fleet') return fleetMain(args.slice(1));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const count = (flag: string) => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        process.stderr.write(`${flag}: '${v ?? ''}' is not a positive whole number\n`);
        process.exit(2);
      }
      return n;
    };
    if (a === '--rounds' || a.startsWith('--rounds=')) {
      opts.rounds = count('--rounds');
    } else if (a === '--agents' || a.startsWith('--agents=')) {
      opts.agents = count('--agents');
    } else {
      wanted.push(a);
    }
  }
  const unknown = wanted.filter(w => !(w in BENCHES));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`);
    process.exit(2);
  }
  for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES).filter(b => !NOT_BY_DEFAULT.has(b))) {
    process.stdout.write(`\n== ${name}\n`);
    await BENCHES[name]!(opts);
  }
  process.stdout.write(`\nSummary (${new Date().toISOString()}, ${(await import('node:os')).cpus().length} cores):\n${out.join('\n')}\n`);
}

main().catch(err => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
