import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import t from 'tap';
import { DATABASE_FILE } from '../../coordinator/store/data-dir.js';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor } from '../helpers/fleet.js';

/**
 * The per-deployment host counts the coordinator keeps (deployment_host_counts, store/schema/v22.ts)
 * against a recount of the rows, through real rollouts of real agents: a success, a failure with an
 * automatic rollback, a stop mid-hook. The coordinator's database is read from beside it (WAL: a
 * reader sees one committed state) every few milliseconds while they run, and at the end.
 */

const COLUMNS = { Pending: 'pending', InProgress: 'in_progress', Succeeded: 'succeeded', Failed: 'failed', Skipped: 'skipped', Unknown: 'unknown' } as const;

/** Every deployment whose kept counts differ from the rows', in one read of one committed state. */
function mismatches(db: Database.Database): string[] {
  return db.transaction(() => {
    const kept = new Map((db.prepare('SELECT * FROM deployment_host_counts').all() as Record<string, string | number>[]).map(r => [String(r.deployment_id), r]));
    const counted = new Map<string, Record<string, number>>();
    for (const r of db.prepare('SELECT deployment_id, status, COUNT(*) AS n FROM host_deployments GROUP BY deployment_id, status').all() as { deployment_id: string; status: keyof typeof COLUMNS; n: number }[]) {
      const row = counted.get(r.deployment_id) ?? {};
      row[COLUMNS[r.status]] = r.n;
      counted.set(r.deployment_id, row);
    }
    const wrong: string[] = [];
    for (const id of new Set([...kept.keys(), ...counted.keys()])) {
      const k = kept.get(id);
      const c = counted.get(id) ?? {};
      for (const column of Object.values(COLUMNS)) {
        if ((k?.[column] ?? 0) !== (c[column] ?? 0)) wrong.push(`${id} ${column}: kept ${k?.[column] ?? 'no row'}, counted ${c[column] ?? 0}`);
      }
    }
    return wrong;
  })();
}

t.test('the kept host counts equal a recount at every moment of a success, a failure rolled back, and a stop (mount namespace)', async t => {
  const f = await startFleet(t, ['h1', 'h2', 'h3', 'h4'], { config: 'HalfAtATime' });
  const address = f.coordinator.address;
  t.equal((await ferry(address, ['group', 'update', '--app', 'shop', '--name', 'web', '--auto-rollback', 'failure', '--rollback-config', 'AllAtOnce'])).code, 0);
  const db = new Database(path.join(f.coordinator.dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
  const wrong: string[] = [];
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      wrong.push(...mismatches(db));
      samples += 1;
      await sleep(10);
    }
  })();
  t.teardown(async () => {
    sampling = false;
    await sampler;
    db.close();
  });
  const deploy = (revision: string, extra: string[] = []) =>
    ferry(address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', revision, '--json', ...extra], { timeoutMs: 90_000 });
  const status = async (id: string) => (await ferry(address, ['deploy', 'status', id, '--json'])).json;

  t.equal((await deploy(await f.push(await f.bundle('v1')), ['--wait'])).code, 0, 'v1 succeeded');
  const failed = await deploy(await f.push(await f.bundle('v2', { ValidateService: '[ "$HOST_LABEL" = h4 ] || exit 9' })), ['--wait']);
  t.equal(failed.code, 4, 'v2 failed on h1-h3 and was rolled back');
  const rollbackId = failed.json.deployment.rolledBackBy as string;
  await waitFor('the rollback to end', async () => (await status(rollbackId))?.deployment.status === 'Succeeded', 60_000);

  const v3 = await deploy(await f.push(await f.bundle('v3', { ApplicationStart: 'sleep 30' })));
  const id = v3.json.deployment.id as string;
  await waitFor('a host of v3 in ApplicationStart', async () => (await f.proof('h1')).concat(await f.proof('h2'), await f.proof('h3'), await f.proof('h4'))
    .some(l => l.includes('v3:ApplicationStart')), 30_000);
  t.equal((await ferry(address, ['deploy', 'stop', id])).code, 0);
  const stopped = await waitFor('v3 stopped, no host in flight', async () => {
    const s = await status(id);
    return s?.deployment.status === 'Stopped' && s.hosts.every((h: any) => h.status !== 'InProgress') && s;
  }, 60_000);

  sampling = false;
  await sampler;
  wrong.push(...mismatches(db));
  t.same(wrong, [], `no difference in ${samples} reads`);
  t.ok(samples > 20, `${samples} reads while the rollouts ran`);
  // What was counted: every status the rollouts went through, the final ones of v3 as the API says.
  const kept = db.prepare('SELECT * FROM deployment_host_counts WHERE deployment_id = ?').get(id) as Record<string, number>;
  const byStatus = (s: string) => stopped.hosts.filter((h: any) => h.status === s).length;
  t.same({ succeeded: kept.succeeded, failed: kept.failed, skipped: kept.skipped, pending: kept.pending, in_progress: kept.in_progress },
    { succeeded: byStatus('Succeeded'), failed: byStatus('Failed'), skipped: byStatus('Skipped'), pending: 0, in_progress: 0 });
  t.ok((kept.failed ?? 0) + (kept.skipped ?? 0) > 0, 'the stop left hosts Failed or Skipped');
  const v2Counts = db.prepare('SELECT * FROM deployment_host_counts WHERE deployment_id = ?').get(failed.json.deployment.id) as Record<string, number>;
  t.ok((v2Counts.failed ?? 0) >= 1, 'v2 counted its failure');
});
