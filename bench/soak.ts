/**
 * `npm run soak [-- N]`: N deployments (default 50) to 5 real agents while agents are killed with
 * SIGKILL and restarted at random moments. After each deployment the store's invariants are
 * checked through the API; at the end it prints the deployments per terminal state and the stuck
 * ones (which must be 0), and exits 1 on any stuck deployment or broken invariant.
 * Not part of `npm test` (it takes a few minutes). Needs no root: the bundle installs no files.
 */
import path from 'node:path';
import type { Proc } from '../test/helpers/fleet.js';
import { startAgent } from '../test/helpers/fleet.js';
import { hookBundle, push, startAgents, startEnv } from './lib.js';

const TERMINAL = ['Succeeded', 'Failed', 'Stopped'];

async function main() {
  const total = Number(process.argv[2] ?? 50);
  const env = await startEnv('soak', ['--heartbeat-interval', '1s', '--agent-timeout', '3s']);
  const violations: string[] = [];
  const counts: Record<string, number> = {};
  let stuck = 0;
  let kills = 0;
  try {
    const agents = await startAgents(env, 5, { role: 'soak' });
    await env.api.createApplication({ name: 'soak' });
    await env.api.createDeploymentGroup({
      application: 'soak', name: 'web', configName: 'HalfAtATime', autoRollback: ['failure'],
      tagSets: [{ filters: [{ key: 'role', value: 'soak', hasKey: true, hasValue: true }] }],
    });
    const events = ['ApplicationStop', 'BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];
    const revisions: string[] = [];
    for (const v of ['a', 'b']) {
      const body = 'sleep 0.$((RANDOM % 4))';
      revisions.push(await push(env.api, 'soak', await hookBundle(path.join(env.dir, `bundle-${v}`), Object.fromEntries(events.map(e => [e, `${body} # ${v}`])))));
    }
    const restart = async (i: number) => {
      agents[i] = await startAgent(env.cleanup, {
        coordinator: env.coordinator.address, rootDir: path.join(env.dir, 'agents', `b${i}`), hostId: `b${i}`,
        tags: { role: 'soak' }, args: ['--log-level', 'warn'],
      });
    };
    for (let n = 0; n < total; n++) {
      const created = await env.api.createDeployment({ application: 'soak', group: 'web', revision: revisions[n % 2]!, fileExistsBehavior: 'OVERWRITE' });
      const id = created.deployment!.id;
      if (Math.random() < 0.4) {
        const i = Math.floor(Math.random() * agents.length);
        const victim: Proc = agents[i]!;
        setTimeout(() => {
          kills += 1;
          void victim.kill('SIGKILL').then(() => new Promise(r => setTimeout(r, Math.random() * 2000))).then(() => restart(i));
        }, Math.random() * 1500);
      }
      // Every deployment must end within its deadlines: hooks are short, a lost agent is declared after 3 s.
      const deadline = Date.now() + 60_000;
      let d = await env.api.getDeployment({ id });
      while (!TERMINAL.includes(d.deployment!.status) && Date.now() < deadline) {
        await new Promise(r => setTimeout(r, 200));
        d = await env.api.getDeployment({ id });
      }
      const status = d.deployment!.status;
      if (!TERMINAL.includes(status)) stuck += 1;
      counts[status] = (counts[status] ?? 0) + 1;
      // Invariants, read through the public API.
      const all = (await env.api.listDeployments({ application: 'soak', group: '', limit: 1000 })).deployments;
      const active = all.filter(x => x.status === 'InProgress' || x.status === 'Paused');
      if (active.length > 1) violations.push(`after ${id}: ${active.length} active deployments in one group`);
      if (TERMINAL.includes(status) && d.hosts.some(h => h.status === 'Pending')) violations.push(`${id} ended ${status} with Pending hosts`);
      if (status === 'Succeeded' && d.hosts.filter(h => h.status === 'Succeeded').length === 0) violations.push(`${id} Succeeded with no host succeeded`);
      process.stdout.write(`${String(n + 1).padStart(3)}/${total} ${id} ${status.padEnd(9)} ${d.hosts.map(h => h.status[0]).join('')}\n`);
    }
    // Rollbacks created along the way must end too.
    const deadline = Date.now() + 60_000;
    let open = (await env.api.listDeployments({ application: 'soak', group: '', limit: 1000 })).deployments.filter(x => !TERMINAL.includes(x.status));
    while (open.length > 0 && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 500));
      open = (await env.api.listDeployments({ application: 'soak', group: '', limit: 1000 })).deployments.filter(x => !TERMINAL.includes(x.status));
    }
    stuck += open.length;
    const all = (await env.api.listDeployments({ application: 'soak', group: '', limit: 1000 })).deployments;
    const byState: Record<string, number> = {};
    for (const x of all) byState[x.status] = (byState[x.status] ?? 0) + 1;
    const byCreator: Record<string, number> = {};
    for (const x of all) byCreator[x.creator] = (byCreator[x.creator] ?? 0) + 1;
    process.stdout.write(`\nsoak: ${total} deployments created, ${JSON.stringify(byCreator)} by creator, ${kills} agent kills\n`);
    for (const x of all.filter(y => y.status !== 'Succeeded')) {
      process.stdout.write(`  ${x.id} (${x.creator}) ${x.status} ${x.errorCode}: ${x.errorMessage.slice(0, 200)}\n`);
    }
    process.stdout.write(`deployments per terminal state: ${JSON.stringify(byState)}\n`);
    process.stdout.write(`stuck: ${stuck}\ninvariant violations: ${violations.length}\n${violations.join('\n')}\n`);
  } finally {
    await env.cleanup.run();
  }
  process.exit(stuck === 0 && violations.length === 0 ? 0 : 1);
}

main().catch(err => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
