/**
 * Attack (docs/security.md): webhook destinations were not checked. An admin's trigger could make the
 * coordinator POST to the cloud metadata service (169.254.169.254), its own port or 127.0.0.1:22, and
 * the last delivery error, shown to viewers, told what answers there: a port scan from inside. Now
 * loopback, link-local and private destinations are refused — in the URL when the trigger is set,
 * and at every delivery for each address a name resolves to — unless `webhook-allow` allows them;
 * viewers see only whether deliveries fail.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { guardedFetch, parseWebhookAllow } from '../../coordinator/notify/destination.js';
import { ferry, startCoordinator, waitFor } from '../helpers/fleet.js';
import { tlsCoordinator } from '../helpers/security.js';
import { tempDir } from '../helpers/temp.js';
import { mintToken } from '../helpers/trust.js';

/** An HTTP server on 127.0.0.1 that counts the POSTs it gets. */
async function receiver(t: Parameters<typeof tempDir>[0]): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    req.resume();
    res.end();
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, hits: () => hits };
}

const setTrigger = (name: string, url: string) => ['group', 'set-trigger', '--app', 'shop', '--group', 'web', '--name', name, '--url', url, '--events', 'DeploymentStart', '--json'];

t.test('link-local, loopback and private destinations are refused unless allowed; viewers see only delivered or failed', async t => {
  // Only 127.0.0.1 is allowed (where the test's closed port is): every other non-public address is not.
  const s = await tlsCoordinator(t, ['--webhook-allow', '127.0.0.1/32']);
  t.equal((await s.as(s.admin, ['app', 'create', 'shop'])).code, 0);
  t.equal((await s.as(s.admin, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  for (const [url, kind] of [
    ['http://169.254.169.254/latest/meta-data/', 'link-local'], ['http://127.0.0.2:22/', 'loopback'], ['http://[::1]:8080/', 'loopback'],
    ['http://[fe80::1]/', 'link-local'], ['http://[::ffff:10.1.2.3]/', 'private'], ['http://10.0.0.5/hook', 'private'],
    ['http://192.168.1.1/', 'private'], ['http://172.20.0.1/', 'private'], ['http://0.0.0.0:7420/', 'loopback'],
  ] as const) {
    const r = await s.as(s.admin, setTrigger('probe', url));
    t.equal(r.code, 1, `${url} is refused`);
    t.match(r.stderr, new RegExp(`--url: \\S+ is a ${kind} address: webhooks go only to public addresses unless the coordinator's webhook-allow setting allows it`));
  }
  t.same((await s.as(s.admin, ['group', 'show', '--app', 'shop', '--name', 'web', '--json'])).json.triggers, [], 'none was stored');

  // Nothing listens on 127.0.0.1:1: the admin sees why the delivery fails, a viewer only that it does.
  t.equal((await s.as(s.admin, setTrigger('closed', 'http://127.0.0.1:1/hook'))).code, 0);
  const admin = await waitFor('the test delivery to fail', async () => {
    const tr = (await s.as(s.admin, ['group', 'show', '--app', 'shop', '--name', 'web', '--json'])).json?.triggers?.[0];
    return tr?.failedAttempts > 0 && tr;
  });
  t.match(admin.lastError, /ECONNREFUSED/, 'the admin sees why');
  const viewer = await mintToken(t, s.as, s.admin, 'viewer');
  const seen = (await s.as(viewer, ['group', 'show', '--app', 'shop', '--name', 'web', '--json'])).json.triggers[0];
  t.match(seen, { name: 'closed', lastError: 'delivery failed', lastStatus: 0 }, 'a viewer sees that it fails, not why');
  const listed = (await s.as(viewer, ['group', 'list', '--app', 'shop', '--json'])).json.groups[0].triggers[0];
  t.match(listed, { lastError: 'delivery failed', lastStatus: 0 });
  t.notOk(JSON.stringify(listed).includes('ECONNREFUSED'));
});

t.test('a name is checked for every address it resolves to, as the delivery connects', async t => {
  const target = await receiver(t);
  const post = (allow: string) => guardedFetch(parseWebhookAllow('webhook-allow', allow))(`http://localhost:${target.port}/hook`, { method: 'POST', body: '{}', headers: {} });
  const refused = await post('').then(() => undefined, (err: Error) => err);
  t.match(String(refused), /localhost resolves to 127\.0\.0\.1 is a loopback address/, 'localhost (127.0.0.1) is refused');
  t.equal(target.hits(), 0, 'nothing reached the receiver');
  t.equal((await post('loopback')).status, 200, 'allowed by webhook-allow: loopback');
  t.equal(target.hits(), 1);
});

t.test('webhook-allow lets the configured destinations through, and only those', async t => {
  const dir = await tempDir(t, 'ferry-sec-');
  const target = await receiver(t);
  const c = await startCoordinator(t, path.join(dir, 'data'), ['--webhook-allow', '127.0.0.0/8']);
  t.equal((await ferry(c.address, ['app', 'create', 'shop'])).code, 0);
  t.equal((await ferry(c.address, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  const ok = await ferry(c.address, setTrigger('local', `http://127.0.0.1:${target.port}/hook`));
  t.equal(ok.code, 0, ok.stderr);
  await waitFor('the test notification to arrive', () => target.hits() > 0);
  const v6 = await ferry(c.address, setTrigger('v6', 'http://[::1]:9/'));
  t.match(v6.stderr, /::1 is a loopback address/, '::1 is not in 127.0.0.0/8');
  const bad = await startCoordinator(t, path.join(dir, 'other'), ['--webhook-allow', 'loopback,10.0.0.0/33,intranet']).catch((err: Error) => err);
  t.match(String(bad), /--webhook-allow: '10\.0\.0\.0\/33' is not loopback, link-local, private, an address or a CIDR \(10\.1\.0\.0\/16\); 'intranet' is not/);
});
