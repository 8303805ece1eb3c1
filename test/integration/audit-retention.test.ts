import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { openStore } from '../../coordinator/store/sqlite-store.js';
import { runBin } from '../helpers/agent-cli.js';
import { ferry, startCoordinator, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

// audit-retention on the real binary: records older than the retention are gone at start (before
// anyone asks), `0` keeps them. --insecure: the caller is insecure-local, an admin, so `ferry audit` works.

const DAY = 86_400_000;

/** A data dir whose audit log holds one record `daysOld` days old and one from a minute ago, written straight into ferry.db. */
async function dataWithOldRecord(dir: string, daysOld: number): Promise<string> {
  const data = path.join(dir, 'data');
  await openStore(path.join(data, 'ferry.db')).close(); // the schema, as the coordinator makes it
  const db = new Database(path.join(data, 'ferry.db'));
  const insert = db.prepare(`INSERT INTO audit (at, actor, role, action, peer, outcome, code, message, target_json, last_at)
    VALUES (@at, 'token:abcdefghij01', 'deployer', @action, '10.0.0.7:40000', 'ok', '', '', '{}', @at)`);
  insert.run({ at: new Date(Date.now() - daysOld * DAY).toISOString(), action: 'ControlService/CreateDeployment' });
  insert.run({ at: new Date(Date.now() - 60_000).toISOString(), action: 'ControlService/CreateApplication' });
  db.close();
  return data;
}

async function auditActions(address: string): Promise<string[]> {
  const r = await ferry(address, ['audit', '--json']);
  if (r.code !== 0) throw new Error(`ferry audit: ${r.stderr}`);
  return r.stdout.trim().split('\n').filter(Boolean).map(l => (JSON.parse(l) as { action: string }).action);
}

t.test('--audit-retention 1d: a record two days old is deleted at start, a recent one kept, the count logged', async t => {
  const data = await dataWithOldRecord(await tempDir(t), 2);
  const c = await startCoordinator(t, data, ['--audit-retention', '1d']);
  await waitFor('the start prune', () => /\[security\] old audit records removed removed=1 older_than=\S+/.test(c.output()));
  t.same(await auditActions(c.address), ['ControlService/CreateApplication']);
  t.equal(c.output().match(/audit records removed/g)?.length, 1, 'logged once');
});

t.test('--audit-retention 0 keeps a record 400 days old (which the default, 365d, would delete)', async t => {
  const data = await dataWithOldRecord(await tempDir(t), 400);
  const c = await startCoordinator(t, data, ['--audit-retention', '0']);
  t.same(await auditActions(c.address), ['ControlService/CreateDeployment', 'ControlService/CreateApplication']);
  t.notMatch(c.output(), /audit records removed|cannot prune/);
});

t.test('the default, 365d, deletes that 400-day-old record', async t => {
  const data = await dataWithOldRecord(await tempDir(t), 400);
  const c = await startCoordinator(t, data);
  await waitFor('the start prune', () => /old audit records removed removed=1/.test(c.output()));
  t.same(await auditActions(c.address), ['ControlService/CreateApplication']);
});

t.test('a bad --audit-retention stops the coordinator with a usage error naming the flag', async t => {
  const dir = await tempDir(t);
  const r = await runBin('ferry-coordinator', ['--data', path.join(dir, 'data'), '--listen', '127.0.0.1:0', '--insecure', '--audit-retention', 'a year']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^ferry-coordinator: --audit-retention: 'a year' is not a duration/);
});
