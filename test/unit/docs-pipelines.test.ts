import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Command } from 'commander';
import { REPO } from '../helpers/agent-cli.js';
import { createRequest } from '../../cli/deploy-request.js';
import { promoteRequest } from '../../cli/commands/promote.js';
import { buildProgram } from '../../cli/program.js';
import { Runner } from '../../cli/session.js';

/**
 * docs/pipelines.md cannot drift: every `ferry …` command in its code blocks (sh, YAML, Groovy) is
 * parsed by the real commander program — unknown flags, missing required flags or arguments fail —
 * and deploy create / promote lines also go through their flag → request conversion.
 */

const DOC = path.join(REPO, 'docs', 'pipelines.md');

/** The code blocks' `ferry …` invocations, cut at a pipe, a redirect, a `)` or the closing quote of a Groovy string. */
function ferryCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```(\w*)\n([\s\S]*?)```/g)].filter(m => m[1] !== 'json').map(m => m[2]!);
  const out: string[] = [];
  for (const block of blocks) {
    for (const line of block.split('\n')) {
      if (/^\s*#/.test(line)) continue;
      for (const m of line.matchAll(/(?:^|[\s(=:'])ferry\s+([^|)'>\n#]*)/g)) out.push(m[1]!.trim());
    }
  }
  return out;
}

/** Shell words: double and single quotes kept together; a word with a variable gets a sample value. */
function words(command: string): string[] {
  const raw = [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map(m => m[1] ?? m[2] ?? m[3]!);
  return raw.map((w, i) => {
    if (!w.includes('$')) return w;
    if (raw[i - 1] === '--revision') return 'ab'.repeat(32);
    if (raw[i - 1] === '--commit') return 'HEAD';
    return w.includes('CI ') ? 'CI 0123abc' : 'd-SAMPLE123';
  });
}

interface Parsed {
  path: string;
  opts: Record<string, unknown>;
}

/** Parses argv with the real program, every runnable command's action replaced by a recorder. */
async function parse(argv: string[]): Promise<{ parsed?: Parsed; output: string; error?: unknown }> {
  let output = '';
  const runner = new Runner({
    writer: { out: s => void (output += s), err: s => void (output += s) },
    env: { noColor: true, stdoutIsTTY: false, stderrIsTTY: false, columns: 80 },
    now: () => 0,
    cwd: REPO,
  });
  const program = buildProgram(runner);
  let parsed: Parsed | undefined;
  const leaves = (c: Command, prefix: string): void => {
    for (const sub of c.commands) {
      const name = prefix ? `${prefix} ${sub.name()}` : sub.name();
      if (sub.commands.length === 0) sub.action((...a: unknown[]) => void (parsed = { path: name, opts: (a[a.length - 1] as Command).opts() }));
      else leaves(sub, name);
    }
  };
  leaves(program, '');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { ...(parsed && { parsed }), output };
  } catch (error) {
    return { output, error };
  }
}

const commands = ferryCommands(readFileSync(DOC, 'utf8'));

t.test('the docs have the pipeline commands to check', async t => {
  t.ok(commands.length >= 25, `${commands.length} ferry commands found`);
  for (const verb of ['revision push', 'deploy create', 'deploy wait', 'deploy approve', 'promote']) {
    t.ok(commands.some(c => c.startsWith(verb)), `an example of ferry ${verb}`);
  }
});

t.test('every ferry command in docs/pipelines.md parses against the real CLI', async t => {
  for (const command of commands) {
    const argv = words(command);
    const r = await parse(argv);
    t.notOk(r.error, `ferry ${command}: parses${r.error ? ` (${r.output.trim()})` : ''}`);
    t.ok(r.parsed, `ferry ${command}: runs a command, not the help`);
    if (r.parsed?.path === 'deploy create') t.doesNotThrow(() => createRequest(r.parsed!.opts), `ferry ${command}: flag values`);
    if (r.parsed?.path === 'promote') t.doesNotThrow(() => promoteRequest(r.parsed!.opts), `ferry ${command}: flag values`);
  }
});

t.test('the check catches drift: a renamed flag or a missing one fails', async t => {
  t.ok((await parse(['deploy', 'create', '--app', 'shop', '--group', 'web', '--rev', 'latest'])).error);
  t.ok((await parse(['promote', '--app', 'shop', '--from', 'staging'])).error, '--to is required');
  t.same(ferryCommands('```sh\nX=$(ferry app list --json | jq .)\n# ferry not this\n```\n```groovy\nsh \'ferry hosts list\'\n```\n'), ['app list --json', 'hosts list']);
});
