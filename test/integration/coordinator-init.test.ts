import { X509Certificate } from 'node:crypto';
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runBin } from '../helpers/agent-cli.js';
import { tempDir } from '../helpers/temp.js';

t.test('ferry-coordinator init makes a CA, a server certificate and a hashed admin token', async t => {
  const data = path.join(await tempDir(t), 'data');
  const r = await runBin('ferry-coordinator', ['init', '--data', data, '--san', 'ferry.internal', '--san', '10.9.8.7']);
  t.equal(r.code, 0, r.stderr);
  const ca = new X509Certificate(await fs.readFile(path.join(data, 'tls', 'ca.crt')));
  const server = new X509Certificate(await fs.readFile(path.join(data, 'tls', 'server.crt')));
  t.ok(r.stdout.includes(`SHA256 ${ca.fingerprint256}`), 'prints the CA fingerprint');
  t.ok(ca.ca, 'the CA is a CA');
  t.ok(server.checkIssued(ca) && server.verify(ca.publicKey), 'the server certificate is signed by the CA');
  for (const name of ['DNS:localhost', 'IP Address:127.0.0.1', 'DNS:ferry.internal', 'IP Address:10.9.8.7']) {
    t.ok(server.subjectAltName?.includes(name), `names ${name}`);
  }
  t.equal(statSync(path.join(data, 'tls')).mode & 0o777, 0o700, 'tls/ is 0700');
  for (const key of ['ca.key', 'server.key']) t.equal(statSync(path.join(data, 'tls', key)).mode & 0o777, 0o600, `${key} is 0600`);
  const tokenFile = path.join(data, 'admin.token');
  t.equal(statSync(tokenFile).mode & 0o777, 0o600, 'admin.token is 0600');
  const token = (await fs.readFile(tokenFile, 'utf8')).trim();
  t.match(token, /^fy\.[a-z0-9]{12}\.[A-Za-z0-9_-]{43}$/);
  const secret = token.split('.')[2]!;
  t.notOk(r.stdout.includes(secret) || r.stderr.includes(secret), 'the token is not printed');
  const db = await fs.readFile(path.join(data, 'ferry.db'));
  t.equal(db.indexOf(secret), -1, 'the token secret is not in the database');

  const again = await runBin('ferry-coordinator', ['init', '--data', data]);
  t.equal(again.code, 1);
  t.match(again.stderr, /already initialised; nothing was changed/);
  t.equal((await fs.readFile(tokenFile, 'utf8')).trim(), token, 'the token is untouched');
  t.equal(new X509Certificate(await fs.readFile(path.join(data, 'tls', 'ca.crt'))).fingerprint256, ca.fingerprint256, 'the CA is untouched');
});

t.test('init --json prints paths and the fingerprint, never the token; a bad --san is a usage error', async t => {
  const dir = await tempDir(t);
  const r = await runBin('ferry-coordinator', ['init', '--data', path.join(dir, 'a'), '--json']);
  t.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  t.match(doc, { caFingerprint: /^[0-9A-F:]{95}$/, adminTokenFile: path.join(dir, 'a', 'admin.token') });
  const token = (await fs.readFile(doc.adminTokenFile, 'utf8')).trim();
  t.notOk(r.stdout.includes(token.split('.')[2]!), 'no secret in --json');
  const bad = await runBin('ferry-coordinator', ['init', '--data', path.join(dir, 'b'), '--san', 'no good']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--san 'no good'/);
  await t.rejects(fs.access(path.join(dir, 'b')), 'nothing was created');
});

t.test('init refuses a PostgreSQL store, and makes nothing: the first replica start makes the CA and token there', async t => {
  const data = path.join(await tempDir(t), 'data');
  const r = await runBin('ferry-coordinator', ['init', '--data', data], { env: { FERRY_STORE: 'postgres://ferry@127.0.0.1:5432/ferry' } });
  t.equal(r.code, 2, 'a usage error');
  t.match(r.stderr, /the store is PostgreSQL \(127\.0\.0\.1:5432\/ferry\).*skip init and start the first replica.*nothing was changed/);
  t.equal(await fs.access(data).then(() => true, () => false), false, 'no data dir, CA or token made');
});
