import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { FakeCoordinator, buildRevision, startDaemon } from '../helpers/fake-coordinator.js';
import { tempDir } from '../helpers/temp.js';

async function fake(t: Test): Promise<FakeCoordinator> {
  const f = await FakeCoordinator.start();
  t.teardown(() => f.stop());
  return f;
}

const ls = (dir: string) => fs.readdir(dir).catch(() => [] as string[]);

t.test('the daemon registers with its tags, zone and facts, heartbeats, and keeps its host id across restarts', async t => {
  const coordinator = await fake(t);
  coordinator.heartbeatIntervalMs = 150;
  const root = path.join(await tempDir(t), 'root');
  const first = startDaemon(t, coordinator, root, ['--tag', 'role=web', '--tag', 'env=test', '--zone', 'eu-1a']);
  const reg = await coordinator.waitFor('Register', () => coordinator.of('register')[0]);
  t.equal(coordinator.messages[0]!.msg, 'register', 'Register is the first message');
  t.match(reg, { hostname: os.hostname(), tags: { role: 'web', env: 'test' }, zone: 'eu-1a', agentVersion: '0.1.0', runningDeploymentId: '' });
  t.match(reg.hostId, /^h-[a-z0-9]{12}$/);
  const f = reg.facts!;
  t.ok(f.os && f.kernel && f.arch, `os facts: ${f.os}, ${f.kernel}, ${f.arch}`);
  t.ok(f.cpus > 0 && f.memoryBytes > 0 && f.diskTotalBytes > 0 && f.diskFreeBytes > 0, 'cpu, memory and disk facts');
  await coordinator.waitFor('3 heartbeats at the interval Registered gave', () => coordinator.of('heartbeat').length >= 3, 5000);
  t.match(coordinator.of('heartbeat')[0], { runningDeploymentId: '' });
  t.ok(coordinator.of('heartbeat')[0]!.sentAtMs > 0);

  first.kill('SIGTERM');
  t.same(await first.exited, { code: 0, signal: null }, 'SIGTERM stops the daemon with exit 0');
  t.equal(await fs.readFile(path.join(root, 'host-id'), 'utf8'), reg.hostId + '\n');

  coordinator.heartbeatIntervalMs = 0; // now the agent's own --heartbeat-interval applies
  const second = startDaemon(t, coordinator, root, ['--heartbeat-interval', '150ms']);
  const reg2 = await coordinator.waitFor('the second Register', () => coordinator.of('register')[1]);
  t.equal(reg2.hostId, reg.hostId, 'the host id is reused');
  const before = coordinator.of('heartbeat').length;
  await coordinator.waitFor('heartbeats at --heartbeat-interval', () => coordinator.of('heartbeat').length >= before + 3, 5000);
  second.kill('SIGINT');
  t.equal((await second.exited).code, 0);

  const log = (await fs.readFile(path.join(root, 'logs', 'ferry-agent.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l));
  t.ok(log.some(l => l.component === 'session' && l.message === 'connected to the coordinator' && l.host_id === reg.hostId),
    'the JSON log file records the connection, with component and host_id');
  t.match(first.stderr(), /info {2}\[session\] connected to the coordinator host_id=h-/, 'a readable line on stderr');
});

t.test('bad flags exit 2 naming the flag', async t => {
  const coordinator = await fake(t);
  const root = path.join(await tempDir(t), 'root');
  const bad = startDaemon(t, coordinator, root, ['--tag', '=web']);
  t.equal((await bad.exited).code, 2);
  t.match(bad.stderr(), /--tag: '=web' has no key: write key=value/);
});

t.test('a DeployCommand runs the real lifecycle, streams events and logs, and reports Succeeded', async t => {
  const coordinator = await fake(t);
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const installTo = path.join(dir, 'installed');
  const bytes = await buildRevision(dir, {
    installTo,
    files: { 'index.html': 'v1\n' },
    hooks: {
      BeforeInstall: 'echo "before $DEPLOYMENT_ID in $DEPLOYMENT_GROUP_NAME"; echo "ferry_vars=$(env | grep ^FERRY_ | grep -vc ^FERRY_REVISION_DIR= || true)"',
      ApplicationStart: 'echo started; echo "a warning" >&2',
      ValidateService: 'for i in $(seq 1 450); do echo "line $i"; done',
    },
  });
  const rev = coordinator.addRevision(bytes);
  startDaemon(t, coordinator, root, [], { FERRY_COORDINATOR: coordinator.address, FERRY_TOKEN: 'not-for-hooks' });
  const reg = await coordinator.waitFor('Register', () => coordinator.of('register')[0]);
  coordinator.deploy({ deploymentId: 'd-1', revisionDigest: rev.digest, revisionSize: rev.size });
  const result = await coordinator.waitFor('the result', () => coordinator.of('result').find(r => r.deploymentId === 'd-1'));
  t.equal(result.status, 'Succeeded', result.errorMessage);
  t.equal(result.revisionDigest, rev.digest);
  t.same(result.events.map(e => `${e.event}:${e.status}`), [
    'BeforeBlockTraffic:Skipped', 'AfterBlockTraffic:Skipped', 'ApplicationStop:Skipped', 'DownloadBundle:Succeeded',
    'BeforeInstall:Succeeded', 'Install:Succeeded', 'AfterInstall:Succeeded', 'ApplicationStart:Succeeded',
    'ValidateService:Succeeded', 'BeforeAllowTraffic:Succeeded', 'AfterAllowTraffic:Succeeded',
  ]);
  t.same(coordinator.fetches, [{ digest: rev.digest, offset: 0, hostId: reg.hostId }]);

  const updates = coordinator.of('event').filter(e => e.deploymentId === 'd-1');
  const started = updates.find(e => e.event === 'ApplicationStart' && e.status === 'InProgress');
  t.ok(started && Date.parse(started.startedAt) > 0 && started.exitCode === -1, 'event start: InProgress with started_at');
  const install = updates.filter(e => e.event === 'DownloadBundle').map(e => e.status);
  t.same(install, ['InProgress', 'Succeeded']);
  t.match(updates.find(e => e.event === 'ApplicationStart' && e.status === 'Succeeded'), { exitCode: -1, errorCode: '' });

  const batches = coordinator.of('logs').filter(b => b.deploymentId === 'd-1');
  const lines = batches.flatMap(b => b.lines);
  t.ok(batches.every(b => b.lines.length <= 200), 'batches of at most 200 lines');
  t.match(lines.find(l => l.event === 'BeforeInstall'), { stream: 'stdout', line: 'before d-1 in web' });
  t.ok(lines.some(l => l.line === 'ferry_vars=0'), 'hooks never see the agent\'s FERRY_* variables, only FERRY_REVISION_DIR (the coordinator came from FERRY_COORDINATOR)');
  t.match(lines.find(l => l.event === 'ApplicationStart' && l.stream === 'stderr'), { line: 'a warning' });
  t.equal(lines.filter(l => l.event === 'ValidateService').length, 450, 'every line arrives');
  const order = coordinator.messages.map(m => m.msg);
  t.ok(order.lastIndexOf('logs') < order.indexOf('result'), 'the logs go before the result');

  t.equal(await fs.readFile(path.join(installTo, 'index.html'), 'utf8'), 'v1\n', 'the files are installed');
  t.ok(existsSync(path.join(root, 'revisions', `${rev.digest}.tgz`)), 'the revision is cached by digest');
  t.equal(await fs.readFile(path.join(root, 'g-web', 'd-1', 'revision-digest'), 'utf8'), rev.digest + '\n');
  const outbox = path.join(root, 'agent-state', 'results');
  await waitUntil('the outbox to empty after the ack', async () => (await ls(outbox)).length === 0);
  t.same(await ls(path.join(root, 'agent-state', 'commands')), []);

  coordinator.deploy({ deploymentId: 'd-2', revisionDigest: rev.digest, revisionSize: rev.size });
  const again = await coordinator.waitFor('the second result', () => coordinator.of('result').find(r => r.deploymentId === 'd-2'));
  t.equal(again.status, 'Succeeded', again.errorMessage);
  t.equal(coordinator.fetches.length, 1, 'a cached revision is never downloaded twice');
});

t.test('results produced while disconnected are kept, re-sent after every registration until acked', async t => {
  const coordinator = await fake(t);
  coordinator.autoAck = false;
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const flag = path.join(dir, 'started');
  const rev = coordinator.addRevision(await buildRevision(dir, { hooks: { ApplicationStart: `touch ${flag}; sleep 1; echo done` } }));
  startDaemon(t, coordinator, root);
  await coordinator.waitFor('Register', () => coordinator.of('register')[0]);
  coordinator.deploy({ deploymentId: 'd-1', revisionDigest: rev.digest, revisionSize: rev.size });
  await waitUntil('the hook to start', async () => existsSync(flag));
  await coordinator.stop();
  const outboxFile = path.join(root, 'agent-state', 'results', 'd-1.json');
  await waitUntil('the result in the outbox while disconnected', async () => existsSync(outboxFile));
  t.equal(coordinator.of('result').length, 0, 'nothing could be sent');

  await coordinator.restart();
  const result = await coordinator.waitFor('the result after reconnecting', () => coordinator.of('result')[0]);
  t.equal(result.status, 'Succeeded', result.errorMessage);
  const order = coordinator.messages.map(m => m.msg);
  t.ok(order.lastIndexOf('register') < order.indexOf('result'), 'sent after the new registration');
  t.ok(coordinator.of('logs').some(b => b.lines.some(l => l.line === 'done')), 'output queued while disconnected is delivered');
  t.ok(coordinator.of('event').some(e => e.event === 'ApplicationStart' && e.status === 'Succeeded'));

  coordinator.dropStreams();
  await coordinator.waitFor('the result again after the dropped stream', () => coordinator.of('result').length >= 2);
  t.ok(existsSync(outboxFile), 'still unacknowledged: kept');
  coordinator.send({ ack: { deploymentId: 'd-1' } });
  await waitUntil('the acked result to leave the outbox', async () => !existsSync(outboxFile));
  t.pass('deleted only on ResultAck');
});

async function waitUntil(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 25));
  }
}
