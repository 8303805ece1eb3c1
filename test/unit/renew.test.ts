import t from 'tap';
import { parseDuration } from '../../common/parse.js';
import { renewalDue } from '../../common/certificates.js';

const DAY = 86_400_000;

t.test('a certificate is renewed once it expires within renew-before, never when the host is not enrolled', async t => {
  const now = Date.UTC(2026, 10, 27);
  t.notOk(renewalDue(now + 31 * DAY, now, 30 * DAY), '31 days left: not yet');
  t.ok(renewalDue(now + 30 * DAY, now, 30 * DAY), '30 days left: due');
  t.ok(renewalDue(now - DAY, now, 30 * DAY), 'already expired: due (the coordinator will refuse it, the log says so)');
  t.notOk(renewalDue(undefined, now, 30 * DAY), 'not enrolled: nothing to renew');
});

t.test('durations take days (renew-before 30d)', async t => {
  t.equal(parseDuration('--renew-before', '30d'), 30 * DAY);
  t.equal(parseDuration('--renew-before', '1.5d'), 1.5 * DAY);
  t.throws(() => parseDuration('--renew-before', '1w'), { message: /--renew-before: '1w' is not a duration \(e\.g\. 5, 500ms, 2m, 30d\)/ });
});
