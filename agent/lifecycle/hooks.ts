import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import type { HookScript } from '../../common/appspec/types.js';
import { describeError } from '../../common/errors.js';
import type { EventName } from '../../common/lifecycle/events.js';
import { type HookContext, type ScriptInspection, buildInvocation, runasWarning, runWithFor } from './invocation.js';
import type { ProcessRunner } from './process-runner.js';
import type { RevisionAccess } from './revision-access.js';
import type { ScriptLogs } from './script-log.js';
import type { Clock, EventResult, EventSink } from './types.js';
import type { UserDirectory } from './users.js';

export interface HookRunDeps {
  runner: ProcessRunner;
  users: UserDirectory;
  sink: EventSink;
  clock: Clock;
  logs: ScriptLogs;
  baseEnv: Readonly<Record<string, string>>;
  killGraceMs: number;
  outputGraceMs: number;
  /** CodeDeploy fails an event whose script leaves outputs open; Ferry warns by default. */
  outputsLeftOpen: 'warn' | 'fail';
  /** Records a warning on the deployment's result and emits it. */
  warn: (message: string, event: EventName) => void;
  /** The agent's uid (runas needs root). */
  agentUid: number;
  /** Grants a runas user search on the private deployment directory (revision-access.ts). */
  access: RevisionAccess;
  signal?: AbortSignal;
}

/**
 * Gets a script ready as CodeDeploy's agent does (hook_executor.rb `execute`): a script that is
 * not executable gets `chmod +x` in the unpacked revision (so a `files:` copy made after this is
 * 0755 too); then its first bytes say whether it runs directly or through /bin/sh.
 */
export async function prepareScript(file: string, note: (message: string) => void): Promise<ScriptInspection> {
  let st;
  try {
    st = await fs.stat(file);
  } catch {
    return { kind: 'missing' };
  }
  if (!st.isFile()) return { kind: 'missing' };
  if ((st.mode & 0o111) === 0) {
    try {
      await fs.chmod(file, (st.mode & 0o7777) | 0o111);
    } catch (err) {
      return { kind: 'not-executable', reason: describeError(err) };
    }
    note(`made ${file} executable (chmod +x), as CodeDeploy's agent does`);
  }
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return { kind: 'executable', runWith: runWithFor(head.subarray(0, bytesRead)) };
  } finally {
    await fh.close();
  }
}

/** The first executable `name` on a PATH, or undefined. */
export async function findOnPath(name: string, envPath: string | undefined): Promise<string | undefined> {
  for (const dir of (envPath ?? '').split(':').filter(Boolean)) {
    const candidate = path.join(dir, name);
    const ok = await fs.access(candidate, constants.X_OK).then(() => true, () => false);
    if (ok) return candidate;
  }
  return undefined;
}

/**
 * Runs one event's scripts in appspec order; the first failing script ends the event.
 * Returns the failure (without timing fields), or undefined when every script succeeded.
 */
export async function runEventScripts(
  event: EventName,
  scripts: readonly HookScript[],
  context: Omit<HookContext, 'event'>,
  deps: HookRunDeps,
): Promise<Omit<EventResult, 'event' | 'status'> & { failed: boolean; scripts: number }> {
  const ctx: HookContext = { ...context, event };
  let setpriv: string | undefined;
  for (const script of scripts) {
    const at = deps.clock.now();
    deps.sink.emit({ type: 'script-start', event, location: script.location, at });
    void deps.logs.script(script.location);
    const inspection = await prepareScript(path.join(ctx.revisionDir, script.location), m => void deps.logs.note(m));
    let user;
    if (script.runas !== undefined) {
      user = await deps.users.user(script.runas);
      if (!user) {
        return { failed: true, scripts: scripts.length, errorCode: 'UnknownError', script: script.location,
          message: `runas user '${script.runas}' of ${script.location} is not a user on this host` };
      }
      const warning = runasWarning(user, script.location);
      if (warning) deps.warn(warning, event);
      if (deps.agentUid === 0) {
        const opened = await deps.access.grant(ctx.revisionDir, user.uid);
        if (opened) deps.warn(opened, event);
      }
      // util-linux installs it in /usr/bin (or /bin): found even when the agent's PATH is minimal.
      setpriv ??= await findOnPath('setpriv', `${deps.baseEnv.PATH ?? ''}:/usr/bin:/bin`);
    }
    const built = buildInvocation({
      script, inspection, context: ctx, baseEnv: deps.baseEnv, agentUid: deps.agentUid,
      ...(user && { user }), ...(setpriv && { setpriv }),
    });
    if (!built.ok) {
      return { failed: true, scripts: scripts.length, errorCode: built.errorCode, message: built.message, script: script.location };
    }
    const outcome = await deps.runner.run(built.invocation, {
      killGraceMs: deps.killGraceMs,
      outputGraceMs: deps.outputGraceMs,
      ...(deps.signal && { signal: deps.signal }),
      onLine: (stream, line) => {
        deps.sink.emit({ type: 'log', event, stream, line, at: deps.clock.now() });
        void deps.logs.line(stream, line);
      },
    });
    const fail = (errorCode: EventResult['errorCode'], message: string, exitCode?: number) => ({
      failed: true, scripts: scripts.length, errorCode, message, script: script.location,
      ...(exitCode !== undefined && { exitCode }),
    });
    switch (outcome.kind) {
      case 'spawn-failed':
        return fail('UnknownError', `could not start ${script.location}: ${outcome.message}`);
      case 'timed-out':
        return fail('ScriptTimedOut', `${script.location} timed out after ${script.timeoutSeconds} s ` +
          `(its process group was sent TERM${outcome.killed ? ', then KILL' : ''})`);
      case 'cancelled':
        return fail('UnknownError', `${script.location} was cancelled (deployment stopped)`);
      case 'exited': {
        if (outcome.outputsLeftOpen) {
          const msg = `${event}: ${script.location} exited but a process it started still holds stdout/stderr ` +
            `open; stopped reading after ${deps.outputGraceMs} ms. Redirect the background process's output ` +
            `(e.g. \`app > /var/log/app.log 2>&1 &\`)`;
          if (deps.outputsLeftOpen === 'fail') return fail('OutputsLeftOpen', msg, outcome.exitCode ?? undefined);
          deps.warn(msg, event);
          void deps.logs.note(`WARNING ${msg}`);
        }
        if (outcome.exitCode !== 0) {
          const how = outcome.exitCode === null ? `was killed by ${outcome.signal}` : `failed with exit code ${outcome.exitCode}`;
          return fail('ScriptFailed', `Script at specified location: ${script.location} ${how}`, outcome.exitCode ?? undefined);
        }
      }
    }
  }
  return { failed: false, scripts: scripts.length };
}
