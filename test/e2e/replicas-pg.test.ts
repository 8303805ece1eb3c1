/**
 * Every replica serves (docs/high-availability.md): with three coordinator replicas on one PostgreSQL database
 * and agents whose streams are on different replicas, a stop given to a replica that neither schedules nor
 * holds the hosts' streams reaches the agents (relayed over LISTEN/NOTIFY) and cuts their runs short.
 */
import t from 'tap';
import { waitFor } from '../helpers/fleet.js';
import { HOSTS, replicaFleet } from '../helpers/replica-fleet.js';

t.test('a stop given to one replica reaches agents whose streams are on others', async t => {
  const f = await replicaFleet(t, { replicas: 3, hosts: HOSTS.slice(0, 3), afterInstallSleep: '30' });
  // AllAtOnce: every host is in its 30 s AfterInstall when the stop comes.
  const created = await f.cli(['deploy', 'create', '--app', 'shop', '--group', 'web', '--config', 'AllAtOnce', '--revision', f.digest, '--json']);
  t.equal(created.code, 0, created.stderr);
  const id = created.json.deployment.id as string;
  await waitFor('every host in AfterInstall', async () => (await Promise.all(HOSTS.slice(0, 3).map(f.proof))).every(p => p.includes('v1:AfterInstall')), 120_000);
  const stopped = await f.cli(['deploy', 'stop', id], 60_000, `127.0.0.1:${f.ports[2]}`);
  t.equal(stopped.code, 0, `stop through replica 2: ${stopped.stderr}`);
  const status = await waitFor('the deployment stopped and every host cancelled', async () => {
    const s = await f.cli(['deploy', 'status', id, '--json']);
    const hosts = s.json?.hosts as { status: string }[] | undefined;
    return s.json?.deployment?.status === 'Stopped' && hosts?.every(h => h.status !== 'InProgress') ? s : undefined;
  }, 60_000);
  t.equal(status.json.deployment.status, 'Stopped');
  for (const h of HOSTS.slice(0, 3)) t.notOk((await f.proof(h)).includes('v1:ValidateService'), `${h}: the stop cut its run short (no ValidateService)`);
});
