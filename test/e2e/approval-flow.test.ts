import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { REPO } from '../helpers/agent-cli.js';
import { freePort, startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';

/**
 * The CI flow of docs/pipelines.md ("The flow: git → staging → approval → production"), run as the
 * shell script the page shows, against a real coordinator and agents — with a one-host staging group
 * (the gate of --approve-after 1 comes before the verdict) and a three-host one (after the first host).
 * A webhook trigger on staging hears DeploymentAwaitingApproval with the deployment, group and approvers.
 */

const run = promisify(execFile);

/** The page's `sh` blocks: the one-time setup and the per-run script. */
async function docBlocks(): Promise<{ setup: string; pipeline: string }> {
  const doc = await fs.readFile(path.join(REPO, 'docs', 'pipelines.md'), 'utf8');
  const flow = doc.slice(doc.indexOf('## The flow: git → staging → approval → production'));
  const blocks = [...flow.matchAll(/```sh\n([\s\S]*?)```/g)].map(m => m[1]!);
  return { setup: blocks[0]!, pipeline: blocks[1]! };
}

/** Runs a script with bash -e, `ferry` from this checkout first on PATH. */
function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise(resolve => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd, env: { ...process.env, ...env, PATH: `${path.join(REPO, 'bin')}:${process.env.PATH ?? ''}` }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', code => resolve({ code, out }));
  });
}

/** A webhook receiver: every JSON body it got. */
async function receiver(t: Test): Promise<{ url: string; got: any[] }> {
  const got: any[] = [];
  const port = await freePort();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push(JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise(resolve => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return { url: `http://127.0.0.1:${port}/hook`, got };
}

for (const stagingHosts of [1, 3]) {
  t.test(`the docs' CI flow with ${stagingHosts} staging host(s): the gate closes, people hear about it, approve, promote (mount namespace)`, async t => {
    // The webhook receiver is this test, on loopback: allowed explicitly (docs/security.md).
    const f = await startFleet(t, [], { coordinatorArgs: ['--webhook-allow', 'loopback'] });
    const a = f.coordinator.address;
    const staging = Array.from({ length: stagingHosts }, (_, i) => `s${i + 1}`);
    for (const id of staging) await f.addAgent(id, { env: 'staging' });
    // prod is HalfAtATime: two hosts, so one can go while the other serves.
    for (const id of ['p1', 'p2']) await f.addAgent(id, { env: 'prod' });
    await waitForHosts(a, [...staging, 'p1', 'p2']);
    const { setup, pipeline } = await docBlocks();
    // The fixture made application shop already; the rest of the setup runs as written.
    const made = await bash(setup.replace(/^ferry app create shop\n/m, ''), f.dir, { FERRY_COORDINATOR: a });
    t.equal(made.code, 0, made.out);

    const hook = await receiver(t);
    const trigger = await ferry(a, ['group', 'set-trigger', '--app', 'shop', '--group', 'staging', '--name', 'chat', '--url', hook.url, '--events', 'DeploymentAwaitingApproval']);
    t.equal(trigger.code, 0, trigger.stderr);

    // The commit under test: a git repository holding the bundle at its root.
    await f.bundle('v1');
    const repo = path.join(f.dir, 'bundles', 'v1');
    const git = (...args: string[]) => run('git', ['-c', 'user.name=ci', '-c', 'user.email=ci@example.com', ...args], { cwd: repo });
    await git('init', '-q');
    await git('add', '.');
    await git('commit', '-qm', 'v1');
    const sha = (await git('rev-parse', 'HEAD')).stdout.trim();

    const ci = await bash(pipeline, repo, { FERRY_COORDINATOR: a, SHA: sha });
    t.equal(ci.code, 0, `the pipeline script succeeds:\n${ci.out}`);
    const stagingDoc = JSON.parse(await fs.readFile(path.join(repo, 'staging.json'), 'utf8'));
    t.match(stagingDoc, { exitCode: 0, outcome: 'succeeded', deployment: { groupName: 'staging', status: 'Succeeded', description: `CI ${sha}` } });
    t.equal(stagingDoc.hosts.length, stagingHosts);
    t.match(JSON.parse(await fs.readFile(path.join(repo, 'prod.json'), 'utf8')), { exitCode: 0, outcome: 'succeeded', deployment: { groupName: 'prod', status: 'Succeeded' } });
    for (const id of ['p1', 'p2']) t.ok((await f.proof(id)).includes('v1:installed:v1'), `prod host ${id} runs the commit`);

    const id = stagingDoc.deployment.id as string;
    const events = (await ferry(a, ['events', '--app', 'shop', '--json'])).stdout.trim().split('\n').map(l => JSON.parse(l));
    const waiting = events.filter(e => e.kind === 'DeploymentAwaitingApproval');
    t.equal(waiting.length, 1, 'one awaiting-approval event');
    t.match(waiting[0], {
      deploymentId: id, groupName: 'staging', status: 'Paused',
      payload: { approveAfter: 1, succeededHosts: 1, hosts: stagingHosts, approverRoles: ['deployer', 'admin'], approveCommand: `ferry deploy approve ${id}` },
    });
    const order = events.filter(e => e.deploymentId === id && /^Deployment/.test(e.kind)).map(e => e.kind);
    t.same(order.slice(-4), ['DeploymentPause', 'DeploymentAwaitingApproval', 'DeploymentResume', 'DeploymentSuccess'], 'the gate is passed once, then the verdict');
    const heard = await waitFor('the webhook', () => hook.got.find(m => m.eventType === 'DeploymentAwaitingApproval'));
    t.match(heard, {
      eventTriggerName: 'chat', applicationName: 'shop', deploymentGroupName: 'staging', deploymentId: id,
      approval: { approveAfter: 1, succeededHosts: 1, approverRoles: ['deployer', 'admin'], approveCommand: `ferry deploy approve ${id}`, rejectCommand: `ferry deploy reject ${id} --reason TEXT` },
    });
    t.notOk(hook.got.some(m => m.eventType === 'DeploymentSuccess'), 'the trigger gets only what it subscribed to');
  });
}

t.test('--approve-after 5 on a two-host group: paused before the verdict; reject stops it instead of letting it succeed (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2'], { config: 'AllAtOnce' });
  const a = f.coordinator.address;
  const v1 = await f.push(await f.bundle('v1'));
  const created = await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--approve-after', '5', '--json']);
  t.equal(created.code, 0, created.stderr);
  const id = created.json.deployment.id as string;
  const gate = await ferry(a, ['deploy', 'wait', id, '--until-approval', '--timeout', '60s', '--json'], { timeoutMs: 90_000 });
  t.equal(gate.code, 0, gate.stderr);
  t.match(gate.json, { outcome: 'awaiting-approval', deployment: { status: 'Paused', awaitingApproval: true, pauseReason: /every host finished, 2 of 2 succeeded \(--approve-after 5: the gate comes before the verdict\)/ } });
  t.equal(gate.json.hosts.filter((h: any) => h.status === 'Succeeded').length, 2);
  const rejected = await ferry(a, ['deploy', 'reject', id, '--reason', 'smoke test red', '--json']);
  t.equal(rejected.code, 0, rejected.stderr);
  t.match(rejected.json.deployment, { status: 'Stopped', errorMessage: /rejected: smoke test red/ });
});
