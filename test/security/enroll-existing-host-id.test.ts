/**
 * Attack (docs/security.md): a multi-use join token enrolled a host id that was enrolled already; the
 * second certificate then registered and displaced the real host's stream.
 */
import path from 'node:path';
import t from 'tap';
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
  const renewed = await startAgent(t, { coordinator: s.c.address, rootDir: path.join(s.dir, 'again'), hostId: 'h1', tags: { role: 'web' } });
  await waitFor('h1 with its new certificate', () => connected('h1'));
  t.equal((await enroll(bound, 'third', 'h1')).code, 1, 'the bound token was for one use');
  t.notOk(/was revoked/.test(renewed.output()));
  const viewer = await mintToken(t, s.as, s.admin, 'viewer');
  t.match((await s.as(viewer, ['hosts', 'reenroll', 'h1'])).stderr, /CreateToken needs admin/, 'only an admin allows a re-enrollment');
  t.match((await s.as(s.admin, ['token', 'create', '--role', 'viewer', '--host-id', 'h1'])).stderr, /--host-id: only a join token/);
});
