import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { ferry, startAgent, startCoordinator, waitForHosts } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Heartbeat times with one coordinator (scheduler.ts LAST_SEEN_FLUSH_MS): kept in memory and
 * written to the store at most every 5 minutes, yet `ferry hosts list` shows each host's newest, and
 * a graceful stop writes them all (nothing judged or shown is lost; only a crash loses up to 5 min of them).
 */
t.test('last-seen times: shown fresh from memory, written to the store at a graceful stop', async t => {
  const dir = await tempDir(t);
  const data = path.join(dir, 'data');
  const coordinator = await startCoordinator(t, data, ['--heartbeat-interval', '200ms']);
  await startAgent(t, { coordinator: coordinator.address, rootDir: path.join(dir, 'seen-1'), hostId: 'seen-1', tags: { role: 'seen' } });
  await waitForHosts(coordinator.address, ['seen-1']);
  const stored = (): string => {
    const db = new Database(path.join(data, 'ferry.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT last_seen_at FROM hosts WHERE id = ?').get('seen-1') as { last_seen_at: string }).last_seen_at;
    } finally {
      db.close();
    }
  };
  const shown = async (): Promise<string> => (await ferry(coordinator.address, ['hosts', 'list', '--json'])).json.hosts.find((h: { id: string }) => h.id === 'seen-1').lastSeenAt;

  const registeredAt = stored();
  await new Promise(r => setTimeout(r, 3000));
  const fresh = await shown();
  t.ok(Date.parse(fresh) - Date.parse(registeredAt) >= 2000, `hosts list shows the newest heartbeat (${fresh}, registered ${registeredAt})`);
  t.equal(stored(), registeredAt, 'the store was not written at every 200 ms heartbeat interval');

  t.equal(await coordinator.kill('SIGTERM'), 0, 'the coordinator stopped cleanly');
  t.ok(Date.parse(stored()) >= Date.parse(fresh), `a graceful stop wrote the newest heartbeat time (${stored()})`);
});
