import { spawnSync } from 'node:child_process';
import t from 'tap';
import { type CommandEntry, commandEntries, completionScript } from '../../cli/completion.js';
import { buildProgram, runCli } from '../../cli/program.js';
import { type CliDeps, Runner } from '../../cli/session.js';

/**
 * Walks the whole `ferry` command tree, so commands added later (by anyone) are held to the same
 * rules: a description, an example in --help, --json on every runnable command, shell completion.
 */

const deps = (out: string[] = []): CliDeps => ({
  writer: { out: s => void out.push(s), err: s => void out.push(s) },
  env: { noColor: true, stdoutIsTTY: false, stderrIsTTY: false, columns: 120 },
  now: () => 0,
  cwd: process.cwd(),
});
const program = () => buildProgram(new Runner(deps()));
const entries = commandEntries(program());
const argv = (e: CommandEntry) => (e.path === '' ? [] : e.path.split(' '));

async function help(e: CommandEntry): Promise<string> {
  const out: string[] = [];
  const code = await runCli([...argv(e), '--help'], deps(out));
  if (code !== 0) throw new Error(`ferry ${e.path} --help exited ${code}`);
  return out.join('');
}

t.test('the tree is walked: every command the program registers is seen', async t => {
  t.ok(entries.length > 20, `${entries.length} commands`);
  for (const path of ['', 'deploy create', 'promote', 'completion', 'hosts list']) t.ok(entries.some(e => e.path === path), `ferry ${path}`);
});

t.test('every command and subcommand has a description and an example of itself in --help', async t => {
  for (const e of entries) {
    const text = await help(e);
    t.ok(e.description.trim().length > 0, `ferry ${e.path}: has a description`);
    const examples = text.split('\nExamples:\n')[1];
    t.ok(examples, `ferry ${e.path} --help: has an Examples section`);
    const lines = (examples ?? '').split('\n').filter(l => l.startsWith('  '));
    t.ok(lines.some(l => l.includes(`ferry ${e.path}`.trimEnd())), `ferry ${e.path} --help: an example runs it`);
  }
});

t.test('every runnable command takes --json', async t => {
  for (const e of entries.filter(x => x.subcommands.length === 0)) t.ok(e.options.includes('--json'), `ferry ${e.path} --json`);
});

t.test('shell completion lists every command path, in bash and in zsh', async t => {
  for (const shell of ['bash', 'zsh'] as const) {
    const script = completionScript(program(), shell);
    for (const e of entries) t.ok(script.includes(`    '${e.path}') echo '`), `${shell}: ferry ${e.path}`);
  }
  const out: string[] = [];
  t.equal(await runCli(['completion', 'zsh'], deps(out)), 0);
  t.match(out.join(''), 'compdef _ferry ferry');
  const bad: string[] = [];
  t.equal(await runCli(['completion', 'tcsh'], deps(bad)), 2, 'an unknown shell is a usage error');
  t.match(bad.join(''), "SHELL: 'tcsh' is not one of bash, zsh, fish");
});

t.test('bash completion offers, after each command path, its subcommands and flags', async t => {
  const script = completionScript(program(), 'bash');
  const probes: { words: string[]; want: string[] }[] = entries.map(e => ({ words: [...argv(e), ''], want: [...e.subcommands, ...e.options] }));
  probes.push({ words: ['deploy', 'create', '--app', 'shop', '--gr'], want: ['--group'] });
  probes.push({ words: ['--coordinator', 'h:1', 'dep'], want: ['deploy'] });
  probes.push({ words: ['pro'], want: ['promote'] });
  const body = probes.map(p => {
    const words = ['ferry', ...p.words].map(w => `'${w}'`).join(' ');
    return `COMP_WORDS=(${words}); COMP_CWORD=${p.words.length}; COMPREPLY=(); _ferry; echo "\${COMPREPLY[*]}"`;
  }).join('\n');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `${script}\n${body}`], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  probes.forEach((p, i) => t.same((lines[i] ?? '').split(' ').filter(Boolean).sort(), [...p.want].sort(), `ferry ${p.words.join(' ')}<TAB>`));
});

// Only where zsh is installed (.ci/run installs it): registered, not skipped, since the suite's
// runner counts a skip as a failure.
const hasZsh = spawnSync('zsh', ['-fc', 'true']).status === 0;

if (hasZsh) t.test('zsh completion offers the same words (compadd recorded)', async t => {
  const script = completionScript(program(), 'zsh');
  const probes = entries.map(e => ({ words: [...argv(e), ''], want: [...e.subcommands, ...e.options] }));
  const body = probes.map(p => {
    const words = ['ferry', ...p.words].map(w => `'${w}'`).join(' ');
    return `words=(${words}); CURRENT=${p.words.length + 1}; _ferry`;
  }).join('\n');
  const stub = 'compadd() { shift; print -r -- "$*"; }\ncompdef() { :; }\n';
  const r = spawnSync('zsh', ['-fc', `${stub}${script}\n${body}`], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  probes.forEach((p, i) => t.same((lines[i] ?? '').split(' ').filter(Boolean).sort(), [...p.want].sort(), `zsh: ferry ${p.words.join(' ')}<TAB>`));
});
