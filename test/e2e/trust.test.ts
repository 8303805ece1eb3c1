import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { hooksFor, pack, writeBundle } from '../helpers/bundle.js';
import { REPO, runBin } from '../helpers/agent-cli.js';
import { ferry, startAgent, startCoordinator, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';
import { asCaller, enrollHost, mintToken, readTrust } from '../helpers/trust.js';

t.test('TLS by default: tokens and roles for the CLI, enrollment and mutual TLS for agents, revocation (mount namespace)', async t => {
  const dir = await tempDir(t, 'ferry-trust-');
  const data = path.join(dir, 'data');
  const c = await startCoordinator(t, data, [], '127.0.0.1:0', { tls: true });
  t.match(c.output(), /listening on \S+ \(TLS/, 'serves TLS with no other setup');
  const { caFile, fingerprint, admin } = await readTrust(data);
  t.ok(c.output().includes(fingerprint), 'the first start prints the CA fingerprint');
  const as = asCaller(c.address, { FERRY_CA: caFile });

  // The CLI: plaintext refused, a token required, roles enforced.
  const plain = await ferry(c.address, ['app', 'list']);
  t.equal(plain.code, 6, 'a plaintext client cannot talk to it');
  t.match(plain.stderr, /speaks TLS, and ferry talked plaintext to it/);
  const anonymous = await as(undefined, ['app', 'list']);
  t.equal(anonymous.code, 1);
  t.match(anonymous.stderr, /needs a token: set FERRY_TOKEN/);
  t.equal((await as(admin, ['app', 'create', 'shop'])).code, 0, 'the admin token from init works');
  t.equal((await as(admin, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  const mint = (role: string, extra: string[] = []) => mintToken(t, as, admin, role, extra);
  const viewer = await mint('viewer');
  const deployer = await mint('deployer');
  t.equal((await as(viewer, ['deploy', 'list'])).code, 0, 'a viewer reads');
  const fpOnly = await ferry(c.address, ['app', 'list', '--json'], { env: { FERRY_CA_FINGERPRINT: fingerprint, FERRY_TOKEN: viewer } });
  t.equal(fpOnly.code, 0, `the CA can be pinned by fingerprint instead of a file: ${fpOnly.stderr}`);
  const wrongPin = await ferry(c.address, ['app', 'list'], { env: { FERRY_CA_FINGERPRINT: 'AB'.repeat(32), FERRY_TOKEN: viewer } });
  t.not(wrongPin.code, 0);
  t.match(wrongPin.stderr, /does not present a CA with fingerprint/);

  // An agent enrolls with a one-use join token and connects with mutual TLS.
  const join = await mint('agent', ['--uses', '1', '--tag', 'role=web']);
  const root = path.join(dir, 'h1');
  const enroll = (token: string, rootDir: string, hostId: string) => enrollHost({ coordinator: c.address, token, fingerprint, rootDir, hostId });
  const e1 = await enroll(join, root, 'h1');
  t.equal(e1.code, 0, e1.stderr);
  for (const f of ['agent.key', 'agent.crt', 'ca.crt']) t.equal((await fs.stat(path.join(root, 'tls', f))).mode & 0o777, 0o600, `${f} is 0600`);
  const reused = await enroll(join, path.join(dir, 'h2'), 'h2');
  t.equal(reused.code, 1, 'a one-use token works once');
  t.match(reused.stderr, /already used/);
  t.notOk(existsSync(path.join(dir, 'h2')), 'a refused enrollment leaves no key, host-id or directory behind');
  const shortLived = await mint('agent', ['--ttl', '1s']);
  await new Promise(r => setTimeout(r, 1200));
  const expired = await enroll(shortLived, path.join(dir, 'h3'), 'h3');
  t.equal(expired.code, 1);
  t.match(expired.stderr, /has expired/);
  const wrongRole = await enroll(viewer, path.join(dir, 'h4'), 'h4');
  t.match(wrongRole.stderr, /needs a join token/, 'an operator token cannot enroll a host');

  const appDir = path.join(dir, 'app');
  const agent = await startAgent(t, { coordinator: c.address, rootDir: root, hostId: 'h1', tags: { role: 'web' }, privateDirs: [appDir] });
  await waitFor('h1 over mutual TLS', async () => (await as(viewer, ['hosts', 'list', '--json'])).json?.hosts?.some((h: any) => h.id === 'h1' && h.connected));

  // A viewer cannot deploy; a deployer can, and the deployment runs over mutual TLS.
  const src = path.join(dir, 'bundle');
  await writeBundle(src, {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'www', destination: path.join(appDir, 'www') }], hooks: hooksFor(['ApplicationStart']) },
    files: { 'www/index.html': 'v1' },
    scripts: { 'scripts/ApplicationStart.sh': 'echo started' },
  });
  const bundle = pack(src, path.join(dir, 'v1.tgz'), 'tgz');
  const denied = await as(viewer, ['revision', 'push', bundle, '--app', 'shop']);
  t.equal(denied.code, 1);
  t.match(denied.stderr, /has role viewer; UploadRevision needs deployer/);
  t.equal((await as(deployer, ['revision', 'push', bundle, '--app', 'shop'])).code, 0);
  const noDeploy = await as(viewer, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest']);
  t.match(noDeploy.stderr, /CreateDeployment needs deployer/, 'a viewer cannot create a deployment');
  const deployed = await as(deployer, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait', '--json']);
  t.equal(deployed.code, 0, `a deployer deploys, over mutual TLS: ${deployed.stderr.slice(-300)}`);
  t.match(agent.output(), /\[revisions\] revision transfer started .*transport=http/, 'h1 downloaded the revision over HTTPS on the coordinator\'s port, with its certificate');
  t.notMatch(agent.output(), /using FetchRevision/, 'without falling back to gRPC');

  // An agent renews its certificate over mutual TLS before it expires (here: --renew-before longer than its year), with a new key.
  const r5 = path.join(dir, 'h5');
  t.equal((await enroll(await mint('agent', ['--uses', '1']), r5, 'h5')).code, 0);
  const pem = (f: string) => fs.readFile(path.join(r5, 'tls', f), 'utf8');
  const [key0, cert0] = [await pem('agent.key'), await pem('agent.crt')];
  const renewing = await startAgent(t, { coordinator: c.address, rootDir: r5, hostId: 'h5', tags: { role: 'batch' }, args: ['--renew-before', '400d'] });
  await waitFor('h5 to renew its certificate', () => /certificate renewed/.test(renewing.output()), 30_000);
  t.not(await pem('agent.key'), key0, 'a new key, made on the host');
  t.not(await pem('agent.crt'), cert0, 'a new certificate');
  t.match(new X509Certificate(await pem('agent.crt')).subject, /CN=h5/, 'for the same host id');
  t.equal((await fs.stat(path.join(r5, 'tls', 'agent.key'))).mode & 0o777, 0o600);
  await renewing.kill('SIGTERM');
  const renewed = await startAgent(t, { coordinator: c.address, rootDir: r5, hostId: 'h5', tags: { role: 'batch' } });
  await waitFor('h5 back with its renewed certificate', async () => (await as(viewer, ['hosts', 'list', '--json'])).json?.hosts?.some((h: any) => h.id === 'h5' && h.connected));
  await renewed.kill('SIGTERM');
  // An expired certificate is refused (its expiry as recorded at issue; moved into the past here).
  const db = new Database(path.join(data, 'ferry.db'));
  db.prepare("UPDATE host_certificates SET expires_at = '2001-01-01T00:00:00.000Z' WHERE host_id = 'h5'").run();
  db.close();
  const lapsed = await startAgent(t, { coordinator: c.address, rootDir: r5, hostId: 'h5', tags: { role: 'batch' } });
  t.ok(await waitFor('h5 refused with an expired certificate', () => /the certificate of host h5 expired at 2001-01-01/.test(lapsed.output()), 30_000), 'an expired certificate is refused');
  await lapsed.kill('SIGTERM');

  // Another host's certificate is refused; a revoked host cannot come back.
  const thief = path.join(dir, 'thief');
  await fs.mkdir(thief, { recursive: true });
  await fs.cp(path.join(root, 'tls'), path.join(thief, 'tls'), { recursive: true });
  const impostor = await startAgent(t, { coordinator: c.address, rootDir: thief, hostId: 'h9', tags: { role: 'web' } });
  await waitFor('the impostor to be refused', () => /belongs to h1, not to host h9/.test(impostor.output()));
  const revoked = await as(admin, ['hosts', 'revoke', 'h1']);
  t.equal(revoked.code, 0, revoked.stderr);
  t.match(revoked.stdout, /revoked 1 certificate of host h1/);
  await waitFor('h1 to be dropped', async () => (await as(viewer, ['hosts', 'list', '--json'])).json?.hosts?.some((h: any) => h.id === 'h1' && !h.connected));
  await waitFor('h1 refused on reconnect', () => /was revoked/.test(agent.output()), 30_000);
  const revokedHost = (await as(viewer, ['hosts', 'list', '--json'])).json.hosts.find((h: any) => h.id === 'h1');
  t.equal(revokedHost.state, 'revoked', 'shown as revoked, not reconnecting for ever');
  t.match((await as(viewer, ['hosts', 'list'])).stdout, /h1 .*revoked \(enroll again to come back\)/);

  // The audit log shows each of these: who, what, when, from where, how it ended.
  const audit = await as(admin, ['audit', '--json']);
  t.equal(audit.code, 0, audit.stderr);
  const records = audit.stdout.trim().split('\n').map(l => JSON.parse(l));
  const id = (token: string) => token.split('.')[1]!;
  const find = (what: string, match: (r: any) => boolean) => {
    const r = records.find(match);
    t.ok(r, `audit: ${what}`);
    if (r) t.match(r, { at: /^\d{4}-\d\d-\d\dT/, peer: /^(127\.0\.0\.1|::ffff:127\.0\.0\.1):\d+$/ }, `audit: ${what} says when and from where`);
    return r;
  };
  find('a plaintext client refused at the TLS handshake', r => r.action === 'tls-handshake' && r.outcome === 'refused');
  find('a call without a token refused', r => r.actor === 'anonymous' && r.action === 'ControlService/ListApplications' && r.code === 'UNAUTHENTICATED');
  find('the admin creating the application', r => r.actor === `token:${id(admin)}` && r.role === 'admin' && r.action === 'ControlService/CreateApplication' && r.outcome === 'ok' && r.target.name === 'shop');
  find('the viewer token being made (by id)', r => r.action === 'ControlService/CreateToken' && r.target['result.info.id'] === id(viewer));
  find('the viewer refused an upload', r => r.actor === `token:${id(viewer)}` && r.action === 'ControlService/UploadRevision' && r.outcome === 'refused' && r.code === 'PERMISSION_DENIED');
  find('the viewer refused a deployment', r => r.actor === `token:${id(viewer)}` && r.action === 'ControlService/CreateDeployment' && r.outcome === 'refused');
  const created = find('the deployer creating the deployment', r => r.actor === `token:${id(deployer)}` && r.action === 'ControlService/CreateDeployment' && r.outcome === 'ok');
  t.equal(created?.target['result.deployment.id'], deployed.json.deployment.id, 'the record names the deployment made');
  find('h1 enrolled with the join token', r => r.action === 'AgentService/Enroll' && r.actor === `join-token:${id(join)}` && r.outcome === 'ok' && r.target.hostId === 'h1');
  find('the reused join token refused', r => r.action === 'AgentService/Enroll' && r.actor === `join-token:${id(join)}` && r.outcome === 'refused' && r.target.hostId === 'h2' && /already used/.test(r.message));
  find('the expired join token refused', r => r.action === 'AgentService/Enroll' && r.actor === `join-token:${id(shortLived)}` && r.outcome === 'refused' && /expired/.test(r.message));
  find('an operator token refused for enrollment', r => r.action === 'AgentService/Enroll' && r.actor === `join-token:${id(viewer)}` && r.code === 'PERMISSION_DENIED');
  find("h1's certificate refused for host h9", r => r.action === 'AgentService/Connect' && r.actor === 'host:h1' && r.outcome === 'refused' && r.target['register.hostId'] === 'h9');
  find('h5 renewing its certificate', r => r.action === 'AgentService/RenewCertificate' && r.actor === 'host:h5' && r.outcome === 'ok');
  find('the admin revoking h1', r => r.action === 'ControlService/RevokeHost' && r.actor === `token:${id(admin)}` && r.target.id === 'h1' && r.outcome === 'ok');
  find('the revoked h1 refused on reconnect', r => r.action === 'AgentService/Connect' && r.actor === 'host:h1' && /was revoked/.test(r.message));
  t.notOk(records.some(r => r.action === 'ControlService/ListHosts' && r.outcome === 'ok'), 'reads are not audited');
  const auditDenied = await as(viewer, ['audit']);
  t.match(auditDenied.stderr, /StreamAudit needs admin/, 'only an admin reads the audit log');
  const human = await as(admin, ['audit', '--outcome', 'refused', '--last', '3']);
  t.equal(human.code, 0, human.stderr);
  t.equal(human.stdout.trim().split('\n').length, 3, '--last 3 prints three records');
  t.match(human.stdout, /refused/);

  // --follow prints new records as they are written, after --since.
  const lastSeq = records.at(-1).seq;
  const follower = spawn(process.execPath, [path.join(REPO, 'bin', 'ferry'), 'audit', '--follow', '--json', '--since', String(lastSeq)], {
    env: { ...process.env, FERRY_COORDINATOR: c.address, FERRY_CA: caFile, FERRY_TOKEN: admin }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => follower.kill('SIGKILL'));
  let streamed = '';
  follower.stdout.on('data', (b: Buffer) => (streamed += b.toString()));
  t.equal((await as(admin, ['token', 'revoke', id(viewer)])).code, 0);
  await waitFor('the follower to see the token revoked', () => streamed.includes('"action":"ControlService/RevokeToken"'));
  const live = JSON.parse(streamed.trim().split('\n').find(l => l.includes('RevokeToken'))!);
  t.ok(live.seq > lastSeq, 'a followed record comes after --since');
  t.match(live, { actor: `token:${id(admin)}`, outcome: 'ok', target: { id: id(viewer) } });
  t.equal(follower.exitCode, null, '--follow keeps running');

  // No secret in the coordinator's output, log or audit log.
  const logs = c.output() + (await fs.readFile(path.join(data, 'logs', 'ferry-coordinator.log'), 'utf8')) + audit.stdout;
  for (const secret of [admin, viewer, deployer, join, shortLived].map(tok => tok.split('.')[2]!)) t.notOk(logs.includes(secret), 'no token secret in the logs or the audit log');
});

t.test('--insecure is refused off loopback (usage error)', async t => {
  const r = await runBin('ferry-coordinator', ['--data', path.join(await tempDir(t), 'd'), '--listen', '0.0.0.0:0', '--insecure']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--insecure serves plaintext, which is allowed only on a loopback address/);
});

t.test('ferry-agent enroll without a token (flag or FERRY_JOIN_TOKEN) is a usage error', async t => {
  const r = await runBin('ferry-agent', ['enroll', '--coordinator', '127.0.0.1:1', '--ca-fingerprint', 'AB'.repeat(32), '--root-dir', path.join(await tempDir(t), 'r')], { env: { FERRY_JOIN_TOKEN: '' } });
  t.equal(r.code, 2);
  t.match(r.stderr, /--token \(or FERRY_JOIN_TOKEN\) is required/);
});
