import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * The two places hook output is kept on the host, in CodeDeploy's formats:
 * `<deployment>/logs/scripts.log` (`YYYY-MM-DD HH:MM:SS [stdout]line`) and the shared
 * `deployment-logs/ferry-agent-deployments.log` (`[YYYY-MM-DD HH:MM:SS.mmm] [d-…][stdout]line`),
 * which rotates by size.
 */
export interface ScriptLogs {
  event(name: string): Promise<unknown>;
  script(location: string): Promise<unknown>;
  line(stream: 'stdout' | 'stderr', text: string): Promise<unknown>;
  note(text: string): Promise<unknown>;
  /** Flushes and closes; returns the first write error, if any (the deployment goes on without logs). */
  close(): Promise<unknown>;
}

const stamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export interface OpenLogsOptions {
  scriptsLog: string;
  deploymentsLog: string;
  deploymentId: string;
  now: () => number;
  rotateBytes: number;
  keepRotated: number;
}

async function rotateIfLarge(file: string, limit: number, keep: number): Promise<void> {
  const st = await fs.stat(file).catch(() => undefined);
  if (!st || st.size < limit) return;
  for (let i = keep - 1; i >= 1; i--) {
    await fs.rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => undefined);
  }
  await fs.rename(file, `${file}.1`);
}

export async function openScriptLogs(o: OpenLogsOptions): Promise<ScriptLogs> {
  await fs.mkdir(path.dirname(o.scriptsLog), { recursive: true });
  await fs.mkdir(path.dirname(o.deploymentsLog), { recursive: true });
  await rotateIfLarge(o.deploymentsLog, o.rotateBytes, o.keepRotated);
  const scripts = await fs.open(o.scriptsLog, 'a', 0o640);
  const shared = await fs.open(o.deploymentsLog, 'a', 0o640);
  // Appends are serialized so lines keep their order.
  let chain: Promise<unknown> = Promise.resolve();
  let firstError: unknown;
  const write = (local: string, global?: string) => {
    const at = o.now();
    const p = chain.then(async () => {
      await scripts.appendFile(`${stamp(at).slice(0, 19)} ${local}\n`);
      if (global !== undefined) await shared.appendFile(`[${stamp(at)}] [${o.deploymentId}]${global}\n`);
    });
    chain = p.catch((err: unknown) => {
      firstError ??= err;
    });
    return chain;
  };
  return {
    event: name => write(`LifecycleEvent - ${name}`),
    script: location => write(`Script - ${location}`),
    line: (stream, text) => write(`[${stream}]${text}`, `[${stream}]${text}`),
    note: text => write(text, ` ${text}`),
    close: async () => {
      await chain;
      await scripts.close();
      await shared.close();
      return firstError;
    },
  };
}
