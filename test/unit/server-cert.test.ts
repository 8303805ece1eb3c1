import t from 'tap';
import { resolveCoordinatorConfig } from '../../coordinator/config.js';
import { certificateSans, serverCertAction } from '../../coordinator/security/server-cert.js';

const DAY = 86_400_000;

t.test("a certificate's subjectAltName as Node prints it becomes the names --san takes", async t => {
  t.same(certificateSans('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FE80:0:0:0:0:0:1:2, DNS:*.svc.local, DNS:web-1'),
    ['localhost', '127.0.0.1', '::1', 'fe80::1:2', '*.svc.local', 'web-1'], 'IPv6 in its short form, so ::1 and a --san ::1 are one name');
  t.same(certificateSans('DNS:"odd,name", DNS:b'), ['odd,name', 'b'], 'a quoted value with a comma stays one entry');
  t.same(certificateSans(undefined), [], 'no subjectAltName: no names');
  t.throws(() => certificateSans('DNS:a, email:ops@example.com'), { code: 'FAILED_PRECONDITION', message: /names 'email:ops@example.com', which is not a DNS name or an IP address/ });
});

t.test('each check renews once the certificate expires within server-cert-renew-before, and only with the CA key', async t => {
  const now = Date.UTC(2026, 10, 27);
  t.equal(serverCertAction(now + 31 * DAY, now, 30 * DAY, true), 'none', '31 days left: not yet');
  t.equal(serverCertAction(now + 30 * DAY, now, 30 * DAY, true), 'renew', '30 days left: due');
  t.equal(serverCertAction(now - DAY, now, 30 * DAY, true), 'renew', 'expired already: renewed (clients refuse it meanwhile)');
  t.equal(serverCertAction(now + 825 * DAY, now, 1000 * DAY, true), 'renew', 'a window longer than the certificate: due at once');
  t.equal(serverCertAction(now + 10 * DAY, now, 30 * DAY, false), 'cannot-renew', 'due, but the CA key is kept elsewhere: a warning');
  t.equal(serverCertAction(now + 31 * DAY, now, 30 * DAY, false), 'none', 'not due: no warning either');
});

t.test('server-cert-renew-before: 30d by default; flag, environment and file, in that order', async t => {
  const env = { FERRY_COORDINATOR_CONFIG: '' };
  t.equal(resolveCoordinatorConfig({ data: '/d' }, env, '/').serverCertRenewBeforeMs, 30 * DAY);
  t.equal(resolveCoordinatorConfig({ data: '/d' }, { ...env, FERRY_SERVER_CERT_RENEW_BEFORE: '45d' }, '/').serverCertRenewBeforeMs, 45 * DAY);
  t.equal(resolveCoordinatorConfig({ data: '/d', serverCertRenewBefore: '12h' }, { ...env, FERRY_SERVER_CERT_RENEW_BEFORE: '45d' }, '/').serverCertRenewBeforeMs, 12 * 3_600_000);
  t.throws(() => resolveCoordinatorConfig({ data: '/d', serverCertRenewBefore: 'soon' }, env, '/'), { code: 'INVALID_ARGUMENT', message: "--server-cert-renew-before: 'soon' is not a duration (e.g. 5, 500ms, 2m, 30d)" });
});
