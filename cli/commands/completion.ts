import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import { parseDuration } from '../args.js';
import { COMPLETE_COMMAND, COMPLETION_SHELLS, type CompletionShell, VALUE_KINDS, type ValueKind, completionScript } from '../completion.js';
import { type GlobalFlags, resolveCliConfig } from '../config.js';
import { type Runner, Session } from '../session.js';

/** How long `ferry __complete` may take: a shell waiting on TAB, not a command (FERRY_COMPLETE_TIMEOUT changes it). */
export const COMPLETE_TIMEOUT_MS = 2000;

/** FERRY_COMPLETE_TIMEOUT (a duration), else 2 s; a bad value is the default (completion prints no errors). */
function completeTimeoutMs(raw: string | undefined): number {
  if (raw === undefined) return COMPLETE_TIMEOUT_MS;
  try {
    const ms = parseDuration(raw, 'FERRY_COMPLETE_TIMEOUT');
    return ms > 0 ? ms : COMPLETE_TIMEOUT_MS;
  } catch {
    return COMPLETE_TIMEOUT_MS;
  }
}

/** The values of one kind, from the coordinator: names and ids, one a line. */
async function completionValues(s: Session, kind: ValueKind, app: string | undefined): Promise<string[]> {
  const api = s.api();
  switch (kind) {
    case 'app': return (await api.listApplications()).applications.map(a => a.name);
    case 'config': return (await api.listDeploymentConfigs()).configs.map(c => c.name);
    case 'host': return (await api.listHosts()).hosts.map(h => h.id);
    case 'deployment': return (await api.listDeployments({ application: app ?? '', group: '', limit: 50, host: '' })).deployments.map(d => d.id);
    case 'group': {
      const apps = app ? [app] : (await api.listApplications()).applications.map(a => a.name);
      const groups = await Promise.all(apps.map(async a => (await api.listDeploymentGroups({ application: a })).groups.map(g => g.name)));
      return [...new Set(groups.flat())];
    }
  }
}

/**
 * `ferry __complete KIND [--app A]` (hidden; the completion scripts call it): prints the
 * coordinator's applications, groups (of --app, else of every application), configs, recent
 * deployment ids or hosts, one a line. A shell is waiting: it gives up after 2 s (FERRY_COMPLETE_TIMEOUT), and prints
 * nothing on any error (no coordinator, no token, an unknown kind), always exiting 0.
 */
function registerCompleteCommand(program: Command, r: Runner): void {
  program
    .command(`${COMPLETE_COMMAND} <kind>`, { hidden: true })
    .description('print completion values from the coordinator (used by the completion scripts)')
    .option('--app <app>', 'the application (for groups and deployments)')
    .action(async (kind: string, opts: { app?: string }, command: Command) => {
      if (!(VALUE_KINDS as readonly string[]).includes(kind)) return;
      let session: Session | undefined;
      let timer: NodeJS.Timeout | undefined;
      const timeoutMs = completeTimeoutMs(r.deps.env.completeTimeout);
      try {
        session = new Session(resolveCliConfig(r.deps.env, command.optsWithGlobals<GlobalFlags>()), r.deps, timeoutMs);
        const s = session;
        const values = await Promise.race([
          (async () => {
            await s.prepare();
            return completionValues(s, kind as ValueKind, opts.app);
          })(),
          new Promise<string[]>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs))),
        ]);
        if (values.length > 0) r.deps.writer.out(`${values.join('\n')}\n`);
      } catch {
        // Nothing: a completion that fails offers no values.
      } finally {
        clearTimeout(timer);
        session?.close();
      }
    });
}

export function registerCompletionCommand(program: Command, r: Runner): void {
  r.action(
    r.leaf(program, 'completion <shell>', 'print a shell completion script (bash, zsh or fish) for every ferry command and flag, and for applications, groups, configs, deployment ids and hosts from the coordinator', [
      'source <(ferry completion bash)                 # bash, this shell',
      'ferry completion bash > /etc/bash_completion.d/ferry',
      'source <(ferry completion zsh)                  # zsh, after compinit (e.g. in ~/.zshrc)',
      'ferry completion fish > ~/.config/fish/completions/ferry.fish',
      '  # then: ferry deploy status <TAB> offers recent deployment ids; --app <TAB> the applications (2 s at most, nothing on error)',
    ]),
    async (s, [shell]) => {
      const name = (shell ?? '').trim().toLowerCase();
      if (!(COMPLETION_SHELLS as readonly string[]).includes(name)) {
        throw new FerryError('INVALID_ARGUMENT', `SHELL: '${shell}' is not one of ${COMPLETION_SHELLS.join(', ')}`);
      }
      const script = completionScript(program, name as CompletionShell);
      if (s.out.json) return s.out.document({ shell: name, script });
      s.deps.writer.out(script);
    },
  );
  registerCompleteCommand(program, r);
}
