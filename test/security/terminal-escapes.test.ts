/**
 * Attack (docs/security.md): the CLI printed server-supplied strings raw. A hostile enrolled agent's tags
 * and zone, and a hook's output in `ferry deploy logs`, reached the operator's terminal as OSC 52
 * clipboard writes, screen clears and title changes. On a terminal they are now escaped; --json
 * and output to a file or pipe keep the bytes.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { hooksFor, pack, writeBundle } from '../helpers/bundle.js';
import { REPO } from '../helpers/agent-cli.js';
import { startAgent, waitFor } from '../helpers/fleet.js';
import { tlsCoordinator, type TlsCoordinator } from '../helpers/security.js';
import { enrollHost, mintToken } from '../helpers/trust.js';

const CLIPBOARD = '\u001b]52;c;cm0gLXJmIH4=\u0007';
const CLEAR = '\u001b[2J';

/** `ferry ARGS` with a pseudo-terminal as stdout (util-linux `script`), as an operator runs it. */
function onTerminal(s: TlsCoordinator, args: string[]): Promise<string> {
  const cmd = [process.execPath, path.join(REPO, 'bin', 'ferry'), ...args].map(a => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => execFile('script', ['-qec', cmd, '/dev/null'], {
    env: { ...process.env, FERRY_COORDINATOR: s.c.address, FERRY_CA: s.caFile, FERRY_TOKEN: s.admin, NO_COLOR: '1', COLUMNS: '300' }, timeout: 60_000,
  }, (err, stdout) => (err ? reject(new Error(`${err.message}: ${stdout}`)) : resolve(stdout))));
}

t.test('hook output, tags and zone from a hostile host reach a terminal escaped, and files and --json raw', async t => {
  const s = await tlsCoordinator(t);
  const root = path.join(s.dir, 'h1');
  t.equal((await enrollHost({ coordinator: s.c.address, token: await mintToken(t, s.as, s.admin, 'agent', ['--uses', '1', '--tag', 'role=web', '--tag', `note=x${CLIPBOARD}`]), fingerprint: s.fingerprint, rootDir: root, hostId: 'h1' })).code, 0);
  await startAgent(t, { coordinator: s.c.address, rootDir: root, hostId: 'h1', tags: { role: 'web', note: `x${CLIPBOARD}` }, zone: `z${CLEAR}` });
  await waitFor('h1 to connect', async () => (await s.as(s.admin, ['hosts', 'list', '--json'])).json?.hosts?.some((h: any) => h.id === 'h1' && h.connected));
  t.equal((await s.as(s.admin, ['app', 'create', 'shop'])).code, 0);
  t.equal((await s.as(s.admin, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  const src = path.join(s.dir, 'bundle');
  await writeBundle(src, {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) },
    scripts: { 'scripts/ApplicationStart.sh': `printf 'start \\033]52;c;cm0gLXJmIH4=\\007\\033[2J\\033]0;pwned\\007 done\\n'` },
  });
  t.equal((await s.as(s.admin, ['revision', 'push', pack(src, path.join(s.dir, 'b.tgz'), 'tgz'), '--app', 'shop'])).code, 0);
  const deployed = await s.as(s.admin, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait', '--json']);
  t.equal(deployed.code, 0, deployed.stderr);
  const id = deployed.json.deployment.id as string;

  const logs = await onTerminal(s, ['deploy', 'logs', id]);
  t.match(logs, /start \\x1b\]52;c;cm0gLXJmIH4=\\x07\\x1b\[2J\\x1b\]0;pwned\\x07 done/, 'the hook\'s escapes are shown, escaped');
  t.notOk(/[\u0007\u001b]/.test(logs), 'no escape sequence reaches the terminal from ferry deploy logs');
  const hosts = await onTerminal(s, ['hosts', 'list']);
  t.match(hosts, /note=x\\x1b\]52/);
  t.notOk(/[\u0007\u001b]/.test(hosts), 'nor from ferry hosts list');
  const show = await onTerminal(s, ['hosts', 'show', 'h1']);
  t.match(show, /z\\x1b\[2J/);
  t.notOk(/[\u0007\u001b]/.test(show), 'nor from ferry hosts show');

  const piped = await s.as(s.admin, ['deploy', 'logs', id]);
  t.ok(piped.stdout.includes(`${CLIPBOARD}${CLEAR}`), 'to a pipe or file the bytes are kept');
  const json = await s.as(s.admin, ['hosts', 'list', '--json']);
  t.equal(json.json.hosts[0].tags.note, `x${CLIPBOARD}`, '--json keeps them too');
});
