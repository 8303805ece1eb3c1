import t from 'tap';
import { defaultSans, leafExtensions, opensslArgs, sameFingerprint, subjectAltNames, tlsFiles } from '../../coordinator/security/pki.js';

t.test('--san values become DNS or IP names; bad ones are all named', async t => {
  t.same(subjectAltNames(['ferry.internal', '10.0.0.5', '::1', '*.svc.local', 'ferry.internal']), ['DNS:ferry.internal', 'IP:10.0.0.5', 'IP:::1', 'DNS:*.svc.local']);
  t.throws(() => subjectAltNames(['ok.host', 'bad name', 'x/y']), { code: 'INVALID_ARGUMENT', message: "--san 'bad name', 'x/y': not an IP address or a DNS name" });
});

t.test('the server certificate always names loopback and the host', async t => {
  t.same(defaultSans('web-1'), ['localhost', '127.0.0.1', '::1', 'web-1']);
  t.same(defaultSans('not a name'), ['localhost', '127.0.0.1', '::1'], 'an odd hostname is left out');
});

t.test('fingerprints compare with or without colons, any case, with a SHA256 prefix', async t => {
  const hex = 'ab'.repeat(32);
  const colons = hex.toUpperCase().match(/../g)!.join(':');
  t.ok(sameFingerprint(colons, hex));
  t.ok(sameFingerprint(`SHA256:${hex}`, colons));
  t.notOk(sameFingerprint(hex, 'ac'.repeat(32)));
  t.notOk(sameFingerprint('', ''), 'empty never matches');
});

t.test('openssl invocations are data: EC P-256 keys, a CA limited to signing, leaves by kind', async t => {
  const f = tlsFiles('/d');
  t.equal(f.caKey, '/d/tls/ca.key');
  t.same(opensslArgs.ecKey('/k'), ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', '/k']);
  t.ok(opensslArgs.selfSignedCa('/k', '/c', 'Ferry CA').includes('basicConstraints=critical,CA:TRUE,pathlen:0'));
  t.match(leafExtensions('server', ['DNS:a']), /extendedKeyUsage=serverAuth\nsubjectAltName=DNS:a/);
  t.match(leafExtensions('client', []), /extendedKeyUsage=clientAuth\n$/);
  t.ok(opensslArgs.sign('/r', f, '/e', 30, 'ff', '/o').join(' ').includes('-CA /d/tls/ca.crt -CAkey /d/tls/ca.key -set_serial 0xff -days 30'));
});
