import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import t, { type Test } from 'tap';
import { verifySignature } from '../../coordinator/notify/payload.js';
import { REPO } from '../helpers/agent-cli.js';
import { type Fleet, freePort, startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

interface Received {
  signature: string;
  event: string;
  delivery: string;
  body: string;
  json: any;
}

/** A local webhook receiver on a fixed port: records every request, answers with `answers` (then 200). */
class Receiver {
  readonly got: Received[] = [];
  answers: number[] = [];
  private server: http.Server | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const h = (name: string) => String(req.headers[name] ?? '');
        this.got.push({ signature: h('x-ferry-signature'), event: h('x-ferry-event'), delivery: h('x-ferry-delivery'), body, json: JSON.parse(body) });
        res.statusCode = this.answers.shift() ?? 200;
        res.end();
      });
    });
    await new Promise<void>(resolve => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  /** Down: connections are refused from now on. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise(resolve => s.close(resolve));
  }

  of(kind: string, deploymentId?: string): Received[] {
    return this.got.filter(r => r.event === kind && (deploymentId === undefined || r.json.deploymentId === deploymentId));
  }
}

async function deploy(t: Test, f: Fleet, version: string): Promise<string> {
  const digest = await f.push(await f.bundle(version));
  const r = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(r.code, 0, `deploy ${version}: ${r.stderr.slice(-400)}`);
  return r.json.deployment.id as string;
}

async function events(f: Fleet, args: string[] = []): Promise<any[]> {
  const r = await ferry(f.coordinator.address, ['events', '--json', ...args]);
  if (r.code !== 0) throw new Error(`ferry events: ${r.stderr}`);
  return r.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l));
}

t.test('webhooks are signed, retried after a failure, and survive a coordinator restart; the event log resumes by seq (mount namespace)', async t => {
  const receiver = new Receiver(await freePort());
  t.teardown(() => receiver.stop());
  await receiver.start();
  const dir = await tempDir(t, 'ferry-events-config-');
  const config = path.join(dir, 'coordinator.yaml');
  await fs.writeFile(config, 'webhook-retry-max: 1s\nwebhook-allow: loopback\n');
  const f = await startFleet(t, ['h1'], { fixedPort: true, coordinatorArgs: ['--config', config, '--webhook-retry-base', '100ms'] });

  // ---- a trigger with a generated secret; its test notification fails once (HTTP 500), then is delivered
  receiver.answers = [500];
  const set = await ferry(f.coordinator.address, ['group', 'set-trigger', '--app', 'shop', '--group', 'web', '--name', 'ops', '--url', receiver.url,
    '--events', 'DeploymentStart,DeploymentSuccess,DeploymentFailure,DeploymentStop,DeploymentRollback,InstanceStart,InstanceSuccess,InstanceFailure', '--json']);
  t.equal(set.code, 0, set.stderr);
  const secret: string = set.json.generatedSecret;
  t.match(secret, /^[0-9a-f]{64}$/, 'a generated secret, returned once');
  await waitFor('the test notification to be retried', () => receiver.of('TriggerTest').length >= 2);
  const [first, retry] = receiver.of('TriggerTest');
  t.equal(first!.delivery, retry!.delivery, 'the retry has the same delivery id (receivers dedupe by it)');
  t.equal(first!.body, retry!.body);
  t.ok(verifySignature(secret, retry!.body, retry!.signature), 'X-Ferry-Signature verifies with the secret');
  t.notOk(verifySignature('x'.repeat(64), retry!.body, retry!.signature));
  t.match(retry!.json, { eventTriggerName: 'ops', eventType: 'TriggerTest', applicationName: 'shop', deploymentGroupName: 'web' });
  const shown = await ferry(f.coordinator.address, ['group', 'show', '--app', 'shop', '--name', 'web', '--json']);
  t.match(shown.json.triggers, [{ name: 'ops', url: receiver.url, delivered: 1, failedAttempts: 1, pending: 0, lastStatus: 200, lastError: '' }]);
  t.notOk(shown.stdout.includes(secret), 'group show never prints the secret');
  t.notOk(f.coordinator.output().includes(secret), 'the coordinator never logs the secret');

  // ---- a deployment: CodeDeploy-shaped deployment and instance messages, all signed
  const d1 = await deploy(t, f, 'v1');
  const kinds = ['DeploymentStart', 'InstanceStart', 'InstanceSuccess', 'DeploymentSuccess'];
  await waitFor('the first deployment\'s messages', () => kinds.every(k => receiver.of(k, d1).length >= 1));
  t.same(kinds.map(k => receiver.of(k, d1).length), [1, 1, 1, 1], 'each once');
  t.match(receiver.of('DeploymentSuccess', d1)[0]!.json, {
    eventTriggerName: 'ops', deploymentId: d1, applicationName: 'shop', deploymentGroupName: 'web', status: 'SUCCEEDED',
    deploymentOverview: { Succeeded: 1, Failed: 0, Pending: 0 }, createTime: /Z$/, completeTime: /Z$/,
  });
  const instance = receiver.of('InstanceSuccess', d1)[0]!.json;
  t.match(instance, { instanceId: 'h1', instanceStatus: 'Succeeded', deploymentId: d1 });
  t.ok(instance.lifecycleEvents.length >= 5, 'the host\'s lifecycle events with their times');
  t.match(instance.lifecycleEvents.find((e: any) => e.LifecycleEvent === 'ValidateService'), { LifecycleEventStatus: 'Succeeded', StartTime: /Z$/, EndTime: /Z$/ });
  t.ok(receiver.got.every(r => verifySignature(secret, r.body, r.signature)), 'every request is signed');

  // ---- receiver down: deliveries pile up and group show says why; a coordinator restart loses none
  await receiver.stop();
  const d2 = await deploy(t, f, 'v2');
  const failing = await waitFor('group show to show the failing trigger', async () => {
    const r = await ferry(f.coordinator.address, ['group', 'show', '--app', 'shop', '--name', 'web']);
    return /ops: last error: .*ECONNREFUSED/.test(r.stdout) && r.stdout;
  });
  t.match(failing, /ops\s+json\s+http:\S+\s+\S+\s+failing/);
  const pending = (await ferry(f.coordinator.address, ['group', 'show', '--app', 'shop', '--name', 'web', '--json'])).json.triggers[0].pending;
  t.equal(pending, 4, 'start, instance start, instance success, success of the second deployment wait');
  await f.restartCoordinator();
  await receiver.start();
  // Each delivery retries on its own (jittered) schedule: they arrive in any order. One the kill caught in
  // flight is due again at once: the restarted coordinator releases the dead run's claims (webhook-crash.test.ts).
  await waitFor('every pending delivery after the restart', () => kinds.every(k => receiver.of(k, d2).length >= 1), 30_000);
  t.pass('nothing lost: all four deliveries of the second deployment arrived');
  const after = await ferry(f.coordinator.address, ['group', 'show', '--app', 'shop', '--name', 'web', '--json']);
  t.match(after.json.triggers[0], { pending: 0, lastError: '', lastStatus: 200 });

  // ---- the event log: every deployment, host and lifecycle event, resumable exactly after a seq
  const all = await events(f);
  t.same(all.map(e => e.seq), [...all.map(e => e.seq)].sort((a, b) => a - b), 'ordered by seq');
  const ofD1 = all.filter(e => e.deploymentId === d1).map(e => e.kind);
  t.same(ofD1.filter(k => !k.startsWith('Lifecycle')), ['DeploymentCreated', 'DeploymentStart', 'InstanceStart', 'InstanceSuccess', 'DeploymentSuccess']);
  t.ok(all.some(e => e.kind === 'LifecycleEvent' && e.lifecycleEvent === 'Install' && e.status === 'Succeeded' && e.hostId === 'h1'), 'lifecycle events too');
  const middle = all[Math.floor(all.length / 2)].seq;
  t.same((await events(f, ['--since', String(middle)])).map(e => e.seq), all.filter(e => e.seq > middle).map(e => e.seq), '--since N resumes exactly after N');
  t.same((await events(f, ['--app', 'shop'])).map(e => e.seq), all.map(e => e.seq), 'every event here is shop\'s');
  const unknown = await ferry(f.coordinator.address, ['events', '--app', 'nope']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /application nope does not exist/);

  // ---- --follow streams new events as they happen
  const last = all.at(-1).seq;
  const follower = spawn(process.execPath, [path.join(REPO, 'bin', 'ferry'), 'events', '--follow', '--json', '--since', String(last)], {
    env: { ...process.env, FERRY_COORDINATOR: f.coordinator.address }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => follower.kill('SIGKILL'));
  let streamed = '';
  follower.stdout.on('data', (b: Buffer) => (streamed += b.toString()));
  const d3 = await deploy(t, f, 'v3');
  await waitFor('the follower to see the third deployment succeed', () => streamed.includes(`"kind":"DeploymentSuccess","application":"shop","groupName":"web","groupId"`) && streamed.includes(d3));
  const followed = streamed.trim().split('\n').map(l => JSON.parse(l));
  t.equal(followed[0].seq, last + 1, 'the first streamed event is the one right after --since');
  t.match(followed.find(e => e.kind === 'DeploymentSuccess'), { deploymentId: d3 });
  t.equal(follower.exitCode, null, '--follow keeps running');
});
