import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Command, CommanderError } from 'commander';
import { REPO } from '../helpers/agent-cli.js';
import { FERRY_VERSION } from '../../common/version.js';
import { buildProgram } from '../../cli/program.js';
import { Runner } from '../../cli/session.js';
import { localCommand } from '../../agent/local/command.js';
import { startCommand } from '../../agent/start/command.js';
import { enrollCommand } from '../../agent/start/enroll.js';
import { coordinatorCommand } from '../../coordinator/main.js';
import { tlsVerbCommand } from '../../coordinator/security/tls-verb.js';
import { INIT_VERB } from '../../coordinator/security/init.js';
import { RENEW_CERT_VERB } from '../../coordinator/security/server-cert.js';
import { backupCommand } from '../../coordinator/backup.js';
import { migrateStoreCommand } from '../../coordinator/store/pg-migrate-store.js';
import { installCommand, uninstallCommand } from '../../ops/install/command.js';

/**
 * The docs cannot drift from the programs: every `ferry …`, `ferry-agent …` and
 * `ferry-coordinator …` command line in the code blocks of README.md, docs/**.md and the programs'
 * READMEs is parsed by the real commander program of that binary — every action replaced by a
 * recorder, so nothing runs and no coordinator is contacted. An unknown command or flag, a missing
 * required flag or argument, or a stray argument fails, naming the file, the line and commander's error.
 */

const PAGES = [
  'README.md', 'agent/README.md', 'coordinator/README.md', 'cli/README.md',
  ...(function walk(dir: string): string[] {
    return readdirSync(path.join(REPO, dir)).flatMap(name => {
      const rel = path.join(dir, name);
      if (statSync(path.join(REPO, rel)).isDirectory()) return walk(rel);
      return rel.endsWith('.md') ? [rel] : [];
    });
  })('docs'),
];

type Program = 'ferry' | 'ferry-agent' | 'ferry-coordinator';

export interface CommandLine {
  file: string;
  line: number;
  program: Program;
  argv: string[];
  text: string;
}

/** The lines of a page's code blocks (not JSON), continuation lines joined, with their line numbers; console blocks: only `$ ` lines. */
function codeLines(markdown: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  const lines = markdown.split('\n');
  let lang: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```(\w*)/.exec(lines[i]!);
    if (fence) {
      lang = lang === undefined ? fence[1]! : undefined;
      continue;
    }
    if (lang === undefined || lang === 'json') continue;
    let text = lines[i]!;
    const start = i;
    while (/\\\s*$/.test(text) && i + 1 < lines.length && !/^\s*```/.test(lines[i + 1]!)) text = text.replace(/\\\s*$/, ' ') + lines[++i]!.trim();
    if (lang === 'console') {
      if (!/^\s*\$ /.test(text)) continue;
      text = text.replace(/^\s*\$ /, '');
    }
    out.push({ line: start + 1, text });
  }
  return out;
}

/**
 * Splits what follows a program name into shell words, up to the end of that command: an unquoted
 * `|`, `;`, `&`, `)`, `>` or `#`, or the quote that closes the string the command sits in (a
 * Groovy or YAML `sh 'ferry …'`). `[--json]` (an optional flag) counts as `--json`.
 */
function shellWords(rest: string, enclosing: string | undefined): string[] {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === enclosing) break;
    if ((c === '"' || c === "'") && c !== enclosing) {
      const end = rest.indexOf(c, i + 1);
      if (end < 0) break;
      word = (word ?? '') + rest.slice(i + 1, end);
      i = end;
      continue;
    }
    if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
      continue;
    }
    if ('|;&)>'.includes(c) || (c === '#' && word === undefined)) break;
    if (c === '\\' && i + 1 < rest.length) {
      word = (word ?? '') + rest[++i]!;
      continue;
    }
    word = (word ?? '') + c;
  }
  if (word !== undefined) out.push(word);
  return out.map(w => w.replace(/^\[(?=-)/, '').replace(/\]$/, '')).filter(w => w !== '');
}

/** A word with a shell variable gets a sample value of the kind its flag takes. */
function sample(words: string[]): string[] {
  return words.map((w, i) => {
    if (!w.includes('$')) return w;
    const flag = words[i - 1];
    if (flag === '--revision') return 'ab'.repeat(32);
    if (flag === '--commit') return 'HEAD';
    if (flag === '--description') return 'CI 0123abc';
    return 'd-SAMPLE123';
  });
}

/** Every invocation of the three programs in a page's code blocks. */
export function commandLines(file: string, markdown: string): CommandLine[] {
  const out: CommandLine[] = [];
  for (const { line, text } of codeLines(markdown)) {
    if (/^\s*#/.test(text)) continue;
    if (/[\u2500-\u257f\u25b6\u25c0]/.test(text)) continue; // a diagram's box (`│ ferry-agent start │`), not a command line
    for (const m of text.matchAll(/(^|[\s(;&|=:'"`])(?:[\w./-]*bin\/)?(ferry-agent|ferry-coordinator|ferry)(?=\s|$|['"])/g)) {
      const before = m[1]!;
      const rest = text.slice(m.index! + m[0].length);
      const argv = sample(shellWords(rest, before === "'" || before === '"' ? before : undefined));
      if (argv.length === 0) continue; // a service name (`systemctl restart ferry-agent`), not a command line
      out.push({ file, line, program: m[2] as Program, argv, text: `${m[2]} ${argv.join(' ')}` });
    }
  }
  return out;
}

/** Every command of a tree gets a recording action, no output of its own, and throws instead of exiting. */
function disarm(root: Command, record: (path: string) => void, errors: (s: string) => void): Command {
  const visit = (c: Command, prefix: string): void => {
    c.exitOverride().configureOutput({ writeOut: () => {}, writeErr: errors, outputError: errors });
    if (c.commands.length === 0 && c !== root) c.action(() => record(prefix));
    for (const sub of c.commands) visit(sub, prefix ? `${prefix} ${sub.name()}` : sub.name());
  };
  visit(root, '');
  if (root.commands.length === 0) root.action(() => record(''));
  return root;
}

function ferryProgram(): Command {
  const runner = new Runner({
    writer: { out: () => {}, err: () => {} },
    env: { noColor: true, stdoutIsTTY: false, stderrIsTTY: false, columns: 80 },
    now: () => 0,
    cwd: REPO,
  });
  return buildProgram(runner);
}

/** `ferry-agent`: its own commands (agent/main.ts) plus install and uninstall (ops/ferry-agent.ts). */
function agentProgram(): Command {
  const program = new Command('ferry-agent').version(FERRY_VERSION);
  for (const c of [localCommand(), startCommand(), enrollCommand(), installCommand('ferry-agent'), uninstallCommand('ferry-agent')]) program.addCommand(c);
  return program;
}

/** `ferry-coordinator`: the verbs ops/ferry-coordinator.ts and coordinator/main.ts dispatch on, then the server's own flags. */
function coordinatorProgram(verb: string | undefined): { program: Command; skip: number } {
  if (verb === 'init') return { program: tlsVerbCommand(INIT_VERB), skip: 1 };
  if (verb === 'renew-cert') return { program: tlsVerbCommand(RENEW_CERT_VERB), skip: 1 };
  if (verb === 'backup') return { program: backupCommand(), skip: 1 };
  if (verb === 'migrate-store') return { program: migrateStoreCommand(), skip: 1 };
  if (verb === 'install' || verb === 'uninstall') {
    const program = new Command('ferry-coordinator').version(FERRY_VERSION);
    program.addCommand(installCommand('ferry-coordinator')).addCommand(uninstallCommand('ferry-coordinator'));
    return { program, skip: 0 };
  }
  return { program: coordinatorCommand(), skip: 0 };
}

/** Parses one command line with its program; the command path it would run, or commander's error. */
export async function parseLine(program: Program, argv: readonly string[]): Promise<{ ran?: string; error?: string }> {
  let ran: string | undefined;
  let errors = '';
  const built = program === 'ferry' ? { program: ferryProgram(), skip: 0 }
    : program === 'ferry-agent' ? { program: agentProgram(), skip: 0 }
    : coordinatorProgram(argv[0]);
  disarm(built.program, p => void (ran = p), s => void (errors += s));
  try {
    await built.program.parseAsync(argv.slice(built.skip), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) return { ran: '--help/--version' };
    return { error: (errors.trim() || (err instanceof Error ? err.message : String(err))).split('\n')[0]! };
  }
  return ran === undefined ? { error: 'runs no command (it would print the help)' } : { ran };
}

const lines = PAGES.flatMap(file => commandLines(file, readFileSync(path.join(REPO, file), 'utf8')));

t.test('the docs have command lines of all three programs to check', async t => {
  t.ok(lines.length >= 90, `${lines.length} command lines found`);
  for (const program of ['ferry', 'ferry-agent', 'ferry-coordinator'] as const) {
    t.ok(lines.filter(l => l.program === program).length >= 5, `${program}: ${lines.filter(l => l.program === program).length} lines`);
  }
  t.ok(lines.some(l => l.file === 'README.md'), 'README.md is checked');
  for (const page of ['docs/agent.md', 'docs/install.md', 'docs/trust.md', 'docs/pipelines.md']) t.ok(lines.some(l => l.file === page), `${page} is checked`);
});

t.test('every command line in the docs parses with the real program', async t => {
  const failures: string[] = [];
  for (const l of lines) {
    const r = await parseLine(l.program, l.argv);
    if (r.error) failures.push(`${l.file}:${l.line}: ${l.text}: ${r.error}`);
  }
  t.same(failures, [], 'every command line parses');
});

t.test('the check catches drift: an unknown flag, command or argument fails, naming it', async t => {
  t.match(await parseLine('ferry', ['deploy', 'create', '--app', 'shop', '--group', 'web', '--rev', 'latest']), { error: /unknown option '--rev'/ });
  t.match(await parseLine('ferry', ['deploy', 'launch']), { error: /unknown command 'launch'/ });
  t.match(await parseLine('ferry', ['promote', '--app', 'shop', '--from', 'staging']), { error: /--to/ });
  t.match(await parseLine('ferry-agent', ['start', '--coordinator', 'h:1', '--tags', 'a=b']), { error: /unknown option '--tags'/ });
  t.match(await parseLine('ferry-agent', ['deploy']), { error: /unknown command 'deploy'/ });
  t.match(await parseLine('ferry-coordinator', ['--data', 'd', '--port', '7420']), { error: /unknown option '--port'/ });
  t.match(await parseLine('ferry-coordinator', ['init', '--data', 'd', '--sans', 'x']), { error: /unknown option '--sans'/ });
  t.match(await parseLine('ferry-coordinator', ['install', '--listen', '0.0.0.0:1', '--tag', 'a=b']), { error: /unknown option '--tag'/ });
  t.same(await parseLine('ferry-agent', ['local', '-l', 'x.tgz', '--json']), { ran: 'local' }, 'a good line runs its command (recorded, not executed)');
  t.same(await parseLine('ferry-coordinator', ['--data', '/var/lib/ferry', '--insecure']), { ran: '' });
  t.same(await parseLine('ferry-coordinator', ['renew-cert', '--data', 'd', '--san', 'x']), { ran: '' });
});

t.test('command lines are found where a shell would run them', async t => {
  const found = (md: string) => commandLines('x.md', md).map(l => l.text);
  t.same(found('```sh\nX=$(ferry app list --json | jq .)\n# ferry not this\nsystemctl restart ferry-agent\n```\n'), ['ferry app list --json']);
  t.same(found("```groovy\nsh 'ferry hosts list'\n```\n```yaml\n- run: ferry deploy wait \"$ID\" --json > out.json\n```\n"), ['ferry hosts list', 'ferry deploy wait d-SAMPLE123 --json']);
  t.same(found('```sh\nbin/ferry-agent local -l a.tgz \\\n  --events ApplicationStop   # why\n```\n'), ['ferry-agent local -l a.tgz --events ApplicationStop']);
  t.same(found('```console\n$ ferry deploy plan --show p-1 [--json]\nferry: not a command line\n```\n'), ['ferry deploy plan --show p-1 --json']);
  t.same(found('```sh\nferry app create shop && ferry group list --app shop\n```\n'), ['ferry app create shop', 'ferry group list --app shop']);
  t.same(found('```json\n{"cmd": "ferry app list"}\n```\n'), []);
  t.same(found('```\n │ ferry-agent start │ ──▶ ferry (CLI)\n```\n'), [], 'diagrams are not command lines');
});
