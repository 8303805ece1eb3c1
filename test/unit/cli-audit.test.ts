import t from 'tap';
import { auditJson, auditLine } from '../../cli/commands/audit.js';
import { paint } from '../../cli/output.js';
import type { AuditRecord__Output } from '../../proto/gen/ferry/v1/AuditRecord.js';
import { T0, runFerry, startFakeControl } from '../helpers/fake-control.js';

const aRecord = (o: Partial<AuditRecord__Output> = {}): AuditRecord__Output => ({
  seq: 7, at: T0, actor: 'token:abcdefghij01', role: 'viewer', action: 'ControlService/CreateDeployment', peer: '10.0.0.7:4000',
  outcome: 'refused', code: 'PERMISSION_DENIED', message: 'needs deployer', targetJson: '{"application":"shop","group":"web"}', count: 1, lastAt: T0, ...o,
});

t.test('audit lines and JSON lines are pure functions of the record', async t => {
  t.equal(auditLine(aRecord(), paint(false)),
    `     7  ${T0}  refused  token:abcdefghij01 (viewer)  CreateDeployment  from 10.0.0.7:4000  application=shop group=web  — PERMISSION_DENIED: needs deployer`);
  t.match(auditLine(aRecord({ actor: 'anonymous', role: '', count: 3, lastAt: '2025-01-01T12:00:30.000Z' }), paint(false)), /anonymous {2}CreateDeployment.*\(×3, last 2025-01-01T12:00:30\.000Z\)$/);
  t.match(auditLine(aRecord({ outcome: 'ok', code: '', message: '', targetJson: '{}' }), paint(false)), /ok {7}token:abcdefghij01 \(viewer\) {2}CreateDeployment {2}from 10\.0\.0\.7:4000$/);
  t.equal(auditLine(aRecord({ actor: 'coordinator', role: '', action: 'server-certificate-renewed', peer: '', outcome: 'ok', code: '', message: '', targetJson: '{"expiresAt":"2029-03-01T00:00:00.000Z"}' }), paint(false)),
    `     7  ${T0}  ok       coordinator  server-certificate-renewed  expiresAt=2029-03-01T00:00:00.000Z`, 'the coordinator\'s own action comes from no peer');
  t.same(auditJson(aRecord()).target, { application: 'shop', group: 'web' });
  t.notOk('targetJson' in auditJson(aRecord()));
});

t.test('ferry audit sends its filters and prints one JSON object per line with --json; bad flags are usage errors', async t => {
  const fake = await startFakeControl(t);
  fake.audit = [aRecord({ seq: 1 }), aRecord({ seq: 2, outcome: 'ok' })];
  const r = await runFerry(['--coordinator', fake.address, 'audit', '--since', '1', '--last', '5', '--actor', 'token:abcdefghij01', '--action', 'CreateDeployment', '--outcome', 'ok', '--json']);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n').map(l => JSON.parse(l).seq), [2]);
  t.same(fake.requests('StreamAudit'), [{ sinceSeq: 1, last: 5, actor: 'token:abcdefghij01', action: 'CreateDeployment', outcome: 'ok', follow: false }]);
  for (const [args, message] of [
    [['--outcome', 'maybe'], /--outcome: 'maybe' is not one of ok, failed, refused/],
    [['--last', '0'], /--last/],
    [['--since', 'x'], /--since: 'x' is not a sequence number/],
    [['--actor', ' '], /--actor: must not be empty/],
  ] as const) {
    const bad = await runFerry(['--coordinator', fake.address, 'audit', ...args]);
    t.equal(bad.code, 2, `${args.join(' ')} is a usage error`);
    t.match(bad.stderr, message);
  }
  t.equal(fake.requests('StreamAudit').length, 1, 'nothing sent for a usage error');
});
