/**
 * A failed `ferry hosts upgrade` (docs/install.md): a new binary that passes the agent's checks but
 * never registers. The watchdog puts the old binary back, the old agent reconnects, the rollout
 * stops and the next batch is not touched; a node-entry agent refuses, saying why.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { sha256File } from '../../ops/agent-binary/build.js';
import { agentBinary, supervised } from '../helpers/agent-binary.js';
import { ferry, startAgent, startCoordinator, waitForHosts } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

/** Replaces DATA/agent/<name> with `file` (the coordinator serves what is there). */
async function serve(data: string, name: string, file: string): Promise<void> {
  await fs.mkdir(path.join(data, 'agent'), { recursive: true });
  await fs.rm(path.join(data, 'agent', name), { force: true });
  await fs.copyFile(file, path.join(data, 'agent', name));
}

t.test('a failed upgrade stops the rollout: the watchdog puts the old binary back, the old agent reconnects, the next batch is untouched', async t => {
  const bin = await agentBinary();
  const dir = await tempDir(t, 'ferry-agent-upgrade-fail-');
  const data = path.join(dir, 'data');
  const coordinator = await startCoordinator(t, data, ['--heartbeat-interval', '1s']);
  // A "release" whose --version answers but which never starts an agent: it passes the agent's checks, then never registers.
  const broken = path.join(dir, 'broken');
  await fs.writeFile(broken, '#!/bin/sh\n# ferry-agent-version:9.9.9-broken;\nif [ "$1" = --version ]; then echo 9.9.9-broken; exit 0; fi\necho "broken agent: cannot start" >&2\nexit 1\n', { mode: 0o755 });
  await serve(data, path.basename(bin.file), broken);
  const agents: Record<string, { exe: string; proc: ReturnType<typeof supervised> }> = {};
  for (const id of ['up-a', 'up-b']) {
    const exe = path.join(dir, id, 'bin', 'ferry-agent');
    await fs.mkdir(path.dirname(exe), { recursive: true });
    await fs.link(bin.file, exe);
    const args = ['start', '--coordinator', coordinator.address, '--root-dir', path.join(dir, id, 'root'), '--host-id', id, '--heartbeat-interval', '1s', '--tag', 'role=web'];
    agents[id] = { exe, proc: supervised(t, exe, args) };
  }
  // A node-entry agent, which cannot replace node: it refuses, saying why.
  const nodeAgent = await startAgent(t, { coordinator: coordinator.address, rootDir: path.join(dir, 'node-root'), hostId: 'up-node', tags: { role: 'node' }, env: { FERRY_AGENT_SUPERVISED: '1' } });
  await waitForHosts(coordinator.address, ['up-a', 'up-b', 'up-node'], 60_000).catch(err => {
    throw new Error(`${String(err)}\n${agents['up-a']!.proc.output()}\n${nodeAgent.output()}`);
  });
  const listed = (await ferry(coordinator.address, ['hosts', 'list', '--json'])).json.hosts;
  t.match(listed.find((h: any) => h.id === 'up-a'), { agentVersion: bin.version, latestAgentVersion: '9.9.9-broken', agentOutOfDate: true }, 'the served version is read from the file');

  const refused = await ferry(coordinator.address, ['hosts', 'upgrade', '--host', 'up-node', '--timeout', '20s', '--json'], { timeoutMs: 60_000 });
  t.equal(refused.code, 1, 'a node-entry agent cannot be upgraded');
  t.match(refused.json?.hosts?.[0], { hostId: 'up-node', status: 'Failed', message: /refused by the agent: this agent runs from Node\.js .*upgrade it with its package/ });

  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web']]) {
    const c = await ferry(coordinator.address, args);
    t.equal(c.code, 0, `ferry ${args.join(' ')} ${c.stderr}`);
  }
  const started = Date.now();
  const up = await ferry(coordinator.address, ['hosts', 'upgrade', '--group', 'web', '--batch', '1', '--timeout', '30s', '--json'], { timeoutMs: 120_000 });
  t.comment(`the failed rollout took ${Math.round((Date.now() - started) / 1000)} s`);
  t.equal(up.code, 1, `hosts upgrade exits 1 when a host fails: ${up.stderr}`);
  t.equal(up.json?.status, 'Failed');
  const [first, second] = up.json?.hosts ?? [];
  t.match(first, { status: 'Failed', batch: 1, fromVersion: bin.version, toVersion: '9.9.9-broken', message: /rolled back: the host reconnected running/ }, 'the first batch fails: the new agent never registered and was rolled back');
  t.match(second, { status: 'NotAttempted', batch: 2, message: /an earlier failure stopped the rollout/ }, 'the second batch is not attempted');
  const hosts = (await ferry(coordinator.address, ['hosts', 'list', '--json'])).json.hosts;
  for (const id of ['up-a', 'up-b']) {
    t.match(hosts.find((h: any) => h.id === id), { connected: true, agentVersion: bin.version }, `${id} is connected running the old agent`);
  }
  const failedHost = agents[first.hostId as string]!;
  const untouched = agents[second.hostId as string]!;
  t.equal(await sha256File(failedHost.exe), bin.sha256, 'the failed host has its old binary back');
  t.match(failedHost.proc.output(), /broken agent: cannot start/, 'the new binary did run there, and failed');
  const watchdog = await fs.readFile(path.join(dir, first.hostId as string, 'root', 'logs', 'upgrade-watchdog.log'), 'utf8');
  t.match(watchdog, /the new agent did not register by the deadline: put .* back/, 'the watchdog put it back');
  t.equal(await sha256File(untouched.exe), bin.sha256, 'the other host was not touched');
  await t.rejects(fs.stat(`${untouched.exe}.previous`), 'and has no .previous');
});
