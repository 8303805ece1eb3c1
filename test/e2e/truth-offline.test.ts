import t from 'tap';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';

/**
 * Truthful rollouts, rule 2: a group's targets are all its known hosts, connected or not. An
 * offline target is Skipped (AGENT_OFFLINE), counts as not healthy, and is named in the verdict
 * (`offlineHosts`); `--require-all-hosts` makes it a failure; when it returns it is caught up.
 */
const installed = async (proof: string[]) => proof.filter(l => l.includes(':installed:')).at(-1)?.split(':installed:')[1];

t.test('one of three agents down: the deployment names it offline, --require-all-hosts fails, and it is caught up when back (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2', 'h3'], { config: 'AllAtOnce', coordinatorArgs: ['--heartbeat-interval', '1s'] });
  const v1 = await f.push(await f.bundle('v1'));
  await f.agents.get('h3')!.kill('SIGTERM');
  // Lost, not just reconnecting: a reconnecting host (within --agent-timeout) still gets its turn.
  await waitFor('h3 to be seen lost', async () =>
    (await ferry(f.coordinator.address, ['hosts', 'list', '--json'])).json?.hosts.find((h: any) => h.id === 'h3')?.state === 'lost');

  const strict = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--require-all-hosts', '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(strict.code, 1, '--require-all-hosts: an offline target fails the deployment');
  t.match(strict.json, { deployment: { status: 'Failed', errorCode: 'HOSTS_OFFLINE', requireAllHosts: true }, offlineHosts: ['h3'] });
  t.same(await f.proof('h1'), [], 'no host started: the failure came before any dispatch');

  const r = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr);
  t.same(r.json.offlineHosts, ['h3'], 'the verdict names the offline host');
  t.match(r.json.hosts.find((h: any) => h.hostId === 'h3'), { status: 'Skipped', errorCode: 'AGENT_OFFLINE' });
  const human = await ferry(f.coordinator.address, ['deploy', 'status', r.json.deployment.id]);
  t.match(human.stdout, /AGENT_OFFLINE/, 'the human status says so too');

  await f.addAgent('h3');
  await waitForHosts(f.coordinator.address, ['h3']);
  await waitFor('h3 to be caught up to v1', async () => (await installed(await f.proof('h3'))) === 'v1', 30_000);
  const deployments = (await ferry(f.coordinator.address, ['deploy', 'list', '--app', 'shop', '--json'])).json.deployments;
  t.equal(deployments.filter((d: any) => d.creator === 'autoscaling').length, 1, 'one catch-up, for h3');
  for (const h of ['h1', 'h2', 'h3']) t.equal(await installed(await f.proof(h)), 'v1', `${h} runs v1 (its own files)`);
});
