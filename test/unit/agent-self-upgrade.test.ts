import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { UpgradeStatus } from '../../proto/gen/ferry/v1/UpgradeStatus.js';
import { createAgentLogger } from '../../agent/log.js';
import { markerPath, readMarker, writeMarker } from '../../agent/upgrade/marker.js';
import { SelfUpgrade, type SelfUpgradeDeps } from '../../agent/upgrade/self-upgrade.js';
import { runWatchdog } from '../../agent/upgrade/watchdog.js';
import { versionInFile } from '../../coordinator/agent-downloads/releases.js';
import { AGENT_VERSION_MARK, FERRY_VERSION } from '../../common/version.js';
import { waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

/**
 * The agent's side of `ferry hosts upgrade` (agent/upgrade/), with a real HTTP server standing in
 * for the coordinator's /v1/agent/files/ and real files for the binary: what it refuses, the
 * tampered download it never installs, and the watchdog putting the old binary back.
 */

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const script = (version: string) => `#!/bin/sh\nif [ "$1" = --version ]; then echo ${version}; exit 0; fi\nexit 1\n`;

async function serveFiles(t: { teardown(fn: () => unknown): void }, files: Record<string, string>): Promise<{ address: string; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files[(req.url ?? '').replace('/v1/agent/files/', '')];
    if (body === undefined) return void res.writeHead(404).end('no');
    res.writeHead(200, { 'content-length': String(Buffer.byteLength(body)) }).end(body);
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise(r => server.close(r)));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

async function setup(t: Test, over: Partial<SelfUpgradeDeps>, served: Record<string, string>) {
  const dir = await tempDir(t, 'ferry-self-upgrade-');
  const exe = path.join(dir, 'bin', 'ferry-agent');
  await fs.mkdir(path.dirname(exe));
  await fs.writeFile(exe, script(FERRY_VERSION), { mode: 0o755 });
  const srv = await serveFiles(t, served);
  const replies: UpgradeStatus[] = [];
  let exits = 0;
  let stopped = 0;
  const up = new SelfUpgrade({
    root: path.join(dir, 'root'), coordinator: srv.address, identity: () => undefined, exe, isBinary: true, supervisor: 'declared',
    busyWith: () => undefined, stopTaking: () => void (stopped += 1), send: m => void replies.push(m), exit: () => void (exits += 1),
    log: createAgentLogger({ level: 'error', console: false }), ...over,
  });
  return { dir, exe, up, replies, requests: srv.requests, exits: () => exits, stopped: () => stopped };
}

const command = (body: string, o: Partial<{ version: string; sha256: string; size: number }> = {}) => ({
  upgradeId: 'u-1', version: o.version ?? '9.0.0', fileName: 'ferry-agent-linux-x64', sha256: o.sha256 ?? sha(body), size: o.size ?? Buffer.byteLength(body), confirmTimeoutMs: 10_000,
});

t.test('refusals: a Node.js agent, no supervisor, a deployment running (Busy), a bad command; nothing is downloaded', async t => {
  const body = script('9.0.0');
  for (const [name, over, status, message] of [
    ['node entry', { isBinary: false }, 'Refused', /runs from Node\.js .*upgrade it with its package/],
    ['no supervisor', { supervisor: undefined }, 'Refused', /nothing would start the new agent: .*INVOCATION_ID.*FERRY_AGENT_SUPERVISED=1/],
    ['busy', { busyWith: () => 'deployment d-1 is running' }, 'Busy', /^deployment d-1 is running$/],
  ] as const) {
    const s = await setup(t, over as Partial<SelfUpgradeDeps>, { 'ferry-agent-linux-x64': body });
    s.up.handle(command(body));
    t.match(s.replies, [{ upgradeId: 'u-1', status, message }], name);
    t.same(s.requests, [], `${name}: nothing downloaded`);
    t.equal(s.exits(), 0, `${name}: the agent keeps running`);
  }
  const s = await setup(t, {}, {});
  s.up.handle({ ...command(body), sha256: 'nope', fileName: '../etc/passwd' });
  t.match(s.replies, [{ status: 'Refused', message: /invalid upgrade command: sha256 'nope' .*file_name '\.\.\/etc\/passwd'/ }]);
});

t.test('a download that is not the announced file (tampered on the way) is never installed: Failed, the binary and its directory unchanged', async t => {
  const good = script('9.0.0');
  const tampered = script('9.0.0').replace('exit 1', 'echo owned; exit 1');
  const s = await setup(t, {}, { 'ferry-agent-linux-x64': tampered });
  const before = await fs.readFile(s.exe);
  s.up.handle(command(good));
  await waitFor('the answer', () => s.replies.length > 0);
  t.match(s.replies, [{ status: 'Failed', message: /not the announced file: SHA-256 [0-9a-f]{64} .*expected [0-9a-f]{64}.*nothing was replaced/ }]);
  t.same(await fs.readFile(s.exe), before, 'the binary is unchanged');
  t.same((await fs.readdir(path.dirname(s.exe))).sort(), ['ferry-agent'], 'no download or .previous left beside it');
  t.equal(s.exits(), 0);
  t.equal(s.stopped(), 0, 'it still takes commands');
});

t.test('a binary whose --version is not the announced one is not installed', async t => {
  const body = script('8.8.8');
  const s = await setup(t, {}, { 'ferry-agent-linux-x64': body });
  s.up.handle(command(body, { version: '9.0.0' }));
  await waitFor('the answer', () => s.replies.length > 0);
  t.match(s.replies, [{ status: 'Failed', message: /says it is 8\.8\.8, not 9\.0\.0/ }]);
  t.equal(await fs.readFile(s.exe, 'utf8'), script(FERRY_VERSION));
});

t.test('the announced file: swapped in atomically, the old one kept, the upgrade recorded, Restarting, then exit', async t => {
  const body = script('9.0.0');
  const s = await setup(t, {}, { 'ferry-agent-linux-x64': body });
  s.up.handle(command(body));
  await waitFor('the exit', () => s.exits() > 0);
  t.match(s.replies, [{ status: 'Restarting', message: new RegExp(`${FERRY_VERSION} → 9\\.0\\.0`) }]);
  t.equal(await fs.readFile(s.exe, 'utf8'), body, 'the new binary is in place');
  t.equal(await fs.readFile(`${s.exe}.previous`, 'utf8'), script(FERRY_VERSION), 'the old one is kept as .previous');
  t.equal(s.stopped(), 1, 'no more commands are taken');
  t.match(readMarker(markerPath(path.join(s.dir, 'root'))), { upgradeId: 'u-1', from: FERRY_VERSION, to: '9.0.0', exe: s.exe, previous: `${s.exe}.previous`, supervisor: 'declared' });
});

t.test('the watchdog: a confirmed upgrade is left alone; one past its deadline gets the old binary back and the new agent stopped', async t => {
  const dir = await tempDir(t, 'ferry-watchdog-');
  const exe = path.join(dir, 'ferry-agent');
  const marker = path.join(dir, 'upgrade.json');
  const base = { upgradeId: 'u-2', from: '1.0.0', to: '2.0.0', exe, previous: `${exe}.previous`, supervisor: 'declared' as const };
  await fs.writeFile(exe, 'new');
  await fs.writeFile(`${exe}.previous`, 'old');
  await writeMarker(marker, { ...base, deadlineMs: Date.now() + 60_000 });
  const lines: string[] = [];
  const watching = runWatchdog(marker, l => void lines.push(l), 20);
  await fs.rm(marker); // the new agent registered
  t.equal(await watching, 0);
  t.equal(await fs.readFile(exe, 'utf8'), 'new', 'confirmed: the new binary stays');
  t.match(lines, [/watching the upgrade u-2/, /confirmed/]);

  const { spawn } = await import('node:child_process');
  const newAgent = spawn('sleep', ['30']);
  t.teardown(() => void newAgent.kill('SIGKILL'));
  await writeMarker(marker, { ...base, deadlineMs: Date.now() + 100, pid: newAgent.pid! });
  const exited = new Promise(r => newAgent.on('exit', (_c, sig) => r(sig)));
  t.equal(await runWatchdog(marker, l => void lines.push(l), 20), 0);
  t.equal(await fs.readFile(exe, 'utf8'), 'old', 'past the deadline: the old binary is back');
  await t.rejects(fs.stat(`${exe}.previous`), 'moved, not copied');
  t.equal(readMarker(marker), undefined, 'the record is removed');
  t.equal(await exited, 'SIGTERM', 'the new agent is stopped, for its supervisor to start the old one');
});

t.test('the coordinator reads the version from the binary, also across a read boundary, skipping the bare mark', async t => {
  const dir = await tempDir(t, 'ferry-version-mark-');
  const file = path.join(dir, 'bin');
  const pad = Buffer.alloc((1 << 20) - 10, 0x61);
  await fs.writeFile(file, Buffer.concat([Buffer.from(`x"${AGENT_VERSION_MARK}"+v;`), pad, Buffer.from(`/* ${AGENT_VERSION_MARK}1.2.3-rc.1; */`), pad]));
  t.equal(await versionInFile(file), '1.2.3-rc.1');
  await fs.writeFile(file, 'no mark here');
  t.equal(await versionInFile(file), undefined);
});
