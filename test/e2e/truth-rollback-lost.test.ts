import path from 'node:path';
import { promises as fs } from 'node:fs';
import t from 'tap';
import { gate } from '../helpers/bundle.js';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';

/**
 * Truthful rollouts: a rollback reaches a host that was lost. A host SIGSTOPped mid-hook is lost
 * (AGENT_LOST), the deployment fails and is rolled back while the host is still frozen, so the
 * rollback skips it (AGENT_OFFLINE). The host then comes back — while its run of the bad revision
 * is still going — and finishes that run. Before, it stayed on the bad revision for good; now the
 * rollback is re-issued to it, and it never runs the bad revision a second time. Checked on the
 * host's own files (the hooks' proof lines and what ValidateService saw installed).
 */

const json = async (address: string, args: string[]) => (await ferry(address, [...args, '--json'])).json;

t.test('a host lost mid-hook gets the rollback when it comes back, and runs the bad revision once (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2'], { config: 'OneAtATime', coordinatorArgs: ['--heartbeat-interval', '1s', '--agent-timeout', '3s'] });
  const a = f.coordinator.address;
  t.equal((await ferry(a, ['group', 'update', '--app', 'shop', '--name', 'web', '--auto-rollback', 'failure'])).code, 0);
  const v1 = await f.push(await f.bundle('v1'));
  t.equal((await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--wait'], { timeoutMs: 60_000 })).code, 0);

  const release = path.join(f.dir, 'release');
  const v2 = await f.push(await f.bundle('v2', { ApplicationStart: `if [ "$HOST_LABEL" = h1 ]; then ${gate(release, 120)}; fi` }));
  const id = (await json(a, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2])).deployment.id as string;
  await waitFor('h1 in ApplicationStart of v2', async () => (await f.proof('h1')).includes('v2:ApplicationStart'), 60_000);
  const agent = f.agents.get('h1')!;
  agent.child.kill('SIGSTOP');
  t.teardown(() => void agent.child.kill('SIGCONT'));

  const failed = await waitFor('v2 to fail and be rolled back', async () => {
    const d = await json(a, ['deploy', 'status', id]);
    return d?.deployment.status === 'Failed' && d.deployment.rolledBackBy ? d : undefined;
  }, 60_000);
  t.equal(failed.hosts.find((h: any) => h.hostId === 'h1').errorCode, 'AGENT_LOST');
  const rollbackId = failed.deployment.rolledBackBy as string;
  const rollback = await waitFor('the rollback to end with h1 skipped offline', async () => {
    const d = await json(a, ['deploy', 'status', rollbackId]);
    return ['Succeeded', 'Failed'].includes(d?.deployment.status) ? d : undefined;
  }, 60_000);
  const skipped = rollback.hosts.find((h: any) => h.hostId === 'h1');
  t.equal(skipped.status, 'Skipped', 'the frozen host could not be rolled back at its turn');
  t.equal(skipped.errorCode, 'AGENT_OFFLINE');
  t.match(skipped.errorMessage, /rollback is re-issued to it when it returns/);

  // Back while its run of v2 is still going (held by the gate): no second run of v2.
  agent.child.kill('SIGCONT');
  await waitForHosts(a, ['h1'], 60_000);
  await new Promise(r => setTimeout(r, 2000));
  await fs.writeFile(release, '');

  await waitFor('h1 to be rolled back to v1 on its own files', async () => {
    const proof = await f.proof('h1');
    const lastV2 = proof.lastIndexOf('v2:ApplicationStart');
    return lastV2 >= 0 && proof.slice(lastV2).includes('v1:installed:v1');
  }, 90_000);
  const proof = await f.proof('h1');
  t.equal(proof.filter(l => l === 'v2:BeforeInstall').length, 1, 'h1 installed v2 once');
  t.equal(proof.filter(l => l === 'v2:ApplicationStart').length, 1, 'h1 ran v2\'s ApplicationStart once: no second run after it reconnected');

  const list = (await json(a, ['deploy', 'list', '--app', 'shop', '--group', 'web'])).deployments as any[];
  const reissued = list.filter(d => d.creator === 'rollback' && d.id !== rollbackId);
  t.equal(reissued.length, 1, 'one re-issued rollback');
  t.equal(reissued[0].revision, v1, 'of the rollback\'s revision');
  t.match(reissued[0].description, new RegExp(`rollback ${rollbackId} re-issued to h1`));
  const done = await waitFor('the re-issued rollback to succeed', async () => {
    const d = await json(a, ['deploy', 'status', reissued[0].id]);
    return d?.deployment.status === 'Succeeded' ? d : undefined;
  }, 30_000);
  t.same(done.hosts.map((h: any) => h.hostId), ['h1'], 'to h1 only');
  t.match(await f.files('h1'), /^only-v1\.txt version\.txt /, 'h1 has v1\'s files installed (and not v2\'s)');
  t.notOk(list.some(d => d.creator === 'autoscaling'), 'no catch-up deployment besides');
  const h2 = await f.proof('h2');
  t.equal(h2[h2.length - 1], 'v1:installed:v1', 'h2 ends on v1 too (or never left it)');
});
