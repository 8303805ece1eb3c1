/**
 * TLS across replicas (docs/high-availability.md): two coordinator replicas on one PostgreSQL database, both
 * serving TLS. The first makes the CA (and the first admin token) and shares it through the database; the
 * second takes it and issues its own server certificate. A host enrolled through the second with a token
 * minted through the first connects; when the replica holding its stream is killed, it reconnects to the other
 * over TLS with the same certificate. A third replica whose data dir holds another CA refuses to start,
 * naming both fingerprints.
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runBin } from '../helpers/agent-cli.js';
import { freePort } from '../helpers/fleet-fixture.js';
import { startAgent, startCoordinator, waitFor } from '../helpers/fleet.js';
import { startPostgres, storeFlags } from '../helpers/postgres.js';
import { hostsOn } from '../helpers/replica-fleet.js';
import { tempDir } from '../helpers/temp.js';
import { asCaller, enrollHost, mintToken, readTrust } from '../helpers/trust.js';

const caOf = async (dataDir: string) => new X509Certificate(await fs.readFile(path.join(dataDir, 'tls', 'ca.crt'))).fingerprint256;

t.test('one CA for every replica: enrolled through one, an agent is trusted by the others; a replica with another CA is refused', async t => {
  const server = await startPostgres(t);
  const dir = await tempDir(t, 'ferry-replicas-tls-');
  const storeArgs = await storeFlags(server, dir);
  const ports = [await freePort(), await freePort()];
  const data = ports.map((_, i) => path.join(dir, `replica-${i}`));
  const a = await startCoordinator(t, data[0]!, storeArgs, `127.0.0.1:${ports[0]}`, { tls: true });
  t.match(a.output(), /this replica's CA is now the one every replica on the database uses/, 'the first replica shares its CA');
  const b = await startCoordinator(t, data[1]!, storeArgs, `127.0.0.1:${ports[1]}`, { tls: true });
  t.match(b.output(), /took the replicas' shared CA from the database/, 'the second takes it');
  t.equal(await caOf(data[1]!), await caOf(data[0]!), 'both serve certificates of the same CA');
  t.notOk(await fs.access(path.join(data[1]!, 'admin.token')).then(() => true, () => false), 'no second admin token: tokens are shared');

  const { caFile, fingerprint, admin } = await readTrust(data[0]!);
  const all = ports.map(p => `127.0.0.1:${p}`).join(',');
  const viaA = asCaller(`127.0.0.1:${ports[0]}`, { FERRY_CA: caFile });
  const viaB = asCaller(`127.0.0.1:${ports[1]}`, { FERRY_CA: caFile });
  t.equal((await viaB(admin, ['app', 'list'])).code, 0, 'the first replica\'s admin token works on the second');
  const root = path.join(dir, 'h1');
  const enrolled = await enrollHost({ coordinator: `127.0.0.1:${ports[1]}`, token: await mintToken(t, viaA, admin, 'agent', ['--uses', '1', '--tag', 'role=web']), fingerprint, rootDir: root, hostId: 'h1' });
  t.equal(enrolled.code, 0, `enrolled through the second replica with a token minted through the first: ${enrolled.stderr}`);
  await startAgent(t, { coordinator: all, rootDir: root, hostId: 'h1', tags: { role: 'web' } });
  const connectedVia = async (as: typeof viaA) => ((await as(admin, ['hosts', 'list', '--json'])).json?.hosts ?? []).some((h: { id: string; state: string }) => h.id === 'h1' && h.state === 'connected');
  await waitFor('h1 connected', () => connectedVia(viaA), 60_000);
  const [holder, other, otherAs] = hostsOn(a).has('h1') ? [a, b, viaB] : [b, a, viaA];
  t.ok(hostsOn(holder).has('h1'), 'h1\'s stream is on one replica');
  await holder.kill('SIGKILL');
  await waitFor('h1 reconnected to the other replica over TLS', async () => hostsOn(other).has('h1') && await connectedVia(otherAs), 90_000);
  t.pass('the agent\'s certificate from one replica is trusted by the other, and it trusts the other\'s server certificate');

  const c = path.join(dir, 'replica-2');
  const init = await runBin('ferry-coordinator', ['init', '--data', c]);
  t.equal(init.code, 0, init.stderr);
  const refused = await runBin('ferry-coordinator', ['--data', c, '--listen', `127.0.0.1:${await freePort()}`, ...storeArgs], { timeoutMs: 60_000 });
  t.not(refused.code, 0, 'a replica with another CA does not start');
  t.match(refused.stderr, /is not the CA the other replicas on this database use/, 'saying why');
  t.match(refused.stderr, await caOf(c), 'naming its CA');
  t.match(refused.stderr, await caOf(data[0]!), 'and the shared one');
});
