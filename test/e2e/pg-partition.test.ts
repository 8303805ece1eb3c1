/**
 * One replica partitioned from PostgreSQL (high availability: docs/high-availability.md "What
 * happens on each failure"). Three coordinator replicas and five agents. Replica 0, the one holding the
 * `coordinator` lease (it starts first), runs in a network namespace joined to the machine by two veth
 * pairs: one its only way to PostgreSQL (the server also listens on that link's outside address), the
 * other the way its agents and the CLI reach it. Mid-rollout (OneAtATime, two hosts done) the PostgreSQL
 * link is cut (`ip link set … down`: packets dropped, nothing sent back, as a real partition) and stays
 * cut; agents can still reach replica 0.
 *
 * What must hold: replica 0 stops scheduling (its log line about losing the lease) BEFORE another replica
 * takes the lease (its "holding the coordinator lease" line), both read from the replicas' own log
 * timestamps (one machine, one clock); no host ran a hook twice (the hooks' proof files: no double
 * dispatch); the rollout goes on to Succeeded, which `ferry deploy create --wait` follows; every host
 * Succeeded in the store, none declared lost. Needs root (network namespaces): skipped otherwise.
 */
import { spawn } from 'node:child_process';
import t, { type Test } from 'tap';
import { freePort } from '../helpers/fleet-fixture.js';
import { type Coordinator, waitFor } from '../helpers/fleet.js';
import { linkedNamespace, netnsUnavailable, removeStaleNamespaces, setLink } from '../helpers/netns.js';
import { startPostgres } from '../helpers/postgres.js';
import { replicaFleet } from '../helpers/replica-fleet.js';
import { isRoot } from '../helpers/temp.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5'];
/** What a replica logs when it stops scheduling because its lease is gone (replicas/leadership.ts). */
const LOST = /no longer the scheduling replica/;
const TOOK = /holding the coordinator lease/;

/** The HH:mm:ss.SSS console timestamp of the first line matching `re`, as ms since midnight. */
function firstAt(output: string, re: RegExp): number | undefined {
  const line = output.split('\n').find(l => re.test(l));
  const m = line && /^(\d\d):(\d\d):(\d\d)\.(\d{3}) /.exec(line);
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) : undefined;
}

/** A TCP relay inside `ns` from `address`:port to the namespace's 127.0.0.1:port; resolves once it listens. */
async function relayInNamespace(t: Test, ns: string, address: string, port: number): Promise<void> {
  const script = `const net = require('node:net'); const [address, port] = process.argv.slice(1);
net.createServer(c => { const u = net.connect(Number(port), '127.0.0.1'); c.pipe(u).pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); }).listen(Number(port), address, () => console.log('relaying'));`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, address, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', code => reject(new Error(`the relay in ${ns} exited ${code}`)));
  });
}

const notRoot = !isRoot && 'needs root: a network namespace and veth pairs (ip netns add) are only for root; CI runs as root';

t.test('the lease holder partitioned from PostgreSQL stops scheduling before another replica takes over; no double dispatch', { skip: notRoot }, async t => {
  const unavailable = await netnsUnavailable();
  if (unavailable) {
    t.fail(`this test needs network namespaces: ${unavailable}`);
    return;
  }
  await removeStaleNamespaces();
  const part = await linkedNamespace(t, 'part', ['db', 'svc'] as const);
  const { db, svc } = part.links;
  const ports = [await freePort(), await freePort(), await freePort()];
  await relayInNamespace(t, part.ns, svc.inside, ports[0]!);
  const server = await startPostgres(t, { durableCommits: true, listen: [db.outside], allow: [`${db.inside}/32`] });
  const f = await replicaFleet(t, {
    replicas: 3, hosts: HOSTS, afterInstallSleep: '1.5', server,
    netns: i => (i === 0 ? part.ns : undefined),
    storeHost: i => (i === 0 ? db.outside : server.host),
    ports,
    // Replica 0 listens on its namespace's loopback (plaintext is for loopback only); a relay there takes
    // the agents' and the CLI's connections from the svc link to it.
    address: (i, port) => `${i === 0 ? svc.inside : '127.0.0.1'}:${port}`,
    // Not loopback, so the default would be verify-full; the test server has no TLS.
    args: i => (i === 0 ? ['--store-sslmode', 'disable'] : []),
  });
  t.match(f.first.output(), TOOK, 'replica 0 (in the namespace) holds the coordinator lease');

  const wait = f.deploy();
  await waitFor('two hosts deployed', async () => (await f.done()) >= 2, 120_000);
  t.ok((await f.done()) < HOSTS.length, 'the rollout is still in progress');
  await setLink(db, false);
  t.comment('replica 0 is cut off from PostgreSQL (its agents still reach it)');

  // Bounded: a rollout stuck behind the partitioned replica fails here, not at tap's timeout.
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([wait, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no verdict within 120 s of the cut')), 120_000); })])
    .finally(() => clearTimeout(timer));
  t.equal(result.code, 0, `deploy create --wait followed the rollout to its verdict: ${result.stderr}`);
  t.equal(result.json?.deployment?.status, 'Succeeded', 'the verdict is Succeeded');
  await f.ranOnce();

  // Whichever replica took over: the one whose output says it holds the lease.
  const others = (await Promise.all(f.standbys.map(s => Promise.race([s.then(r => r.c), new Promise<undefined>(r => setTimeout(r, 1000, undefined))]))))
    .filter((c): c is Coordinator => c !== undefined);
  const took = others.map(c => firstAt(c.output(), TOOK)).filter((at): at is number => at !== undefined);
  const lostAt = firstAt(f.first.output(), LOST);
  t.ok(lostAt !== undefined, `replica 0 logged that it lost the lease and stopped scheduling (${LOST})`);
  t.equal(took.length, 1, 'exactly one other replica took the lease');
  if (lostAt !== undefined && took.length > 0) {
    const gap = Math.min(...took) - lostAt;
    t.comment(`replica 0 stopped scheduling ${gap} ms before another replica took the lease`);
    t.ok(gap > 0, 'replica 0 stopped scheduling BEFORE another replica took the lease');
  }

  const status = await f.cli(['deploy', 'status', result.json.deployment.id as string, '--json']);
  const hosts = status.json?.hosts as { hostId: string; status: string; errorCode: string }[];
  t.same(hosts.map(h => [h.hostId, h.status]).sort(), HOSTS.map(h => [h, 'Succeeded']), 'every host Succeeded in the store');
  t.notOk(hosts.some(h => h.errorCode === 'AGENT_LOST'), 'no host was declared lost');
});
