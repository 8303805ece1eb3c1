/**
 * `ferry hosts upgrade` never replaces an agent mid-deployment (docs/install.md): started while a
 * hook runs, the agent answers busy, the coordinator asks again, and the upgrade happens only after
 * the deployment succeeded, which was neither cancelled nor interrupted.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { agentBinary, agentBinaryWithVersion, supervised } from '../helpers/agent-binary.js';
import { gate, pack, writeBundle } from '../helpers/bundle.js';
import { ferry, startCoordinator, waitFor, waitForHosts } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

t.test('an upgrade asked for during a deployment waits for it to end, then replaces the agent', async t => {
  const bin = await agentBinary();
  const next = await agentBinaryWithVersion(`${bin.version}-up2`);
  const dir = await tempDir(t, 'ferry-agent-upgrade-busy-');
  const data = path.join(dir, 'data');
  const coordinator = await startCoordinator(t, data, ['--heartbeat-interval', '1s']);
  const exe = path.join(dir, 'bin', 'ferry-agent');
  await fs.mkdir(path.dirname(exe), { recursive: true });
  await fs.link(bin.file, exe);
  const agent = supervised(t, exe, ['start', '--coordinator', coordinator.address, '--root-dir', path.join(dir, 'root'), '--host-id', 'busy-1', '--heartbeat-interval', '1s', '--tag', 'role=web']);
  await waitForHosts(coordinator.address, ['busy-1'], 60_000).catch(err => {
    throw new Error(`${String(err)}\n${agent.output()}`);
  });

  const started = path.join(dir, 'hook-started');
  // The hook runs until the test has seen the agent answer busy (a fixed sleep raced the upgrade request on a loaded machine).
  const release = path.join(dir, 'release-hook');
  const bundle = await writeBundle(path.join(dir, 'bundle'), {
    appspec: { version: 0.0, os: 'linux', hooks: { ValidateService: [{ location: 'hooks/slow.sh', timeout: 60 }] } },
    files: { 'hooks/slow.sh': { content: `#!/bin/sh\necho started > ${started}\n${gate(release, 55)}\necho done\n`, mode: 0o755 } },
  });
  const archive = pack(bundle, path.join(dir, 'bundle.tgz'), 'tgz');
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web']]) {
    const c = await ferry(coordinator.address, args);
    t.equal(c.code, 0, `ferry ${args.join(' ')} ${c.stderr}`);
  }
  const push = await ferry(coordinator.address, ['revision', 'push', archive, '--app', 'shop', '--json']);
  t.equal(push.code, 0, push.stderr);
  const deploy = ferry(coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', push.json.revision.digest, '--wait', '--json'], { timeoutMs: 120_000 });
  await waitFor('the slow hook to start', () => fs.stat(started).then(() => true, () => false), 60_000);

  await fs.mkdir(path.join(data, 'agent'), { recursive: true });
  await fs.link(next.file, path.join(data, 'agent', path.basename(bin.file)));
  const upgrade = ferry(coordinator.address, ['hosts', 'upgrade', '--host', 'busy-1', '--timeout', '90s', '--json'], { timeoutMs: 120_000 });
  await waitFor('the agent to answer busy', () => agent.output().includes('agent upgrade must wait'), 60_000);
  await fs.writeFile(release, '');
  const up = await upgrade;
  const d = await deploy;
  t.equal(d.json?.deployment?.status, 'Succeeded', 'the deployment succeeded: the agent was not replaced under it');
  t.equal(up.code, 0, up.code === 0 ? 'the upgrade succeeded after it' : `${up.stdout}${up.stderr}\n${agent.output().slice(-2000)}`);
  t.match(up.json?.hosts?.[0], { hostId: 'busy-1', status: 'Upgraded', toVersion: next.version });
  t.match(coordinator.output(), /the agent is busy with a deployment; asking again/, 'the agent answered busy while the hook ran');
  const waited = agent.output().indexOf('agent upgrade must wait');
  const downloaded = agent.output().indexOf('agent upgrade: downloading the new binary');
  t.ok(waited >= 0 && downloaded > waited, 'it downloaded only after waiting');
  const hosts = (await ferry(coordinator.address, ['hosts', 'list', '--json'])).json.hosts;
  t.match(hosts[0], { id: 'busy-1', connected: true, agentVersion: next.version, agentOutOfDate: false });
});
