/**
 * Attack (docs/security.md): a multi-use join token enrolled a host id that was enrolled already; the
 * second certificate then registered and displaced the real host's stream.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { defaultHostId } from '../../agent/start/host-id.js';
import { runBin } from '../helpers/agent-cli.js';
import { startAgent, waitFor } from '../helpers/fleet.js';
import { tlsCoordinator } from '../helpers/security.js';
import { enrollHost, mintToken } from '../helpers/trust.js';

t.test('a join token cannot enroll a host id that holds a certificate; ferry hosts reenroll allows it once, for that id', async t => {
  const s = await tlsCoordinator(t);
  const enroll = (token: string, dir: string, hostId: string) => enrollHost({ coordinator: s.c.address, token, fingerprint: s.fingerprint, rootDir: path.join(s.dir, dir), hostId });
  const connected = async (id: string) => (await s.as(s.admin, ['hosts', 'list', '--json'])).json?.hosts?.some((h: any) => h.id === id && h.connected);
  const multi = await mintToken(t, s.as, s.admin, 'agent', ['--uses', '5']);
  t.equal((await enroll(multi, 'real', 'h1')).code, 0);
  const real = await startAgent(t, { coordinator: s.c.address, rootDir: path.join(s.dir, 'real'), hostId: 'h1', tags: { role: 'web' } });
  await waitFor('the real h1 to connect', () => connected('h1'));

  const attack = await enroll(multi, 'attacker', 'h1');
  t.equal(attack.code, 1, 'a second enrollment of h1 is refused');
  t.match(attack.stderr, /host h1 is enrolled already \(certificate valid until \S+\): to enroll it again, an admin runs ferry hosts reenroll h1/);
  t.equal((await enroll(multi, 'h2', 'h2')).code, 0, 'the same token still enrolls a new host id');
  t.ok(await connected('h1'), 'the real h1 stays connected');

  const re = await s.as(s.admin, ['hosts', 'reenroll', 'h1', '--json']);
  t.equal(re.code, 0, re.stderr);
  t.match(re.json.info, { role: 'agent', hostId: 'h1', usesLeft: 1 });
  const bound = re.json.token as string;
  const wrongId = await enroll(bound, 'other', 'h3');
  t.equal(wrongId.code, 1);
  t.match(wrongId.stderr, /enrolls host h1 only, not h3/);
  const again = await enroll(bound, 'again', 'h1');
  t.equal(again.code, 0, `the bound token enrolls h1 again: ${again.stderr}`);
  await waitFor('the earlier certificate of h1 to be refused', () => /was revoked/.test(real.output()), 30_000);
  // The refused agent backs off to minutes (at least 30 s first), not a retry every ~165 ms.
  await waitFor('the refused agent to say so', () => /the coordinator refused this host/.test(real.output()), 10_000);
  await new Promise(r => setTimeout(r, 3000));
  t.equal(real.output().split('the coordinator refused this host').length - 1, 1, `one refusal, then a wait of minutes: ${real.output().slice(-400)}`);
  const renewed = await startAgent(t, { coordinator: s.c.address, rootDir: path.join(s.dir, 'again'), hostId: 'h1', tags: { role: 'web' } });
  await waitFor('h1 with its new certificate', () => connected('h1'));
  t.equal((await enroll(bound, 'third', 'h1')).code, 1, 'the bound token was for one use');
  t.notOk(/was revoked/.test(renewed.output()));
  const viewer = await mintToken(t, s.as, s.admin, 'viewer');
  t.match((await s.as(viewer, ['hosts', 'reenroll', 'h1'])).stderr, /CreateToken needs admin/, 'only an admin allows a re-enrollment');
  t.match((await s.as(s.admin, ['token', 'create', '--role', 'viewer', '--host-id', 'h1'])).stderr, /--host-id: only a join token/);
});

t.test('without --host-id a host enrolls as its hostname; when that id is taken it is told to give --host-id, and nothing is written', async t => {
  const s = await tlsCoordinator(t);
  const multi = await mintToken(t, s.as, s.admin, 'agent', ['--uses', '5']);
  const enrollDefault = (dir: string, extra: string[] = []) => runBin('ferry-agent',
    ['enroll', '--coordinator', s.c.address, '--token', multi, '--ca-fingerprint', s.fingerprint, '--root-dir', path.join(s.dir, dir), ...extra]);
  const first = await enrollDefault('first');
  t.equal(first.code, 0, first.stderr);
  const name = defaultHostId();
  t.match(first.stdout, `enrolled host ${name} with ${s.c.address}`, 'the hostname is the default host id');

  const second = await enrollDefault('second');
  t.equal(second.code, 1, 'a second machine with the same hostname does not take the id');
  t.match(second.stderr, `host ${name} is enrolled already`);
  t.match(second.stderr, `(the host id ${name} is this machine's hostname, the default: give --host-id to enroll as another)`);
  t.notOk(existsSync(path.join(s.dir, 'second', 'host-id')), 'no host id kept from the refused attempt');
  t.notOk(existsSync(path.join(s.dir, 'second', 'tls')), 'no key or certificate left behind');

  const named = await enrollDefault('second', ['--host-id', `${name}-2`]);
  t.equal(named.code, 0, `with --host-id it enrolls: ${named.stderr}`);
});
