import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ferry, startAgent, startCoordinator, waitFor } from '../helpers/fleet.js';
import { isRoot, tempDir } from '../helpers/temp.js';

/**
 * Truthful rollouts, rule 6: the coordinator survives a full disk. Its data dir is a small tmpfs;
 * filled up, heartbeats and disconnects go on without a crash, calls fail naming the database and
 * RESOURCE_EXHAUSTED (exit 1, a refusal), and it works again once space returns.
 */
t.test('data dir disk full (root, a tmpfs): no crash, clear errors, recovery when space returns', { skip: !isRoot && 'needs root: mounts a small tmpfs' }, async t => {
  const dir = await tempDir(t, 'ferry-diskfull-');
  const data = path.join(dir, 'data');
  await fs.mkdir(data);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', data]);
  t.teardown(() => void execFileSync('umount', ['-l', data]));
  const c = await startCoordinator(t, data, ['--heartbeat-interval', '1s']);
  const agent = await startAgent(t, { coordinator: c.address, rootDir: path.join(dir, 'agent'), hostId: 'h1', tags: { role: 'web' } });
  await waitFor('h1 connected', async () => (await ferry(c.address, ['hosts', 'list', '--json'])).json?.hosts.some((h: any) => h.id === 'h1' && h.connected));
  // Fill the file system (the database's WAL then cannot grow).
  const filler = path.join(data, 'filler');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
  } catch {
    // dd stops at ENOSPC: that is the point
  }
  let refused: Awaited<ReturnType<typeof ferry>> | undefined;
  for (let i = 0; i < 200 && !refused; i++) {
    const r = await ferry(c.address, ['app', 'create', `app-${i}-${'x'.repeat(200)}`.slice(0, 100)]);
    if (r.code !== 0) refused = r;
  }
  t.ok(refused, 'a write is refused once the disk is full');
  t.equal(refused!.code, 1, 'a refusal (exit 1), not a crash or unreachable (6)');
  t.match(refused!.stderr, /no space left for the coordinator's database .*ferry\.db/);
  // Heartbeats and a disconnect while full: the stream close handler once crashed the process here.
  await new Promise(r => setTimeout(r, 2500));
  await agent.kill('SIGTERM');
  await new Promise(r => setTimeout(r, 1000));
  t.equal(c.child.exitCode, null, 'the coordinator is still running');
  await fs.rm(filler);
  const after = await ferry(c.address, ['app', 'create', 'after-space-returned']);
  t.equal(after.code, 0, `works again once space returns: ${after.stderr}`);
});

/**
 * Truthful rollouts: an agent whose disk is full cannot take a deploy command. It says so — the
 * host fails DISK_FULL naming the path — instead of dropping the command and leaving the host
 * InProgress for ever; once space returns the next deployment works, and no temp file or partial
 * download is left on the host.
 */
t.test('agent disk full (root, a tmpfs): the host fails DISK_FULL naming the path, and recovers', { skip: !isRoot && 'needs root: mounts a small tmpfs' }, async t => {
  const dir = await tempDir(t, 'ferry-agent-diskfull-');
  const root = path.join(dir, 'agent');
  await fs.mkdir(root);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', root]);
  t.teardown(() => void execFileSync('umount', ['-l', root]));
  const c = await startCoordinator(t, path.join(dir, 'data'), ['--heartbeat-interval', '1s']);
  await startAgent(t, { coordinator: c.address, rootDir: root, hostId: 'h1', tags: { role: 'web' } });
  await waitFor('h1 connected', async () => (await ferry(c.address, ['hosts', 'list', '--json'])).json?.hosts.some((h: any) => h.id === 'h1' && h.connected));
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web', '--config', 'AllAtOnce']]) {
    t.equal((await ferry(c.address, args)).code, 0);
  }
  const bundle = path.join(dir, 'bundle');
  await fs.mkdir(path.join(bundle, 'scripts'), { recursive: true });
  await fs.writeFile(path.join(bundle, 'appspec.yml'), 'version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: scripts/start.sh\n');
  await fs.writeFile(path.join(bundle, 'scripts', 'start.sh'), '#!/bin/bash\necho started\n', { mode: 0o755 });
  execFileSync('tar', ['-czf', `${bundle}.tgz`, '-C', bundle, '.']);
  const digest = (await ferry(c.address, ['revision', 'push', `${bundle}.tgz`, '--app', 'shop', '--json'])).json.revision.digest as string;

  const filler = path.join(root, 'filler');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' });
  } catch {
    // dd stops at ENOSPC: that is the point
  }
  const full = await ferry(c.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(full.code, 1, 'the deployment fails; it does not hang');
  const h1 = full.json.hosts.find((h: any) => h.hostId === 'h1');
  t.equal(h1.status, 'Failed');
  t.equal(h1.errorCode, 'DISK_FULL', 'the host says its disk is full');
  t.match(h1.errorMessage, new RegExp(root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'naming a path on the full file system');

  await fs.rm(filler);
  const ok = await ferry(c.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(ok.code, 0, `with space back the next deployment succeeds: ${ok.stderr}`);
  const leftovers = execFileSync('find', [root, '-name', '*.tmp-*', '-o', '-name', '*.partial'], { encoding: 'utf8' }).trim();
  t.equal(leftovers, '', 'no temp file or partial download is left on the host');
});
