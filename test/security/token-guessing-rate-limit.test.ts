/**
 * Attack (docs/security.md): a client guesses tokens as fast as one connection allows (about 1000 a
 * second used to be checked, each a warn log line). Refused calls are limited per address.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { tlsCoordinator, unary } from '../helpers/security.js';

t.test('token guesses past refused-call-limit are refused unchecked for the rest of the minute, and not logged one by one', async t => {
  const s = await tlsCoordinator(t, ['--refused-call-limit', '20']);
  const codes = new Map<string, number>();
  for (let i = 0; i < 100; i++) {
    const api = s.controlApi(`fy.${randomBytes(6).toString('hex')}.${randomBytes(32).toString('base64url')}`);
    const r = await unary(api.ListApplications.bind(api), {});
    const code = r.err ? String(r.err.code) : 'OK';
    codes.set(code, (codes.get(code) ?? 0) + 1);
    api.close();
  }
  t.equal(codes.get('16'), 20, 'the first 20 guesses are checked (UNAUTHENTICATED)');
  t.equal(codes.get('8'), 80, 'the other 80 are refused with RESOURCE_EXHAUSTED before their token is looked at');
  const warned = s.c.output().split('\n').filter(l => l.includes('call refused')).length;
  t.ok(warned <= 21, `at most the limit of refusals is logged (${warned} lines)`);
  const admin = await s.as(s.admin, ['app', 'list']);
  t.not(admin.code, 0, 'for that minute the address is refused even with a good token (documented: the limit is per address)');
  t.match(admin.stderr, /too many refused calls from this address \(the limit is 20 a minute, setting refusedCallLimit\)/);
});

t.test('a refused-call-limit of 0 turns the limit off', async t => {
  const s = await tlsCoordinator(t, ['--refused-call-limit', '0']);
  for (let i = 0; i < 30; i++) {
    const api = s.controlApi(`fy.${randomBytes(6).toString('hex')}.${randomBytes(32).toString('base64url')}`);
    const r = await unary(api.ListApplications.bind(api), {});
    t.equal(r.err?.code, 16, 'every guess is checked');
    api.close();
  }
  t.equal((await s.as(s.admin, ['app', 'list'])).code, 0);
});
