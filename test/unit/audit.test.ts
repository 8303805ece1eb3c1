import t from 'tap';
import { MAX_STORED_TEXT, boundEntry, foldKey, overflowEntry, peerAddress, redactSecret, summarizeRequest, summarizeResponse, type AuditEntry } from '../../coordinator/domain/audit.js';
import { isMutating } from '../../coordinator/security/auth.js';
import { REQUIRED_ROLE } from '../../coordinator/security/permissions.js';

const TOKEN = `fy.abcdefghij01.${'s'.repeat(43)}`;

t.test('a request is summarised by its plain fields; secrets show only that they were set', async t => {
  const summary = summarizeRequest({
    application: 'shop', group: 'web', revision: 'latest', ignoreApplicationStopFailures: true, description: '', uses: 0,
    tagSets: [{ tags: ['role=web'] }], events: ['DeploymentFailure'], ttlMs: 3_600_000,
    token: TOKEN, secret: 'hmac-secret', csrPem: '-----BEGIN CERTIFICATE REQUEST-----', chunk: Buffer.from('bytes'),
    minimumHealthy: { type: 'HOST_COUNT', value: 2, deeper: { x: 1 } },
  });
  t.same(summary, {
    application: 'shop', group: 'web', revision: 'latest', ignoreApplicationStopFailures: true, events: ['DeploymentFailure'], ttlMs: 3_600_000,
    token: 'fy.abcdefghij01.***', secret: '***', csrPem: '***', chunk: '***', 'minimumHealthy.type': 'HOST_COUNT', 'minimumHealthy.value': 2,
  });
  t.notOk(JSON.stringify(summary).includes('s'.repeat(43)), 'no token secret');
  t.notOk(JSON.stringify(summary).includes('hmac-secret'), 'no webhook secret');
  t.same(summarizeRequest({ register: { hostId: 'h9', zone: 'a', facts: { os: 'linux' } } }), { 'register.hostId': 'h9', 'register.zone': 'a' }, 'one level of nesting (an agent registering)');
  t.same(summarizeRequest({ header: { application: 'shop', joinToken: TOKEN } }), { 'header.application': 'shop', 'header.joinToken': 'fy.abcdefghij01.***' });
  t.equal((summarizeRequest({ description: 'x'.repeat(500) }).description as string).length, 201, 'long strings are cut');
  t.same(summarizeRequest(null), {});
  t.equal(redactSecret('not-a-token'), '***');
});

t.test('a response contributes only the ids of what the call made', async t => {
  t.same(summarizeResponse({ id: 'd-123', status: 'Created', token: TOKEN }), { 'result.id': 'd-123' });
  t.same(summarizeResponse({ info: { id: 'abcdefghij01', role: 'viewer' }, token: TOKEN }), { 'result.info.id': 'abcdefghij01' }, 'a new token by its id, never its secret');
  t.same(summarizeResponse({ revision: { digest: 'ab'.repeat(32) } }), { 'result.revision.digest': 'ab'.repeat(32) });
  t.same(summarizeResponse(undefined), {});
});

t.test('refusals and failures fold by caller, call, error and address (not port); successful calls never do', async t => {
  const refused: AuditEntry = { at: '', actor: 'anonymous', role: '', action: 'ControlService/ListHosts', peer: '10.0.0.2:5000', outcome: 'refused', code: 'UNAUTHENTICATED', message: 'm', target: {} };
  t.equal(foldKey(refused), foldKey({ ...refused, peer: '10.0.0.2:5001' }));
  t.not(foldKey(refused), foldKey({ ...refused, peer: '10.0.0.3:5000' }));
  t.not(foldKey(refused), foldKey({ ...refused, message: 'other' }));
  t.equal(foldKey({ ...refused, outcome: 'ok' }), undefined);
  t.ok(foldKey({ ...refused, outcome: 'failed' }), 'a failed call folds too (an enrollment failing validation)');
  t.not(foldKey({ ...refused, outcome: 'failed' }), foldKey(refused));
  t.equal(peerAddress('10.0.0.2:5000'), '10.0.0.2');
  t.equal(peerAddress('::ffff:127.0.0.1:40000'), '::ffff:127.0.0.1');
  t.equal(peerAddress('unix:/run/x'), 'unix:/run/x');
});

t.test('every call above viewer is audited except the admin reads; viewer calls are not; enrollment is', async t => {
  const audited = Object.keys(REQUIRED_ROLE).filter(m => isMutating(`/ferry.v1.ControlService/${m}`));
  for (const m of ['CreateDeployment', 'StopDeployment', 'RollbackDeployment', 'ApproveDeployment', 'UploadRevision', 'CreateToken', 'RevokeToken', 'RevokeHost', 'SetTrigger', 'CreateDeploymentGroup']) {
    t.ok(audited.includes(m), `${m} is audited`);
  }
  for (const m of ['ListHosts', 'GetDeployment', 'StreamLogs', 'ListTokens', 'StreamAudit']) t.notOk(audited.includes(m), `${m} is a read`);
  t.ok(isMutating('/ferry.v1.AgentService/Enroll'));
  t.notOk(isMutating('/ferry.v1.AgentService/Connect'), 'a stream is audited only when refused');
  t.notOk(isMutating('/ferry.v1.ControlService/NoSuchCall'));
});

t.test('a stored entry is bounded and its control characters escaped; an overflow entry folds per address', async t => {
  const e: AuditEntry = {
    at: '2026-01-01T00:00:00.000Z', actor: 'anonymous', role: 'agent', action: 'AgentService/Enroll', peer: '10.0.0.2:5000', outcome: 'failed',
    code: 'INVALID_ARGUMENT', message: `host id \u001b]52;c;x\u0007 ${'h'.repeat(100_000)}`, target: { hostId: `\u001b[2J${'h'.repeat(1000)}`, tags: ['a\u009bb'] },
  };
  const b = boundEntry(e);
  t.ok(b.message.length < MAX_STORED_TEXT + 40, 'the message is cut');
  t.match(b.message, /^host id \\x1b\]52;c;x\\x07 h+…\(100018 characters\)$/);
  t.match(b.target.hostId, /^\\x1b\[2J/);
  t.same(b.target.tags, ['a\\x9bb'], 'C1 controls too');
  const o1 = overflowEntry(e, 10);
  const o2 = overflowEntry({ ...e, actor: 'join-token:x', action: 'ControlService/ListHosts', message: 'other', peer: '10.0.0.2:6000' }, 10);
  t.equal(foldKey(o1), foldKey(o2), 'whatever the calls were, one address folds into one record');
  t.not(foldKey(o1), foldKey({ ...o1, peer: '10.0.0.3:1' }));
});
