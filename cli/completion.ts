import type { Command } from 'commander';

/**
 * Shell completion scripts generated from the commander tree (pure): every command, subcommand and
 * option registered on the program appears, so commands added later are completed without edits here.
 */

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** The values completed from the coordinator (`ferry __complete KIND`). */
export const VALUE_KINDS = ['app', 'group', 'config', 'deployment', 'host'] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

/** The hidden command the scripts call for values: quick, silent on any error. */
export const COMPLETE_COMMAND = '__complete';

export interface CommandEntry {
  /** Space-separated path below `ferry` ('' for the root, e.g. 'deploy create'). */
  path: string;
  subcommands: string[];
  options: string[];
  description: string;
  /** Options whose value is an application, group, config, deployment or host (`--app` → app). */
  valueOptions: Record<string, ValueKind>;
  /** What the positional argument names, when it is one of those (`deploy status <id>` → deployment). */
  argument?: ValueKind;
}

/** The kind of value an option takes, from its name and its placeholder (`--name <group>`). */
function optionKind(long: string, flags: string): ValueKind | undefined {
  const arg = /<([^>]+)>/.exec(flags)?.[1];
  if (long === '--app' || arg === 'app') return 'app';
  if (long === '--group' || arg === 'group') return 'group';
  if (arg === 'config') return 'config';
  if (long === '--host') return 'host';
  return undefined;
}

/** The kind of a command's first positional argument (an existing deployment, host or application). */
function argumentKind(path: string, name: string | undefined): ValueKind | undefined {
  if (name === 'id' && path.startsWith('deploy ')) return 'deployment';
  if (name === 'id' && path.startsWith('hosts ')) return 'host';
  if (name === 'name' && path === 'app delete') return 'app';
  return undefined;
}

const isHidden = (c: Command): boolean => (c as unknown as { _hidden?: boolean })._hidden === true;

/** Every command of the tree, depth first, the root first. Commander's implicit `help` and hidden commands are left out. */
export function commandEntries(root: Command): CommandEntry[] {
  const out: CommandEntry[] = [];
  const walk = (cmd: Command, path: string) => {
    const subs = cmd.commands.filter(c => c.name() !== 'help' && !isHidden(c));
    const globals = path === '' ? [] : globalOptions(root);
    const valueOptions: Record<string, ValueKind> = {};
    if (path !== '') {
      for (const o of cmd.options) {
        const kind = o.long ? optionKind(o.long, o.flags) : undefined;
        if (kind) valueOptions[o.long!] = kind;
      }
    }
    const argument = argumentKind(path, cmd.registeredArguments[0]?.name());
    out.push({
      path,
      subcommands: subs.map(c => c.name()),
      options: [...new Set([...cmd.options.map(o => o.long ?? o.short ?? '').filter(Boolean), ...globals, '--help'])],
      description: cmd.description(),
      valueOptions,
      ...(argument && { argument }),
    });
    for (const c of subs) walk(c, path ? `${path} ${c.name()}` : c.name());
  };
  walk(root, '');
  return out;
}

function globalOptions(root: Command): string[] {
  return root.options.map(o => o.long ?? '').filter(o => o !== '' && o !== '--version');
}

/** The words offered after a command path: its subcommands, then its options. */
const words = (e: CommandEntry) => [...e.subcommands, ...e.options].join(' ');
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `path|--option` → kind, and `path|` → the positional argument's kind. */
function kindCases(entries: readonly CommandEntry[]): [string, ValueKind][] {
  const cases: [string, ValueKind][] = [];
  for (const e of entries) {
    for (const [o, k] of Object.entries(e.valueOptions)) cases.push([`${e.path}|${o}`, k]);
    if (e.argument) cases.push([`${e.path}|`, e.argument]);
  }
  return cases;
}

/** bash and zsh: `_ferry_words PATH` and `_ferry_kind 'PATH|OPTION'`. */
function shFunctions(entries: readonly CommandEntry[]): string {
  const cases = entries.map(e => `    ${quote(e.path)}) echo ${quote(words(e))} ;;`).join('\n');
  const kinds = kindCases(entries).map(([key, k]) => `    ${quote(key)}) echo ${k} ;;`).join('\n');
  return `_ferry_words() {\n  case "$1" in\n${cases}\n  esac\n}\n_ferry_kind() {\n  case "$1" in\n${kinds}\n  esac\n}`;
}

/** The coordinator options of the line being completed are passed on to `ferry __complete`. */
const CONNECTION_OPTIONS = ['--coordinator', '--token', '--ca', '--ca-fingerprint'];

export function completionScript(root: Command, shell: CompletionShell): string {
  const entries = commandEntries(root);
  const conn = CONNECTION_OPTIONS.join('|');
  if (shell === 'bash') {
    return `# ferry completion for bash. Load it now:   source <(ferry completion bash)
# or for every shell:                          ferry completion bash > /etc/bash_completion.d/ferry
# Applications, groups, configs, deployment ids and hosts come from the coordinator (ferry ${COMPLETE_COMMAND} KIND).
${shFunctions(entries)}
_ferry() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmdpath="" next w i app="" kind="" values="" more=
  local -a conn=()
  ((COMP_CWORD > 1)) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --app) app="\${COMP_WORDS[i+1]}" ;;
      ${conn}) conn+=("$w" "\${COMP_WORDS[i+1]}") ;;
    esac
    case "$w" in -*) continue ;; esac
    next="\${cmdpath:+$cmdpath }$w"
    [ -n "$(_ferry_words "$next")" ] && cmdpath="$next"
  done
  case "$prev" in -*) kind="$(_ferry_kind "$cmdpath|$prev")" ;; esac
  # A positional argument (deploy status <id>): its values, and the command's flags as before.
  if [ -z "$kind" ] && [[ "$cur" != -* ]] && [[ "$prev" != -* ]]; then kind="$(_ferry_kind "$cmdpath|")"; more="$(_ferry_words "$cmdpath")"; fi
  if [ -n "$kind" ]; then
    values="$(ferry "\${conn[@]}" ${COMPLETE_COMMAND} "$kind" \${app:+--app "$app"} 2>/dev/null)"
    COMPREPLY=($(compgen -W "$values $more" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -W "$(_ferry_words "$cmdpath")" -- "$cur"))
}
complete -F _ferry ferry
`;
  }
  if (shell === 'fish') return fishScript(entries);
  return `# ferry completion for zsh. Load it now (after compinit):   source <(ferry completion zsh)
# or for every shell: add that line to ~/.zshrc
# Applications, groups, configs, deployment ids and hosts come from the coordinator (ferry ${COMPLETE_COMMAND} KIND).
${shFunctions(entries)}
_ferry() {
  local cmdpath="" next w i app="" kind="" prev="" cur="\${words[CURRENT]}"
  local -a conn candidates
  (( CURRENT > 2 )) && prev="\${words[CURRENT-1]}"
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    case "$w" in
      --app) app="\${words[i+1]}" ;;
      ${conn}) conn+=("$w" "\${words[i+1]}") ;;
    esac
    [[ "$w" == -* ]] && continue
    next="\${cmdpath:+$cmdpath }$w"
    [[ -n "$(_ferry_words "$next")" ]] && cmdpath="$next"
  done
  [[ "$prev" == -* ]] && kind="$(_ferry_kind "$cmdpath|$prev")"
  local positional=""
  if [[ -z "$kind" && "$cur" != -* && "$prev" != -* ]]; then kind="$(_ferry_kind "$cmdpath|")"; positional=1; fi
  if [[ -n "$kind" ]]; then
    candidates=(\${(f)"$(ferry $conn ${COMPLETE_COMMAND} $kind \${app:+--app} \${app:+$app} 2>/dev/null)"})
    [[ -n "$positional" ]] && candidates+=(\${=$(_ferry_words "$cmdpath")})
  else
    candidates=(\${=$(_ferry_words "$cmdpath")})
  fi
  compadd -- $candidates
}
compdef _ferry ferry
`;
}

/** fish: the same tables as functions, one `complete` rule that asks them. */
function fishScript(entries: readonly CommandEntry[]): string {
  const cases = entries.map(e => `    case ${quote(e.path)}\n        echo ${quote(words(e))}`).join('\n');
  const kinds = kindCases(entries).map(([key, k]) => `    case ${quote(key)}\n        echo ${k}`).join('\n');
  return `# ferry completion for fish. Load it now:   ferry completion fish | source
# or for every shell:                       ferry completion fish > ~/.config/fish/completions/ferry.fish
# Applications, groups, configs, deployment ids and hosts come from the coordinator (ferry ${COMPLETE_COMMAND} KIND).
function __ferry_words
    switch $argv[1]
${cases}
    end
end
function __ferry_kind
    switch $argv[1]
${kinds}
    end
end
function __ferry_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l cmdpath ''
    set -l app ''
    set -l conn
    set -l prev ''
    test (count $tokens) -gt 1; and set prev $tokens[-1]
    set -l n (count $tokens)
    for i in (seq 2 $n)
        set -l w $tokens[$i]
        set -l j (math $i + 1)
        if test $j -le $n
            switch $w
                case --app
                    set app $tokens[$j]
                case ${CONNECTION_OPTIONS.join(' ')}
                    set -a conn $w $tokens[$j]
            end
        end
        string match -q -- '-*' $w; and continue
        set -l next (string trim -- "$cmdpath $w")
        test -n "$(__ferry_words $next)"; and set cmdpath $next
    end
    set -l kind ''
    set -l positional ''
    string match -q -- '-*' $prev; and set kind (__ferry_kind "$cmdpath|$prev")
    if test -z "$kind"; and not string match -q -- '-*' $cur; and not string match -q -- '-*' $prev
        set kind (__ferry_kind "$cmdpath|")
        set positional 1
    end
    if test -n "$kind"
        set -l appflag
        test -n "$app"; and set appflag --app $app
        ferry $conn ${COMPLETE_COMMAND} $kind $appflag 2>/dev/null
        test -n "$positional"; and string split ' ' -- (__ferry_words $cmdpath)
        return
    end
    string split ' ' -- (__ferry_words $cmdpath)
end
complete -c ferry -f -a '(__ferry_complete)'
`;
}
