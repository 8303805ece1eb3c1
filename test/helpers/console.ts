/**
 * The web console's tests: Debian's Chromium driven headless by playwright-core (no browser
 * download: scripts/test-prereqs.mjs installs the `chromium` package), and a TLS fleet of real
 * enrolled agents to point it at.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import type { Test } from 'tap';
import { REPO } from './agent-cli.js';
import { hooksFor, pack, writeBundle } from './bundle.js';
import { HOOKS } from './fleet-fixture.js';
import { type Coordinator, type Proc, startAgent, startCoordinator, waitFor } from './fleet.js';
import { tempDir } from './temp.js';
import { type AsCaller, asCaller, enrollHost, mintToken, readTrust } from './trust.js';

export const CHROMIUM = process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium';
/** Where the tests write screenshots of the main pages for a reviewer (not committed: dist/ is ignored). */
export const SCREENSHOTS = path.join(REPO, 'dist', 'console-screenshots');

export async function launchBrowser(t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the console tests drive Debian's Chromium (apt-get install chromium; scripts/test-prereqs.mjs does it as root)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  t.teardown(() => browser.close());
  return browser;
}

export interface ConsolePage {
  page: Page;
  /** Content-Security-Policy violations and script errors the page reported. */
  problems: string[];
}

/** A fresh browser context (its own cookies) on `base` (https://host:port), trusting the test CA's certificate. */
export async function openConsole(browser: Browser, base: string): Promise<ConsolePage> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, baseURL: base });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', err => problems.push(`page error: ${err.message}`));
  page.on('console', m => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return { page, problems };
}

export async function signIn(page: Page, token: string): Promise<void> {
  await page.goto('/ui/');
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=who]');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await fs.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface SecureFleet {
  dir: string;
  coordinator: Coordinator;
  base: string;
  admin: string;
  as: AsCaller;
  agents: Map<string, Proc>;
  appDir: string;
  /** Packs a bundle; `extra` appends lines to a hook's script. */
  bundle(version: string, extra?: Record<string, string>): Promise<string>;
  /** `ferry revision push` as the admin; the digest. */
  push(bundlePath: string): Promise<string>;
}

/** A TLS coordinator (with `coordinatorArgs`), N agents enrolled with a join token and running with mutual TLS, app `shop`, group `web` (OneAtATime unless `config`). */
export async function startSecureFleet(t: Test, hostIds: string[], config = 'OneAtATime', coordinatorArgs: string[] = []): Promise<SecureFleet> {
  const dir = await tempDir(t, 'ferry-console-');
  const data = path.join(dir, 'data');
  const coordinator = await startCoordinator(t, data, coordinatorArgs, '127.0.0.1:0', { tls: true });
  const { caFile, fingerprint, admin } = await readTrust(data);
  const as = asCaller(coordinator.address, { FERRY_CA: caFile });
  const appDir = path.join(dir, 'app');
  const agents = new Map<string, Proc>();
  if (hostIds.length > 0) {
    const join = await mintToken(t, as, admin, 'agent', ['--uses', String(hostIds.length), '--tag', 'role=web']);
    for (const hostId of hostIds) {
      const rootDir = path.join(dir, 'agents', hostId);
      const e = await enrollHost({ coordinator: coordinator.address, token: join, fingerprint, rootDir, hostId });
      t.equal(e.code, 0, `enroll ${hostId}: ${e.stderr}`);
      agents.set(hostId, await startAgent(t, { coordinator: coordinator.address, rootDir, hostId, tags: { role: 'web' }, privateDirs: [appDir] }));
    }
    await waitFor('the agents to connect', async () => {
      const hosts: { id: string; connected: boolean }[] = (await as(admin, ['hosts', 'list', '--json'])).json?.hosts ?? [];
      return hostIds.every(id => hosts.some(h => h.id === id && h.connected));
    }, 30_000);
  }
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web', '--config', config]]) {
    const r = await as(admin, args);
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  return {
    dir, coordinator, base: `https://${coordinator.address}`, admin, as, agents, appDir,
    bundle: async (version, extra = {}) => {
      const src = path.join(dir, 'bundles', version);
      await writeBundle(src, {
        appspec: { version: 0.0, os: 'linux', files: [{ source: 'www', destination: path.join(appDir, 'www') }], hooks: hooksFor(HOOKS) },
        files: { 'www/version.txt': version },
        scripts: Object.fromEntries(HOOKS.map(e => [`scripts/${e}.sh`, `echo "${version}: $LIFECYCLE_EVENT on $(hostname)"\n${extra[e] ?? ''}`])),
      });
      return pack(src, path.join(dir, 'bundles', `${version}.tgz`), 'tgz');
    },
    push: async bundlePath => {
      const r = await as(admin, ['revision', 'push', bundlePath, '--app', 'shop', '--json']);
      t.equal(r.code, 0, `revision push: ${r.stderr}`);
      return r.json.revision.digest as string;
    },
  };
}
