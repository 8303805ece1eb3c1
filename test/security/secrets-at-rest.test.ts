/**
 * Attack (docs/security.md): the data dir was 0755 and ferry.db, -wal, -shm and the logs 0644, so any local
 * user read the webhook HMAC secrets; a webhook URL with a token in its query was shown in full to
 * viewers, stored in audit records and logged in a fetch error.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startCoordinator, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';
import { asCaller, mintToken, readTrust } from '../helpers/trust.js';
import { tlsCoordinator, unary } from '../helpers/security.js';

const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

t.test('the data dir is 0700 and the store, its WAL and the logs 0600, also when an earlier version left them open', async t => {
  const dir = await tempDir(t, 'ferry-sec-');
  const data = path.join(dir, 'data');
  await fs.mkdir(path.join(data, 'logs'), { recursive: true, mode: 0o755 });
  await fs.chmod(data, 0o755);
  await fs.writeFile(path.join(data, 'logs', 'ferry-coordinator.log'), 'an old line\n', { mode: 0o644 });
  const c = await startCoordinator(t, data, [], '127.0.0.1:0', { tls: true });
  const { admin, caFile } = await readTrust(data);
  const as = asCaller(c.address, { FERRY_CA: caFile });
  t.equal((await as(admin, ['app', 'create', 'shop'])).code, 0, 'something is written to the store');
  t.equal(await mode(data), 0o700, 'DATA is 0700');
  for (const f of ['ferry.db', 'ferry.db-wal', 'ferry.db-shm', 'admin.token', 'logs/ferry-coordinator.log', 'tls/ca.key']) {
    t.equal(await mode(path.join(data, f)), 0o600, `${f} is 0600`);
  }
  t.equal(await mode(path.join(data, 'logs')), 0o700, 'logs/ is 0700');
  t.match(c.output(), /the data dir was readable by other users: made it 0700 and its files 0600/, 'the tightening is logged');
});

t.test('a webhook URL\'s query (a token) is shown to nobody: not to viewers, not in the audit log, not in logs; user:password is refused', async t => {
  const s = await tlsCoordinator(t, ['--webhook-allow', 'loopback']);
  const token = 'SECRETQUERYTOKEN42';
  const url = `http://127.0.0.1:1/hook?token=${token}`;
  t.equal((await s.as(s.admin, ['app', 'create', 'shop'])).code, 0);
  t.equal((await s.as(s.admin, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  const set = await s.as(s.admin, ['group', 'set-trigger', '--app', 'shop', '--group', 'web', '--name', 'ops', '--url', url, '--events', 'DeploymentStart']);
  t.equal(set.code, 0, set.stderr);
  const viewer = await mintToken(t, s.as, s.admin, 'viewer');
  // The test notification fails (nothing listens on port 1): its error is recorded and logged.
  const shown = await waitFor('the test delivery to fail', async () => {
    const r = await s.as(viewer, ['group', 'show', '--app', 'shop', '--name', 'web', '--json']);
    return r.json?.triggers?.[0]?.failedAttempts > 0 && r;
  });
  t.equal(shown.json.triggers[0].url, 'http://127.0.0.1:1/hook?…', 'a viewer sees the URL without its query');
  t.notOk(shown.stdout.includes(token));
  const human = await s.as(viewer, ['group', 'show', '--app', 'shop', '--name', 'web']);
  t.notOk(human.stdout.includes(token));
  const audit = await s.as(s.admin, ['audit', '--json']);
  t.match(audit.stdout, /"url":"http:\/\/127\.0\.0\.1:1\/hook\?…"/, 'the audit record names the URL without its query');
  t.notOk(audit.stdout.includes(token), 'no token in the audit log');
  const log = await fs.readFile(path.join(s.data, 'logs', 'ferry-coordinator.log'), 'utf8');
  t.match(log, /webhook delivery failed/);
  t.notOk((log + s.c.output()).includes(token), 'no token in the coordinator\'s log or output');

  const api = s.controlApi(s.admin);
  const withPassword = await unary(api.SetTrigger.bind(api), { application: 'shop', group: 'web', name: 'basic', url: 'https://user:hunter2@hooks.example.com/x', events: ['DeploymentStart'] });
  t.equal(withPassword.err?.code, 3, 'INVALID_ARGUMENT');
  t.match(withPassword.err?.details, /--url: must not hold a user name or password/);
  const cli = await s.as(s.admin, ['group', 'set-trigger', '--app', 'shop', '--group', 'web', '--name', 'basic', '--url', 'https://user:hunter2@hooks.example.com/x', '--events', 'DeploymentStart']);
  t.equal(cli.code, 2, 'the CLI refuses it too, as a usage error');
});
