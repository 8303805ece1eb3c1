import path from 'node:path';
import type { HookScript } from '../../common/appspec/types.js';
import type { EventErrorCode, LifecycleEvent } from '../../common/lifecycle/events.js';

/** A hook script described as data (docs/design/style.md §7); only the ProcessRunner turns it into a process. */
export interface Invocation {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
  timeoutMs: number;
  /** The appspec location, for messages. */
  location: string;
}

export interface ResolvedUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** What the executor learned about the script file on disk. */
export type ScriptInspection =
  | { kind: 'missing' }
  | { kind: 'executable' }
  | { kind: 'not-executable'; shebang?: { interpreter: string; arg?: string } };

export interface HookContext {
  event: LifecycleEvent;
  deploymentId: string;
  applicationName: string;
  groupName: string;
  groupId: string;
  bundleCommit?: string;
  /** The revision directory the script comes from (current or previous revision). */
  revisionDir: string;
}

export interface InvocationInput {
  script: HookScript;
  inspection: ScriptInspection;
  context: HookContext;
  /** The agent's environment with credentials already removed. */
  baseEnv: Readonly<Record<string, string>>;
  /** Set when the script has `runas`; undefined user lookups are reported by the caller. */
  user?: ResolvedUser;
}

export type InvocationResult =
  | { ok: true; invocation: Invocation }
  | { ok: false; errorCode: EventErrorCode; message: string };

const ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const USER_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The environment CodeDeploy gives hook scripts, merged over the agent's own. */
export function hookEnvironment(
  ctx: HookContext,
  baseEnv: Readonly<Record<string, string>>,
  user?: ResolvedUser,
): Record<string, string> {
  const env: Record<string, string> = { ...baseEnv };
  if (user) {
    env.HOME = user.home;
    env.USER = user.name;
    env.LOGNAME = user.name;
    env.SHELL = user.shell;
    env.PATH = user.uid === 0 ? ROOT_PATH : USER_PATH;
  }
  env.LIFECYCLE_EVENT = ctx.event;
  env.DEPLOYMENT_ID = ctx.deploymentId;
  env.APPLICATION_NAME = ctx.applicationName;
  env.DEPLOYMENT_GROUP_NAME = ctx.groupName;
  env.DEPLOYMENT_GROUP_ID = ctx.groupId;
  if (ctx.bundleCommit) env.BUNDLE_COMMIT = ctx.bundleCommit;
  else delete env.BUNDLE_COMMIT;
  return env;
}

/** Pure: script + what is on disk + context → argv, env, cwd, uid/gid and deadline. */
export function buildInvocation(input: InvocationInput): InvocationResult {
  const { script, inspection, context } = input;
  const file = path.join(context.revisionDir, script.location);
  if (inspection.kind === 'missing') {
    return { ok: false, errorCode: 'ScriptMissing', message: `script ${script.location} does not exist in the revision (${file})` };
  }
  let argv: [string, ...string[]] = [file];
  if (inspection.kind === 'not-executable') {
    if (!inspection.shebang) {
      return {
        ok: false,
        errorCode: 'ScriptNotExecutable',
        message: `script ${script.location} is not executable and has no #! line; chmod +x it in the bundle`,
      };
    }
    const { interpreter, arg } = inspection.shebang;
    argv = arg !== undefined ? [interpreter, arg, file] : [interpreter, file];
  }
  const invocation: Invocation = {
    file: argv[0],
    args: argv.slice(1),
    env: hookEnvironment(context, input.baseEnv, input.user),
    cwd: context.revisionDir,
    timeoutMs: script.timeoutSeconds * 1000,
    location: script.location,
  };
  if (input.user) {
    invocation.uid = input.user.uid;
    invocation.gid = input.user.gid;
  }
  return { ok: true, invocation };
}

/** Parses a `#!` line the way Linux does: the interpreter, then at most one argument. */
export function parseShebang(firstLine: string): { interpreter: string; arg?: string } | undefined {
  if (!firstLine.startsWith('#!')) return undefined;
  const rest = firstLine.slice(2).trim();
  if (rest === '') return undefined;
  const m = /^(\S+)(?:\s+(.*))?$/.exec(rest);
  if (!m || !m[1]) return undefined;
  const arg = m[2]?.trim();
  return arg ? { interpreter: m[1], arg } : { interpreter: m[1] };
}
