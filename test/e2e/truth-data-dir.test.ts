import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runBin } from '../helpers/agent-cli.js';
import { ferry, startCoordinator } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Truthful rollouts, rule 7: the coordinator's state is protected. One coordinator per data dir;
 * no start on a damaged or emptied database next to existing state; an online, verified backup.
 */
const apps = async (address: string) => ((await ferry(address, ['app', 'list', '--json'])).json?.applications ?? []).map((a: any) => a.name);

t.test('a second coordinator on the same data dir is refused and the first keeps its state', async t => {
  const data = path.join(await tempDir(t, 'ferry-datadir-'), 'data');
  const first = await startCoordinator(t, data);
  t.equal((await ferry(first.address, ['app', 'create', 'shop'])).code, 0);
  const second = await runBin('ferry-coordinator', ['--data', data, '--listen', '127.0.0.1:0', '--insecure'], { timeoutMs: 30_000 });
  t.equal(second.code, 1, 'refused');
  t.match(second.stderr, new RegExp(`data dir ${data} is in use by another ferry-coordinator \\(pid ${first.child.pid}`));
  t.same(await apps(first.address), ['shop'], 'the first still serves its state');
  await first.kill('SIGTERM');
  const again = await startCoordinator(t, data);
  t.same(await apps(again.address), ['shop'], 'after a clean stop the data dir can be taken again');
  await again.kill('SIGKILL');
  const afterCrash = await startCoordinator(t, data);
  t.same(await apps(afterCrash.address), ['shop'], 'a lock left by a killed coordinator is taken over');
});

t.test('a 0-byte or missing database next to existing state is refused, saying how to restore', async t => {
  const data = path.join(await tempDir(t, 'ferry-datadir-'), 'data');
  const c = await startCoordinator(t, data, [], '127.0.0.1:0', { tls: true });
  await c.kill('SIGTERM');
  await fs.truncate(path.join(data, 'ferry.db'), 0);
  await fs.rm(path.join(data, 'ferry.db-wal'), { force: true });
  const empty = await runBin('ferry-coordinator', ['--data', data, '--listen', '127.0.0.1:0'], { timeoutMs: 30_000 });
  t.equal(empty.code, 1);
  t.match(empty.stderr, /ferry\.db is empty \(0 bytes\) but .*tls\/ca\.crt exists.*restore DATA\/ferry\.db from a backup/);
  t.equal((await fs.stat(path.join(data, 'ferry.db'))).size, 0, 'nothing was written into it');
  await fs.rm(path.join(data, 'ferry.db'));
  const missing = await runBin('ferry-coordinator', ['--data', data, '--listen', '127.0.0.1:0'], { timeoutMs: 30_000 });
  t.equal(missing.code, 1);
  t.match(missing.stderr, /ferry\.db is missing but/);
});

t.test('a damaged database is refused; backup while running, restore, and the state is back', async t => {
  const dir = await tempDir(t, 'ferry-datadir-');
  const data = path.join(dir, 'data');
  const c = await startCoordinator(t, data);
  for (let i = 0; i < 30; i++) t.equal((await ferry(c.address, ['app', 'create', `app-${String(i).padStart(2, '0')}`])).code, 0);
  const backupFile = path.join(dir, 'ferry-backup.db');
  const backup = await runBin('ferry-coordinator', ['backup', '--data', data, '--to', backupFile, '--json'], { timeoutMs: 30_000 });
  t.equal(backup.code, 0, backup.stderr);
  t.match(JSON.parse(backup.stdout), { file: backupFile, bytes: Number });
  t.equal(((await fs.stat(backupFile)).mode & 0o777).toString(8), '600', 'the copy is readable by its owner only');
  await c.kill('SIGTERM');

  // Overwrite pages in the middle of the database: a disk or a careless `dd`.
  const db = path.join(data, 'ferry.db');
  const bytes = await fs.readFile(db);
  bytes.fill(0x5a, 4096 * 2, Math.min(bytes.length, 4096 * 6));
  await fs.writeFile(db, bytes);
  const damaged = await runBin('ferry-coordinator', ['--data', data, '--listen', '127.0.0.1:0', '--insecure'], { timeoutMs: 30_000 });
  t.equal(damaged.code, 1, 'refused');
  t.match(damaged.stderr, /ferry\.db is damaged \(.+\): restore DATA\/ferry\.db from a backup/);

  // Restore as documented: the copy in place, the old WAL and SHM gone.
  await fs.copyFile(backupFile, db);
  for (const f of ['ferry.db-wal', 'ferry.db-shm']) await fs.rm(path.join(data, f), { force: true });
  const restored = await startCoordinator(t, data);
  t.equal((await apps(restored.address)).length, 30, 'every application is back');

  const bad = await runBin('ferry-coordinator', ['backup', '--data', path.join(dir, 'nowhere'), '--to', backupFile], { timeoutMs: 30_000 });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /nowhere\/ferry\.db does not exist/);
});
