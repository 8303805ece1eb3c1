import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startAgent, startCoordinator, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';
import { asCaller, enrollHost, mintToken, readTrust } from '../helpers/trust.js';

/** `ferry hosts remove` against a TLS coordinator and an enrolled agent (docs/operations.md "Cleaning up"). */

t.test('hosts remove: the host leaves the list and every group, its history stays, and its agent must enroll again (mount namespace)', async t => {
  const dir = await tempDir(t, 'ferry-remove-');
  const data = path.join(dir, 'data');
  const c = await startCoordinator(t, data, [], '127.0.0.1:0', { tls: true });
  const { caFile, fingerprint, admin } = await readTrust(data);
  const as = asCaller(c.address, { FERRY_CA: caFile });
  t.equal((await as(admin, ['app', 'create', 'shop'])).code, 0);
  t.equal((await as(admin, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  t.equal((await as(admin, ['group', 'create', '--app', 'shop', '--name', 'all', '--tag-set', 'role'])).code, 0);
  const root = path.join(dir, 'h1');
  const enroll = async () => {
    const e = await enrollHost({ coordinator: c.address, token: await mintToken(t, as, admin, 'agent', ['--uses', '1', '--tag', 'role=web']), fingerprint, rootDir: root, hostId: 'h1' });
    t.equal(e.code, 0, e.stderr);
  };
  await enroll();
  const start = () => startAgent(t, { coordinator: c.address, rootDir: root, hostId: 'h1', tags: { role: 'web' } });
  let agent = await start();
  const listed = async () => (await as(admin, ['hosts', 'list', '--json'])).json?.hosts ?? [];
  await waitFor('h1 to connect', async () => (await listed()).some((h: any) => h.id === 'h1' && h.connected));
  const src = path.join(dir, 'bundle');
  await fs.mkdir(path.join(src, 'www'), { recursive: true });
  await fs.writeFile(path.join(src, 'appspec.yml'), `version: 0.0\nos: linux\nfiles:\n  - source: www\n    destination: ${path.join(dir, 'app')}\n`);
  await fs.writeFile(path.join(src, 'www', 'index.html'), 'v1');
  t.equal((await as(admin, ['revision', 'push', src, '--app', 'shop'])).code, 0);
  t.equal((await as(admin, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait'])).code, 0);

  const removed = await as(admin, ['hosts', 'remove', 'h1', '--json']);
  t.equal(removed.code, 0, removed.stderr);
  t.match(removed.json, { hostId: 'h1', revokedCertificates: 1, groups: ['shop/all', 'shop/web'] });
  t.same(await listed(), [], 'it left the host list');
  t.same((await as(admin, ['group', 'show', '--app', 'shop', '--name', 'web', '--json'])).json.matchingHostIds, [], 'and the group');
  t.equal((await as(admin, ['deploy', 'list', '--host', 'h1', '--json'])).json.deployments.length, 1, 'its history stays');
  const none = await as(admin, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait', '--json']);
  t.equal(none.code, 1, 'the group has no host any more');
  t.match(none.json.deployment, { errorCode: 'NO_INSTANCES' });
  const again = await as(admin, ['hosts', 'remove', 'h1']);
  t.equal(again.code, 1);
  t.match(again.stderr, /host h1 was removed already/);

  await agent.kill('SIGTERM');
  agent = await start();
  await waitFor('the returning agent to be refused', () => /was revoked/.test(agent.output()), 30_000);
  t.same(await listed(), [], 'it is not listed again by coming back');
  await agent.kill('SIGTERM');
  await enroll();
  agent = await start();
  await waitFor('h1 back after enrolling again', async () => (await listed()).some((h: any) => h.id === 'h1' && h.connected), 30_000);
  t.match((await as(admin, ['group', 'show', '--app', 'shop', '--name', 'web', '--json'])).json.matchingHostIds, ['h1'], 'in its groups again');
});
