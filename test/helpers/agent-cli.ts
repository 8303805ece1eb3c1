import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout: found upwards from here, so this works from test/helpers and from dist/ (bench). */
function findRepo(from: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'bin', 'ferry-agent')) && existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`cannot find the Ferry checkout above ${from}`);
}
export const REPO = findRepo(path.dirname(fileURLToPath(import.meta.url)));
export const AGENT_BIN = path.join(REPO, 'bin', 'ferry-agent');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Parsed stdout when it is JSON. */
  json?: any;
  ms: number;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the process if it runs longer (a test bound, not a measurement). */
  timeoutMs?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Run inside this network namespace (`ip netns exec`; see netns.ts). */
  netns?: string;
}

/** The command line running `argv` inside network namespace `netns`, or `argv` itself without one. */
export function inNetns(netns: string | undefined, argv: [string, ...string[]]): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, ...argv]] : [argv[0], argv.slice(1)];
}

/** Runs the real `bin/ferry-agent` as a separate process. */
export function runAgent(args: string[], opts: CliOptions = {}): Promise<CliResult> & { pid?: number } {
  return runBin('ferry-agent', args, opts);
}

/** Runs one of the real `bin/*` programs as a separate process and collects its output. */
export function runBin(bin: string, args: string[], opts: CliOptions = {}): Promise<CliResult> & { pid?: number } {
  const started = Date.now();
  const [file, fileArgs] = inNetns(opts.netns, [process.execPath, path.join(REPO, 'bin', bin), ...args]);
  const child = spawn(file, fileArgs, {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, NO_COLOR: '1', TZ: 'UTC', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
    opts.onStdout?.(b.toString());
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    opts.onStderr?.(b.toString());
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const p = new Promise<CliResult>(resolve => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const r: CliResult = { code, signal, stdout, stderr, ms: Date.now() - started };
      try {
        r.json = JSON.parse(stdout);
      } catch {
        // not JSON output
      }
      resolve(r);
    });
  }) as Promise<CliResult> & { pid?: number };
  if (child.pid !== undefined) p.pid = child.pid;
  return p;
}

/** `ferry-agent local` with a root dir and --json; extra args appended. */
export function deployLocal(root: string, bundle: string, extra: string[] = [], opts: CliOptions = {}) {
  return runAgent(['local', '--bundle-location', bundle, '--root-dir', root, '--json', ...extra], opts);
}

export function eventOf(json: any, name: string): any {
  return json?.events?.find((e: any) => e.name === name);
}
