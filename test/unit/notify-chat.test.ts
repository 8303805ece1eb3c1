import t from 'tap';
import { type FerryEvent, redactUrl } from '../../coordinator/domain/events.js';
import { parsePublicUrl } from '../../coordinator/config.js';
import { summarizeRequest } from '../../coordinator/domain/audit.js';
import { chatSummary, slackEscape, slackMessage, teamsMessage } from '../../coordinator/notify/chat.js';
import { deliveryRequest, messageFor, triggerMessage } from '../../coordinator/notify/payload.js';

const T = '2024-01-01T00:00:00.000Z';
const REV = 'sha256:' + 'a'.repeat(64);
const event = (over: Partial<FerryEvent> = {}): FerryEvent => ({
  seq: 7, at: T, kind: 'DeploymentFailure', application: 'shop', groupId: 'g-1', groupName: 'web', deploymentId: 'd-1', status: 'Failed',
  payload: { revision: REV, errorCode: 'HEALTH_CONSTRAINTS', errorMessage: 'too many failed <hosts> & more', overview: { Succeeded: 2, Failed: 1, Pending: 0 } },
  ...over,
});

t.test('a failed deployment as a Slack message: text, header, facts, error, command and console button', async t => {
  const m = slackMessage(chatSummary('chat', event(), 'https://ferry.example.com')) as any;
  t.equal(m.text, ':x: Deployment d-1 of shop/web: FAILED — HEALTH_CONSTRAINTS: too many failed &lt;hosts&gt; &amp; more');
  t.same(m.blocks[0], { type: 'header', text: { type: 'plain_text', text: 'Deployment d-1 of shop/web: FAILED', emoji: true } });
  t.same(m.blocks[1].fields.map((f: any) => f.text), [
    '*Application*\nshop', '*Group*\nweb', '*Deployment*\nd-1', `*Revision*\n${REV}`, '*Status*\nFAILED', '*Hosts*\nSucceeded 2, Failed 1',
  ]);
  t.ok(m.blocks[1].fields.every((f: any) => f.type === 'mrkdwn'));
  t.same(m.blocks[2], { type: 'section', text: { type: 'mrkdwn', text: '*Error*\nHEALTH_CONSTRAINTS: too many failed &lt;hosts&gt; &amp; more' } });
  t.same(m.blocks[3], { type: 'context', elements: [{ type: 'mrkdwn', text: '`ferry deploy status d-1`' }] });
  t.same(m.blocks[4], { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in the Ferry console' }, url: 'https://ferry.example.com/ui/deployments/d-1' }] });
  const bare = slackMessage(chatSummary('chat', event())) as any;
  t.notOk(bare.blocks.some((b: any) => b.type === 'actions'), 'no public URL: no button, the command only');
});

t.test('a failed deployment as a Teams Adaptive Card: title, FactSet, error, command, OpenUrl', async t => {
  const m = teamsMessage(chatSummary('chat', event(), 'https://ferry.example.com/base')) as any;
  t.equal(m.type, 'message');
  t.equal(m.summary, 'Deployment d-1 of shop/web: FAILED');
  t.equal(m.attachments.length, 1);
  t.equal(m.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
  const card = m.attachments[0].content;
  t.match(card, { type: 'AdaptiveCard', version: '1.4', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json' });
  t.same(card.body[0], { type: 'TextBlock', text: 'Deployment d-1 of shop/web: FAILED', weight: 'Bolder', size: 'Medium', wrap: true, color: 'Attention' });
  t.same(card.body[1], { type: 'FactSet', facts: [
    { title: 'Application', value: 'shop' }, { title: 'Group', value: 'web' }, { title: 'Deployment', value: 'd-1' }, { title: 'Revision', value: REV },
    { title: 'Status', value: 'FAILED' }, { title: 'Hosts', value: 'Succeeded 2, Failed 1' },
  ] });
  t.same(card.body[2], { type: 'TextBlock', text: 'Error: HEALTH_CONSTRAINTS: too many failed <hosts> & more', wrap: true, color: 'Attention' });
  t.same(card.body[3], { type: 'TextBlock', text: 'ferry deploy status d-1', wrap: true, fontType: 'Monospace', spacing: 'Small' });
  t.same(card.actions, [{ type: 'Action.OpenUrl', title: 'Open in the Ferry console', url: 'https://ferry.example.com/base/ui/deployments/d-1' }]);
  t.notOk('actions' in (teamsMessage(chatSummary('chat', event())) as any).attachments[0].content, 'no public URL: no action');
});

t.test('awaiting approval says why, who can approve and how; a host event names the host by id and hostname', async t => {
  const gate = chatSummary('chat', event({
    kind: 'DeploymentAwaitingApproval', status: 'Paused',
    payload: { revision: REV, pauseReason: 'every host finished', approverRoles: ['deployer', 'admin'], approveCommand: 'ferry deploy approve d-1', rejectCommand: 'ferry deploy reject d-1 --reason TEXT' },
  }));
  t.equal(gate.title, 'Deployment d-1 of shop/web awaits approval');
  t.equal(gate.tone, 'warning');
  t.same(gate.commands, ['ferry deploy status d-1', 'ferry deploy approve d-1', 'ferry deploy reject d-1 --reason TEXT']);
  t.same(gate.facts.slice(-2), [['Waiting because', 'every host finished'], ['Who can approve', 'a deployer or admin token']]);
  const host = chatSummary('chat', event({ kind: 'InstanceFailure', hostId: 'web-1', payload: { hostname: 'ip-10-0-0-5', errorCode: 'SCRIPT_FAILED', errorMessage: 'exit 1' } }), 'https://f.example');
  t.equal(host.title, 'Host web-1 (ip-10-0-0-5): Failed in deployment d-1 of shop/web');
  t.equal(host.error, 'SCRIPT_FAILED: exit 1');
  t.equal(host.link, 'https://f.example/ui/deployments/d-1/hosts/web-1');
  const ok = chatSummary('chat', event({ kind: 'DeploymentSuccess', status: 'Succeeded', payload: { revision: REV } }));
  t.equal(ok.tone, 'good');
  t.notOk('error' in ok);
  const test = slackMessage(chatSummary('chat', event({ kind: 'TriggerTest', deploymentId: undefined, status: 'Test', payload: {} }))) as any;
  t.equal(test.text, ':information_source: Ferry test notification for trigger chat of shop/web');
});

t.test('the trigger\'s format picks the body; json stays Ferry\'s signed payload', async t => {
  const job = { id: 1, triggerId: 1, triggerName: 'chat', url: 'http://x/', secret: 's'.repeat(20), attempts: 0, createdAt: T, event: event() };
  t.same(messageFor({ ...job, format: 'json' }), triggerMessage('chat', job.event));
  t.same(JSON.parse(deliveryRequest({ ...job, format: 'slack' }, 'https://f.example').body), slackMessage(chatSummary('chat', job.event, 'https://f.example')));
  t.same(JSON.parse(deliveryRequest({ ...job, format: 'teams' }).body), teamsMessage(chatSummary('chat', job.event)));
  t.equal(slackEscape('a<b>&c'), 'a&lt;b&gt;&amp;c');
});

t.test('a chat webhook\'s path is its token: shown and logged without it', async t => {
  t.equal(redactUrl('https://hooks.slack.com/services/T000/B000/XXXX', 'slack'), 'https://hooks.slack.com/…');
  t.equal(redactUrl('https://x.webhook.office.com/webhookb2/abc/IncomingWebhook/def?x=1', 'teams'), 'https://x.webhook.office.com/…');
  t.equal(redactUrl('https://hooks.example.com/ferry?token=1', 'json'), 'https://hooks.example.com/ferry?…', 'json keeps its path');
  t.equal(summarizeRequest({ name: 'chat', url: 'https://hooks.slack.com/services/T000/B000/XXXX', format: 'slack' }).url, 'https://hooks.slack.com/…', 'the audit log too');
});

t.test('--public-url: an absolute http(s) URL, trailing slash dropped; anything else named', async t => {
  t.equal(parsePublicUrl('--public-url', 'https://ferry.example.com/'), 'https://ferry.example.com');
  t.equal(parsePublicUrl('--public-url', 'http://10.0.0.1:7420/ferry/'), 'http://10.0.0.1:7420/ferry');
  for (const bad of ['ferry.example.com', 'ftp://x', 'https://x/?a=1', 'https://u:p@x']) {
    t.throws(() => parsePublicUrl('--public-url', bad), { code: 'INVALID_ARGUMENT', message: /^--public-url: .* must be an absolute http\(s\) URL/ }, bad);
  }
});
