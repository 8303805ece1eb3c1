import t from 'tap';
import { REQUIRED_ROLE } from '../../coordinator/security/permissions.js';
import { hashSecret, newToken, parseToken, refuseToken, refusalMessage, roleAllows } from '../../coordinator/security/tokens.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/agent-cli.js';

const NOW = Date.parse('2026-11-27T00:00:00Z');

t.test('a new token is fy.<id>.<secret>; only the hash of the secret is in the record', async t => {
  const { token, record } = newToken({ role: 'deployer', createdBy: 'init', now: NOW, ttlMs: 3_600_000, uses: 1 });
  t.match(token, /^fy\.[a-z0-9]{12}\.[A-Za-z0-9_-]{43}$/);
  const { id, secret } = parseToken(token);
  t.equal(id, record.id);
  t.equal(record.secretHash, hashSecret(secret));
  t.notOk(JSON.stringify(record).includes(secret), 'the secret is nowhere in the record');
  t.equal(record.expiresAt, '2026-11-27T01:00:00.000Z');
  t.equal(record.usesLeft, 1);
  t.not(newToken({ role: 'viewer', createdBy: 'x', now: NOW }).token, token, 'tokens are random');
});

t.test('a malformed token is refused without echoing it', async t => {
  for (const bad of ['', 'fy.short.x', 'Bearer fy.abc', `fy.${'a'.repeat(12)}.${'b'.repeat(42)}`, 'secret-value-123']) {
    t.throws(() => parseToken(bad), { code: 'UNAUTHENTICATED', message: /malformed/ }, JSON.stringify(bad));
    try { parseToken(bad); } catch (e) { if (bad) t.notOk((e as Error).message.includes(bad), 'not echoed'); }
  }
});

t.test('refusals: unknown, wrong secret, revoked, expired, used up; a good token passes', async t => {
  const { token, record } = newToken({ role: 'agent', createdBy: 'x', now: NOW, ttlMs: 1000, uses: 1 });
  const { secret } = parseToken(token);
  t.equal(refuseToken(undefined, secret, NOW), 'unknown');
  t.equal(refuseToken(record, 'x'.repeat(43), NOW), 'wrong secret');
  t.equal(refuseToken(record, secret, NOW + 999), undefined);
  t.equal(refuseToken(record, secret, NOW + 1000), 'expired', 'expires at exactly its ttl');
  t.equal(refuseToken({ ...record, usesLeft: 0 }, secret, NOW), 'used up');
  t.equal(refuseToken({ ...record, revokedAt: 'x' }, secret, NOW), 'revoked');
  for (const r of ['unknown', 'wrong secret', 'revoked', 'expired', 'used up'] as const) {
    const m = refusalMessage(r, record.id);
    t.match(m, /ferry token create/, `${r}: says what to do`);
    t.notOk(m.includes(secret), `${r}: no secret`);
  }
});

t.test('roles: viewer < deployer < admin; an agent join token is no operator', async t => {
  t.ok(roleAllows('admin', 'deployer'));
  t.ok(roleAllows('deployer', 'viewer'));
  t.notOk(roleAllows('viewer', 'deployer'));
  t.notOk(roleAllows('deployer', 'admin'));
  t.notOk(roleAllows('agent', 'viewer'));
});

t.test('every ControlService RPC in the proto has a required role, and nothing else does', async t => {
  const proto = readFileSync(path.join(REPO, 'proto', 'ferry', 'v1', 'control.proto'), 'utf8');
  const service = /service ControlService \{([\s\S]*?)\n\}/.exec(proto)![1]!;
  const rpcs = [...service.matchAll(/rpc (\w+)\(/g)].map(m => m[1]).sort();
  t.same(Object.keys(REQUIRED_ROLE).sort(), rpcs);
  t.equal(REQUIRED_ROLE.CreateDeployment, 'deployer', 'deploying needs deployer');
  t.equal(REQUIRED_ROLE.ListDeployments, 'viewer', 'reading needs viewer');
  t.equal(REQUIRED_ROLE.CreateDeploymentGroup, 'admin', 'groups need admin');
});
