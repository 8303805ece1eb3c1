import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Invocation } from './invocation.js';

export type OutputStream = 'stdout' | 'stderr';

export type RunOutcome =
  /** The script exited; `outputsLeftOpen` when a child still held stdout/stderr after the grace. */
  | { kind: 'exited'; exitCode: number | null; signal: NodeJS.Signals | null; outputsLeftOpen: boolean }
  /** The deadline passed: the whole process group got TERM, then KILL after the kill grace. */
  | { kind: 'timed-out'; killed: boolean }
  /** Cancelled through the AbortSignal (deployment stopped): the process group was killed. */
  | { kind: 'cancelled' }
  | { kind: 'spawn-failed'; message: string };

export interface RunOptions {
  onLine: (stream: OutputStream, line: string) => void;
  /** After TERM, how long before KILL. */
  killGraceMs: number;
  /** After the script exits, how long its children may keep stdout/stderr open before we stop reading. */
  outputGraceMs: number;
  signal?: AbortSignal;
}

/** The only code that spawns hook processes (docs/design/style.md §7). */
export interface ProcessRunner {
  run(invocation: Invocation, options: RunOptions): Promise<RunOutcome>;
}

const MAX_LINE = 64 * 1024;

function lineSplitter(onLine: (line: string) => void): { push(b: Buffer): void; end(): void } {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  const drain = (final: boolean) => {
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i).replace(/\r$/, ''));
      buf = buf.slice(i + 1);
    }
    while (buf.length > MAX_LINE) {
      onLine(buf.slice(0, MAX_LINE));
      buf = buf.slice(MAX_LINE);
    }
    if (final && buf.length > 0) {
      onLine(buf);
      buf = '';
    }
  };
  return {
    push: b => {
      buf += decoder.write(b);
      drain(false);
    },
    end: () => {
      buf += decoder.end();
      drain(true);
    },
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

export class ChildProcessRunner implements ProcessRunner {
  run(inv: Invocation, opts: RunOptions): Promise<RunOutcome> {
    return new Promise(resolve => {
      const spawnOpts: Parameters<typeof spawn>[2] = {
        cwd: inv.cwd,
        env: inv.env,
        detached: true, // its own process group, so a timeout kills the script and all its children
        stdio: ['ignore', 'pipe', 'pipe'],
      };
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(inv.file, inv.args, spawnOpts);
      } catch (err) {
        // Some errors are thrown synchronously (e.g. EACCES, E2BIG).
        return resolve({ kind: 'spawn-failed', message: (err as Error).message });
      }
      const streams: Readable[] = [child.stdout!, child.stderr!];
      let open = 2;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let ending: 'timed-out' | 'cancelled' | undefined;
      let killed = false;
      let done = false;
      const timers: NodeJS.Timeout[] = [];

      const finish = (outcome: RunOutcome) => {
        if (done) return;
        done = true;
        timers.forEach(clearTimeout);
        opts.signal?.removeEventListener('abort', onAbort);
        for (const s of streams) s.destroy();
        resolve(outcome);
      };
      const settle = (outputsLeftOpen: boolean) => {
        if (!exit) return;
        if (ending === 'timed-out') return finish({ kind: 'timed-out', killed });
        if (ending === 'cancelled') return finish({ kind: 'cancelled' });
        finish({ kind: 'exited', exitCode: exit.code, signal: exit.signal, outputsLeftOpen });
      };
      const terminate = (why: 'timed-out' | 'cancelled') => {
        if (done || ending) return;
        ending = why;
        const pid = child.pid;
        if (pid === undefined) return;
        killGroup(pid, 'SIGTERM');
        timers.push(
          setTimeout(() => {
            killed = true;
            killGroup(pid, 'SIGKILL');
            // Children that survived TERM may hold the pipes: stop waiting for them.
            setTimeout(() => settle(false), 100);
          }, opts.killGraceMs),
        );
      };
      const onAbort = () => terminate('cancelled');

      for (const [name, stream] of [['stdout', child.stdout!], ['stderr', child.stderr!]] as const) {
        const split = lineSplitter(line => opts.onLine(name, line));
        stream.on('data', (b: Buffer) => split.push(b));
        stream.on('close', () => {
          split.end();
          open -= 1;
          if (open === 0 && (!ending || killed || exit)) settle(false);
        });
      }
      child.on('error', err => finish({ kind: 'spawn-failed', message: err.message }));
      child.on('exit', (code, signal) => {
        clearTimeout(deadline); // the script ended in time; only its children may still hold the pipes
        exit = { code, signal };
        if (open === 0 || (ending && killed)) return settle(false);
        if (ending) return; // the kill timer settles
        // The script is done but something it started still holds our pipes (a daemon, `app &`).
        timers.push(setTimeout(() => settle(true), opts.outputGraceMs));
      });

      const deadline = setTimeout(() => terminate('timed-out'), inv.timeoutMs);
      timers.push(deadline);
      if (opts.signal) {
        if (opts.signal.aborted) onAbort();
        else opts.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }
}
