/**
 * `npm run soak [-- N]`: N rounds (default 30) of faults against truthful rollouts. Each round
 * deploys to two overlapping groups (the same 4 real agents are in both) at once, one revision of
 * three (a and b good; c fails ValidateService on one host, so it is rolled back), while faults
 * hit: an agent SIGKILLed and restarted, an agent SIGSTOPped past the agent timeout and resumed,
 * every 6th round the coordinator SIGKILLed and restarted on the same data dir and port, and
 * every 6th round (another one) the coordinator's wall clock jumps +10 min or -1 h, in turn, with
 * hosts mid-hook and a second deployment per group queued across the jump. The clock is the
 * coordinator's alone: libfaketime (Debian package libfaketime) preloaded into it, with only the
 * wall clock faked (test/helpers/fake-clock.ts); agents and this process keep the real one.
 * Then the clock goes back 1 h more and a settle round with no other fault deploys `a` to both
 * groups, and a fifth agent joins afterwards.
 *
 * Checked, from the API and from the hosts' own files (each hook appends
 * `<deployment> <group> <event> <revision>` to the host's proof file; ValidateService writes the
 * revision it validated to `<host>.<group>`):
 * - nothing stuck: every deployment ends;
 * - no deployment nobody requested: a catch-up (creator autoscaling) only ever deploys its
 *   group's target at the time (the revision of the group's last successful deployment);
 * - no host ran a revision twice for one deployment (BeforeInstall at most once per deployment);
 * - queued deployments run in creation order: on every host, a group's requested deployments
 *   appear in its proof file in the order this process created them (rollbacks may go first);
 * - at the end every host runs each group's target revision, on its files, and nothing was
 *   deployed after the settle round (no silent revert) but the late host's catch-ups, which
 *   deploy the target (`a`) although older rounds ended later on the coordinator's wall clock.
 * Order here is the event log's seq, never the coordinator's (jumping) timestamps.
 * Exits 1 on any violation. Not part of `npm test` (it takes minutes); needs no root.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlApi } from '../cli/client.js';
import type { Deployment__Output } from '../proto/gen/ferry/v1/Deployment.js';
import type { Event__Output } from '../proto/gen/ferry/v1/Event.js';
import { FakeClock } from '../test/helpers/fake-clock.js';
import { freePort } from '../test/helpers/fleet-fixture.js';
import { type Coordinator, type Proc, startAgent, startCoordinator, waitFor } from '../test/helpers/fleet.js';
import { Cleanup, hookBundle, push } from './lib.js';

const TERMINAL = ['Succeeded', 'Failed', 'Stopped'];
const HOSTS = ['s0', 's1', 's2', 's3'];
/** Joins after the settle round: it must get each group's target. */
const LATE_HOST = 's4';
const GROUPS = ['g1', 'g2'];
const EVENTS = ['ApplicationStop', 'BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];
const COORDINATOR_ARGS = ['--heartbeat-interval', '1s', '--agent-timeout', '3s', '--log-level', 'warn'];
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function main() {
  const rounds = Number(process.argv[2] ?? 30);
  const cleanup = new Cleanup();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-soak-'));
  cleanup.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const proofDir = path.join(dir, 'proof');
  await fs.mkdir(proofDir);
  const listen = `127.0.0.1:${await freePort()}`;
  const clock = await FakeClock.create(dir);
  // A loaded 2-core machine can take more than the tests' 20 s to start a coordinator.
  const onClock = { env: clock.env(), listenTimeoutMs: 120_000 };
  let coordinator: Coordinator = await startCoordinator(cleanup, path.join(dir, 'data'), COORDINATOR_ARGS, listen, onClock);
  const api = new ControlApi(coordinator.address, 30_000);
  cleanup.teardown(() => api.close());
  /** A call that outlives a coordinator restart. */
  const retry = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (i >= 60) throw err;
        await sleep(500);
      }
    }
  };
  const violations: string[] = [];
  const faults: Record<string, number> = { agentKill: 0, agentStop: 0, coordinatorKill: 0, clockForward10m: 0, clockBack1h: 0 };
  let stuck = 0;
  try {
    const agents: Proc[] = [];
    const start = async (i: number, host = HOSTS[i]!) => {
      agents[i] = await startAgent(cleanup, {
        coordinator: coordinator.address, rootDir: path.join(dir, 'agents', host), hostId: host,
        tags: { role: 'soak' }, env: { HOST_LABEL: host }, args: ['--log-level', 'warn'],
      });
    };
    for (let i = 0; i < HOSTS.length; i++) await start(i);
    await waitFor('the agents to connect', async () => (await api.listHosts()).hosts.filter(h => h.connected).length === HOSTS.length, 60_000);
    await api.createApplication({ name: 'soak' });
    for (const g of GROUPS) {
      await api.createDeploymentGroup({
        application: 'soak', name: g, configName: 'HalfAtATime', autoRollback: ['failure'],
        tagSets: [{ filters: [{ key: 'role', value: 'soak', hasKey: true, hasValue: true }] }],
      });
    }
    const revisions: Record<string, string> = {};
    for (const v of ['a', 'b', 'c']) {
      const hooks = Object.fromEntries(EVENTS.map(e => {
        let body = `sleep 0.$((RANDOM % 3)); echo "$DEPLOYMENT_ID $DEPLOYMENT_GROUP_NAME $LIFECYCLE_EVENT ${v}" >> ${proofDir}/$HOST_LABEL`;
        if (e === 'ValidateService') {
          body += v === 'c' ? `\nif [ "$HOST_LABEL" = s1 ]; then exit 1; fi` : '';
          body += `\necho ${v} > ${proofDir}/$HOST_LABEL.$DEPLOYMENT_GROUP_NAME`;
        }
        return [e, body];
      }));
      revisions[v] = await push(api, 'soak', await hookBundle(path.join(dir, `bundle-${v}`), hooks));
    }
    const tagOf = new Map(Object.entries(revisions).map(([k, d]) => [d, k]));

    const waitEnded = async (ids: string[], ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      for (const id of ids) {
        for (;;) {
          const d = await retry(() => api.getDeployment({ id }));
          if (TERMINAL.includes(d.deployment!.status)) break;
          if (Date.now() > deadline) {
            stuck += 1;
            violations.push(`stuck: ${id} ${d.deployment!.status} after ${ms / 1000} s`);
            break;
          }
          await sleep(300);
        }
      }
    };
    const restartCoordinator = async () => {
      await coordinator.kill('SIGKILL');
      coordinator = await startCoordinator(cleanup, path.join(dir, 'data'), COORDINATOR_ARGS, listen, onClock);
    };
    /** Per group, the requested deployments in the order this process created them. */
    const created = new Map<string, string[]>(GROUPS.map(g => [g, []]));
    const deploy = async (g: string, v: string) => {
      const id = (await retry(() => api.createDeployment({ application: 'soak', group: g, revision: revisions[v]!, fileExistsBehavior: 'OVERWRITE' }))).deployment!.id;
      created.get(g)!.push(id);
      return id;
    };
    let clockJumps = 0;

    for (let n = 0; n < rounds; n++) {
      const ids: string[] = [];
      const pick = () => ['a', 'b', 'c'][Math.floor(Math.random() * 3)]!;
      for (const g of GROUPS) ids.push(await deploy(g, pick()));
      const roll = Math.random();
      const i = Math.floor(Math.random() * HOSTS.length);
      let fault = 'none';
      if (n % 6 === 2) {
        // Mid-hook, with a second deployment per group queued on each side of the jump.
        const forward = clockJumps++ % 2 === 0;
        fault = forward ? 'coordinator clock +10 min' : 'coordinator clock -1 h';
        faults[forward ? 'clockForward10m' : 'clockBack1h']! += 1;
        await sleep(500 + Math.random() * 1500);
        ids.push(await deploy(GROUPS[0]!, pick()));
        await clock.jump(forward ? 600 : -3600);
        ids.push(await deploy(GROUPS[1]!, pick()));
        ids.push(await deploy(GROUPS[0]!, pick()));
      } else if (n % 6 === 5) {
        fault = 'coordinator SIGKILL';
        faults.coordinatorKill! += 1;
        await sleep(Math.random() * 2000);
        await restartCoordinator();
      } else if (roll < 0.3) {
        fault = `${HOSTS[i]} SIGKILL`;
        faults.agentKill! += 1;
        await sleep(Math.random() * 1500);
        await agents[i]!.kill('SIGKILL');
        await sleep(Math.random() * 2000);
        await start(i);
      } else if (roll < 0.5) {
        fault = `${HOSTS[i]} SIGSTOP 5 s`;
        faults.agentStop! += 1;
        await sleep(Math.random() * 1500);
        agents[i]!.child.kill('SIGSTOP');
        await sleep(5000); // past the 3 s agent timeout: it is declared lost
        agents[i]!.child.kill('SIGCONT');
      }
      await waitEnded(ids, 120_000);
      const statuses = await Promise.all(ids.map(async id => (await retry(() => api.getDeployment({ id }))).deployment!.status));
      process.stdout.write(`${String(n + 1).padStart(3)}/${rounds} ${ids.map((id, k) => `${id} ${statuses[k]!.padEnd(9)}`).join(' ')} fault: ${fault}\n`);
    }
    // Rollbacks and catch-ups made along the way end too; then the settle round, with no faults.
    const open = async () => (await retry(() => api.listDeployments({ application: 'soak', group: '', limit: 1000 }))).deployments.filter(x => !TERMINAL.includes(x.status)).map(x => x.id);
    await waitEnded(await open(), 120_000);
    // Back 1 h more: every earlier deployment ended later on the coordinator's wall clock than the
    // settle round will, so a target read by completion time would be some older round's revision.
    await clock.jump(-3600);
    faults.clockBack1h! += 1;
    const settle: string[] = [];
    for (const g of GROUPS) settle.push(await deploy(g, 'a'));
    await waitEnded(settle, 120_000);
    for (const id of settle) {
      const d = await api.getDeployment({ id });
      if (d.deployment!.status !== 'Succeeded') violations.push(`settle deployment ${id} ended ${d.deployment!.status}: ${d.deployment!.errorMessage}`);
    }
    await sleep(10_000); // a silent revert would start here
    const settledSeq = lastSeq(await events(api));
    // A host that joins now gets each group's target, `a` (by the log's order, not by wall-clock time).
    await start(HOSTS.length, LATE_HOST);
    await waitFor('the late host to be caught up in both groups', async () => {
      const runs = await Promise.all(GROUPS.map(g => fs.readFile(path.join(proofDir, `${LATE_HOST}.${g}`), 'utf8').catch(() => '')));
      return runs.every(r => r.trim() !== '');
    }, 120_000).catch(() => violations.push(`${LATE_HOST} (joined after the settle round) was not caught up in both groups within 120 s`));
    await waitEnded(await open(), 120_000);
    const log = await events(api);
    const all = (await api.listDeployments({ application: 'soak', group: '', limit: 1000 })).deployments;
    for (const e of log.filter(x => x.kind === 'DeploymentCreated' && Number(x.seq) > settledSeq)) {
      const x = all.find(d => d.id === e.deploymentId);
      const detail = await api.getDeployment({ id: e.deploymentId });
      const targets = detail.hosts.map(h => h.hostId);
      if (x?.creator !== 'autoscaling' || targets.some(h => h !== LATE_HOST)) {
        violations.push(`${e.deploymentId} (${x?.creator}, revision ${tagOf.get(x?.revision ?? '')}, hosts ${targets.join(',')}) created after the settle round, not a catch-up of ${LATE_HOST}`);
      }
    }
    checkCatchUps(all, log, tagOf, violations);
    const proofs = new Map(await Promise.all([...HOSTS, LATE_HOST].map(async h => [h, await fs.readFile(path.join(proofDir, h), 'utf8').catch(() => '')] as const)));
    checkOrder(proofs, created, violations);
    for (const host of [...HOSTS, LATE_HOST]) {
      const lines = (await fs.readFile(path.join(proofDir, host), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
      const installs = new Map<string, number>();
      for (const line of lines) {
        const [id, , event] = line.split(' ');
        if (event === 'BeforeInstall') installs.set(id!, (installs.get(id!) ?? 0) + 1);
      }
      for (const [id, count] of installs) if (count > 1) violations.push(`${host} ran BeforeInstall of ${id} ${count} times`);
      for (const g of GROUPS) {
        const runs = (await fs.readFile(path.join(proofDir, `${host}.${g}`), 'utf8').catch(() => '(nothing)')).trim();
        if (runs !== 'a') violations.push(`${host} runs ${runs} for ${g} on its files; the group's target is a`);
      }
    }
    const byState: Record<string, number> = {};
    const byCreator: Record<string, number> = {};
    for (const x of all) {
      byState[x.status] = (byState[x.status] ?? 0) + 1;
      byCreator[x.creator] = (byCreator[x.creator] ?? 0) + 1;
    }
    process.stdout.write(`\nsoak: ${rounds} rounds × ${GROUPS.length} overlapping groups on ${HOSTS.length} agents; ` +
      `${all.length} deployments ${JSON.stringify(byCreator)} by creator, ${JSON.stringify(byState)} by state\n`);
    process.stdout.write(`faults: ${JSON.stringify(faults)} (coordinator wall clock ends ${clock.offsetSeconds} s off)\nstuck: ${stuck}\n` +
      `invariant violations: ${violations.length}\n${violations.join('\n')}\n`);
  } finally {
    await cleanup.run();
  }
  process.exit(violations.length === 0 ? 0 : 1);
}

/** The whole event log of the application, in seq order. */
async function events(api: ControlApi): Promise<Event__Output[]> {
  const out: Event__Output[] = [];
  for await (const e of api.streamEvents({ sinceSeq: 0, application: 'soak', follow: false })) out.push(e);
  return out;
}

function lastSeq(log: Event__Output[]): number {
  return Math.max(0, ...log.map(e => Number(e.seq)));
}

/**
 * A catch-up deploys its group's target at the time: the revision of the group's last success not
 * made by catch-up before it was created, both in the event log's order (seq), which a wall-clock
 * jump of the coordinator does not reorder.
 */
function checkCatchUps(all: Deployment__Output[], log: Event__Output[], tagOf: Map<string, string>, violations: string[]): void {
  const byId = new Map(all.map(d => [d.id, d]));
  for (const created of log.filter(e => e.kind === 'DeploymentCreated' && byId.get(e.deploymentId)?.creator === 'autoscaling')) {
    const x = byId.get(created.deploymentId)!;
    const success = log.filter(e => e.kind === 'DeploymentSuccess' && e.groupName === x.groupName && Number(e.seq) < Number(created.seq)
      && byId.get(e.deploymentId)?.creator !== 'autoscaling').at(-1);
    const target = success && byId.get(success.deploymentId);
    if (!target || target.revision !== x.revision) {
      violations.push(`${x.id}: a catch-up of ${x.groupName} to revision ${tagOf.get(x.revision)} nobody requested ` +
        `(the group's target was ${target ? tagOf.get(target.revision) : 'none'})`);
    }
  }
}

/** On every host, each group's requested deployments first ran in the order they were created. */
function checkOrder(proofs: Map<string, string>, created: Map<string, string[]>, violations: string[]): void {
  for (const [host, text] of proofs) {
    const seen: string[] = [];
    for (const line of text.split('\n')) {
      const id = line.split(' ')[0];
      if (id && !seen.includes(id)) seen.push(id);
    }
    for (const [group, ids] of created) {
      const ran = seen.filter(id => ids.includes(id));
      const expected = [...ran].sort((p, q) => ids.indexOf(p) - ids.indexOf(q));
      if (ran.join() !== expected.join()) violations.push(`${host} ran ${group}'s deployments out of creation order: ${ran.join(' ')} (created ${expected.join(' ')})`);
    }
  }
}

main().catch(err => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
