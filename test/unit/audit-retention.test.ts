import path from 'node:path';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import winston from 'winston';
import { type AuditEntry, auditCutoff } from '../../coordinator/domain/audit.js';
import { AuditRetention } from '../../coordinator/security/audit-retention.js';
import { openStore } from '../../coordinator/store/sqlite-store.js';
import type { Store } from '../../coordinator/store/store.js';
import { tempDir } from '../helpers/temp.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

function entry(atMs: number): AuditEntry {
  return { at: iso(atMs), actor: 'insecure-local', role: 'admin', action: 'ControlService/CreateApplication', peer: '127.0.0.1:5000', outcome: 'ok', code: '', message: '', target: {} };
}

/** A logger whose records the test reads. */
function capturingLogger(): { log: winston.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  return { log: winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] }), lines };
}

async function aStore(t: Test): Promise<Store> {
  const store = openStore(path.join(await tempDir(t), 'ferry.db'));
  t.teardown(async () => await store.close());
  return store;
}

const ages = async (store: Store) => (await store.listAudit()).map(r => Math.round((NOW - Date.parse(r.lastAt)) / DAY));

t.test('the cutoff: now minus the retention; none for 0 or a retention longer than the clock has run', async t => {
  t.equal(auditCutoff(NOW, DAY), iso(NOW - DAY));
  t.equal(auditCutoff(NOW, 0), undefined, '0 keeps records forever');
  t.equal(auditCutoff(NOW, NOW + 1), undefined);
  t.equal(auditCutoff(NOW, 1e20), undefined, 'an absurd retention is no error');
});

t.test('a pass deletes every record older than the retention, batch by batch, yielding between batches, and logs the count once', async t => {
  const store = await aStore(t);
  for (const days of [400, 30, 3, 2, 2]) await store.appendAudit(entry(NOW - days * DAY), 0);
  await store.appendAudit(entry(NOW - 3_600_000), 0);
  const { log, lines } = capturingLogger();
  const retention = new AuditRetention({ store, clock: { now: () => NOW }, log, retentionMs: DAY, batch: 2 });
  const pass = retention.prune();
  t.equal((await store.listAudit()).length, 4, 'one batch ran, then the pass yielded to the event loop');
  t.equal(await pass, 5);
  t.same(await ages(store), [0], 'only the record from an hour ago is left');
  t.same(lines, [{ level: 'info', message: 'old audit records removed', component: 'security', removed: 5, older_than: iso(NOW - DAY) }]);
  t.equal(await retention.prune(), 0);
  t.equal(lines.length, 1, 'nothing removed: nothing logged');
});

t.test('a failing pass is logged, never thrown', async t => {
  const store = openStore(path.join(await tempDir(t), 'ferry.db'));
  await store.close();
  const { log, lines } = capturingLogger();
  t.equal(await new AuditRetention({ store, clock: { now: () => NOW }, log, retentionMs: DAY }).prune(), 0);
  t.match(lines, [{ level: 'error', message: 'cannot prune the audit log', component: 'security', older_than: iso(NOW - DAY), error: /not open/ }]);
});

t.test('start prunes at once and then every period until stopped; retention 0 never prunes', async t => {
  const store = await aStore(t);
  let now = NOW;
  const { log } = capturingLogger();
  await store.appendAudit(entry(NOW - 2 * DAY), 0);
  const retention = new AuditRetention({ store, clock: { now: () => now }, log, retentionMs: DAY, everyMs: 20 });
  retention.start();
  t.same(await ages(store), [], 'pruned at start');
  await store.appendAudit(entry(NOW), 0);
  now += 2 * DAY;
  await new Promise(r => setTimeout(r, 100));
  t.same(await ages(store), [], 'pruned again a period later');
  await retention.stop();
  await store.appendAudit(entry(NOW), 0);
  await new Promise(r => setTimeout(r, 100));
  t.equal((await store.listAudit()).length, 1, 'stopped: no more passes');

  const forever = new AuditRetention({ store, clock: { now: () => now }, log, retentionMs: 0, everyMs: 20 });
  forever.start();
  await new Promise(r => setTimeout(r, 60));
  await forever.stop();
  t.equal((await store.listAudit()).length, 1, 'retention 0 keeps the two-day-old record');
});
