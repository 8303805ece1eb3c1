/**
 * Attack (docs/security.md): any enrolled host could download any revision by its digest, over
 * HTTP/1.1 and over FetchRevision, whatever groups it serves. A host now gets a revision only when
 * it is a target of a deployment of that revision (catch-up included); the refusal is audited.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { isFerryError } from '../../common/errors.js';
import { httpRevisionTransport } from '../../agent/link/http-transport.js';
import { channelCredentials, loadAgentIdentity } from '../../agent/link/identity.js';
import { grpcRevisionTransport } from '../../agent/link/transport.js';
import type { RevisionTransport } from '../../agent/link/revision-cache.js';
import { pack, writeBundle } from '../helpers/bundle.js';
import { startAgent, waitFor } from '../helpers/fleet.js';
import { tlsCoordinator } from '../helpers/security.js';
import { enrollHost, mintToken } from '../helpers/trust.js';

async function download(tr: RevisionTransport, digest: string): Promise<Buffer | Error> {
  try {
    const parts: Buffer[] = [];
    for await (const b of await tr.open(digest, 0)) parts.push(b as Buffer);
    return Buffer.concat(parts);
  } catch (err) {
    return err as Error;
  }
}

t.test('an enrolled host downloads only the revisions deployed to it, over HTTP and FetchRevision', async t => {
  const s = await tlsCoordinator(t);
  for (const [id, role] of [['web1', 'web'], ['db1', 'db']] as const) {
    const root = path.join(s.dir, id);
    const join = await mintToken(t, s.as, s.admin, 'agent', ['--uses', '1', '--tag', `role=${role}`]);
    t.equal((await enrollHost({ coordinator: s.c.address, token: join, fingerprint: s.fingerprint, rootDir: root, hostId: id })).code, 0);
    await startAgent(t, { coordinator: s.c.address, rootDir: root, hostId: id, tags: { role } });
  }
  await waitFor('both hosts to connect', async () => (await s.as(s.admin, ['hosts', 'list', '--json'])).json?.hosts?.filter((h: any) => h.connected).length === 2);
  t.equal((await s.as(s.admin, ['app', 'create', 'shop'])).code, 0);
  t.equal((await s.as(s.admin, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  const src = await writeBundle(path.join(s.dir, 'bundle'), { appspec: { version: 0.0, os: 'linux' }, files: { 'secret.conf': 'password=hunter2\n' } });
  const file = pack(src, path.join(s.dir, 'web.tgz'), 'tgz');
  const pushed = await s.as(s.admin, ['revision', 'push', file, '--app', 'shop', '--json']);
  t.equal(pushed.code, 0, pushed.stderr);
  const digest = pushed.json.revision.digest as string;
  const bytes = await fs.readFile(file);

  const as = async (id: string) => {
    const identity = await loadAgentIdentity(path.join(s.dir, id));
    const grpc = grpcRevisionTransport(s.c.address, id, () => channelCredentials(identity));
    t.teardown(() => grpc.close());
    return { http: httpRevisionTransport(s.c.address, id, () => identity), grpc };
  };
  const db1 = await as('db1');
  const web1 = await as('web1');
  for (const [kind, tr] of [['HTTP', db1.http], ['FetchRevision', db1.grpc], ['web1 before any deployment', web1.http]] as const) {
    const got = await download(tr, digest);
    t.ok(isFerryError(got) && got.code === 'PERMISSION_DENIED', `${kind}: refused (${String(got)})`);
    t.match(String(got), /is not a target of any deployment of revision [0-9a-f]{64}: a host downloads only the revisions deployed to it/);
  }
  const unknown = await download(db1.http, 'ab'.repeat(32));
  t.ok(isFerryError(unknown) && unknown.code === 'PERMISSION_DENIED', 'an unknown digest is refused alike: no oracle of which revisions exist');

  const deployed = await s.as(s.admin, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--wait', '--json']);
  t.equal(deployed.code, 0, `web1, a target, downloads it and the deployment succeeds: ${deployed.stderr}`);
  t.ok((await download(web1.http, digest) as Buffer).equals(bytes), 'web1 downloads it again (HTTP)');
  t.ok((await download(web1.grpc, digest) as Buffer).equals(bytes), 'and over FetchRevision');
  const still = await download(db1.http, digest);
  t.ok(isFerryError(still) && still.code === 'PERMISSION_DENIED', 'db1, not a target of that deployment, is still refused');

  const audit = await s.as(s.admin, ['audit', '--json', '--actor', 'host:db1']);
  t.equal(audit.code, 0, audit.stderr);
  const records = audit.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l));
  t.ok(records.some(r => r.action === 'GET /v1/revisions/' && r.outcome === 'refused' && r.code === 'PERMISSION_DENIED' && r.target.revision === digest), 'audit: the HTTP download refused');
  t.ok(records.some(r => r.action === 'AgentService/FetchRevision' && r.outcome === 'refused' && r.code === 'PERMISSION_DENIED'), 'audit: the FetchRevision refused');
});
