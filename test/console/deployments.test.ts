import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { gate } from '../helpers/bundle.js';
import { launchBrowser, openConsole, screenshot, signIn, startSecureFleet } from '../helpers/console.js';
import { mintToken } from '../helpers/trust.js';

const overview = (page: Page) => page.textContent('[data-testid=overview]');

/** Clicks an action button, confirms it in the dialog (after `fill`), and returns the result line. */
async function act(page: Page, method: string, fill: (p: Page) => Promise<void> = async () => {}): Promise<string> {
  await page.click(`[data-action=${method}]`);
  await page.waitForSelector('[role=dialog]');
  await fill(page);
  await page.click('[role=dialog] button.primary, [role=dialog] button.danger');
  await page.waitForSelector('.actions [role=status]');
  return (await page.textContent('.actions [role=status]')) ?? '';
}

t.test('the deployment page: create, watch live to Succeeded, a failed host\'s logs, approve a gate, stop with rollback (Chromium, 3 agents, mount namespace)', async t => {
  const f = await startSecureFleet(t, ['h1', 'h2', 'h3']);
  const deployer = await mintToken(t, f.as, f.admin, 'deployer', ['--description', 'release bot']);
  const deployerId = /^fy\.([a-z0-9]{12})\./.exec(deployer)![1]!;
  const slow = Object.fromEntries(['BeforeInstall', 'ApplicationStart', 'ValidateService'].map(e => [e, 'sleep 0.4']));
  const v1 = await f.push(await f.bundle('v1', slow));
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, f.base);
  await signIn(page, deployer);

  // Create through the form; the page follows the rollout as it happens.
  await page.click('text=New deployment');
  await page.selectOption('select[name=application]', 'shop');
  await page.waitForSelector('select[name=group] option[value=web]', { state: 'attached' });
  await page.selectOption('select[name=group]', 'web');
  await page.fill('input[name=description]', 'first release');
  await page.click('button[type=submit]');
  await page.waitForSelector('[role=dialog]');
  await page.click('[role=dialog] button.primary');
  await page.waitForURL(/\/ui\/deployments\/d-[A-Z0-9]{9}$/);
  await page.waitForSelector('[data-stream=live]');
  await page.waitForFunction(() => /[12] succeeded/.test(document.querySelector('[data-testid=overview]')?.textContent ?? ''), undefined, { timeout: 60_000 });
  t.match(await overview(page), /of 3 hosts done/, 'the page showed the rollout part-way');
  await screenshot(page, 'deployment-live');
  await page.waitForSelector('h1 .status-succeeded', { timeout: 60_000 });
  t.match(await overview(page), '3 of 3 hosts done: 3 succeeded');
  t.equal(await page.locator('.vrow .status-succeeded').count(), 3, 'each host row says Succeeded');
  await page.click('[data-host=h2] a');
  await page.waitForSelector('[data-testid=host-panel] [data-event=ValidateService] .status-succeeded');
  t.match(await page.textContent('[data-testid=host-panel] [data-event=ValidateService]'), /ValidateService\s*Succeeded\s*\d/, 'lifecycle events with durations');
  await page.waitForFunction(() => (document.querySelector('[data-testid=logs]')?.textContent ?? '').includes('v1: ValidateService'));
  await screenshot(page, 'deployment-succeeded');

  // A failed host: its error code and its hook output.
  await f.push(await f.bundle('v2', { ValidateService: 'echo "health check said boom" >&2; exit 3' }));
  const failing = await f.as(deployer, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--json']);
  t.equal(failing.code, 0, failing.stderr);
  const failedId = failing.json.deployment.id as string;
  await page.goto(`/ui/deployments/${failedId}`);
  await page.waitForSelector('h1 .status-failed', { timeout: 60_000 });
  const failedHost = await page.locator('.vrow .cells:has(.status-failed)').first().getAttribute('data-host');
  await page.click(`[data-host=${failedHost}] a`);
  await page.waitForURL(new RegExp(`/ui/deployments/${failedId}/hosts/${failedHost}$`));
  await page.waitForSelector('[data-testid=host-error]');
  t.match(await page.textContent('[data-testid=host-panel] [data-event=ValidateService]'), /Failed.*ScriptFailed/);
  await page.waitForFunction(() => (document.querySelector('[data-testid=logs]')?.textContent ?? '').includes('health check said boom'));
  t.ok(await page.locator('[data-action=RetryDeployment]').count(), 'a failed deployment offers retry');
  await screenshot(page, 'host-logs');

  // An approval gate: the page says why it waits; Approve continues it.
  await page.goto('/ui/deployments/new');
  await page.selectOption('select[name=application]', 'shop');
  await page.waitForSelector('select[name=group] option[value=web]', { state: 'attached' });
  await page.selectOption('select[name=group]', 'web');
  await page.waitForSelector(`select[name=revision] option[value="${v1}"]`, { state: 'attached' });
  await page.selectOption('select[name=revision]', v1);
  await page.fill('input[name=approveAfter]', '1');
  await page.click('button[type=submit]');
  await page.click('[role=dialog] button.primary');
  await page.waitForURL(/\/ui\/deployments\/d-[A-Z0-9]{9}$/);
  const gatedId = page.url().split('/').pop()!;
  await page.waitForSelector('[data-action=ApproveDeployment]', { timeout: 60_000 });
  t.match(await page.textContent('[data-testid=waiting]'), /Awaiting approval/);
  await screenshot(page, 'deployment-awaiting-approval');
  t.match(await act(page, 'ApproveDeployment'), /Approve: done/);
  await page.waitForSelector('h1 .status-succeeded', { timeout: 60_000 });

  // Stop with rollback: the hosts in flight are cancelled, the previous revision goes back.
  const release = path.join(f.dir, 'release');
  await f.push(await f.bundle('v3', { ApplicationStart: gate(release, 60) }));
  const stuck = await f.as(deployer, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--json']);
  const stuckId = stuck.json.deployment.id as string;
  await page.goto(`/ui/deployments/${stuckId}`);
  await page.waitForFunction(() => /1 in progress/.test(document.querySelector('[data-testid=overview]')?.textContent ?? ''), undefined, { timeout: 60_000 });
  const stopped = await act(page, 'StopDeployment', async p => {
    await p.fill('[role=dialog] input[name=reason]', 'wrong build');
    await p.check('[role=dialog] input[name=rollback]');
  });
  t.match(stopped, /Stop: done\. .* is Stopped/);
  await page.waitForSelector('text=Rolled back by');
  t.match(await page.textContent('[data-testid=deployment-error]'), /MANUAL_STOP: stopped by token:.*wrong build/);
  await screenshot(page, 'deployment-stopped');
  await page.click('dt:text("Rolled back by") + dd a');
  await page.waitForSelector('h1 .status-succeeded', { timeout: 60_000 });
  t.match(await page.textContent('dl.facts'), `Rolls back${stuckId}`);
  await fs.writeFile(release, '');

  // Deep links to a host, a group, the applications and the event log; no audit page for a deployer.
  await page.goto('/ui/hosts/h2');
  await page.waitForSelector('h1:text("Host h2")');
  t.match(await page.textContent('main'), /shop \/ web/, 'the host page shows its revision per group');
  await screenshot(page, 'host');
  await page.goto('/ui/groups/shop/web');
  await page.waitForSelector('h1:text("Group shop / web")');
  // The heading comes before the host rows (they load after it): wait for them, bounded, then count.
  await page.waitForFunction(() => document.querySelectorAll('.vrow').length >= 3, undefined, { timeout: 30_000 }).catch(() => undefined);
  t.equal(await page.locator('.vrow').count(), 3, 'the group page lists its 3 hosts');
  await screenshot(page, 'group');
  await page.goto('/ui/events');
  await page.waitForSelector('.vrow [data-seq]');
  await screenshot(page, 'events');
  t.equal(await page.locator('header a[href="/ui/audit"]').count(), 0, 'the audit page is not offered to a deployer');

  // A stream resumes after the last sequence number it saw (what EventSource sends as Last-Event-ID on a reconnect).
  const cookie = `ferry_session=${(await page.context().cookies())[0]!.value}`;
  const all = await sseIds(f.base, cookie, undefined);
  t.ok(all.length > 10, `events to resume in (${all.length})`);
  t.same(await sseIds(f.base, cookie, all[5]), all.slice(6), 'resumed after seq N: every later event, none before');

  // Every action is in the audit log under the deployer's token.
  const audit = (await f.as(f.admin, ['audit', '--actor', `token:${deployerId}`, '--json'])).stdout.trim().split('\n').map(l => JSON.parse(l));
  for (const action of ['CreateDeployment', 'ApproveDeployment', 'StopDeployment']) {
    t.ok(audit.some(r => r.action === `ControlService/${action}` && r.outcome === 'ok' && r.target.via === 'console'), `${action} from the console is audited naming the token`);
  }
  t.ok(audit.some(r => r.action === 'ControlService/ApproveDeployment' && r.target.id === gatedId));
  t.same(problems, [], 'no CSP violation or script error');
});

/** The event ids of a finished (follow: false) StreamEvents over server-sent events, from `lastId` on. */
async function sseIds(base: string, cookie: string, lastId: number | undefined): Promise<number[]> {
  const https = await import('node:https');
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: u.hostname, port: u.port, path: `/ui/api/stream/StreamEvents?q=${encodeURIComponent('{}')}`, rejectUnauthorized: false,
      headers: { cookie, ...(lastId !== undefined && { 'last-event-id': String(lastId) }) },
    }, res => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve([...text.matchAll(/^id: (\d+)$/gm)].map(m => Number(m[1]))));
    });
    req.on('error', reject);
    req.end();
  });
}
