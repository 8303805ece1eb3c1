import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import { COMPLETION_SHELLS, type CompletionShell, completionScript } from '../completion.js';
import type { Runner } from '../session.js';

export function registerCompletionCommand(program: Command, r: Runner): void {
  r.action(
    r.leaf(program, 'completion <shell>', 'print a shell completion script (bash or zsh) for every ferry command and flag', [
      'source <(ferry completion bash)                 # bash, this shell',
      'ferry completion bash > /etc/bash_completion.d/ferry',
      'source <(ferry completion zsh)                  # zsh, after compinit (e.g. in ~/.zshrc)',
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
}
