import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { type Fleet, startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';

const deploy = (f: Fleet, args: string[]) =>
  ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--wait', '--json', ...args], { timeoutMs: 90_000 });


t.test('a late agent gets the group\'s last successful revision, once (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2']);
  const digest = await f.push(await f.bundle('v1'));
  t.equal((await deploy(f, ['--revision', digest])).code, 0);
  const late = await f.addAgent('h3');
  const auto = await waitFor('an automatic deployment to h3 to succeed', async () => {
    const list = (await ferry(f.coordinator.address, ['deploy', 'list', '--app', 'shop', '--json'])).json?.deployments ?? [];
    return list.find((d: any) => d.creator === 'autoscaling' && d.status === 'Succeeded');
  }, 30_000);
  t.equal(auto.revision, digest);
  t.same((await f.proof('h3')).filter(l => l.includes('installed')), ['v1:installed:v1'], 'h3 has the files of v1');
  await late.kill('SIGTERM');
  await f.addAgent('h3');
  await waitForHosts(f.coordinator.address, ['h3']);
  await new Promise(r => setTimeout(r, 1500));
  const list = (await ferry(f.coordinator.address, ['deploy', 'list', '--app', 'shop', '--json'])).json.deployments;
  t.equal(list.filter((d: any) => d.creator === 'autoscaling').length, 1, 'a reconnect does not deploy the same revision again');
});

t.test('a corrupted stored revision fails DownloadBundle with a checksum error and installs nothing (mount namespace)', async t => {
  const f = await startFleet(t, ['h1']);
  const digest = await f.push(await f.bundle('v1'));
  const stored = path.join(f.coordinator.dataDir, 'revisions', 'sha256', digest.slice(0, 2), digest);
  const bytes = await fs.readFile(stored);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  await fs.writeFile(stored, bytes);
  const r = await deploy(f, ['--revision', digest]);
  t.equal(r.code, 1);
  const h = r.json.hosts[0];
  t.equal(h.status, 'Failed');
  const download = h.events.find((e: any) => e.name === 'DownloadBundle');
  t.equal(download.status, 'Failed');
  t.match(download.message, /hash|checksum|corrupt/i);
  t.same(await f.proof('h1'), [], 'no hook ran');
});

t.test('--wait --timeout exits 5 and leaves the deployment running (mount namespace)', async t => {
  const f = await startFleet(t, ['h1']);
  const digest = await f.push(await f.bundle('slow', { ApplicationStart: 'sleep 3' }));
  const r = await deploy(f, ['--revision', digest, '--timeout', '1s']);
  t.equal(r.code, 5, r.stderr);
  t.match(r.json, { exitCode: 5, outcome: 'timed-out', deployment: { status: 'InProgress' } }, 'the --json document says how the wait ended');
  const id = r.json?.deployment?.id ?? (await ferry(f.coordinator.address, ['deploy', 'list', '--json'])).json.deployments[0].id;
  await waitFor('the deployment to finish anyway', async () =>
    (await ferry(f.coordinator.address, ['deploy', 'status', id, '--json'])).json?.deployment.status === 'Succeeded', 30_000);
});

t.test('an agent killed while downloading resumes the transfer from where it stopped after a restart (mount namespace)', async t => {
  const f = await startFleet(t, []);
  const slow = ['--max-download-rate', '4M'];
  const agent = await f.addAgent('h1', { role: 'web' }, undefined, slow);
  await waitForHosts(f.coordinator.address, ['h1']);
  const { randomBytes } = await import('node:crypto');
  const digest = await f.push(await f.bundle('big', {}, { 'www/blob.bin': randomBytes(12 * 1024 * 1024).toString('base64') }));
  const created = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--json']);
  t.equal(created.code, 0, created.stderr);
  const partial = path.join(f.dir, 'agents', 'h1', 'revisions', `${digest}.partial`);
  await waitFor('part of the revision to arrive', async () => ((await fs.stat(partial).catch(() => undefined))?.size ?? 0) > 2 * 1024 * 1024);
  await agent.kill('SIGKILL');
  const kept = (await fs.stat(partial)).size;
  t.ok(kept > 0, `${kept} bytes were on disk when the agent died`);
  await f.addAgent('h1', { role: 'web' }, undefined, slow);
  const id = created.json.deployment.id;
  const done = await waitFor('the deployment to succeed', async () => {
    const d = (await ferry(f.coordinator.address, ['deploy', 'status', id, '--json'])).json;
    return d?.deployment.status === 'Succeeded' && d;
  }, 60_000);
  t.equal(done.hosts[0].status, 'Succeeded');
  const offsets = [...f.coordinator.output().matchAll(/revision fetch.*?offset=(\d+)/g)].map(m => Number(m[1]));
  t.ok(offsets.length >= 2 && offsets[0] === 0, `fetches at offsets ${offsets.join(', ')}`);
  t.ok(offsets.slice(1).some(o => o >= kept), 'the restarted agent resumed from the bytes it already had');
  t.same((await f.proof('h1')).filter(l => l.includes('installed')), ['big:installed:big']);
});

t.test('a revision pushed from git reaches the hooks as BUNDLE_COMMIT (mount namespace)', async t => {
  const f = await startFleet(t, ['h1']);
  const archive = await f.bundle('git1', { AfterInstall: `echo "commit:$BUNDLE_COMMIT" >> ${f.proofDir}/h1` });
  const src = archive.replace(/\.tgz$/, '');
  const { execFileSync } = await import('node:child_process');
  const git = (...args: string[]) => execFileSync('git', ['-C', src, '-c', 'user.name=t', '-c', 'user.email=t@x', ...args]).toString().trim();
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'v1');
  const commit = git('rev-parse', 'HEAD');
  const pushed = await ferry(f.coordinator.address, ['revision', 'push', '--git', src, '--commit', 'HEAD', '--app', 'shop', '--json']);
  t.equal(pushed.code, 0, pushed.stderr);
  t.equal(pushed.json.revision.commit, commit);
  const r = await deploy(f, ['--revision', pushed.json.revision.digest]);
  t.equal(r.code, 0, r.stderr.slice(-400));
  t.ok((await f.proof('h1')).includes(`commit:${commit}`), 'the AfterInstall hook saw BUNDLE_COMMIT');
});
