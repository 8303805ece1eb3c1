import { promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { describeError } from '../../common/errors.js';
import type { ProcessRunner } from '../lifecycle/process-runner.js';
import { fsHolding } from '../link/facts.js';
import { FERRY_VERSION } from '../../common/version.js';
import type { ProbeResult } from '../../common/health/evaluate.js';
import { type AlarmSpec, formatDuration, splitHostPort } from '../../common/health/spec.js';

/** Takes one sample for an alarm. Never throws; resolves promptly once `signal` aborts. */
export interface Probe {
  measure(spec: AlarmSpec, signal: AbortSignal): Promise<ProbeResult>;
}

/** The system figures the cpu, memory and disk alarms read (systeminformation in production). */
export interface SystemInfo {
  /** Busy cpu %, over the time since the previous call. */
  cpuPercent(): Promise<number>;
  /** Active memory / total, %. */
  memoryPercent(): Promise<number>;
  filesystems(): Promise<readonly { mount: string; usePercent: number }[]>;
}

/** systeminformation, loaded by the first cpu, memory or disk alarm's sample (an agent with none never loads it). */
const systeminformation = async () => (await import('systeminformation')).default;

/** systeminformation, with calls shared: alarms sampled together see one figure (docs/design/stack.md §6). */
export function systemInformation(reuseMs = 1000): SystemInfo {
  return {
    cpuPercent: shared(reuseMs, async () => (await (await systeminformation()).currentLoad()).currentLoad),
    memoryPercent: shared(reuseMs, async () => {
      const m = await (await systeminformation()).mem();
      if (!(m.total > 0)) throw new Error('the total memory is unknown');
      return (m.active / m.total) * 100;
    }),
    filesystems: shared(reuseMs, async () => (await (await systeminformation()).fsSize()).map(f => ({
      mount: f.mount, usePercent: Number.isFinite(f.use) ? f.use : (f.used / (f.used + f.available)) * 100,
    }))),
  };
}

/** One call in flight at a time; its result reused for `reuseMs`. */
function shared<T>(reuseMs: number, fn: () => Promise<T>): () => Promise<T> {
  let last: { at: number; p: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (last && now - last.at < reuseMs) return last.p;
    const p = fn();
    const entry = { at: now, p };
    last = entry;
    p.catch(() => {
      if (last === entry) last = undefined; // a failure is not reused
    });
    return p;
  };
}

export interface ProbeDeps {
  system: SystemInfo;
  /** Runs command alarms (the only code that spawns, docs/design/style.md §7). */
  runner: ProcessRunner;
  /** The environment of command alarms (the agent's, credentials removed). */
  env: Readonly<Record<string, string>>;
  /** After a command's timeout, time between TERM and KILL of its process group. */
  killGraceMs?: number;
}

/** The real probes: systeminformation, node http/https and net, and the process runner. */
export class HostProbe implements Probe {
  constructor(private readonly d: ProbeDeps) {}

  async measure(spec: AlarmSpec, signal: AbortSignal): Promise<ProbeResult> {
    try {
      switch (spec.kind) {
        case 'cpu': return measured(await bounded(this.d.system.cpuPercent(), spec.timeoutMs, signal, 'the cpu load'));
        case 'memory': return measured(await bounded(this.d.system.memoryPercent(), spec.timeoutMs, signal, 'the memory use'));
        case 'disk': return await this.disk(spec, signal);
        case 'http': return await httpGet(spec.url ?? '', spec.timeoutMs, signal);
        case 'tcp': return await tcpConnect(spec.address ?? '', spec.timeoutMs, signal);
        case 'command': return await this.command(spec.argv ?? [], spec.timeoutMs, signal);
      }
    } catch (err) {
      return { kind: 'failed', reason: describeError(err) };
    }
  }

  private async disk(spec: AlarmSpec, signal: AbortSignal): Promise<ProbeResult> {
    const dir = spec.path ?? '/';
    const real = await fs.realpath(dir).catch(() => path.resolve(dir));
    const mounts = await bounded(this.d.system.filesystems(), spec.timeoutMs, signal, 'the filesystems');
    const holding = fsHolding(mounts, real);
    if (!holding) return { kind: 'failed', reason: `no filesystem found for ${real}` };
    return measured(holding.usePercent);
  }

  private async command(argv: readonly string[], timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
    let lastLine = '';
    const outcome = await this.d.runner.run(
      { file: argv[0] ?? '', args: argv.slice(1), env: { ...this.d.env }, cwd: '/', timeoutMs, location: argv[0] ?? '' },
      { onLine: (_s, line) => { if (line.trim()) lastLine = line.trim().slice(0, 200); }, killGraceMs: this.d.killGraceMs ?? 1000, outputGraceMs: 500, signal },
    );
    const said = lastLine ? `last output: ${lastLine}` : '';
    switch (outcome.kind) {
      case 'exited':
        if (outcome.exitCode !== null) return { kind: 'measured', value: outcome.exitCode, ...(said && { detail: said }) };
        return { kind: 'measured', value: -1, detail: `was killed by ${outcome.signal ?? 'a signal'}${said && ` (${said})`}` };
      case 'timed-out': {
        const how = outcome.killed ? 'killed (KILL)' : 'stopped (TERM)';
        return { kind: 'measured', value: -1, detail: `did not exit within ${formatDuration(timeoutMs)}; ${how}${said && ` (${said})`}` };
      }
      case 'cancelled':
        return { kind: 'failed', reason: 'cancelled' };
      case 'spawn-failed':
        return { kind: 'failed', reason: `cannot run ${argv[0] ?? ''}: ${outcome.message}` };
    }
  }
}

function measured(value: number): ProbeResult {
  if (!Number.isFinite(value)) throw new Error(`the figure read is not a number (${value})`);
  return { kind: 'measured', value };
}

/** `p`, or a rejection after `ms` or when `signal` aborts. */
function bounded<T>(p: Promise<T>, ms: number, signal: AbortSignal, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => { done(); reject(new Error('cancelled')); };
    const timer = setTimeout(() => { done(); reject(new Error(`reading ${what} took longer than ${formatDuration(ms)}`)); }, ms);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(v => { done(); resolve(v); }, err => { done(); reject(err); });
  });
}

/** A deadline and an AbortSignal around one callback-style attempt; `finish` settles it once. */
function attempt(timeoutMs: number, signal: AbortSignal, onTimeout: () => ProbeResult,
  start: (finish: (r: ProbeResult) => void) => () => void): Promise<ProbeResult> {
  return new Promise(resolve => {
    let settled = false;
    let cleanup = () => {};
    const finish = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      cleanup();
      resolve(r);
    };
    const onAbort = () => finish({ kind: 'failed', reason: 'cancelled' });
    const timer = setTimeout(() => finish(onTimeout()), timeoutMs);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    cleanup = start(finish);
  });
}

/** GET `url`: the status code once the headers arrive (redirects are not followed); 0 and why, when none does. */
export function httpGet(url: string, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return attempt(timeoutMs, signal, () => ({ kind: 'measured', value: 0, detail: `no answer within ${formatDuration(timeoutMs)}` }), finish => {
    const req = lib.request(u, { method: 'GET', agent: false, headers: { 'user-agent': `ferry-agent/${FERRY_VERSION}`, connection: 'close' } }, res => {
      res.on('error', () => {}); // the body is not read: the status decides, and the socket is destroyed next
      res.resume();
      finish({ kind: 'measured', value: res.statusCode ?? 0 });
    });
    req.on('error', err => finish({ kind: 'measured', value: 0, detail: describeError(err) }));
    req.end();
    return () => req.destroy();
  });
}

/** Connects to `address`: 1 when it accepts within the timeout, else 0 and why. */
export function tcpConnect(address: string, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const hp = splitHostPort(address);
  if ('problem' in hp) return Promise.resolve({ kind: 'failed', reason: hp.problem });
  return attempt(timeoutMs, signal, () => ({ kind: 'measured', value: 0, detail: `no connection within ${formatDuration(timeoutMs)}` }), finish => {
    const socket = net.connect({ host: hp.host, port: hp.port });
    socket.once('connect', () => finish({ kind: 'measured', value: 1 }));
    socket.once('error', err => finish({ kind: 'measured', value: 0, detail: describeError(err) }));
    return () => socket.destroy();
  });
}
