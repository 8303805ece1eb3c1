/**
 * Attack (docs/security.md): tags were whatever an agent sent at Register. An enrolled host that
 * registered with `role=web` was at once sent the last revision of the group selecting role=web (which
 * may hold config and secrets). Now a host has only the tags it is granted — by its join token
 * (`ferry token create --role agent --tag …`) or by an admin (`ferry hosts set-tags`); other tags its
 * agent sends are ignored, audited and told to the agent.
 */
import path from 'node:path';
import t from 'tap';
import { pack, writeBundle } from '../helpers/bundle.js';
import { startAgent, waitFor } from '../helpers/fleet.js';
import { tlsCoordinator } from '../helpers/security.js';
import { enrollHost, mintToken } from '../helpers/trust.js';

t.test('a host gets only granted tags: a claimed role=web brings it nothing until an admin grants it', async t => {
  const s = await tlsCoordinator(t);
  const host = async (id: string) => (await s.as(s.admin, ['hosts', 'show', id, '--json'])).json;
  const deploymentsOn = async (id: string) => (await s.as(s.admin, ['deploy', 'list', '--host', id, '--json'])).json?.deployments ?? [];
  const enroll = async (id: string, tokenArgs: string[]) => {
    const root = path.join(s.dir, id);
    const e = await enrollHost({ coordinator: s.c.address, token: await mintToken(t, s.as, s.admin, 'agent', ['--uses', '1', ...tokenArgs]), fingerprint: s.fingerprint, rootDir: root, hostId: id });
    t.equal(e.code, 0, e.stderr);
    return root;
  };

  // The legitimate web host: its join token grants role=web; it also claims a tag nobody granted.
  const web1 = await startAgent(t, { coordinator: s.c.address, rootDir: await enroll('web1', ['--tag', 'role=web']), hostId: 'web1', tags: { role: 'web', rack: 'r9' } });
  await waitFor('web1 to connect', async () => (await host('web1'))?.connected);
  t.match(await host('web1'), { tags: { role: 'web' }, grantedTags: { role: 'web' }, ignoredTags: { rack: 'r9' } }, 'granted tags apply; the extra one is ignored');
  t.notOk('rack' in (await host('web1')).tags);
  await waitFor('web1 to be told', () => /the coordinator ignored tags not granted to this host: rack=r9/.test(web1.output()));

  t.equal((await s.as(s.admin, ['app', 'create', 'shop'])).code, 0);
  t.equal((await s.as(s.admin, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  const src = await writeBundle(path.join(s.dir, 'bundle'), { appspec: { version: 0.0, os: 'linux' }, files: { 'app.conf': 'db_password=hunter2\n' } });
  t.equal((await s.as(s.admin, ['revision', 'push', pack(src, path.join(s.dir, 'web.tgz'), 'tgz'), '--app', 'shop'])).code, 0);
  const deployed = await s.as(s.admin, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--wait', '--json']);
  t.equal(deployed.code, 0, deployed.stderr);

  // The attack: a host enrolled for something else registers with role=web.
  const mallory = await startAgent(t, { coordinator: s.c.address, rootDir: await enroll('mallory', []), hostId: 'mallory', tags: { role: 'web' } });
  await waitFor('mallory to connect', async () => (await host('mallory'))?.connected);
  t.match(await host('mallory'), { tags: {}, grantedTags: {}, ignoredTags: { role: 'web' } }, 'the claimed role=web is ignored');
  t.same(await deploymentsOn('mallory'), [], 'so no catch-up of the web group reaches it');
  await waitFor('mallory to be told', () => /the coordinator ignored tags not granted to this host: role=web/.test(mallory.output()));
  const audit = await s.as(s.admin, ['audit', '--json', '--actor', 'host:mallory']);
  const records = audit.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l));
  t.ok(records.some(r => r.action === 'AgentService/Connect' && r.outcome === 'refused' && r.code === 'TAGS_NOT_GRANTED' && /tags not granted to host mallory, ignored: role=web/.test(r.message)), 'the ignored tags are audited');
  const human = await s.as(s.admin, ['hosts', 'show', 'mallory']);
  t.match(human.stdout, /Ignored tags: +role=web \(its agent sends them, they are not granted: ferry hosts set-tags mallory …\)/);

  // Only an admin grants tags; once granted, the host gets the group's target at once (catch-up).
  const deployer = await mintToken(t, s.as, s.admin, 'deployer');
  t.match((await s.as(deployer, ['hosts', 'set-tags', 'mallory', 'role=web'])).stderr, /SetHostTags needs admin/);
  t.match((await s.as(s.admin, ['hosts', 'set-tags', 'mallory'])).stderr, /TAGS: give the tags to grant as key=value …, or --none/);
  t.match((await s.as(s.admin, ['hosts', 'set-tags', 'nobody', 'role=web'])).stderr, /host nobody is neither registered nor enrolled/);
  t.match((await s.as(s.admin, ['token', 'create', '--role', 'viewer', '--tag', 'role=web'])).stderr, /--tag: only a join token \(--role agent\) grants tags/);
  const granted = await s.as(s.admin, ['hosts', 'set-tags', 'mallory', 'role=web', '--json']);
  t.equal(granted.code, 0, granted.stderr);
  t.match(granted.json, { tags: { role: 'web' }, grantedTags: { role: 'web' }, ignoredTags: {} });
  await waitFor('the granted host to be caught up', async () => (await deploymentsOn('mallory')).some((d: any) => d.status === 'Succeeded'), 60_000);
  // And a grant taken away takes the tag away, without a reconnect.
  t.equal((await s.as(s.admin, ['hosts', 'set-tags', 'mallory', '--none'])).code, 0);
  t.match(await host('mallory'), { tags: {}, ignoredTags: { role: 'web' } });
});
