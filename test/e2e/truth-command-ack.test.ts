import path from 'node:path';
import type * as Tap from 'tap';
import t from 'tap';
import { agentClient } from '../../agent/link/transport.js';
import type { CoordinatorMessage__Output } from '../../proto/gen/ferry/v1/CoordinatorMessage.js';
import { writeBundle, hooksFor, pack } from '../helpers/bundle.js';
import { ferry, startCoordinator, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Truthful rollouts: no host InProgress with nothing behind it. An agent that says it acknowledges
 * deploy commands (Register.acks_commands) and then never does — it lost the command, its disk was
 * full, it crashed before persisting it — is sent the command again, and after three sends its
 * host deployment fails COMMAND_NOT_ACKNOWLEDGED: the deployment ends instead of waiting for ever.
 * The agent here is a real gRPC client on the real AgentService that records what it receives.
 */

async function fakeAgent(t: Tap.Test, address: string, hostId: string, acks: boolean) {
  const client = agentClient(address, 'session');
  const call = client.Connect();
  const received: CoordinatorMessage__Output[] = [];
  call.on('data', (m: CoordinatorMessage__Output) => received.push(m));
  call.on('error', () => undefined);
  call.write({ register: { hostId, hostname: hostId, tags: { role: 'web' }, agentVersion: 'test', acksCommands: acks } });
  const beat = setInterval(() => call.write({ heartbeat: { sentAtMs: Date.now() } }), 500);
  t.teardown(() => {
    clearInterval(beat);
    call.cancel();
    client.close();
  });
  return { call, received, deploys: () => received.filter(m => m.deploy) };
}

t.test('a deploy command never acknowledged is sent again, then its host fails COMMAND_NOT_ACKNOWLEDGED (not InProgress for ever)', async t => {
  const dir = await tempDir(t, 'ferry-ack-');
  const c = await startCoordinator(t, path.join(dir, 'data'), ['--heartbeat-interval', '1s', '--agent-timeout', '30s']);
  const silent = await fakeAgent(t, c.address, 'silent', true);
  await waitFor('the agent to register', () => silent.received.some(m => m.registered));
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web', '--config', 'AllAtOnce']]) {
    t.equal((await ferry(c.address, args)).code, 0);
  }
  await writeBundle(path.join(dir, 'b'), { appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) }, scripts: { 'scripts/ApplicationStart.sh': 'true' } });
  const push = await ferry(c.address, ['revision', 'push', pack(path.join(dir, 'b'), path.join(dir, 'b.tgz'), 'tgz'), '--app', 'shop', '--json']);
  const digest = push.json.revision.digest as string;
  const created = await ferry(c.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(created.code, 1, 'the deployment ends Failed (exit 1), it does not hang');
  const d = created.json;
  t.equal(d.deployment.status, 'Failed');
  const host = d.hosts.find((h: any) => h.hostId === 'silent');
  t.equal(host.status, 'Failed');
  t.equal(host.errorCode, 'COMMAND_NOT_ACKNOWLEDGED');
  t.match(host.errorMessage, /did not acknowledge the deploy command: sent 3 times/);
  t.equal(silent.deploys().length, 3, 'the command was sent three times');
  t.ok(silent.deploys().every(m => m.deploy!.deploymentId === d.deployment.id), 'each time the same command');
});

t.test('an agent that acknowledges is not sent the command again, and one that does not say it acks is not failed for it', async t => {
  const dir = await tempDir(t, 'ferry-ack-');
  const c = await startCoordinator(t, path.join(dir, 'data'), ['--heartbeat-interval', '1s', '--agent-timeout', '30s']);
  const acking = await fakeAgent(t, c.address, 'acking', true);
  const old = await fakeAgent(t, c.address, 'old', false);
  await waitFor('the agents to register', () => acking.received.some(m => m.registered) && old.received.some(m => m.registered));
  acking.call.on('data', (m: CoordinatorMessage__Output) => {
    if (m.deploy) acking.call.write({ commandAck: { deploymentId: m.deploy.deploymentId } });
  });
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web', '--config', 'AllAtOnce']]) {
    t.equal((await ferry(c.address, args)).code, 0);
  }
  await writeBundle(path.join(dir, 'b'), { appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) }, scripts: { 'scripts/ApplicationStart.sh': 'true' } });
  const push = await ferry(c.address, ['revision', 'push', pack(path.join(dir, 'b'), path.join(dir, 'b.tgz'), 'tgz'), '--app', 'shop', '--json']);
  const id = (await ferry(c.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', push.json.revision.digest, '--json'])).json.deployment.id;
  await waitFor('both to get the command', () => acking.deploys().length >= 1 && old.deploys().length >= 1);
  // Past three deadlines (2 s each): neither is sent it again nor failed.
  await new Promise(r => setTimeout(r, 8000));
  t.equal(acking.deploys().length, 1, 'the acknowledged command was sent once');
  t.equal(old.deploys().length, 1, 'an agent that does not ack (an older version) is sent it once');
  const hosts = (await ferry(c.address, ['deploy', 'status', id, '--json'])).json.hosts as any[];
  t.same(hosts.map(h => h.status), ['InProgress', 'InProgress'], 'both still run it (no false failure)');
});
