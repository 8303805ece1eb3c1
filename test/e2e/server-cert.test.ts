import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { runBin } from '../helpers/agent-cli.js';
import { startAgent, startCoordinator, waitFor } from '../helpers/fleet.js';
import { isRoot, tempDir } from '../helpers/temp.js';
import { asCaller, enrollHost, mintToken, readTrust } from '../helpers/trust.js';

/** Opens a TLS connection to `address` (ALPN http/1.1, no verification: the test looks at what is served) once the handshake is done. */
function connect(address: string): Promise<tls.TLSSocket> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The certificate the coordinator serves on a new connection now. */
async function served(address: string): Promise<X509Certificate> {
  const socket = await connect(address);
  const cert = socket.getPeerX509Certificate()!;
  socket.destroy();
  return cert;
}

/** Sends one HTTP/1.1 request on an open socket; resolves with the status line of the answer. */
function httpOver(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    socket.on('data', (b: Buffer) => {
      got += b.toString();
      if (got.includes('\r\n')) resolve(got.slice(0, got.indexOf('\r\n')));
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before an answer (got '${got}')`)));
    socket.write('GET /v1/revisions/0000 HTTP/1.1\r\nHost: ferry\r\n\r\n');
  });
}

t.test('the server certificate: renewed at start when due, renew-cert + SIGHUP without a restart, a bad file keeps the old one, an offline CA warns; as root, renew-cert keeps the owner of the files (root)', async t => {
  const dir = await tempDir(t, 'ferry-server-cert-');
  const data = path.join(dir, 'data');
  const tlsDir = path.join(data, 'tls');
  const init = await runBin('ferry-coordinator', ['init', '--data', data]);
  t.equal(init.code, 0, init.stderr);
  const initCert = new X509Certificate(await fs.readFile(path.join(tlsDir, 'server.crt')));
  const initKey = await fs.readFile(path.join(tlsDir, 'server.key'), 'utf8');

  // 1000 days before expiry is longer than the certificate lasts (825 days): due at once.
  const c = await startCoordinator(t, data, ['--server-cert-renew-before', '1000d'], '127.0.0.1:0', { tls: true });
  const renewed = await served(c.address);
  t.not(renewed.fingerprint256, initCert.fingerprint256, 'the port serves a new certificate from the first connection');
  t.equal(renewed.subjectAltName, initCert.subjectAltName, 'with the names the old one had');
  const { caFile, fingerprint, admin } = await readTrust(data);
  t.ok(renewed.checkIssued(new X509Certificate(await fs.readFile(caFile))), 'signed by the same CA');
  const onDisk = new X509Certificate(await fs.readFile(path.join(tlsDir, 'server.crt')));
  t.equal(onDisk.fingerprint256, renewed.fingerprint256, 'server.crt is the served certificate');
  t.not(await fs.readFile(path.join(tlsDir, 'server.key'), 'utf8'), initKey, 'with a new key');
  t.equal((await fs.stat(path.join(tlsDir, 'server.key'))).mode & 0o777, 0o600, 'server.key stays 0600');
  t.same((await fs.readdir(tlsDir)).sort(), ['ca.crt', 'ca.key', 'server.crt', 'server.key'], 'no temp files left behind');
  t.match(c.output(), new RegExp(`\\[security\\] server certificate renewed previous_expires_at=\\S+ expires_at=\\S+ fingerprint=${renewed.fingerprint256}`), 'logged with the new expiry and fingerprint');

  // Everyone pins the CA, so the new certificate is trusted: the CLI with a token, an enrolled agent.
  const as = asCaller(c.address, { FERRY_CA: caFile });
  const join = await mintToken(t, as, admin, 'agent', ['--uses', '1']);
  const root = path.join(dir, 'h1');
  const enrolled = await enrollHost({ coordinator: c.address, token: join, fingerprint, rootDir: root, hostId: 'h1' });
  t.equal(enrolled.code, 0, enrolled.stderr);
  await startAgent(t, { coordinator: c.address, rootDir: root, hostId: 'h1' });
  const connected = () => waitFor('h1 over mutual TLS', async () => (await as(admin, ['hosts', 'list', '--json'])).json?.hosts?.some((h: any) => h.id === 'h1' && h.connected));
  await connected();
  const audit = await as(admin, ['audit', '--json', '--action', 'server-certificate-renewed']);
  t.equal(audit.code, 0, audit.stderr);
  const records = audit.stdout.split('\n').filter(Boolean).map(l => JSON.parse(l));
  t.match(records, [{ actor: 'coordinator', action: 'server-certificate-renewed', outcome: 'ok', target: { fingerprint: renewed.fingerprint256, previousFingerprint: initCert.fingerprint256 } }], 'the audit log has the renewal');
  t.equal(records.length, 1);

  // renew-cert adds a name; SIGHUP serves it without a restart; an open connection keeps working.
  const held = await connect(c.address);
  // As after install --user: the coordinator's user owns DATA; root runs renew-cert.
  if (isRoot) for (const f of ['server.crt', 'server.key']) await fs.chown(path.join(tlsDir, f), 65534, 65534);
  const manual = await runBin('ferry-coordinator', ['renew-cert', '--data', data, '--san', 'extra.example', '--json']);
  t.equal(manual.code, 0, manual.stderr);
  if (isRoot) {
    for (const f of ['server.crt', 'server.key']) t.match(await fs.stat(path.join(tlsDir, f)), { uid: 65534, gid: 65534 }, `${f} keeps its owner`);
  }
  t.same(manual.json.subjectAltNames.slice(-1), ['extra.example']);
  t.notMatch(manual.stdout, /PRIVATE KEY/, 'never the key');
  t.equal((await served(c.address)).fingerprint256, renewed.fingerprint256, 'not served before SIGHUP');
  const text = await runBin('ferry-coordinator', ['renew-cert', '--data', data]);
  t.match(text.stdout, /names {10}localhost, 127\.0\.0\.1, ::1, .*extra\.example\n {2}fingerprint {4}SHA256 [0-9A-F:]{95}\n[^]*SIGHUP \(systemctl reload ferry-coordinator/, 'the text names the expiry, the names, the fingerprint and what to do');
  const latest = new X509Certificate(await fs.readFile(path.join(tlsDir, 'server.crt')));
  c.child.kill('SIGHUP');
  const reloaded = await waitFor('the renewed certificate to be served', async () => {
    const x = await served(c.address);
    return x.fingerprint256 === latest.fingerprint256 && x;
  });
  t.match(reloaded.subjectAltName, /DNS:extra\.example/, 'the new name is served without a restart');
  t.match(await httpOver(held), /^HTTP\/1\.1 \d{3}/, 'a connection opened before the reload still works');
  held.destroy();
  await connected();
  t.equal((await as(admin, ['app', 'list'])).code, 0, 'the CLI trusts the reloaded certificate');

  // A bad file on reload: an error naming it, and the certificate in use stays.
  await fs.writeFile(path.join(tlsDir, 'server.crt'), 'not a certificate\n');
  c.child.kill('SIGHUP');
  await waitFor('the reload error', () => /error \[security\] cannot load the server certificate; the one in use stays error=\S+\/tls\/server\.crt: not a PEM certificate/.test(c.output()));
  t.equal((await served(c.address)).fingerprint256, latest.fingerprint256, 'the last good certificate is still served');
  t.equal((await as(admin, ['app', 'list'])).code, 0);
  t.equal(await c.kill(), 0, 'SIGHUP never ended the process; SIGTERM does, cleanly');

  // The CA key kept offline: nothing can be renewed here, and each check says so and what to run.
  await fs.writeFile(path.join(tlsDir, 'server.crt'), latest.toString());
  await fs.rename(path.join(tlsDir, 'ca.key'), path.join(dir, 'ca.key'));
  const offline = await startCoordinator(t, data, ['--server-cert-renew-before', '1000d'], '127.0.0.1:0', { tls: true });
  t.match(offline.output(), /warn {2}\[security\] the server certificate expires soon and cannot be renewed here: the CA key is not on this machine expires_at=\S+ ca_key=\S+\/tls\/ca\.key fix=ferry-coordinator renew-cert --data /);
  t.equal((await served(offline.address)).fingerprint256, latest.fingerprint256, 'the current certificate is served');
  const noKey = await runBin('ferry-coordinator', ['renew-cert', '--data', data]);
  t.equal(noKey.code, 1);
  t.match(noKey.stderr, /tls\/ca\.key is absent: a server certificate is signed with the CA key; run ferry-coordinator renew-cert --data \S+ where the CA key is kept/);
  await offline.kill();
  const fresh = await runBin('ferry-coordinator', ['renew-cert', '--data', path.join(dir, 'nothing')]);
  t.equal(fresh.code, 1);
  t.match(fresh.stderr, /nothing\/tls does not exist: this coordinator is not initialised \(run ferry-coordinator init --data /);
  const badSan = await runBin('ferry-coordinator', ['renew-cert', '--data', data, '--san', 'bad name']);
  t.equal(badSan.code, 2);
  t.match(badSan.stderr, /--san 'bad name': not an IP address or a DNS name/);
});
