import { createHash } from 'node:crypto';
import https from 'node:https';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { hooksFor, pack, writeBundle } from '../helpers/bundle.js';
import { startCoordinator } from '../helpers/fleet.js';
import { asCaller, mintToken, readTrust } from '../helpers/trust.js';
import { tempDir } from '../helpers/temp.js';

interface Reply { status: number; body: any; setCookie: string[] }

/** One console HTTP call, as the page makes it: same Origin, JSON, the session cookie and CSRF token. */
function consoleCall(address: string, method: 'GET' | 'POST', route: string, o: { cookie?: string; csrf?: string; body?: unknown } = {}): Promise<Reply> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = https.request({
      host, port, path: `/ui/api/${route}`, method, rejectUnauthorized: false, agent: false,
      headers: {
        origin: `https://${address}`, 'content-type': 'application/json',
        ...(o.cookie && { cookie: `ferry_session=${o.cookie}` }), ...(o.csrf && { 'x-ferry-csrf': o.csrf }),
      },
    }, res => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? JSON.stringify(o.body ?? {}) : undefined);
  });
}

const sessionRows = (dataDir: string) => {
  const db = new Database(path.join(dataDir, 'ferry.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM console_sessions').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
};

t.test('console sessions: kept as a hash in the store, alive across a restart, ended by sign-out and at once by revoking the token; deployments name their creator', async t => {
  const dir = await tempDir(t, 'ferry-console-sessions-');
  const data = path.join(dir, 'data');
  let coordinator = await startCoordinator(t, data, [], '127.0.0.1:0', { tls: true });
  const { caFile, admin } = await readTrust(data);
  let as = asCaller(coordinator.address, { FERRY_CA: caFile });
  const deployer = await mintToken(t, as, admin, 'deployer', ['--description', 'release bot']);
  const deployerId = /^fy\.([a-z0-9]{12})\./.exec(deployer)![1]!;
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web']]) {
    t.equal((await as(admin, args)).code, 0);
  }
  const src = path.join(dir, 'bundle');
  await writeBundle(src, { appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) }, scripts: { 'scripts/ApplicationStart.sh': 'true' } });
  t.equal((await as(admin, ['revision', 'push', pack(src, path.join(dir, 'v1.tgz'), 'tgz'), '--app', 'shop'])).code, 0);

  // Sign in: the cookie's value is not in the store, only its SHA-256, with the token's id (not its secret) and the expiry.
  const signedIn = await consoleCall(coordinator.address, 'POST', 'session', { body: { token: deployer } });
  t.equal(signedIn.status, 200);
  const cookie = /^ferry_session=([^;]+)/.exec(signedIn.setCookie[0] ?? '')![1]!;
  const csrf = signedIn.body.csrf as string;
  const rows = sessionRows(data);
  t.equal(rows.length, 1);
  t.match(rows[0], { id_hash: createHash('sha256').update(cookie).digest('hex'), token_id: deployerId, actor: `token:${deployerId}`, role: 'deployer', expires_at: /Z$/ });
  const atRest = JSON.stringify(rows);
  t.notOk(atRest.includes(cookie) || atRest.includes(csrf) || atRest.includes(deployer.split('.')[2]!), 'neither the cookie, the CSRF token nor the token\'s secret is at rest');

  // A deployment created from the console is recorded as the token's, as one created with the CLI.
  const created = await consoleCall(coordinator.address, 'POST', 'call/CreateDeployment', { cookie, csrf, body: { application: 'shop', group: 'web', revision: 'latest' } });
  t.equal(created.status, 200, JSON.stringify(created.body));
  t.match(created.body.deployment, { creator: 'user', createdBy: `token:${deployerId} (release bot)` });
  const fromCli = await as(deployer, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--json']);
  t.equal(fromCli.json.deployment.createdBy, `token:${deployerId} (release bot)`, 'the same identity through the gRPC API');
  const shown = await as(admin, ['deploy', 'status', created.body.deployment.id]);
  t.match(shown.stdout, new RegExp(`Creator:\\s+user \\(token:${deployerId} \\(release bot\\)\\)`), 'ferry deploy status names it');

  // A restart keeps the session: same cookie, same CSRF token, same rights.
  await coordinator.kill('SIGTERM');
  coordinator = await startCoordinator(t, data, [], '127.0.0.1:0', { tls: true });
  as = asCaller(coordinator.address, { FERRY_CA: caFile });
  const after = await consoleCall(coordinator.address, 'GET', 'session', { cookie });
  t.match(after.body, { signedIn: true, actor: `token:${deployerId}`, role: 'deployer', csrf });
  const listed = await consoleCall(coordinator.address, 'POST', 'call/ListDeployments', { cookie, csrf, body: {} });
  t.equal(listed.status, 200);
  t.equal(listed.body.deployments.length, 2);

  // Sign-out ends it in the store; signing in again opens another one.
  const out = await consoleCall(coordinator.address, 'POST', 'signout', { cookie, csrf });
  t.equal(out.status, 200);
  t.equal((await consoleCall(coordinator.address, 'GET', 'session', { cookie })).body.signedIn, false);
  t.same(sessionRows(data), []);
  const again = await consoleCall(coordinator.address, 'POST', 'session', { body: { token: deployer } });
  const cookie2 = /^ferry_session=([^;]+)/.exec(again.setCookie[0] ?? '')![1]!;
  t.equal((await consoleCall(coordinator.address, 'GET', 'session', { cookie: cookie2 })).body.signedIn, true);

  // Revoking the token ends its sessions at once: refused at the next call, and gone from the store.
  t.equal((await as(admin, ['token', 'revoke', deployerId])).code, 0);
  t.same(sessionRows(data), [], 'the revoked token\'s session is deleted');
  const refused = await consoleCall(coordinator.address, 'POST', 'call/ListDeployments', { cookie: cookie2, csrf: again.body.csrf, body: {} });
  t.equal(refused.status, 401);
  t.equal((await consoleCall(coordinator.address, 'GET', 'session', { cookie: cookie2 })).body.signedIn, false);
  const resignIn = await consoleCall(coordinator.address, 'POST', 'session', { body: { token: deployer } });
  t.equal(resignIn.status, 401);
  t.match(resignIn.body.error.message, /was revoked/);
});
