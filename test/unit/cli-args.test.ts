import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import { FerryError } from '../../common/errors.js';
import {
  bundleTypeOf, parseDuration, parseFileExistsBehavior, parseMinHealthy, parsePositiveInt, parseRevisionRef, parseTagSet, parseTagSets,
} from '../../cli/args.js';
import { describeApiError } from '../../cli/client.js';
import { type CliEnvironment, readCliEnvironment, resolveCliConfig } from '../../cli/config.js';
import { EXIT, exitCodeForDeployment, exitCodeForError, wasRolledBack } from '../../cli/exit-codes.js';
import { createRequest } from '../../cli/deploy-request.js';
import { detail } from '../helpers/fake-control.js';

/** Flag parsing, configuration and exit codes: pure, and every rejection names its flag. */

function rejects(t: Test, fn: () => unknown, message: string | RegExp): void {
  try {
    fn();
    t.fail(`expected an error matching ${String(message)}`);
  } catch (err) {
    t.ok(err instanceof FerryError && err.code === 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
    t.match((err as Error).message, message);
  }
}

t.test('--min-healthy: a host count or a fleet percentage', async t => {
  t.same(parseMinHealthy('2'), { type: 'HOST_COUNT', value: 2 });
  t.same(parseMinHealthy('0'), { type: 'HOST_COUNT', value: 0 });
  t.same(parseMinHealthy(' 75% '), { type: 'FLEET_PERCENT', value: 75 });
  t.same(parseMinHealthy('0%'), { type: 'FLEET_PERCENT', value: 0 });
  for (const bad of ['', 'two', '-1', '2.5', '75 %', '%', '100%', '150%', '2h']) rejects(t, () => parseMinHealthy(bad), /^--min-healthy: /);
});

t.test('--tag-set: key, =value or key=value, comma-separated', async t => {
  t.same(parseTagSet('role=web, role=api ,canary,=blue,k=a=b,empty='), {
    filters: [
      { key: 'role', value: 'web', hasKey: true, hasValue: true },
      { key: 'role', value: 'api', hasKey: true, hasValue: true },
      { key: 'canary', value: '', hasKey: true, hasValue: false },
      { key: '', value: 'blue', hasKey: false, hasValue: true },
      { key: 'k', value: 'a=b', hasKey: true, hasValue: true },
      { key: 'empty', value: '', hasKey: true, hasValue: true },
    ],
  });
  rejects(t, () => parseTagSet(''), '--tag-set: empty tag set');
  rejects(t, () => parseTagSet('a,'), "--tag-set: 'a,': filter 2 is empty");
  rejects(t, () => parseTagSet('='), "--tag-set: '=' names neither a key nor a value");
  rejects(t, () => parseTagSets([]), '--tag-set: give at least one tag set');
  t.equal(parseTagSets(['a', 'b=c']).length, 2);
});

t.test('other flag values', async t => {
  t.equal(parseFileExistsBehavior('retain'), 'RETAIN');
  rejects(t, () => parseFileExistsBehavior('KEEP'), "--file-exists-behavior: 'KEEP' is not one of DISALLOW, OVERWRITE, RETAIN");
  t.equal(parseDuration('90', '--timeout'), 90_000);
  t.equal(parseDuration('500ms', '--timeout'), 500);
  t.equal(parseDuration('1h30m', '--timeout'), 5_400_000);
  t.equal(parseDuration('1.5m', '--timeout'), 90_000);
  for (const bad of ['', 'soon', '0', '0s', '-5s', '5d', 'm5']) rejects(t, () => parseDuration(bad, '--timeout'), /^--timeout: /);
  t.equal(parsePositiveInt('5', '--limit'), 5);
  for (const bad of ['0', '-1', '1.5', 'x']) rejects(t, () => parsePositiveInt(bad, '--limit'), /^--limit: /);
  t.equal(parseRevisionRef('latest'), 'latest');
  t.equal(parseRevisionRef('ABCDEF12'), 'abcdef12');
  t.equal(parseRevisionRef('sha256:' + 'a'.repeat(64)), 'a'.repeat(64));
  for (const bad of ['abc', 'LATEST', 'g'.repeat(8), 'a'.repeat(65)]) rejects(t, () => parseRevisionRef(bad), /^--revision: /);
  t.same(['a.tar', 'a.TGZ', 'a.tar.gz', 'a.zip', 'a.rar', 'a'].map(bundleTypeOf), ['tar', 'tgz', 'tgz', 'zip', undefined, undefined]);
});

t.test('deploy create flags become one CreateDeploymentRequest', async t => {
  const base = { app: 'shop', group: 'web', revision: 'latest' };
  t.same(createRequest(base), {
    request: { application: 'shop', group: 'web', revision: 'latest', configName: '', description: '', fileExistsBehavior: '', ignoreApplicationStopFailures: false },
    wait: false,
  });
  t.equal(createRequest({ ...base, wait: true, timeout: '2m' }).timeoutMs, 120_000);
  rejects(t, () => createRequest({ ...base, timeout: '2m' }), '--timeout: only with --wait');
  rejects(t, () => createRequest({ ...base, app: ' ' }), '--app: must not be empty');
  t.match(createRequest({ ...base, approveAfter: '2' }).request, { approveAfter: 2, hasApproveAfter: true });
  t.match(createRequest({ ...base, approveAfter: 'first-zone' }).request, { approveAfterZones: 1 });
  t.notOk('hasApproveAfter' in createRequest({ ...base, approveAfter: 'first-zone' }).request, 'first-zone is no host count');
  rejects(t, () => createRequest({ ...base, approveAfter: 'zone' }), /--approve-after: 'zone' must be a number of hosts or first-zone/);
});

const env = (o: Partial<CliEnvironment> = {}): CliEnvironment => ({ noColor: false, stdoutIsTTY: false, stderrIsTTY: false, columns: 80, ...o });

t.test('the coordinator address: flag, then FERRY_COORDINATOR, then the default', async t => {
  t.equal(resolveCliConfig(env(), {}).coordinator, '127.0.0.1:7420');
  t.equal(resolveCliConfig(env({ coordinator: 'ferry.internal:7420' }), {}).coordinatorSource, 'FERRY_COORDINATOR');
  const flag = resolveCliConfig(env({ coordinator: 'ferry.internal:7420' }), { coordinator: '[::1]:9000' });
  t.same([flag.coordinator, flag.coordinatorSource], ['[::1]:9000', '--coordinator']);
  t.equal(resolveCliConfig(env(), { coordinator: 'unix:/run/ferry.sock' }).coordinator, 'unix:/run/ferry.sock');
  rejects(t, () => resolveCliConfig(env(), { coordinator: 'host' }), "--coordinator: 'host' is not HOST:PORT");
  rejects(t, () => resolveCliConfig(env({ coordinator: 'host:0' }), {}), "FERRY_COORDINATOR: 'host:0' is not HOST:PORT");
  const read = readCliEnvironment({ FERRY_COORDINATOR: 'x:1', NO_COLOR: '1' }, { isTTY: true, columns: 120 }, {});
  const { localZone, ...rest } = read;
  t.same(rest, { coordinator: 'x:1', noColor: true, stdoutIsTTY: true, stderrIsTTY: false, columns: 120 });
  t.equal(localZone?.(Date.parse('2025-01-01T00:00:00Z')), -new Date('2025-01-01T00:00:00Z').getTimezoneOffset(), 'the process\'s zone');
  t.notOk('coordinator' in readCliEnvironment({ FERRY_COORDINATOR: '' }, {}, {}), 'an empty variable is unset');
});

t.test('colour only on a TTY without NO_COLOR and without --json; progress follows its stream', async t => {
  t.equal(resolveCliConfig(env({ stdoutIsTTY: true }), {}).color, true);
  t.equal(resolveCliConfig(env({ stdoutIsTTY: true, noColor: true }), {}).color, false);
  t.equal(resolveCliConfig(env({ stdoutIsTTY: false }), {}).color, false);
  t.equal(resolveCliConfig(env({ stdoutIsTTY: true }), { json: true }).color, false, '--json: stdout is the document, progress goes to stderr (no TTY)');
  t.equal(resolveCliConfig(env({ stdoutIsTTY: false, stderrIsTTY: true }), { json: true }).color, true, '--json: progress on a stderr TTY is painted');
  t.equal(resolveCliConfig(env({ stdoutIsTTY: false, forceColor: true }), {}).color, true, 'FORCE_COLOR=1 paints into a pipe');
  t.equal(resolveCliConfig(env({ stdoutIsTTY: true, noColor: true, forceColor: true }), {}).color, true, 'FORCE_COLOR wins over NO_COLOR');
  t.equal(resolveCliConfig(env({ stdoutIsTTY: true, forceColor: false }), {}).color, false, 'FORCE_COLOR=0 turns colour off');
  t.equal(readCliEnvironment({ FORCE_COLOR: '1' }, {}, {}).forceColor, true);
  t.equal(readCliEnvironment({ FORCE_COLOR: '0' }, {}, {}).forceColor, false);
  t.equal(readCliEnvironment({ FORCE_COLOR: '' }, {}, {}).forceColor, true, 'FORCE_COLOR= (empty) forces colour, as in Node');
  t.notOk('forceColor' in readCliEnvironment({}, {}, {}));
  t.equal(resolveCliConfig(env({ stdoutIsTTY: true }), {}).liveProgress, true);
  t.equal(resolveCliConfig(env({ stdoutIsTTY: true, stderrIsTTY: false }), { json: true }).liveProgress, false, '--json: progress on stderr');
  t.equal(resolveCliConfig(env({ stdoutIsTTY: false, stderrIsTTY: true }), { json: true }).liveProgress, true);
});

t.test('exit codes: deployment outcomes and errors', async t => {
  t.equal(exitCodeForDeployment(detail({ status: 'Succeeded' })), EXIT.ok);
  t.equal(exitCodeForDeployment(detail({ status: 'Failed' })), EXIT.failed);
  t.equal(exitCodeForDeployment(detail({ status: 'Stopped' })), EXIT.stopped);
  for (const s of ['Created', 'Queued', 'InProgress', 'Paused']) t.equal(exitCodeForDeployment(detail({ status: s })), undefined, s);
  t.equal(wasRolledBack(detail({ status: 'Failed', creator: 'rollback', description: 'rolled back' })), false, 'reserved until the API says');
  const api = (code: grpc.status) => new FerryError('INTERNAL', 'x', { cause: Object.assign(new Error('x'), { code, details: 'x', metadata: new grpc.Metadata() }) });
  t.equal(exitCodeForError(api(grpc.status.NOT_FOUND)), EXIT.failed);
  t.equal(exitCodeForError(api(grpc.status.INVALID_ARGUMENT)), EXIT.failed, 'the server refusing a value is not a usage error');
  t.equal(exitCodeForError(api(grpc.status.ALREADY_EXISTS)), EXIT.failed);
  t.equal(exitCodeForError(api(grpc.status.FAILED_PRECONDITION)), EXIT.failed);
  t.equal(exitCodeForError(api(grpc.status.UNAVAILABLE)), EXIT.unavailable);
  t.equal(exitCodeForError(api(grpc.status.DEADLINE_EXCEEDED)), EXIT.unavailable, 'no answer in time: unreachable');
  t.equal(exitCodeForError(api(grpc.status.INTERNAL)), EXIT.internal, 'an unexpected status is no deployment outcome');
  t.equal(exitCodeForError(api(grpc.status.UNIMPLEMENTED)), EXIT.internal);
  t.equal(exitCodeForError(new FerryError('INVALID_ARGUMENT', '--x: bad')), EXIT.usage);
  t.equal(exitCodeForError(new FerryError('UNAVAILABLE', 'watch ended')), EXIT.unavailable);
  t.equal(exitCodeForError(new FerryError('TOOL_MISSING', 'no git')), EXIT.failed);
  t.equal(exitCodeForError(new TypeError('x is undefined')), EXIT.internal, 'a bug in ferry is 7, never 1');
  t.equal(exitCodeForError(new FerryError('INTERNAL', 'no deployment returned')), EXIT.internal);
  t.same(new Set(Object.values(EXIT)).size, Object.values(EXIT).length, 'every exit code means one thing');
});

t.test('API error messages say what to do next', async t => {
  t.equal(
    describeApiError(grpc.status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED. Resolution note: ', 'h:1'),
    'cannot reach the coordinator at h:1: is ferry-coordinator running there? point ferry at it with --coordinator HOST:PORT or FERRY_COORDINATOR=HOST:PORT\n  (No connection established. Last error: connect ECONNREFUSED.)',
  );
  t.match(describeApiError(grpc.status.UNAVAILABLE, '', 'h:1', 'FERRY_COORDINATOR'), 'cannot reach the coordinator at h:1 (from FERRY_COORDINATOR): ');
  t.match(describeApiError(grpc.status.UNAVAILABLE, '', 'h:1', 'default'), 'at h:1 (the default: FERRY_COORDINATOR is not set): ');
  t.equal(describeApiError(grpc.status.NOT_FOUND, 'application shop not found', 'h:1'), 'application shop not found');
  t.match(describeApiError(grpc.status.DEADLINE_EXCEEDED, '', 'h:1'), 'the coordinator at h:1 did not answer in time');
  t.match(describeApiError(grpc.status.UNIMPLEMENTED, 'x', 'h:1'), 'is it older than this ferry CLI?');
  t.equal(describeApiError(grpc.status.INTERNAL, 'boom', 'h:1'), 'unexpected error from the coordinator at h:1: INTERNAL: boom; check its logs');
});
