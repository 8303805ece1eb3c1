import http from 'node:http';
import t, { type Test } from 'tap';
import { freePort, startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor } from '../helpers/fleet.js';

/**
 * Chat notifications (docs/notifications.md, "Slack and Microsoft Teams"): a real coordinator and
 * agent, a deployment that fails, and a loopback receiver standing in for Slack's and Teams'
 * incoming webhooks. The bodies are checked field by field; the first Slack attempt is refused, so
 * the message also goes through the outbox's retry.
 */

interface Got { path: string; delivery: string; json: any }

async function receiver(t: Test): Promise<{ url: string; got: Got[]; refuseFirst: Set<string> }> {
  const got: Got[] = [];
  const refuseFirst = new Set<string>();
  const port = await freePort();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      got.push({ path, delivery: String(req.headers['x-ferry-delivery']), json: JSON.parse(body) });
      if (refuseFirst.delete(path)) res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise(resolve => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return { url: `http://127.0.0.1:${port}`, got, refuseFirst };
}

t.test('a failed deployment reaches Slack and Teams webhooks as readable messages, retried through the outbox (mount namespace)', async t => {
  const hook = await receiver(t);
  const f = await startFleet(t, ['h1'], {
    // The receiver is this test, on loopback: allowed explicitly (docs/security.md, "Webhooks").
    coordinatorArgs: ['--webhook-allow', 'loopback', '--public-url', 'https://ferry.example.com/', '--webhook-retry-base', '100ms'],
  });
  const a = f.coordinator.address;
  const base = ['group', 'set-trigger', '--app', 'shop', '--group', 'web', '--events', 'DeploymentFailure'];
  const slack = await ferry(a, [...base, '--name', 'slack', '--format', 'slack', '--url', `${hook.url}/slack`, '--json']);
  t.equal(slack.code, 0, slack.stderr);
  t.equal(slack.json.trigger.format, 'slack');
  const teams = await ferry(a, [...base, '--name', 'teams', '--format', 'teams', '--url', `${hook.url}/teams`]);
  t.equal(teams.code, 0, teams.stderr);
  // The path of a chat webhook is its token: shown without it.
  t.match(teams.stdout, /created trigger teams of shop\/web: POST http:\/\/127\.0\.0\.1:\d+\/… \(teams\) on DeploymentFailure/);
  const plain = await ferry(a, [...base, '--name', 'ops', '--url', `${hook.url}/json`]);
  t.equal(plain.code, 0, plain.stderr);

  // The test notifications come first, each in its format.
  const test = await waitFor('the Slack test notification', () => hook.got.find(g => g.path === '/slack'));
  t.equal(test.json.text, ':information_source: Ferry test notification for trigger slack of shop/web');
  const teamsTest = await waitFor('the Teams test notification', () => hook.got.find(g => g.path === '/teams'));
  t.equal(teamsTest.json.attachments[0].content.body[0].text, 'Ferry test notification for trigger teams of shop/web');
  t.equal((await waitFor('the JSON test notification', () => hook.got.find(g => g.path === '/json'))).json.eventType, 'TriggerTest', 'json stays Ferry\'s payload');

  const revision = await f.push(await f.bundle('v1', { ValidateService: 'echo "health check failed" >&2; exit 3' }));
  hook.refuseFirst.add('/slack');
  const created = await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', revision, '--wait', '--json'], { timeoutMs: 90_000 });
  t.equal(created.code, 1, 'the deployment failed');
  const d = created.json.deployment;
  t.equal(d.status, 'Failed');
  t.ok(d.errorCode, 'the deployment has an error');
  const error = `${d.errorCode as string}: ${d.errorMessage as string}`;

  const mentions = (g: Got) => JSON.stringify(g.json).includes(d.id as string);
  const slackTries = await waitFor('the Slack message, retried', () => {
    const tries = hook.got.filter(g => g.path === '/slack' && mentions(g));
    return tries.length >= 2 ? tries : undefined;
  });
  t.equal(slackTries[0]!.delivery, slackTries[1]!.delivery, 'the retry is the same delivery');
  t.same(slackTries[0]!.json, slackTries[1]!.json, 'with the same body');
  const s = slackTries[1]!.json;
  t.equal(s.text, `:x: Deployment ${d.id} of shop/web: FAILED — ${error.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}`);
  t.same(s.blocks[0], { type: 'header', text: { type: 'plain_text', text: `Deployment ${d.id} of shop/web: FAILED`, emoji: true } });
  t.same(s.blocks[1].fields.slice(0, 5).map((x: any) => x.text), [
    '*Application*\nshop', '*Group*\nweb', `*Deployment*\n${d.id}`, `*Revision*\n${revision}`, '*Status*\nFAILED',
  ]);
  t.equal(s.blocks[1].fields[5].text, '*Hosts*\nFailed 1');
  t.equal(s.blocks[2].text.text.startsWith(`*Error*\n${d.errorCode}`), true, 'the error');
  t.same(s.blocks[3], { type: 'context', elements: [{ type: 'mrkdwn', text: `\`ferry deploy status ${d.id}\`` }] });
  t.same(s.blocks[4].elements[0], { type: 'button', text: { type: 'plain_text', text: 'Open in the Ferry console' }, url: `https://ferry.example.com/ui/deployments/${d.id}` });

  const tm = (await waitFor('the Teams message', () => hook.got.find(g => g.path === '/teams' && mentions(g)))).json;
  t.equal(tm.type, 'message');
  t.equal(tm.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
  const card = tm.attachments[0].content;
  t.match(card, { type: 'AdaptiveCard', version: '1.4' });
  t.match(card.body[0], { type: 'TextBlock', text: `Deployment ${d.id} of shop/web: FAILED`, color: 'Attention' });
  t.same(card.body[1].facts.slice(0, 6), [
    { title: 'Application', value: 'shop' }, { title: 'Group', value: 'web' }, { title: 'Deployment', value: d.id }, { title: 'Revision', value: revision },
    { title: 'Status', value: 'FAILED' }, { title: 'Hosts', value: 'Failed 1' },
  ]);
  t.equal(card.body[2].text, `Error: ${error}`);
  t.equal(card.body[3].text, `ferry deploy status ${d.id}`);
  t.same(card.actions, [{ type: 'Action.OpenUrl', title: 'Open in the Ferry console', url: `https://ferry.example.com/ui/deployments/${d.id}` }]);

  // The format is stored and shown.
  const shown = await ferry(a, ['group', 'show', '--app', 'shop', '--name', 'web', '--json']);
  t.same(shown.json.triggers.map((x: any) => [x.name, x.format]), [['ops', 'json'], ['slack', 'slack'], ['teams', 'teams']]);
  t.match(shown.json.triggers.find((x: any) => x.name === 'slack'), { failedAttempts: 1, lastError: '' });
  const text = await ferry(a, ['group', 'show', '--app', 'shop', '--name', 'web']);
  t.match(text.stdout, /NAME\s+FORMAT\s+URL/);
  t.match(text.stdout, /slack\s+slack\s+http:\/\/127\.0\.0\.1:\d+\/…\s/);
  t.notOk(JSON.stringify(shown.json).includes('/slack'), 'no chat webhook path in --json');
  t.notOk(f.coordinator.output().includes('/slack'), 'nor in the log');
  // Updating a trigger without --format keeps its format.
  const again = await ferry(a, [...base, '--name', 'teams', '--url', `${hook.url}/teams`, '--json']);
  t.equal(again.json.trigger.format, 'teams', 'kept');
});
