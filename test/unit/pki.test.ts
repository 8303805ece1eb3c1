import t from 'tap';
import { isLoopbackHost, listenHost } from '../../common/loopback.js';
import { leafExtensions, opensslArgs, sameFingerprint, tlsFiles } from '../../coordinator/security/pki.js';
import { defaultSans, subjectAltNames } from '../../common/certificates.js';
import { chooseTransport } from '../../coordinator/security/transport.js';

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

t.test('the transport: TLS by default (made at first start when missing), plaintext only with --insecure on loopback', async t => {
  t.same(chooseTransport({ dataDir: '/d', listen: '0.0.0.0:7420', insecure: false, tlsPresent: true }), { kind: 'tls', files: tlsFiles('/d'), init: false });
  t.match(chooseTransport({ dataDir: '/d', listen: '127.0.0.1:7420', insecure: false, tlsPresent: false }), { kind: 'tls', init: true });
  for (const listen of ['127.0.0.1:0', 'localhost:7420', '[::1]:7420', '127.1.2.3:1']) {
    t.same(chooseTransport({ dataDir: '/d', listen, insecure: true, tlsPresent: true }), { kind: 'plaintext' }, listen);
  }
  for (const listen of ['0.0.0.0:7420', '10.0.0.5:7420', '[::]:7420', 'ferry.internal:7420']) {
    t.throws(() => chooseTransport({ dataDir: '/d', listen, insecure: true, tlsPresent: false }), { code: 'INVALID_ARGUMENT', message: /only on a loopback address/ }, listen);
  }
  t.ok(isLoopbackHost('127.0.0.1') && !isLoopbackHost('128.0.0.1'));
  t.equal(listenHost('[::1]:7420'), '::1');
});
