import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { REPO } from '../helpers/agent-cli.js';
import { deployment, detail, group, hostInfo, runFerry, startFakeControl } from '../helpers/fake-control.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Completion with values: the scripts `ferry completion bash|zsh|fish` print, loaded in a real
 * bash and fish, complete applications, groups, configs, deployment ids and hosts that
 * `ferry __complete` reads from a (fake) coordinator; an unreachable one offers nothing, quickly.
 */

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise(resolve => {
    // A loaded test machine can take longer than the 2 s a shell waits by default.
    const child = spawn(cmd, args, { env: { ...process.env, NO_COLOR: '1', FERRY_COMPLETE_TIMEOUT: '30s', PATH: `${path.join(REPO, 'bin')}:${process.env.PATH ?? ''}`, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', code => resolve({ code, out, err }));
  });
}

async function script(shell: string, dir: string): Promise<string> {
  const r = await runFerry(['completion', shell]);
  if (r.code !== 0) throw new Error(r.stderr);
  const file = path.join(dir, `ferry.${shell}`);
  await fs.writeFile(file, r.stdout);
  return file;
}

/** What bash's completion function offers for a command line (the last word is being completed). */
async function bashComplete(file: string, line: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const words = line.split(' ');
  const program = `source ${file}\nCOMP_WORDS=(${words.map(w => `'${w}'`).join(' ')})\nCOMP_CWORD=${words.length - 1}\n_ferry\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await run('bash', ['-c', program], env);
  if (r.code !== 0) throw new Error(r.err);
  return r.out.split('\n').filter(Boolean);
}
/** The values offered, without the command's flags (offered beside a positional argument's values). */
const values = (offered: string[]) => offered.filter(w => !w.startsWith('-'));

t.test('bash: values from the coordinator for --app, --group, --config, --name <group> and deployment ids', async t => {
  const fake = await startFakeControl(t);
  fake.groups = [group({ name: 'web' }), group({ name: 'staging' }), group({ application: 'blog', name: 'www' })];
  fake.deployment = detail({ ...deployment(), id: 'd-ABC123' });
  fake.hosts = [hostInfo({ id: 'web-1' }), hostInfo({ id: 'web-2' })];
  const dir = await tempDir(t);
  const file = await script('bash', dir);
  const env = { FERRY_COORDINATOR: fake.address };
  t.same(await bashComplete(file, 'ferry deploy create --app ', env), ['shop']);
  t.same(await bashComplete(file, 'ferry deploy create --app shop --group ', env), ['web', 'staging'], 'the groups of --app');
  t.same(await bashComplete(file, 'ferry deploy create --app shop --group s', env), ['staging'], 'filtered by what is typed');
  t.same(fake.requests('ListDeploymentGroups').at(-1), { application: 'shop' });
  t.same(await bashComplete(file, 'ferry group show --app shop --name ', env), ['web', 'staging'], '--name <group> is a group');
  t.same(await bashComplete(file, 'ferry group create --app shop --name web --config One', env), ['OneAtATime']);
  const status = await bashComplete(file, 'ferry deploy status ', env);
  t.same(values(status), ['d-ABC123'], 'deployment ids');
  t.ok(status.includes('--json'), 'and the command\'s flags');
  t.same(await bashComplete(file, 'ferry deploy logs d-', env), ['d-ABC123']);
  t.same(await bashComplete(file, 'ferry hosts show web-', env), ['web-1', 'web-2'], 'host ids');
  t.same(await bashComplete(file, 'ferry deploy status --j', env), ['--json'], 'an option is still an option');
  t.same(await bashComplete(file, 'ferry dep', env), ['deploy'], 'commands as before');
  // The line's own --coordinator wins over the environment.
  t.same(values(await bashComplete(file, `ferry --coordinator ${fake.address} app delete `, { FERRY_COORDINATOR: '127.0.0.1:1' })), ['shop']);
});

t.test('ferry __complete: one value a line; nothing and exit 0 when the coordinator is not there or the kind is unknown', async t => {
  const fake = await startFakeControl(t);
  const ok = await runFerry(['--coordinator', fake.address, '__complete', 'config'], { env: { FERRY_COMPLETE_TIMEOUT: '30s' } });
  t.equal(ok.code, 0);
  t.same(ok.stdout.trim().split('\n').sort(), fake.configs.map(c => c.name).sort());
  const started = Date.now();
  const down = await runFerry(['--coordinator', '127.0.0.1:1', '__complete', 'app']);
  t.same([down.code, down.stdout, down.stderr], [0, '', ''], 'silent');
  t.ok(Date.now() - started < 10_000, 'quick');
  const unknown = await runFerry(['--coordinator', fake.address, '__complete', 'bogus']);
  t.same([unknown.code, unknown.stdout, unknown.stderr], [0, '', '']);
  const help = await runFerry(['--help']);
  t.notOk(help.stdout.includes('__complete'), 'hidden from --help');
  const dir = await tempDir(t);
  const file = await script('bash', dir);
  t.same(values(await bashComplete(file, 'ferry deploy status ', { FERRY_COORDINATOR: '127.0.0.1:1' })), [], 'bash offers no values');
});

t.test('fish: the script parses (fish -n) and completes values and commands', async t => {
  const fake = await startFakeControl(t);
  fake.deployment = detail({ ...deployment(), id: 'd-XYZ789' });
  const dir = await tempDir(t);
  const file = await script('fish', dir);
  const syntax = await run('fish', ['-n', file], {});
  t.equal(syntax.code, 0, syntax.err);
  const complete = async (line: string) => {
    const r = await run('fish', ['-c', `source ${file}; complete -C '${line}'`], { FERRY_COORDINATOR: fake.address });
    t.equal(r.code, 0, r.err);
    return r.out.split('\n').filter(Boolean).map(l => l.split('\t')[0] ?? '');
  };
  t.same(values(await complete('ferry deploy status ')), ['d-XYZ789']);
  t.same(await complete('ferry deploy create --app '), ['shop']);
  t.same(await complete('ferry deploy create --app shop --group '), ['web']);
  t.ok((await complete('ferry dep')).includes('deploy'));
  t.ok((await complete('ferry deploy ')).includes('create'));
});

t.test('zsh: the script parses (zsh -n)', async t => {
  const dir = await tempDir(t);
  const r = await run('zsh', ['-n', await script('zsh', dir)], {});
  t.equal(r.code, 0, r.err);
});
