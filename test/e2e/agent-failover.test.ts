// High availability (docs/high-availability.md), agent side: an agent given several coordinator addresses (the replicas of a
// highly available coordinator) skips one that does not answer, and when the one it is on dies it
// registers with another and takes that one's deployments, downloading the revision from it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { pack, writeBundle } from '../helpers/bundle.js';
import { freePort } from '../helpers/fleet-fixture.js';
import { type Coordinator, ferry, startAgent, startCoordinator, waitForHosts } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

async function connectedOn(cs: Coordinator[], hostId: string): Promise<Coordinator | undefined> {
  for (const c of cs) {
    const r = await ferry(c.address, ['hosts', 'list', '--json']);
    if ((r.json?.hosts ?? []).some((h: any) => h.id === hostId && h.connected)) return c;
  }
  return undefined;
}

t.test('--coordinator a,b,c: an address that does not answer is skipped, and when its coordinator dies the agent moves to another and deploys from it', async t => {
  const dir = await tempDir(t, 'ferry-failover-');
  const a = await startCoordinator(t, path.join(dir, 'a'));
  const nobody = `127.0.0.1:${await freePort()}`;
  const bListen = `127.0.0.1:${await freePort()}`;
  // The agent's list is a, nobody, b; b starts only once the agent is on a, so the agent must end
  // up on a whichever replica it drew first, and after a dies it must pass nobody to reach b.
  const agent = await startAgent(t, {
    coordinator: [a.address, nobody, bListen].join(','), rootDir: path.join(dir, 'agent'), hostId: 'h1', tags: { role: 'web' },
  });
  await waitForHosts(a.address, ['h1'], 20_000);
  const b = await startCoordinator(t, path.join(dir, 'b'), [], bListen);
  t.equal(b.address, bListen);

  await a.kill('SIGKILL');
  await waitForHosts(b.address, ['h1'], 20_000);
  t.equal(await connectedOn([b], 'h1'), b);
  const log = agent.output();
  const moved = log.indexOf(`address=${a.address} delay_ms=`);
  t.ok(moved >= 0 && log.indexOf(`next_address=${nobody}`, moved) > moved, `left a for the next address, nobody: ${log.slice(-900)}`);
  t.ok(log.indexOf(`next_address=${b.address}`, moved) > moved, 'then left nobody, which did not answer, for b');
  const other = b;

  // The revision is only on `other`: the download follows the session to it.
  const appDir = path.join(dir, 'app');
  const src = path.join(dir, 'bundle');
  await writeBundle(src, {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'www', destination: appDir }] },
    files: { 'www/version.txt': 'v1' },
  });
  const bundle = pack(src, path.join(dir, 'v1.tgz'), 'tgz');
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web', '--config', 'AllAtOnce']]) {
    const r = await ferry(other.address, args);
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const push = await ferry(other.address, ['revision', 'push', bundle, '--app', 'shop', '--json']);
  t.equal(push.code, 0, push.stderr);
  const d = await ferry(other.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', push.json.revision.digest, '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(d.code, 0, d.stdout + d.stderr);
  t.equal(d.json?.deployment?.status, 'Succeeded');
  t.equal(await fs.readFile(path.join(appDir, 'version.txt'), 'utf8'), 'v1', 'installed on the host');
});
