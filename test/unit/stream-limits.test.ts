import t from 'tap';
import { isFerryError } from '../../common/errors.js';
import { downloadLimit, streamLimit, streamOwner } from '../../coordinator/security/stream-limits.js';

t.test('a caller holds at most the limit; one more is refused naming the limit and its setting; a release counts once', t => {
  const limit = streamLimit(2);
  const a = limit.acquire('token:abc');
  limit.acquire('token:abc');
  const err = (() => {
    try {
      limit.acquire('token:abc');
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.ok(isFerryError(err) && err.code === 'RESOURCE_EXHAUSTED', 'refused with RESOURCE_EXHAUSTED');
  t.match(String(err), /token:abc has 2 streams open .*maxStreamsPerCaller, --max-streams-per-caller/);
  t.doesNotThrow(() => limit.acquire('token:other'), 'another caller has its own count');
  a();
  a();
  t.equal(limit.count('token:abc'), 1, 'released once, however often called');
  t.doesNotThrow(() => limit.acquire('token:abc'), 'room again');
  const one = downloadLimit(1);
  one.acquire('h1');
  t.throws(() => one.acquire('h1'), /host h1 has 1 downloads open.*maxDownloadsPerHost/);
  const none = streamLimit(0);
  for (let i = 0; i < 1000; i++) none.acquire('x');
  t.equal(none.count('x'), 1000, '0: no limit');
  t.end();
});

t.test('streams count per API token wherever it calls from, and per address without one', t => {
  t.equal(streamOwner({ id: 'token:abc', role: 'viewer' }, '10.0.0.1:5000'), 'token:abc');
  t.equal(streamOwner({ id: 'insecure-local', role: 'admin' }, '127.0.0.1:5000'), 'address 127.0.0.1');
  t.equal(streamOwner(undefined, 'ipv4:10.0.0.2:5000'), 'address 10.0.0.2');
  t.equal(streamOwner(undefined, '[::1]:5000'), 'address [::1]');
  t.end();
});
