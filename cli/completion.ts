import type { Command } from 'commander';

/**
 * Shell completion scripts generated from the commander tree (pure): every command, subcommand and
 * option registered on the program appears, so commands added later are completed without edits here.
 */

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

export interface CommandEntry {
  /** Space-separated path below `ferry` ('' for the root, e.g. 'deploy create'). */
  path: string;
  subcommands: string[];
  options: string[];
  description: string;
}

/** Every command of the tree, depth first, the root first. Commander's implicit `help` is left out. */
export function commandEntries(root: Command): CommandEntry[] {
  const out: CommandEntry[] = [];
  const walk = (cmd: Command, path: string) => {
    const subs = cmd.commands.filter(c => c.name() !== 'help');
    const globals = path === '' ? [] : globalOptions(root);
    out.push({
      path,
      subcommands: subs.map(c => c.name()),
      options: [...new Set([...cmd.options.map(o => o.long ?? o.short ?? '').filter(Boolean), ...globals, '--help'])],
      description: cmd.description(),
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

function wordsFunction(entries: readonly CommandEntry[]): string {
  const cases = entries.map(e => `    ${quote(e.path)}) echo ${quote(words(e))} ;;`).join('\n');
  return `_ferry_words() {\n  case "$1" in\n${cases}\n  esac\n}`;
}

export function completionScript(root: Command, shell: CompletionShell): string {
  const entries = commandEntries(root);
  if (shell === 'bash') {
    return `# ferry completion for bash. Load it now:   source <(ferry completion bash)
# or for every shell:                          ferry completion bash > /etc/bash_completion.d/ferry
${wordsFunction(entries)}
_ferry() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmdpath="" next w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) continue ;; esac
    next="\${cmdpath:+$cmdpath }$w"
    [ -n "$(_ferry_words "$next")" ] && cmdpath="$next"
  done
  COMPREPLY=($(compgen -W "$(_ferry_words "$cmdpath")" -- "$cur"))
}
complete -F _ferry ferry
`;
  }
  return `# ferry completion for zsh. Load it now (after compinit):   source <(ferry completion zsh)
# or for every shell: add that line to ~/.zshrc
${wordsFunction(entries)}
_ferry() {
  local cmdpath="" next w i
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    [[ "$w" == -* ]] && continue
    next="\${cmdpath:+$cmdpath }$w"
    [[ -n "$(_ferry_words "$next")" ]] && cmdpath="$next"
  done
  local -a candidates
  candidates=(\${=$(_ferry_words "$cmdpath")})
  compadd -- $candidates
}
compdef _ferry ferry
`;
}
