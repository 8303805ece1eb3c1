import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, type CliResult, inNetns, runBin } from './agent-cli.js';
import { ferryInProcess, ferryRunsInProcess } from './ferry-in-process.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const MOUNT_DIRS = 'while [ "$1" != "--" ]; do mkdir -p "$1"; mount -t tmpfs tmpfs "$1"; shift; done; shift';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Runs `argv` in its own mount namespace with a private tmpfs on each of `dirs`: several agents on
 * one machine then each see their own files there, like separate hosts. As root, a plain mount
 * namespace; otherwise an unprivileged user namespace (as its root, to mount) wraps it, and a second
 * one nested inside maps the caller's own uid and gid back, so the agent runs as the user it was
 * started by, not as a root it only seems to be (see privateDirsUnavailable for what that needs).
 */
function isolated(dirs: string[], argv: string[]): [string, ...string[]] {
  if (isRoot) return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', `set -e; ${MOUNT_DIRS}; exec "$@"`, 'sh', ...dirs, '--', ...argv];
  const script = `set -e; uid=$1 gid=$2; shift 2; ${MOUNT_DIRS}; exec unshare --user --map-user="$uid" --map-group="$gid" -- "$@"`;
  const [uid, gid] = [process.getuid?.() ?? 0, process.getgid?.() ?? 0];
  return ['unshare', '--user', '--map-root-user', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'sh', String(uid), String(gid), ...dirs, '--', ...argv];
}

let privateDirsProbe: string | false | undefined;

/**
 * Why agents cannot get private dirs on this machine, or false when they can: as root, a mount
 * namespace always works; without root the kernel must allow unprivileged user namespaces and
 * util-linux's `unshare` must be there. Tried once (a few ms), with the very commands isolated() runs.
 */
export function privateDirsUnavailable(): string | false {
  if (privateDirsProbe !== undefined) return privateDirsProbe;
  const mnt = os.tmpdir();
  const [file, ...args] = isolated([mnt], ['/bin/true']);
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || `exit ${r.status}`).trim();
    const need = r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'the unshare command (Debian package util-linux) is missing'
      : isRoot
        ? 'a mount namespace (unshare --mount) is refused here'
        : `uid ${process.getuid?.()} is not root and this kernel refuses it an unprivileged user namespace, or util-linux's unshare is older than 2.38 (--map-user); run the tests as root, or allow user namespaces: sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1 (Debian), kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu)`;
    privateDirsProbe = `agents with a private app dir need a mount namespace: ${need} (${why})`;
  } else {
    privateDirsProbe = false;
  }
  return privateDirsProbe;
}

/** `bin` is a program of bin/ (run by this node) or the absolute path of an executable (the agent binary). */
function launch(t: Teardown, bin: string, args: string[], env: NodeJS.ProcessEnv = {}, privateDirs: string[] = [], netns?: string, nodeArgs: string[] = []): Proc {
  const argv: [string, ...string[]] = path.isAbsolute(bin) ? [bin, ...args] : [process.execPath, ...nodeArgs, path.join(REPO, 'bin', bin), ...args];
  const [file, fileArgs] = inNetns(netns, privateDirs.length > 0 ? isolated(privateDirs, argv) : argv);
  const child = spawn(file, fileArgs, {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
  const proc: Proc = {
    child,
    output: () => out,
    exited,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  t.teardown(() => proc.kill('SIGKILL'));
  return proc;
}

/** Thrown by a waitFor check to stop waiting at once (e.g. the process it waits for exited). */
export class GiveUp extends Error {}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    const started = Date.now();
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      // Waiting cannot help (the process being waited for is gone): give up at once.
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    // Pausing as long as the check took (a `ferry` call: a coordinator's answer, or a child process)
    // keeps a waiting test from holding a core (4 jobs on 2 cores); cheap checks run every 100 ms.
    await new Promise(r => setTimeout(r, Math.min(Math.max(100, Date.now() - started), 500)));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export interface Coordinator extends Proc {
  address: string;
  dataDir: string;
}

/**
 * A real `ferry-coordinator` on a free port (loopback unless `listen` says otherwise): `--insecure`
 * (plaintext, no tokens) unless `tls` is set (then see trust.ts); inside `netns` when given.
 */
export async function startCoordinator(
  t: Teardown, dataDir: string, args: string[] = [], listen = '127.0.0.1:0',
  opts: { tls?: boolean; netns?: string; env?: NodeJS.ProcessEnv; /** How long it may take to listen (default 20 s). */ listenTimeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<Coordinator> {
  const proc = launch(t, 'ferry-coordinator', ['--data', dataDir, '--listen', listen, '--log-level', 'debug', ...(opts.tls ? [] : ['--insecure']), ...args], opts.env, [], opts.netns, opts.nodeArgs);
  const address = await waitFor('the coordinator to listen', () => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new GiveUp(`coordinator exited: ${proc.output()}`);
    return /listening on (\S+)/.exec(proc.output())?.[1];
  }, opts.listenTimeoutMs);
  return { ...proc, address, dataDir };
}

export interface AgentOptions {
  coordinator: string;
  rootDir: string;
  hostId: string;
  tags?: Record<string, string>;
  zone?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Directories this agent sees privately (a tmpfs in its own mount namespace; see isolated()). */
  privateDirs?: string[];
  /** Run inside this network namespace (a host of test/helpers/netns.ts). */
  netns?: string;
  /** The executable to run instead of bin/ferry-agent (the built agent binary). */
  program?: string;
  /** Node.js options before bin/ferry-agent (e.g. an --import preload). */
  nodeArgs?: string[];
}

/** A real `ferry-agent start` process. */
export async function startAgent(t: Teardown, o: AgentOptions): Promise<Proc> {
  const unavailable = o.privateDirs?.length ? privateDirsUnavailable() : false;
  if (unavailable) throw new Error(unavailable);
  await fs.mkdir(o.rootDir, { recursive: true });
  const args = ['start', '--coordinator', o.coordinator, '--root-dir', o.rootDir, '--host-id', o.hostId, '--heartbeat-interval', '1s'];
  for (const [k, v] of Object.entries(o.tags ?? {})) args.push('--tag', `${k}=${v}`);
  if (o.zone) args.push('--zone', o.zone);
  return launch(t, o.program ?? 'ferry-agent', [...args, ...(o.args ?? [])], o.env, o.privateDirs, o.netns, o.nodeArgs);
}

/** Runs `ferry` against a coordinator: in this process when a child would do the same (ferry-in-process.ts), else `bin/ferry`. */
export function ferry(coordinator: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; netns?: string } = {}): Promise<CliResult> {
  const env = { FERRY_COORDINATOR: coordinator, ...opts.env };
  if (ferryRunsInProcess(env, opts.netns)) return ferryInProcess(args, env, opts.timeoutMs);
  return runBin('ferry', args, { env, ...(opts.timeoutMs && { timeoutMs: opts.timeoutMs }), ...(opts.netns && { netns: opts.netns }) });
}

/** Waits until `ferry hosts list` shows these hosts connected. */
export async function waitForHosts(coordinator: string, hostIds: string[], ms = 20_000): Promise<void> {
  await waitFor(`hosts ${hostIds.join(', ')} to connect`, async () => {
    const r = await ferry(coordinator, ['hosts', 'list', '--json']);
    const hosts: any[] = r.json?.hosts ?? [];
    return hostIds.every(id => hosts.some(h => h.id === id && h.connected));
  }, ms);
}
