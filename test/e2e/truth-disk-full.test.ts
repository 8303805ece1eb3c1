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
