import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { eventJson, eventLine, parseSince } from '../../cli/commands/events.js';
import { parseTriggerFlags, triggerLines } from '../../cli/commands/group-trigger.js';
import { paint } from '../../cli/output.js';
import type { Event__Output } from '../../proto/gen/ferry/v1/Event.js';
import { T0, group, runFerry, startFakeControl } from '../helpers/fake-control.js';
import { tempDir } from '../helpers/temp.js';

const anEvent = (o: Partial<Event__Output> = {}): Event__Output => ({
  seq: 5, at: T0, kind: 'DeploymentFailure', application: 'shop', groupName: 'web', groupId: 'g-1', deploymentId: 'd-1',
  hostId: '', lifecycleEvent: '', status: 'Failed', payloadJson: '{"errorCode":"HEALTH_CONSTRAINTS","errorMessage":"too many failed"}', ...o,
});
const trigger = { name: 'ops', url: 'http://x/h', events: ['DeploymentFailure'], format: 'json', createdAt: T0, updatedAt: T0, lastAttemptAt: T0, lastStatus: 500,
  lastError: 'HTTP 500', lastDeliveredAt: '', delivered: 0, failedAttempts: 2, givenUp: 0, pending: 1 };

t.test('event lines and JSON lines are pure functions of the event', async t => {
  t.equal(eventLine(anEvent(), paint(false)), `     5  ${T0}  DeploymentFailure   shop/web          d-1  Failed  (HEALTH_CONSTRAINTS: too many failed)`);
  t.match(eventLine(anEvent({ kind: 'LifecycleEvent', hostId: 'h-1', lifecycleEvent: 'Install', status: 'Succeeded', payloadJson: '{}' }), paint(false)), /d-1 h-1 Install  Succeeded$/);
  t.same(eventJson(anEvent()).payload, { errorCode: 'HEALTH_CONSTRAINTS', errorMessage: 'too many failed' });
  t.notOk('payloadJson' in eventJson(anEvent()));
  t.equal(parseSince(undefined), 0);
  t.equal(parseSince('120'), 120);
  t.throws(() => parseSince('-1'), { code: 'INVALID_ARGUMENT', message: /--since: '-1' is not a sequence number/ });
});

t.test('trigger flags: a comma list of events; every problem at once', async t => {
  t.same(parseTriggerFlags({ name: 'ops', url: 'https://h/x', events: ' DeploymentStart, DeploymentFailure ' }), { name: 'ops', url: 'https://h/x', events: ['DeploymentStart', 'DeploymentFailure'] });
  t.same(parseTriggerFlags({ name: 'ops', url: 'https://h/x', events: 'DeploymentStart', format: 'teams' }).format, 'teams');
  t.throws(() => parseTriggerFlags({ name: 'ops', url: 'x', events: 'Start' }), { message: /^2 problems:\n {2}--url: 'x'.*\n {2}--events: 'Start' is not one of/ });
});

t.test('group show lists triggers with their delivery state and last error, never a secret', async t => {
  const lines = triggerLines([trigger]).join('\n');
  t.match(lines, /Triggers: 1/);
  t.match(lines, /NAME\s+FORMAT\s+URL/);
  t.match(lines, /ops\s+json\s+http:\/\/x\/h\s+DeploymentFailure\s+failing \(HTTP 500\)/);
  t.match(triggerLines([{ ...trigger, name: 'chat', format: 'slack' }]).join('\n'), /chat\s+slack\s+http:\/\/x\/h/);
  t.match(lines, /ops: last error: HTTP 500/);
  t.match(triggerLines([]).join('\n'), /Triggers: none/);
});

t.test('ferry events sends since/app/follow and prints one JSON object per line with --json', async t => {
  const fake = await startFakeControl(t);
  fake.events = [anEvent({ seq: 1 }), anEvent({ seq: 2, application: 'blog' }), anEvent({ seq: 3 })];
  const r = await runFerry(['--coordinator', fake.address, 'events', '--since', '1', '--app', 'shop', '--json']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map(l => JSON.parse(l));
  t.same(lines.map(l => l.seq), [3]);
  t.same(fake.requests('StreamEvents'), [{ sinceSeq: 1, application: 'shop', follow: false }]);
  const human = await runFerry(['--coordinator', fake.address, 'events']);
  t.equal(human.stdout.trim().split('\n').length, 3);
  const bad = await runFerry(['--coordinator', fake.address, 'events', '--since', 'yesterday']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--since: 'yesterday' is not a sequence number/);
  t.equal(fake.requests('StreamEvents').length, 2, 'nothing sent for a usage error');
});

t.test('set-trigger prints a generated secret once; --secret-file sends the file\'s secret and prints none', async t => {
  const fake = await startFakeControl(t);
  const base = ['--coordinator', fake.address, 'group', 'set-trigger', '--app', 'shop', '--group', 'web', '--name', 'ops', '--url', 'http://127.0.0.1:9/h', '--events', 'DeploymentFailure'];
  const r = await runFerry(base);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`secret: ${'f'.repeat(64)}\n`));
  t.match(fake.requests('SetTrigger')[0], { application: 'shop', group: 'web', name: 'ops', events: ['DeploymentFailure'], secret: '' });
  const dir = await tempDir(t);
  const file = path.join(dir, 'secret');
  await fs.writeFile(file, 'my-own-secret-0123456789\n');
  const own = await runFerry([...base, '--secret-file', file, '--json']);
  t.equal(own.code, 0, own.stderr);
  t.equal(fake.requests('SetTrigger')[1].secret, 'my-own-secret-0123456789');
  t.notOk(own.stdout.includes('my-own-secret'), 'a given secret is never printed');
  await fs.writeFile(file, 'short');
  const short = await runFerry([...base, '--secret-file', file]);
  t.equal(short.code, 2);
  t.match(short.stderr, /--secret-file: .* at least 16 characters/);
  const badEvents = await runFerry([...base.slice(0, -1), 'Deploy']);
  t.equal(badEvents.code, 2);
  t.match(badEvents.stderr, /--events: 'Deploy' is not one of DeploymentStart/);
  const badFormat = await runFerry([...base, '--format', 'discord']);
  t.equal(badFormat.code, 2);
  t.match(badFormat.stderr, /--format: 'discord' is not one of json, slack, teams/);
  t.equal(fake.requests('SetTrigger').length, 2, 'usage errors send nothing');
  const slack = await runFerry([...base, '--format', 'slack']);
  t.equal(slack.code, 0, slack.stderr);
  t.equal(fake.requests('SetTrigger')[2].format, 'slack', 'the format is sent');
  t.match(slack.stdout, /POST http:\/\/127\.0\.0\.1:9\/h \(slack\) on DeploymentFailure/);
  const teams = await runFerry([...base, '--format', 'teams', '--json']);
  t.equal(JSON.parse(teams.stdout).trigger.format, 'teams', '--json shows the format');
  t.equal(fake.requests('SetTrigger')[0].format, '', 'no --format: empty (json for a new trigger, kept for an existing one)');
});

t.test('remove-trigger sends the names and prints what is left; group show prints triggers', async t => {
  const fake = await startFakeControl(t);
  fake.groups = [group({ triggers: [trigger] })];
  const r = await runFerry(['--coordinator', fake.address, 'group', 'remove-trigger', '--app', 'shop', '--group', 'web', '--name', 'ops']);
  t.equal(r.code, 0, r.stderr);
  t.same(fake.requests('RemoveTrigger'), [{ application: 'shop', group: 'web', name: 'ops' }]);
  const show = await runFerry(['--coordinator', fake.address, 'group', 'show', '--app', 'shop', '--name', 'web']);
  t.match(show.stdout, /ops: last error: HTTP 500/);
});
