import path from 'node:path';
import type { HookScript } from '../../common/appspec/types.js';
import type { EventErrorCode, EventName } from '../../common/lifecycle/events.js';

/** A hook script described as data (docs/design/style.md §7); only the ProcessRunner turns it into a process. */
export interface Invocation {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
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

/**
 * What the executor found (and did) on disk before running the script. CodeDeploy's agent runs
 * `chmod +x` on a script that is not executable (hook_executor.rb `execute`), and exec falls back
 * to /bin/sh for a file that is neither `#!` nor a binary: the executor does both.
 */
export type ScriptInspection =
  | { kind: 'missing' }
  /** Not executable, and `chmod +x` failed (`reason`). */
  | { kind: 'not-executable'; reason: string }
  /** Executable (perhaps just made so); `sh` when it has no `#!` line and is no ELF binary. */
  | { kind: 'executable'; runWith: 'exec' | 'sh' };

export interface HookContext {
  event: EventName;
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
  /** The agent's own uid: only root can run a script as another user. */
  agentUid: number;
  /** util-linux `setpriv`, when the host has it (needed for runas as root). */
  setpriv?: string;
}

export type InvocationResult =
  | { ok: true; invocation: Invocation }
  | { ok: false; errorCode: EventErrorCode; message: string };

/** Hook scripts run from `/`, the agent's working directory, as CodeDeploy's do; this names the revision. */
export const REVISION_DIR_VARIABLE = 'FERRY_REVISION_DIR';
export const SCRIPT_CWD = '/';

/**
 * The environment CodeDeploy gives hook scripts, merged over the agent's own. A runas script
 * gets what `su USER -c` sets (HOME, SHELL, USER, LOGNAME) and keeps the agent's PATH, as su
 * does without ALWAYS_SET_PATH (linux_util.rb `prepare_script_command`).
 */
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
  }
  env.LIFECYCLE_EVENT = ctx.event;
  env.DEPLOYMENT_ID = ctx.deploymentId;
  env.APPLICATION_NAME = ctx.applicationName;
  env.DEPLOYMENT_GROUP_NAME = ctx.groupName;
  env.DEPLOYMENT_GROUP_ID = ctx.groupId;
  env[REVISION_DIR_VARIABLE] = ctx.revisionDir;
  if (ctx.bundleCommit) env.BUNDLE_COMMIT = ctx.bundleCommit;
  else delete env.BUNDLE_COMMIT;
  return env;
}

/**
 * The argv that runs `argv` as `user` with that user's supplementary groups (initgroups), as
 * `su` gives them. util-linux setpriv execs in place (no PAM session, no extra process in
 * between), so the process group, signals and exit status stay the script's own.
 */
export function runasArgv(setpriv: string, user: ResolvedUser, argv: readonly string[]): string[] {
  return [setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', ...argv];
}

/** Pure: script + what is on disk + context → argv, env, cwd and deadline. */
export function buildInvocation(input: InvocationInput): InvocationResult {
  const { script, inspection, context, user } = input;
  const file = path.join(context.revisionDir, script.location);
  if (inspection.kind === 'missing') {
    return { ok: false, errorCode: 'ScriptMissing', message: `script ${script.location} does not exist in the revision (${file})` };
  }
  if (inspection.kind === 'not-executable') {
    return {
      ok: false,
      errorCode: 'ScriptNotExecutable',
      message: `script ${script.location} is not executable and chmod +x failed (${inspection.reason}); ` +
        'check that the deployment root is writable and not mounted noexec',
    };
  }
  let argv: string[] = inspection.runWith === 'sh' ? ['/bin/sh', file] : [file];
  if (user && !(input.agentUid !== 0 && user.uid === input.agentUid)) {
    if (input.agentUid !== 0) {
      return { ok: false, errorCode: 'UnknownError',
        message: `runas ${user.name} of ${script.location}: the agent runs as uid ${input.agentUid}, and only root can run a script as another user` };
    }
    if (!input.setpriv) {
      return { ok: false, errorCode: 'UnknownError',
        message: `runas ${user.name} of ${script.location}: setpriv (util-linux) is not installed on this host; it runs the script with ${user.name}'s groups` };
    }
    argv = runasArgv(input.setpriv, user, argv);
  }
  const invocation: Invocation = {
    file: argv[0]!,
    args: argv.slice(1),
    env: hookEnvironment(context, input.baseEnv, user),
    cwd: SCRIPT_CWD,
    timeoutMs: script.timeoutSeconds * 1000,
    location: script.location,
  };
  return { ok: true, invocation };
}

/** How a file starts decides how it is run: `#!` and ELF binaries directly, anything else by /bin/sh. */
export function runWithFor(head: Buffer): 'exec' | 'sh' {
  if (head.subarray(0, 2).toString('latin1') === '#!') return 'exec';
  if (head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return 'exec';
  return 'sh';
}

/**
 * CodeDeploy runs runas scripts through `su USER -c`, which refuses a user whose login shell is
 * nologin or false: such a script fails there. Ferry runs it, and says so.
 */
export function runasWarning(user: ResolvedUser, location: string): string | undefined {
  const shell = path.basename(user.shell);
  if (shell !== 'nologin' && shell !== 'false') return undefined;
  return `runas ${user.name} of ${location}: ${user.name}'s login shell is ${user.shell}, so on CodeDeploy, which runs ` +
    `runas scripts through su, this script fails (su: "This account is currently not available"); Ferry runs it`;
}
