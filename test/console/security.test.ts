import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { launchBrowser, openConsole, screenshot, signIn, startSecureFleet } from '../helpers/console.js';
import { startCoordinator, waitFor } from '../helpers/fleet.js';
import { mintToken } from '../helpers/trust.js';
import { tempDir } from '../helpers/temp.js';

t.test('console security: token sign-in to a strict session cookie, CSP, roles, CSRF, audit (Chromium, mount namespace)', async t => {
  const f = await startSecureFleet(t, ['h1']);
  const v1 = await f.push(await f.bundle('v1'));
  const deployed = await f.as(f.admin, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--wait', '--json']);
  t.equal(deployed.code, 0, deployed.stderr);
  const id = deployed.json.deployment.id as string;
  const viewer = await mintToken(t, f.as, f.admin, 'viewer', ['--description', 'console viewer']);
  const deployer = await mintToken(t, f.as, f.admin, 'deployer');
  const viewerId = /^fy\.([a-z0-9]{12})\./.exec(viewer)![1]!;
  const browser = await launchBrowser(t);

  // The page and its headers: no inline script, a strict CSP on every response.
  const { page, problems } = await openConsole(browser, f.base);
  const first = await page.goto('/ui/');
  const csp = first!.headers()['content-security-policy'] ?? '';
  t.match(csp, /script-src 'self'/);
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script or eval is allowed');
  t.match(csp, /frame-ancestors 'none'/);
  t.notMatch(await first!.text(), /<script(?![^>]*\bsrc=)/, 'index.html has no inline script');
  await screenshot(page, 'sign-in');

  // A wrong token is refused and audited; the page says why.
  await page.fill('input[name=token]', `fy.${viewerId}.wrongsecretwrongsecret`);
  await page.click('button[type=submit]');
  t.match(await page.textContent('[role=alert]'), /UNAUTHENTICATED/);

  // Sign-in: the token becomes an HttpOnly, Secure, SameSite=Strict cookie; it is in no storage and no URL.
  await signIn(page, viewer);
  t.match(await page.textContent('[data-testid=who]'), `token:${viewerId} (viewer)`);
  const cookies = await page.context().cookies();
  t.equal(cookies.length, 1, 'one cookie');
  t.match(cookies[0], { name: 'ferry_session', httpOnly: true, secure: true, sameSite: 'Strict', path: '/ui/' });
  t.notOk(cookies[0]!.value.includes(viewer.split('.')[2]!), 'the cookie is not the token');
  const storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie, url: location.href }));
  t.notOk(storage.includes(viewerId), `the token is in no storage, script-readable cookie or URL: ${storage}`);

  // A viewer sees the deployment but no action buttons, and is refused if it posts anyway.
  await page.goto(`/ui/deployments/${id}`);
  await page.waitForSelector('text=1 of 1 hosts done');
  t.equal(await page.locator('[data-action]').count(), 0, 'no action buttons for a viewer');
  t.equal(await page.locator('text=New deployment').count(), 0, 'no create button for a viewer');
  const forced = await page.evaluate(async (dep: string) => {
    const s = await (await fetch('/ui/api/session')).json();
    const r = await fetch('/ui/api/call/RedeployDeployment', { method: 'POST', headers: { 'content-type': 'application/json', 'x-ferry-csrf': s.csrf }, body: JSON.stringify({ id: dep }) });
    return { status: r.status, body: await r.json() };
  }, id);
  t.equal(forced.status, 403);
  t.match(forced.body.error.message, /has role viewer; RedeployDeployment needs deployer/);

  // A deployer sees the buttons a finished deployment offers.
  const dep = await openConsole(browser, f.base);
  await signIn(dep.page, deployer);
  await dep.page.goto(`/ui/deployments/${id}`);
  await dep.page.waitForSelector('[data-action=RedeployDeployment]');
  t.ok(await dep.page.locator('[data-action=RollbackDeployment]').count(), 'a deployer may roll back');

  // CSRF: a page on another origin posts to the console with the victim's browser.
  const attacker = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<form id=f method=POST action="${f.base}/ui/api/call/RedeployDeployment" enctype="text/plain"><input name='{"id":"${id}","x":"' value='"}'></form>
      <script>fetch("${f.base}/ui/api/call/RedeployDeployment", {method: "POST", credentials: "include", mode: "no-cors", headers: {"content-type": "text/plain"}, body: JSON.stringify({id: "${id}"})}).finally(() => document.getElementById("f").submit())</script>`);
  });
  await new Promise<void>(r => attacker.listen(0, '127.0.0.1', r));
  t.teardown(() => attacker.close());
  await dep.page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
  await dep.page.waitForURL(/\/ui\/api\/call\/RedeployDeployment/);
  t.match(await dep.page.textContent('body'), /cross-origin request refused|not signed in/, 'the forged post is refused');
  const list = await f.as(f.admin, ['deploy', 'list', '--json']);
  t.equal(list.json.deployments.length, 1, 'no deployment was made by the forged posts');
  // Even with the session cookie and a CSRF token, a foreign Origin is refused (the check does not lean on SameSite alone).
  const session = await dep.page.context().cookies();
  const base = new URL(f.base);
  const raw = await rawPost(base, '/ui/api/call/RedeployDeployment', { cookie: `ferry_session=${session[0]!.value}`, origin: 'https://evil.example', 'content-type': 'application/json' }, JSON.stringify({ id }));
  t.equal(raw.status, 403);
  t.match(raw.body, /cross-origin request refused/);
  const noToken = await rawPost(base, '/ui/api/call/RedeployDeployment', { cookie: `ferry_session=${session[0]!.value}`, origin: f.base, 'content-type': 'application/json' }, JSON.stringify({ id }));
  t.equal(noToken.status, 403);
  t.match(noToken.body, /missing or wrong CSRF token/);

  // The audit log names the token for what the console did and refused.
  const audit = await f.as(f.admin, ['audit', '--json']);
  t.equal(audit.code, 0, audit.stderr);
  const records: any[] = audit.stdout.trim().split('\n').map(l => JSON.parse(l));
  t.ok(records.some(r => r.action === 'Console/SignIn' && r.actor === `token:${viewerId}` && r.outcome === 'ok'), 'sign-in audited, naming the token');
  t.ok(records.some(r => r.action === 'Console/SignIn' && r.outcome === 'refused'), 'the wrong token audited');
  t.ok(records.some(r => r.action === 'ControlService/RedeployDeployment' && r.actor === `token:${viewerId}` && r.outcome === 'refused'), 'the viewer\'s post audited as refused');
  t.ok(records.some(r => r.action === 'ControlService/RedeployDeployment' && r.outcome === 'refused' && /cross-origin/.test(r.message)), 'the forged post audited');

  // A revoked token ends its sessions at the next call.
  t.equal((await f.as(f.admin, ['token', 'revoke', viewerId])).code, 0);
  await page.goto('/ui/');
  await page.waitForSelector('input[name=token]');
  t.same(problems.filter(p => !/Failed to load resource/.test(p)), [], 'no CSP violation or script error in the viewer\'s page (refused calls aside)');
  t.same(dep.problems.filter(p => !/cross-origin|Failed to load resource|Failed to fetch/.test(p)), [], 'no CSP violation or script error (the attacker page\'s own aside) in the deployer\'s page');
});

t.test('--insecure: the console signs in without a token, its cookie is not Secure, and it answers only to loopback names', async t => {
  const dir = await tempDir(t, 'ferry-console-insecure-');
  const c = await startCoordinator(t, `${dir}/data`);
  const base = `http://${c.address}`;
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, base);
  await page.goto('/ui/');
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=who]');
  t.match(await page.textContent('[data-testid=who]'), 'insecure-local (admin)');
  const [cookie] = await page.context().cookies();
  t.match(cookie, { httpOnly: true, secure: false, sameSite: 'Strict' });
  // A DNS-rebinding page reaches the port under its own name: refused.
  const rebound = await rawGet(new URL(base), '/ui/api/session', { host: `evil.example:${new URL(base).port}` });
  t.equal(rebound.status, 403);
  t.match(rebound.body, /answers only to a loopback address/);
  await waitFor('the page to settle', async () => (await page.locator('h1').count()) > 0);
  t.same(problems, []);
});

function rawPost(base: URL, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return request(base, path, 'POST', headers, body);
}

function rawGet(base: URL, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return request(base, path, 'GET', headers);
}

async function request(base: URL, path: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  const mod = base.protocol === 'https:' ? await import('node:https') : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({ host: base.hostname, port: base.port, path, method, headers, rejectUnauthorized: false }, res => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
