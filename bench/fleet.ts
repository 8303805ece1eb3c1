import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ferry } from '../test/helpers/fleet.js';
import { FleetSim } from './fleet-sim.js';
import { type Env, fmt, hookBundle, push, startEnv, withCoordinatorOutput } from './lib.js';

/**
 * `npm run bench -- fleet --agents N [--config AllAtOnce|HalfAtATime|OneAtATime] [--rounds K] [--connections C] [--json]`:
 * a real coordinator (--insecure, loopback) and a simulated fleet of N hosts (bench/fleet-sim.ts).
 * Reports registration time, the coordinator's RSS and CPU idle with heartbeats (and per connected
 * agent), create-to-verdict time per config, hosts marked lost although their simulated agent was
 * heartbeating (every AGENT_LOST is one: the simulator never stops), `ferry hosts list` and
 * `ferry deploy status` latency, and the load average of the machine (absolute times on a shared
 * machine are inflated by it).
 */
export interface FleetOptions {
  agents: number;
  configs: string[];
  rounds: number;
  json: boolean;
  /** TCP connections the simulated hosts' streams are spread over (real agents: one each). */
  connections?: number;
}

export interface FleetReport {
  agents: number;
  /** TCP connections the simulated hosts' streams were spread over. */
  connections: number;
  registerMs: number;
  idleRssMiB: number;
  idleCpuPct: number;
  verdictMs: Record<string, number>;
  verdict: Record<string, string>;
  falseLost: number;
  hostsListMs: number;
  statusMs: number;
  /** Coordinator RSS growth per connected agent (KiB): idle RSS with the fleet minus before it, over N. */
  rssPerAgentKiB: number;
  /** The coordinator's CPU in the 10 s after the last verdict (% of one core). */
  quietCpuPct: number;
  /** Stream drops and re-registrations the simulator saw, commands re-sent to it. */
  drops: number;
  repeatedCommands: number;
  loadAverage: number[];
  /**
   * How long this machine took, at the start of the run, for a fixed single-threaded task (SHA-256
   * of 64 MiB, 4 times): these shared machines run at different speeds from one hour to the next,
   * and CPU percentages of runs are comparable only at similar figures here.
   */
  calibrationMs: number;
}

/** A fixed CPU-bound task's time (ms): the machine's speed now (FleetReport.calibrationMs). */
export function calibrate(): number {
  const data = Buffer.alloc(64 * 1024 * 1024, 7);
  const t0 = performance.now();
  for (let i = 0; i < 4; i++) createHash('sha256').update(data).digest();
  return performance.now() - t0;
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Stopped']);

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks, USER_HZ = 100
}

export function rssMiBOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** CPU % of one core in each `step` ms slice of the next `ms` ms. */
export async function cpuSeries(pid: number, ms: number, step = 1000): Promise<number[]> {
  const out: number[] = [];
  for (let t = 0; t < ms; t += step) out.push(await cpuPctOver(pid, step));
  return out;
}

export async function cpuPctOver(pid: number, ms: number): Promise<number> {
  const c0 = cpuMsOf(pid);
  const t0 = performance.now();
  await sleep(ms);
  return (100 * (cpuMsOf(pid) - c0)) / (performance.now() - t0);
}

/** Polls the group's newest deployment (a small message at any fleet size) until it is terminal. */
export async function waitVerdict(env: Env, application: string, group: string, id: string, timeoutMs: number): Promise<string> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    // A poll that fails (the bench's own channel dropped on a machine at load 100+) is retried:
    // the verdict is the coordinator's, not the bench client's connection's.
    const deployments = await env.api.listDeployments({ application, group, limit: 1 }).then(r => r.deployments, () => []);
    const d = deployments.find(x => x.id === id);
    if (d && TERMINAL.has(d.status)) return d.status;
    await sleep(100);
  }
  return 'Timeout';
}

/**
 * Hosts the coordinator declared lost: those of host deployments made Unknown with AGENT_LOST (from
 * its SQLite file, read-only) and those its log says it dropped as lost ("agent lost", idle ones
 * too). The simulator never stops heartbeating, so every one is a false verdict.
 */
export function lostHosts(env: Env): Set<string> {
  const db = new Database(path.join(env.coordinator.dataDir, 'ferry.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT DISTINCT host_id FROM host_deployments WHERE error_code = 'AGENT_LOST'").all() as { host_id: string }[];
    const logged = [...env.coordinator.output().matchAll(/agent lost .*?host_id=(\S+)/g)].map(m => m[1]!);
    return new Set([...rows.map(r => r.host_id), ...logged]);
  } finally {
    db.close();
  }
}

/** How long `ferry ARGS` took (ms); -1 when it failed (said on the report: a figure, not the end of the run). */
async function timedCli(coordinator: string, args: string[], report: (line: string) => void): Promise<number> {
  const t0 = performance.now();
  const r = await ferry(coordinator, args, { timeoutMs: 120_000 });
  const ms = performance.now() - t0;
  if (r.code === 0) return ms;
  report(`          ferry ${args.join(' ')} FAILED (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`);
  return -1;
}

export async function fleetBench(o: FleetOptions, report: (line: string) => void): Promise<FleetReport> {
  // FERRY_BENCH_CPU_PROF=<dir>: the coordinator (only) runs with --cpu-prof into that dir; it is
  // stopped with SIGTERM at the end so the profile is written.
  const profDir = process.env.FERRY_BENCH_CPU_PROF;
  const spawnedAt = performance.now();
  const keepaliveMs = process.env.FERRY_SIM_KEEPALIVE_MS ? Number(process.env.FERRY_SIM_KEEPALIVE_MS) : undefined;
  if (keepaliveMs !== undefined && !(keepaliveMs >= 1000)) throw new Error(`FERRY_SIM_KEEPALIVE_MS: '${process.env.FERRY_SIM_KEEPALIVE_MS}' is not a number of milliseconds of at least 1000`);
  const connections = Math.min(o.agents, o.connections ?? Math.max(4, Math.ceil(o.agents / 1000)));
  // Past 4,096 connections from one address (the simulator's), the coordinator's default per-address limit refuses them.
  const env = await startEnv('fleet', connections > 4096 ? ['--max-connections-per-address', '0'] : [], profDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profDir)}`] : []);
  // With a profile: where the windows are in it (seconds from the coordinator's start, for cpuprofile --from/--to).
  const at = () => (profDir ? ` [profile ${((performance.now() - spawnedAt) / 1000).toFixed(1)} s]` : '');
  const pid = env.coordinator.child.pid!;
  const sim = new FleetSim({ address: env.coordinator.address, agents: o.agents, channels: connections, tags: { role: 'fleet' }, ...(keepaliveMs !== undefined && { keepaliveMs }) });
  try {
    await sleep(1000);
    const calibrationMs = calibrate();
    report(`fleet     machine speed: SHA-256 of 4 × 64 MiB in ${fmt(calibrationMs)} ms (compare CPU figures only between runs where this is close)`);
    const baseRss = rssMiBOf(pid);
    const t0 = performance.now();
    await sim.start();
    const registerMs = performance.now() - t0;
    report(`fleet     ${o.agents} simulated hosts (over ${connections} connections) registered in ${fmt(registerMs)} ms`);
    await sleep(3000);
    const idleAt = at();
    const idleCpuPct = await cpuPctOver(pid, 10_000);
    const idleRssMiB = rssMiBOf(pid);
    const rssPerAgentKiB = ((idleRssMiB - baseRss) * 1024) / o.agents;
    report(`          idle with heartbeats: RSS ${idleRssMiB.toFixed(0)} MiB (${rssPerAgentKiB.toFixed(1)} KiB per agent), CPU ${idleCpuPct.toFixed(1)} % of one core${idleAt}`);
    await env.api.createApplication({ name: 'fleet' });
    const archive = await hookBundle(path.join(env.dir, 'bundle'), { ApplicationStart: 'exit 0' });
    const revision = await push(env.api, 'fleet', archive);
    const verdictMs: Record<string, number> = {};
    const verdict: Record<string, string> = {};
    let lastId = '';
    for (const config of o.configs) {
      await env.api.createDeploymentGroup({ application: 'fleet', name: config, configName: config, tagSets: [{ filters: [{ key: 'role', value: 'fleet', hasKey: true, hasValue: true }] }] });
      const times: number[] = [];
      for (let r = 0; r < o.rounds; r++) {
        const t = performance.now();
        const created = await env.api.createDeployment({ application: 'fleet', group: config, revision, fileExistsBehavior: 'OVERWRITE' });
        lastId = created.deployment!.id;
        const status = await waitVerdict(env, 'fleet', config, lastId, 30 * 60_000);
        times.push(performance.now() - t);
        verdict[config] = status;
        report(`          ${config} round ${r + 1}: ${status} in ${fmt(times[times.length - 1]!)} ms (create → verdict)`);
        if (status !== 'Succeeded') break;
      }
      verdictMs[config] = Math.round(times.sort((a, b) => a - b)[Math.floor((times.length - 1) / 2)]!);
    }
    const quietAt = at();
    const c0 = cpuMsOf(pid);
    const q0 = performance.now();
    const perSecond = await cpuSeries(pid, 10_000);
    const quietCpuPct = (100 * (cpuMsOf(pid) - c0)) / (performance.now() - q0);
    report(`          the 10 s after the last verdict: coordinator CPU ${quietCpuPct.toFixed(1)} % of one core (each second: ${perSecond.map(x => x.toFixed(0)).join(' ')})${quietAt}`);
    const falseLost = lostHosts(env).size;
    const rejected = (env.coordinator.output().match(/agent stream rejected/g) ?? []).length;
    const hostsListMs = await timedCli(env.coordinator.address, ['hosts', 'list', '--json'], report);
    const statusMs = lastId ? await timedCli(env.coordinator.address, ['deploy', 'status', lastId, '--json'], report) : NaN;
    const loadAverage = os.loadavg().map(x => Math.round(x * 100) / 100);
    report(`          hosts falsely declared lost: ${falseLost}; streams rejected ${rejected}, dropped ${sim.stats.drops}, re-sent commands ${sim.stats.repeatedCommands}; simulator's longest heartbeat gap ${fmt(sim.stats.maxHeartbeatGapMs)} ms`);
    report(`          ferry hosts list --json: ${fmt(hostsListMs)} ms; ferry deploy status --json: ${fmt(statusMs)} ms; load average ${loadAverage.join(' ')}`);
    return {
      agents: o.agents, connections, registerMs: Math.round(registerMs), idleRssMiB: Math.round(idleRssMiB), idleCpuPct: Math.round(idleCpuPct * 10) / 10,
      verdictMs, verdict, falseLost, hostsListMs: Math.round(hostsListMs), statusMs: Math.round(statusMs),
      rssPerAgentKiB: Math.round(rssPerAgentKiB * 10) / 10, quietCpuPct: Math.round(quietCpuPct * 10) / 10,
      drops: sim.stats.drops, repeatedCommands: sim.stats.repeatedCommands, loadAverage, calibrationMs: Math.round(calibrationMs),
    };
  } catch (err) {
    throw withCoordinatorOutput(env, err);
  } finally {
    sim.close();
    if (profDir) await env.coordinator.kill('SIGTERM');
    await env.cleanup.run();
  }
}

const CONFIGS = ['AllAtOnce', 'HalfAtATime', 'OneAtATime'];

/** Parses the fleet bench's own flags; every bad one names itself. */
export function parseFleetArgs(args: string[], rounds: number | undefined): FleetOptions {
  const o: FleetOptions = { agents: 1000, configs: [], rounds: rounds ?? 1, json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
      if (v === undefined) throw new Error(`${a}: a value is required`);
      return v;
    };
    if (a === '--json') o.json = true;
    else if (a === '--agents' || a.startsWith('--agents=')) {
      const v = value();
      o.agents = Number(v);
      if (!Number.isInteger(o.agents) || o.agents < 1) throw new Error(`--agents: '${v}' is not a positive whole number`);
    } else if (a === '--connections' || a.startsWith('--connections=')) {
      const v = value();
      o.connections = Number(v);
      if (!Number.isInteger(o.connections) || o.connections < 1) throw new Error(`--connections: '${v}' is not a positive whole number`);
    } else if (a === '--config' || a.startsWith('--config=')) {
      const v = value();
      if (!CONFIGS.includes(v)) throw new Error(`--config: '${v}' is not one of ${CONFIGS.join(', ')}`);
      o.configs.push(v);
    } else throw new Error(`fleet: unknown argument '${a}'`);
  }
  if (o.configs.length === 0) o.configs = ['AllAtOnce', 'HalfAtATime'];
  return o;
}
