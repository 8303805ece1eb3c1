/**
 * `npm run build && node dist/bench/store-events.js`: what the event log costs the store's writes.
 * The same workload (deployments of 5 hosts: create, start, per host InProgress, 5 lifecycle events
 * InProgress → Succeeded, host Succeeded, deployment Succeeded) on three stores in the same run:
 * the baseline with the event triggers dropped, the real store, and the real store with three
 * webhook triggers subscribed to every deployment and instance event (deliveries enqueued).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { TRIGGER_EVENTS } from '../common/triggers.js';
import { openStore } from '../coordinator/store/sqlite-store.js';
import type { Store } from '../coordinator/store/store.js';

const HOSTS = 5;
const HOOKS = ['BeforeInstall', 'Install', 'AfterInstall', 'ApplicationStart', 'ValidateService'];
const T = '2024-01-01T00:00:00.000Z';

async function setUp(file: string, variant: 'baseline' | 'events' | 'triggers'): Promise<Store> {
  const store = openStore(file);
  await store.createApplication({ name: 'shop', createdAt: T });
  await store.createGroup({ id: 'g', application: 'shop', name: 'web', tagSets: [], configName: 'AllAtOnce', autoRollback: [], alarms: [], createdAt: T });
  await store.addRevision({ digest: 'r', application: 'shop', size: 1, bundleType: 'tgz', description: '', createdAt: T });
  for (let i = 0; i < HOSTS; i++) {
    await store.upsertHost({ id: `h${i}`, hostname: `h${i}`, tags: {}, agentVersion: '0', facts: {}, connected: true, lastSeenAt: T, registeredAt: T });
  }
  if (variant === 'triggers') {
    for (const name of ['a', 'b', 'c']) await store.setTrigger({ groupId: 'g', name, url: 'http://x/', events: [...TRIGGER_EVENTS], secret: 'x'.repeat(32) }, T);
  }
  if (variant === 'baseline') {
    await store.close();
    const db = new Database(file);
    const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'events_%'").all() as { name: string }[];
    for (const { name } of triggers) db.exec(`DROP TRIGGER ${name}`);
    db.close();
    return openStore(file);
  }
  return store;
}

/** One deployment's writes; returns how many status-changing writes it made. */
async function oneDeployment(store: Store, id: string): Promise<number> {
  let writes = 0;
  await store.createDeployment({
    id, application: 'shop', groupId: 'g', groupName: 'web', revisionDigest: 'r', configName: 'AllAtOnce', status: 'Created',
    creator: 'user', description: '', fileExistsBehavior: 'DISALLOW', ignoreApplicationStopFailures: false, createdAt: T,
  });
  await store.startDeployment(id, Array.from({ length: HOSTS }, (_, i) => ({ deploymentId: id, hostId: `h${i}`, status: 'Pending' as const, position: i })), 0, T);
  writes += 2;
  for (let i = 0; i < HOSTS; i++) {
    const hostId = `h${i}`;
    await store.transitionHostDeployment(id, hostId, 'InProgress', { startedAt: T });
    for (const event of HOOKS) {
      await store.putEventRecord({ deploymentId: id, hostId, event, status: 'InProgress', startedAt: T });
      await store.putEventRecord({ deploymentId: id, hostId, event, status: 'Succeeded', startedAt: T, endedAt: T, durationMs: 1 });
    }
    await store.transitionHostDeployment(id, hostId, 'Succeeded', { completedAt: T });
    writes += 2 + 2 * HOOKS.length;
  }
  await store.transitionDeployment(id, 'Succeeded', { completedAt: T });
  return writes + 1;
}

async function measure(variant: 'baseline' | 'events' | 'triggers', deployments: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-events-'));
  try {
    const store = await setUp(path.join(dir, 'ferry.db'), variant);
    for (let i = 0; i < 20; i++) await oneDeployment(store, `warm-${i}`);
    let writes = 0;
    const t0 = performance.now();
    for (let i = 0; i < deployments; i++) writes += await oneDeployment(store, `d-${i}`);
    const us = ((performance.now() - t0) * 1000) / writes;
    await store.close();
    return us;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const deployments = Number(process.argv[2] ?? 300);
const rounds: Record<string, number[]> = { baseline: [], events: [], triggers: [] };
for (let round = 0; round < 3; round++) {
  for (const v of ['baseline', 'events', 'triggers'] as const) rounds[v]!.push(await measure(v, deployments));
}
const best = (v: string) => Math.min(...rounds[v]!);
process.stdout.write(`store writes, ${deployments} deployments × ${HOSTS} hosts, best of 3 (µs per status-changing write):\n`);
for (const v of ['baseline', 'events', 'triggers']) {
  process.stdout.write(`  ${v.padEnd(9)} ${best(v).toFixed(1)} µs  (${(best(v) / best('baseline')).toFixed(2)}× baseline)\n`);
}
