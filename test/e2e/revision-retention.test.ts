import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry } from '../helpers/fleet.js';

/** `ferry revision list/delete` with retention against a real coordinator and agent (docs/operations.md "Cleaning up"). */

const revisionFile = (data: string, digest: string) => path.join(data, 'revisions', 'sha256', digest.slice(0, 2), digest);

t.test('revision delete --keep N keeps the newest N and every revision a group targets; a deleted revision cannot be deployed until pushed again (mount namespace)', async t => {
  const f = await startFleet(t, ['h1']);
  const a = f.coordinator.address;
  const data = path.join(f.dir, 'data');
  const v1 = await f.push(await f.bundle('v1'));
  const v2 = await f.push(await f.bundle('v2'));
  t.equal((await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v2, '--wait'], { timeoutMs: 90_000 })).code, 0);
  const v3 = await f.push(await f.bundle('v3'));
  const v4 = await f.push(await f.bundle('v4'));

  const list = await ferry(a, ['revision', 'list', '--app', 'shop']);
  t.match(list.stdout, /KEPT FOR/);
  t.match(list.stdout, new RegExp(`${v2.slice(0, 12)} .*target of group web`), 'the list says why v2 stays');
  const held = await ferry(a, ['revision', 'delete', v2.slice(0, 12), '--app', 'shop']);
  t.equal(held.code, 1, 'a targeted revision is refused by name too');
  t.match(held.stderr, `revision ${v2.slice(0, 12)} of shop stays: target of group web`);

  const dry = await ferry(a, ['revision', 'delete', '--app', 'shop', '--keep', '1', '--dry-run', '--json']);
  t.equal(dry.code, 0, dry.stderr);
  t.same(dry.json.deleted.map((r: any) => r.digest), [v3, v1], 'would delete all but the newest and the target');
  t.match(dry.json.kept, [{ revision: { digest: v2 }, reasons: ['target of group web'] }]);
  t.ok(existsSync(revisionFile(data, v1)), 'a dry run deletes nothing');

  const kept = await ferry(a, ['revision', 'delete', '--app', 'shop', '--keep', '1']);
  t.equal(kept.code, 0, kept.stderr);
  t.match(kept.stdout, `deleted 2 revision(s) of shop:`);
  t.match(kept.stdout, `kept ${v2.slice(0, 12)} (older than the newest 1): target of group web`);
  t.same((await ferry(a, ['revision', 'list', '--app', 'shop', '--json'])).json.revisions.map((r: any) => r.digest), [v4, v2]);
  for (const [d, there] of [[v1, false], [v2, true], [v3, false], [v4, true]] as const) t.equal(existsSync(revisionFile(data, d)), there, `bytes of ${d.slice(0, 8)}`);
  t.ok((await f.proof('h1')).includes('v2:installed:v2'), 'the host still runs the target');

  const gone = await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1]);
  t.equal(gone.code, 1, 'a deleted revision cannot be deployed');
  t.match(gone.stderr, `application shop has no revision ${v1}`);
  t.equal(await f.push(path.join(f.dir, 'bundles', 'v1.tgz')), v1, 'the same bytes pushed again');
  t.ok(existsSync(revisionFile(data, v1)));
  t.equal((await ferry(a, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', v1, '--wait'], { timeoutMs: 90_000 })).code, 0, 'and deployable again');

  const usage = await ferry(a, ['revision', 'delete', '--app', 'shop']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, 'DIGEST: give the revisions to delete, or --keep N');
  const zero = await ferry(a, ['revision', 'delete', '--app', 'shop', '--keep', '0']);
  t.equal(zero.code, 2);
  t.match(zero.stderr, "--keep: '0' must be a whole number of at least 1");
});
