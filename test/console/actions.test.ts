import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { gate } from '../helpers/bundle.js';
import { launchBrowser, openConsole, screenshot, signIn, startSecureFleet } from '../helpers/console.js';
import { waitFor } from '../helpers/fleet.js';
import { mintToken } from '../helpers/trust.js';

const RESULT = '.actions [role=status]';

/** Clicks an action button, confirms it in the dialog (after `fill`), and returns the new result line once it shows. */
async function act(page: Page, method: string, fill: (p: Page) => Promise<void> = async () => {}): Promise<string> {
  const before = (await page.locator(RESULT).count()) > 0 ? await page.textContent(RESULT) : null;
  await page.click(`[data-action=${method}]`);
  await page.waitForSelector('[role=dialog]');
  await fill(page);
  await page.click('[role=dialog] button.primary, [role=dialog] button.danger');
  await page.waitForFunction(([sel, old]) => {
    const text = document.querySelector(sel!)?.textContent;
    return text !== undefined && text !== null && text !== old;
  }, [RESULT, before] as const);
  return (await page.textContent(RESULT)) ?? '';
}

/** CreateDeployment through the page's own session (quicker than a CLI process); the new deployment's id. */
async function create(page: Page, request: Record<string, unknown>): Promise<string> {
  return page.evaluate(async body => {
    const { csrf } = await (await fetch('/ui/api/session')).json();
    const r = await fetch('/ui/api/call/CreateDeployment', { method: 'POST', headers: { 'content-type': 'application/json', 'x-ferry-csrf': csrf }, body: JSON.stringify(body) });
    return (await r.json()).deployment.id as string;
  }, { application: 'shop', group: 'web', revision: 'latest', ...request });
}

const finished = (page: Page, status: string) => page.waitForSelector(`h1 .status-${status}`, { timeout: 60_000 });

t.test('the actions not clicked elsewhere (redeploy, pause, resume, roll back, retry, reject), who created a deployment, host alarm states, and the audit page for an admin only (Chromium, 1 agent, mount namespace)', async t => {
  const health = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>(r => health.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise(r => health.close(r)));
  const f = await startSecureFleet(t, ['h1'], 'OneAtATime', ['--heartbeat-interval', '1s']);
  const alarm = await f.as(f.admin, ['group', 'update', '--app', 'shop', '--name', 'web', '--alarm', `health: http GET http://127.0.0.1:${(health.address() as AddressInfo).port}/ timeout 1s for 1s`]);
  t.equal(alarm.code, 0, alarm.stderr);
  const deployer = await mintToken(t, f.as, f.admin, 'deployer', ['--description', 'release bot']);
  const deployerId = /^fy\.([a-z0-9]{12})\./.exec(deployer)![1]!;
  const v1 = await f.push(await f.bundle('v1'));
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, f.base);
  await signIn(page, deployer);

  // Created from the form: recorded as the signed-in token's, not as a bare "user".
  await page.goto('/ui/deployments/new');
  await page.selectOption('select[name=application]', 'shop');
  await page.waitForSelector(`select[name=revision] option[value="${v1}"]`, { state: 'attached' });
  await page.selectOption('select[name=group]', 'web');
  await page.click('button[type=submit]');
  await page.click('[role=dialog] button.primary');
  await page.waitForURL(/\/ui\/deployments\/d-[A-Z0-9]{9}$/);
  const first = page.url().split('/').pop()!;
  await finished(page, 'succeeded');
  t.equal(await page.textContent('[data-testid=created-by]'), `token:${deployerId} (release bot)`, 'the deployment page names the token');

  // Redeploy: a new deployment of the same revision, linked from the result.
  const redeployed = await act(page, 'RedeployDeployment');
  const again = /^Redeploy: done\. New deployment (d-[A-Z0-9]{9}) is \w+\.$/.exec(redeployed)?.[1];
  t.ok(again, `the result names the new deployment: ${redeployed}`);
  await page.click(`text=Open ${again}`);
  await page.waitForURL(new RegExp(`/ui/deployments/${again}$`));
  await finished(page, 'succeeded');
  t.match(await page.textContent('dl.facts'), `redeploy of ${first}`);

  // Pause and resume while a host is in its ApplicationStart hook.
  const release = path.join(f.dir, 'release');
  await f.push(await f.bundle('v2', { ApplicationStart: gate(release, 60) }));
  const held = await create(page, {});
  await page.goto(`/ui/deployments/${held}`);
  await page.waitForFunction(() => /1 in progress/.test(document.querySelector('[data-testid=overview]')?.textContent ?? ''), undefined, { timeout: 60_000 });
  t.match(await act(page, 'PauseDeployment'), `Pause: done. ${held} is Paused.`);
  await page.waitForSelector('[data-action=ResumeDeployment]');
  t.equal(await page.locator('[data-action=PauseDeployment]').count(), 0, 'a paused deployment offers resume, not pause');
  await screenshot(page, 'deployment-paused');
  t.match(await act(page, 'ResumeDeployment'), `Resume: done. ${held} is InProgress.`);
  await fs.writeFile(release, '');
  await finished(page, 'succeeded');

  // Roll back a finished deployment: a new deployment (creator rollback) by the same token.
  const rolled = await act(page, 'RollbackDeployment');
  const rollback = /^Roll back: done\. New deployment (d-[A-Z0-9]{9}) is \w+\.$/.exec(rolled)?.[1];
  t.ok(rollback, `the result names the rollback: ${rolled}`);
  await page.click(`text=Open ${rollback}`);
  await finished(page, 'succeeded');
  t.match(await page.textContent('dl.facts'), `Rolls back${held}`);
  t.match(await page.textContent('dl.facts'), `token:${deployerId} (release bot) (rollback)`);

  // Retry the hosts of a failed deployment.
  await f.push(await f.bundle('v3', { ValidateService: 'exit 4' }));
  const failed = await create(page, {});
  await page.goto(`/ui/deployments/${failed}`);
  await finished(page, 'failed');
  const retried = await act(page, 'RetryDeployment');
  const retry = /^Retry failed hosts: done\. New deployment (d-[A-Z0-9]{9}) is \w+\.$/.exec(retried)?.[1];
  t.ok(retry, `the result names the retry: ${retried}`);
  await page.click(`text=Open ${retry}`);
  await finished(page, 'failed');
  t.match(await page.textContent('dl.facts'), `retry of ${failed} on 1 host`);

  // Reject at the approval gate: the deployment stops, with the reason.
  const gated = await create(page, { revision: v1, approveAfter: 1, hasApproveAfter: true });
  await page.goto(`/ui/deployments/${gated}`);
  await page.waitForSelector('[data-action=RejectDeployment]', { timeout: 60_000 });
  t.match(await act(page, 'RejectDeployment', p => p.fill('[role=dialog] input[name=reason]', 'not today')), /^Reject: done\./);
  await finished(page, 'stopped');
  t.match(await page.textContent('[data-testid=deployment-error]'), /not today/);

  // The host page: its alarm's state and since when, as its agent reports them.
  await waitFor('h1 to report its alarm', async () => {
    await page.goto('/ui/hosts/h1');
    await page.waitForSelector('h1:text("Host h1")');
    return (await page.locator('[data-alarm=health] .status-ok').count()) > 0;
  }, 30_000);
  t.match(await page.textContent('[data-alarm=health]'), /health\s*OK\s*\d/, 'name, state, since');
  t.match(await page.textContent('main'), /shop \/ web/, 'the revision per group');
  t.ok(await page.locator(`main a[href="/ui/deployments/${gated}/hosts/h1"]`).count(), 'the deployment history links to this host in each deployment');
  await screenshot(page, 'host-alarms');

  // A deployer is not offered the audit page, and is refused if it asks anyway.
  t.equal(await page.locator('header a[href="/ui/audit"]').count(), 0, 'no audit link for a deployer');
  const direct = await page.evaluate(async () => (await fetch('/ui/api/stream/StreamAudit?q=%7B%7D')).status);
  t.equal(direct, 403, 'the audit stream is refused to a deployer');

  // An admin sees it; its filters run on the coordinator and stay in the URL.
  const admin = await openConsole(browser, f.base);
  await signIn(admin.page, f.admin);
  await admin.page.click('header a[href="/ui/audit"]');
  await admin.page.waitForSelector('.vrow [data-seq]');
  await admin.page.fill('[data-testid=audit-filters] input[name=action]', 'RejectDeployment');
  await admin.page.click('[data-testid=audit-filters] button[type=submit]');
  await admin.page.waitForURL(/\/ui\/audit\?action=RejectDeployment$/);
  await admin.page.waitForFunction(() => {
    const actions = [...document.querySelectorAll('.vrow [data-field=action]')].map(e => e.textContent);
    return actions.length === 1 && actions[0] === 'ControlService/RejectDeployment';
  });
  t.match(await admin.page.textContent('.vrow'), `token:${deployerId}`, 'the reject, naming the deployer\'s token');
  await admin.page.fill('[data-testid=audit-filters] input[name=action]', '');
  await admin.page.fill('[data-testid=audit-filters] input[name=actor]', `token:${deployerId}`);
  await admin.page.selectOption('[data-testid=audit-filters] select[name=outcome]', 'refused');
  await admin.page.click('[data-testid=audit-filters] button[type=submit]');
  await admin.page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('.vrow [data-field=action]')].map(e => e.textContent);
    return rows.length > 0 && rows.every(a => a === 'ControlService/StreamAudit');
  });
  t.match(admin.page.url(), /actor=token%3A[a-z0-9]{12}&outcome=refused$/);
  await screenshot(admin.page, 'audit');
  // The filtered view is a link: opened afresh, it shows the same.
  await admin.page.reload();
  await admin.page.waitForSelector('.vrow [data-field=action]:text("ControlService/StreamAudit")');
  t.equal(await admin.page.inputValue('[data-testid=audit-filters] select[name=outcome]'), 'refused');
  t.same(problems.filter(p => !/Failed to load resource/.test(p)), [], 'no CSP violation or script error (the refused fetch aside)');
  t.same(admin.problems, []);
});
