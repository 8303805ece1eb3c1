import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { AgentMessage } from '../../proto/gen/ferry/v1/AgentMessage.js';
import type { DeployCommand__Output } from '../../proto/gen/ferry/v1/DeployCommand.js';
import type { HostResult__Output } from '../../proto/gen/ferry/v1/HostResult.js';
import { isFerryError } from '../../common/errors.js';
import { backoffCeiling, backoffDelay, RECONNECT_BACKOFF } from '../../agent/link/backoff.js';
import { fsHolding } from '../../agent/link/facts.js';
import { checkDeployCommand, eventEnded, hostResult, notRunResult } from '../../agent/link/messages.js';
import { CommandStore, Outbox } from '../../agent/link/outbox.js';
import { StreamSink } from '../../agent/link/stream-sink.js';
import { defaultHostId, generateHostId, resolveHostId } from '../../agent/start/host-id.js';
import { tempDir } from '../helpers/temp.js';

const DIGEST = 'ab'.repeat(32);

/** A DeployCommand as the wire decodes it, with defaults (test data builder). */
function command(over: Partial<DeployCommand__Output> = {}): DeployCommand__Output {
  return {
    deploymentId: 'd-1', applicationName: 'shop', groupName: 'web', groupId: 'g-web', revisionDigest: DIGEST,
    revisionSize: 1234, bundleType: 'tgz', bundleCommit: '', fileExistsBehavior: '', ignoreApplicationStopFailures: false,
    events: [], ...over,
  };
}

const result = (id: string, status = 'Succeeded'): HostResult__Output => ({
  deploymentId: id, status, errorEvent: '', errorCode: '', errorMessage: '', events: [], revisionDigest: DIGEST,
});

t.test('the outbox keeps results until they are acknowledged', async t => {
  const outbox = new Outbox(await tempDir(t));
  await outbox.put(result('d-1'));
  await new Promise(r => setTimeout(r, 15)); // distinct mtimes: list is oldest first
  await outbox.put(result('d-2', 'Failed'));
  t.same((await outbox.list()).results.map(r => r.deploymentId), ['d-1', 'd-2']);
  t.same(await outbox.get('d-2'), result('d-2', 'Failed'));
  t.equal(await outbox.ack('d-1'), true);
  t.equal(await outbox.ack('d-1'), false, 'a repeated ack is harmless');
  t.same((await outbox.list()).results.map(r => r.deploymentId), ['d-2']);
  t.same(await fs.readdir(outbox.dir), ['d-2.json'], 'one file per result, no temp files left');
});

t.test('the outbox reports unreadable files and refuses ids that cannot name a file', async t => {
  const outbox = new Outbox(await tempDir(t));
  await outbox.put(result('d-1'));
  await fs.writeFile(path.join(outbox.dir, 'd-2.json'), '{ half');
  const listed = await outbox.list();
  t.same(listed.results.map(r => r.deploymentId), ['d-1']);
  t.same(listed.unreadable, [path.join(outbox.dir, 'd-2.json')]);
  await t.rejects(outbox.put(result('../escape')), { code: 'INVALID_ARGUMENT' });
});

t.test('accepted commands are kept until removed', async t => {
  const store = new CommandStore(await tempDir(t));
  await store.save(command(), Date.parse('2025-01-01T00:00:00Z'));
  const { commands } = await store.list();
  t.same(commands, [{ command: command(), acceptedAt: '2025-01-01T00:00:00.000Z' }]);
  t.equal(await store.remove('d-1'), true);
  t.same((await store.list()).commands, []);
});

t.test('reconnect backoff doubles from 0.5 s to a 30 s cap, with full jitter', async t => {
  t.same([1, 2, 3, 4, 5, 6, 7, 8, 100].map(n => backoffCeiling(n, RECONNECT_BACKOFF)),
    [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  t.equal(backoffDelay(3, RECONNECT_BACKOFF, () => 0), 0);
  t.equal(backoffDelay(3, RECONNECT_BACKOFF, () => 0.999), 1998);
  t.equal(backoffDelay(0, RECONNECT_BACKOFF, () => 0.5), 250, 'attempt 0 counts as the first');
});

t.test('a deploy command is checked field by field, every problem reported', async t => {
  const ok = checkDeployCommand(command({ events: ['ApplicationStart'], bundleCommit: 'abc123' }));
  t.same(ok, {
    ok: true,
    command: {
      deploymentId: 'd-1', applicationName: 'shop', groupName: 'web', groupId: 'g-web', digest: DIGEST, size: 1234,
      bundleType: 'tgz', bundleCommit: 'abc123', fileExistsBehavior: 'DISALLOW', ignoreApplicationStopFailures: false,
      events: ['ApplicationStart'],
    },
  });
  const bad = checkDeployCommand(command({
    deploymentId: '../x', groupId: 'revisions', revisionDigest: 'ABC', bundleType: 'rar', fileExistsBehavior: 'CLOBBER', events: ['Deploy'],
  }));
  t.equal(bad.ok, false);
  if (!bad.ok) {
    t.equal(bad.problems.length, 6);
    t.match(bad.problems.join('\n'), /deployment_id '\.\.\/x'.*\n.*group_id 'revisions'.*\n.*revision_digest 'ABC'.*\n.*bundle_type 'rar'.*\n.*file_exists_behavior 'CLOBBER'.*\n.*events: unknown Deploy/);
  }
});

t.test('results map to the wire with -1 for a missing exit code', async t => {
  t.same(eventEnded('d-1', { event: 'ValidateService', status: 'Failed', errorCode: 'ScriptFailed', exitCode: 3, message: 'm',
    startedAt: 'a', endedAt: 'b', durationMs: 5 }), {
    deploymentId: 'd-1', event: 'ValidateService', status: 'Failed', errorCode: 'ScriptFailed', exitCode: 3, message: 'm',
    startedAt: 'a', endedAt: 'b', durationMs: 5, ignored: false,
  });
  t.equal(eventEnded('d-1', { event: 'Install', status: 'Succeeded' }).exitCode, -1);
  const r = hostResult({
    deploymentId: 'd-1', applicationName: 'a', groupName: 'g', groupId: 'g1', status: 'Failed',
    error: { event: 'ApplicationStart', code: 'FailedAfterRestart', message: 'agent stopped' },
    events: [{ event: 'ApplicationStart', status: 'Failed', errorCode: 'FailedAfterRestart' }],
    warnings: [], deploymentDir: '', scriptsLog: '', startedAt: '', endedAt: '',
  }, DIGEST);
  t.match(r, { status: 'Failed', errorEvent: 'ApplicationStart', errorCode: 'FailedAfterRestart', errorMessage: 'agent stopped', revisionDigest: DIGEST });
  const never = notRunResult('d-2', DIGEST, 'UnknownError', 'cancelled before it started: stop');
  t.equal(never.events.length, 11);
  t.ok(never.events.every(e => e.status === 'Skipped' && e.message === 'cancelled before it started: stop'));
});

t.test('the stream sink batches hook output and flushes it before each event update', async t => {
  const sent: AgentMessage[] = [];
  const sink = new StreamSink('d-1', m => void sent.push(m), { flushMs: 20, maxLines: 3 });
  const at = Date.parse('2025-01-01T00:00:00Z');
  sink.emit({ type: 'event-start', event: 'ApplicationStart', at, revision: 'current' });
  for (const line of ['a', 'b', 'c', 'd']) sink.emit({ type: 'log', event: 'ApplicationStart', stream: 'stdout', line, at });
  t.same(sent.map(m => Object.keys(m)[0]), ['event', 'logs'], 'three lines make a full batch');
  sink.emit({ type: 'event-end', event: 'ApplicationStart', at, result: { event: 'ApplicationStart', status: 'Succeeded' } });
  t.same(sent.map(m => Object.keys(m)[0]), ['event', 'logs', 'logs', 'event'], 'the pending line goes before the event end');
  t.match(sent[0]!.event, { status: 'InProgress', startedAt: '2025-01-01T00:00:00.000Z', exitCode: -1 });
  t.same(sent[2]!.logs!.lines!.map(l => l.line), ['d']);
  sink.emit({ type: 'warning', event: 'ApplicationStart', message: 'outputs left open', at });
  await new Promise(r => setTimeout(r, 60));
  t.match(sent[4]!.logs!.lines![0], { stream: 'stderr', line: 'ferry-agent warning: outputs left open' }, 'the timer flushes a partial batch');
});

t.test('the host id is generated once, kept in <root>/host-id and reused', async t => {
  const root = await tempDir(t);
  t.match(generateHostId(), /^h-[a-z0-9]{12}$/);
  const first = await resolveHostId(root, undefined);
  t.match(first, /^h-[a-z0-9]{12}$/);
  t.equal(await fs.readFile(path.join(root, 'host-id'), 'utf8'), first + '\n');
  t.equal(await resolveHostId(root, undefined), first);
  t.equal(await resolveHostId(root, 'web-01'), 'web-01', '--host-id wins');
  const racing = await Promise.all([1, 2, 3].map(() => resolveHostId(path.join(root, 'new'), undefined)));
  t.equal(new Set(racing).size, 1, 'agents starting at once agree on one id');
  await fs.writeFile(path.join(root, 'host-id'), 'not an id!\n');
  const err = await resolveHostId(root, undefined).catch(e => e as Error);
  t.ok(isFerryError(err, 'INVALID_ARGUMENT'));
  t.match((err as Error).message, /holds 'not an id!', not a host id/);
});

t.test('disk facts come from the filesystem holding the root dir (the longest mount prefix)', async t => {
  const mounts = [{ mount: '/' }, { mount: '/opt' }, { mount: '/opt/ferry-agent/' }, { mount: '/optional' }];
  t.equal(fsHolding(mounts, '/opt/ferry-agent/deployment-root')?.mount, '/opt/ferry-agent/');
  t.equal(fsHolding(mounts, '/opt/other')?.mount, '/opt');
  t.equal(fsHolding(mounts, '/optx')?.mount, '/', 'a mount is a path prefix, not a string prefix');
  t.equal(fsHolding([{ mount: '/data' }], '/home'), undefined);
});

t.test('enrollment defaults the host id to the hostname when it can be one, else a generated id', async t => {
  const gen = () => 'h-generated000';
  t.equal(defaultHostId('web-1', gen), 'web-1');
  t.equal(defaultHostId('IP-10-0-0-5.ec2.internal', gen), 'ip-10-0-0-5.ec2.internal', 'lowercased, dots kept');
  t.equal(defaultHostId('localhost', gen), 'h-generated000', 'a name every machine has is no identity');
  t.equal(defaultHostId('localhost.localdomain', gen), 'h-generated000');
  t.equal(defaultHostId('bad name!', gen), 'h-generated000', 'not a valid id');
  t.equal(defaultHostId('', gen), 'h-generated000');
});
