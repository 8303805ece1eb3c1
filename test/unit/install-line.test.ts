import t from 'tap';
import { agentInstallLine, pinHex } from '../../cli/install-line.js';

t.test('ferry token create --role agent prints the one-line install for the way the CLI trusts the coordinator', async t => {
  t.equal(agentInstallLine('ferry.internal:7420', { tls: true, caFile: 'ca.crt' }, 'fy.abc.s3cret'),
    'curl -fsSL --cacert ca.crt https://ferry.internal:7420/v1/agent/install.sh | sudo sh -s -- --token fy.abc.s3cret');
  const pinned = agentInstallLine('ferry.internal:7420', { tls: true, caFingerprint: 'SHA256:7A:35' + ':00'.repeat(30) }, 'fy.abc.s3cret');
  t.match(pinned, /^curl -fsSLk https:\/\/ferry\.internal:7420\/v1\/agent\/ca\.crt -o \/tmp\/ferry-ca\.crt && /, 'fetches the CA…');
  t.match(pinned, /= 7a35(00){30} \] && curl -fsSL --cacert \/tmp\/ferry-ca\.crt https:\/\/ferry\.internal:7420\/v1\/agent\/install\.sh \| sudo sh -s -- --token fy\.abc\.s3cret$/, '…checks it against the pin, then trusts it');
  t.equal(agentInstallLine('127.0.0.1:7420', { tls: false }, 'fy.abc.s3cret'), 'curl -fsSL http://127.0.0.1:7420/v1/agent/install.sh | sudo sh -s -- --token fy.abc.s3cret');
  t.equal(pinHex('sha256=AB:CD'), 'abcd');
});
