import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Registry } from 'prom-client';
import { type AgentEnvironment, resolveStartConfig } from '../../agent/config.js';
import { isFerryError } from '../../common/errors.js';
import type { AlarmStatus } from '../../common/health/evaluate.js';
import { parseMetricsListen, startMetricsServer } from '../../common/metrics-http.js';
import { AgentMetrics } from '../../agent/metrics.js';
import { resolveCoordinatorConfig } from '../../coordinator/config.js';
import type { LifecycleEventRecord } from '../../coordinator/domain/types.js';
import { type AgentState, CoordinatorMetrics, type CoordinatorMetricsSource } from '../../coordinator/metrics.js';

/** `{labels} → value` of one metric, labels joined as `k=v,k=v` (sorted). */
async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    const labels = Object.entries(v.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, l]) => `${k}=${l}`).join(',');
    out[`${(v as { metricName?: string }).metricName ?? name}{${labels}}`] = v.value;
  }
  return out;
}

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (!isFerryError(err, 'INVALID_ARGUMENT')) throw err;
    return err.message;
  }
  throw new Error('expected INVALID_ARGUMENT');
};

const record = (over: Partial<LifecycleEventRecord>): LifecycleEventRecord => ({
  deploymentId: 'd-1', hostId: 'h1', event: 'BeforeInstall', status: 'InProgress', ...over,
});

function coordinatorWith(over: Partial<CoordinatorMetricsSource> = {}): CoordinatorMetrics {
  return new CoordinatorMetrics({
    deploymentsByStatus: async () => [],
    hostDeploymentsByStatus: async () => [],
    agentsByState: async () => ({ connected: 0, reconnecting: 0, lost: 0 }),
    sendBuffers: () => ({ inUse: 3, capacity: 64 }),
    ...over,
  }, { defaultMetrics: false });
}

t.test('the coordinator gauges read the store when scraped; every status is present, 0 when none', async t => {
  let agents: Record<AgentState, number> = { connected: 2, reconnecting: 0, lost: 1 };
  let succeeded = 1;
  const m = coordinatorWith({
    deploymentsByStatus: async () => [{ status: 'Succeeded', count: succeeded }, { status: 'Failed', count: 2 }],
    hostDeploymentsByStatus: async () => [{ status: 'Failed', errorCode: 'SCRIPT_FAILED', count: 3 }, { status: 'Succeeded', errorCode: '', count: 4 }],
    agentsByState: async () => agents,
  });
  const d = await values(m.registry, 'ferry_deployments');
  t.equal(d['ferry_deployments{status=Succeeded}'], 1);
  t.equal(d['ferry_deployments{status=Failed}'], 2);
  t.equal(d['ferry_deployments{status=Queued}'], 0, 'a status with no deployment is 0, not absent');
  t.equal(Object.keys(d).length, 7, 'one series per deployment status');
  const hd = await values(m.registry, 'ferry_host_deployments');
  t.equal(hd['ferry_host_deployments{error_code=SCRIPT_FAILED,status=Failed}'], 3);
  t.equal(hd['ferry_host_deployments{error_code=,status=Succeeded}'], 4);
  t.equal(hd['ferry_host_deployments{error_code=,status=Pending}'], 0);
  t.same(await values(m.registry, 'ferry_agents'), {
    'ferry_agents{state=connected}': 2, 'ferry_agents{state=reconnecting}': 0, 'ferry_agents{state=lost}': 1,
  });
  succeeded = 5;
  agents = { connected: 3, reconnecting: 0, lost: 0 };
  t.equal((await values(m.registry, 'ferry_deployments'))['ferry_deployments{status=Succeeded}'], 5, 'read again at the next scrape');
  t.equal((await values(m.registry, 'ferry_agents'))['ferry_agents{state=lost}'], 0);
  t.same(await values(m.registry, 'ferry_revision_send_buffers'), { 'ferry_revision_send_buffers{state=in_use}': 3, 'ferry_revision_send_buffers{state=capacity}': 64 });
});

t.test('the hook histogram observes finished event records once, by event and outcome', async t => {
  const m = coordinatorWith();
  m.eventReported(record({ status: 'InProgress' }), 1000, false);
  m.eventReported(record({ status: 'Succeeded', durationMs: 1500 }), 2500, false);
  m.eventReported(record({ status: 'Succeeded', durationMs: 1500 }), 3000, true); // the result repeats it
  m.eventReported(record({ event: 'ValidateService', status: 'Failed', durationMs: 200 }), 3000, false);
  m.eventReported(record({ event: 'ApplicationStop', status: 'Skipped' }), 3000, false);
  const h = await values(m.registry, 'ferry_hook_duration_seconds');
  t.equal(h['ferry_hook_duration_seconds_count{event=BeforeInstall,status=Succeeded}'], 1, 'counted once');
  t.equal(h['ferry_hook_duration_seconds_sum{event=BeforeInstall,status=Succeeded}'], 1.5);
  t.equal(h['ferry_hook_duration_seconds_bucket{event=BeforeInstall,le=1,status=Succeeded}'], 0);
  t.equal(h['ferry_hook_duration_seconds_bucket{event=BeforeInstall,le=2.5,status=Succeeded}'], 1);
  t.equal(h['ferry_hook_duration_seconds_count{event=ValidateService,status=Failed}'], 1);
  t.notOk(Object.keys(h).some(k => k.includes('ApplicationStop')), 'a skipped event has no duration');
});

t.test('dispatch latency runs from the command sent to the first event started, once per host deployment', async t => {
  const m = coordinatorWith();
  m.commandSent('d-1', 'h1', 10_000);
  m.commandSent('d-1', 'h1', 11_000); // re-sent after a reconnect: the first time counts
  m.eventReported(record({ event: 'ApplicationStop', status: 'Skipped' }), 11_500, false);
  m.eventReported(record({ status: 'InProgress' }), 12_000, false);
  m.eventReported(record({ event: 'AfterInstall', status: 'InProgress' }), 14_000, false);
  m.commandSent('d-1', 'h2', 20_000);
  m.hostFinished('d-1', 'h2'); // never started (cancelled before it ran): forgotten
  m.eventReported(record({ hostId: 'h2', status: 'InProgress' }), 30_000, false);
  const h = await values(m.registry, 'ferry_dispatch_latency_seconds');
  t.equal(h['ferry_dispatch_latency_seconds_count{}'], 1);
  t.equal(h['ferry_dispatch_latency_seconds_sum{}'], 2);
});

t.test('revision bytes served add up', async t => {
  const m = coordinatorWith();
  m.revisionBytesServed(4096);
  m.revisionBytesServed(100);
  t.same(await values(m.registry, 'ferry_revision_bytes_served_total'), { 'ferry_revision_bytes_served_total{}': 4196 });
});

t.test('the agent metrics: results feed the hook histogram and the deployment counter; gauges read the source', async t => {
  let connected = false;
  const alarms: AlarmStatus[] = [{ name: 'cpu', state: 'ALARM', value: 93, reason: 'cpu 93% > 80%', sinceMs: 0 }];
  const m = new AgentMetrics({ connected: () => connected, alarms: () => alarms }, { defaultMetrics: false });
  const event = (e: string, status: string, durationMs: number) => ({
    deploymentId: 'd-1', event: e, status, errorCode: '', exitCode: 0, message: '', startedAt: '', endedAt: '', durationMs, ignored: false,
  });
  m.deploymentReported({
    deploymentId: 'd-1', status: 'Succeeded', errorEvent: '', errorCode: '', errorMessage: '', revisionDigest: 'x',
    events: [event('ApplicationStop', 'Skipped', 0), event('DownloadBundle', 'Succeeded', 300), event('BeforeInstall', 'Succeeded', 2000)],
  });
  m.deploymentReported({
    deploymentId: 'd-2', status: 'Failed', errorEvent: 'BeforeInstall', errorCode: 'ScriptFailed', errorMessage: 'exit 1', revisionDigest: 'x',
    events: [event('BeforeInstall', 'Failed', 50)],
  });
  m.downloaded(1000);
  m.downloaded(24);
  const h = await values(m.registry, 'ferry_agent_hook_duration_seconds');
  t.equal(h['ferry_agent_hook_duration_seconds_count{event=BeforeInstall,status=Succeeded}'], 1);
  t.equal(h['ferry_agent_hook_duration_seconds_sum{event=BeforeInstall,status=Succeeded}'], 2);
  t.equal(h['ferry_agent_hook_duration_seconds_count{event=BeforeInstall,status=Failed}'], 1);
  t.equal(h['ferry_agent_hook_duration_seconds_count{event=DownloadBundle,status=Succeeded}'], 1);
  t.notOk(Object.keys(h).some(k => k.includes('ApplicationStop')));
  t.same(await values(m.registry, 'ferry_agent_deployments_total'), {
    'ferry_agent_deployments_total{status=Succeeded}': 1, 'ferry_agent_deployments_total{status=Failed}': 1,
  });
  t.same(await values(m.registry, 'ferry_agent_download_bytes_total'), { 'ferry_agent_download_bytes_total{}': 1024 });
  m.transferStarted('http');
  m.transferStarted('http');
  m.transferStarted('grpc');
  t.same(await values(m.registry, 'ferry_agent_revision_transfers_total'), {
    'ferry_agent_revision_transfers_total{transport=http}': 2, 'ferry_agent_revision_transfers_total{transport=grpc}': 1,
  });
  t.same(await values(m.registry, 'ferry_agent_connected'), { 'ferry_agent_connected{}': 0 });
  connected = true;
  t.same(await values(m.registry, 'ferry_agent_connected'), { 'ferry_agent_connected{}': 1 });
  t.same(await values(m.registry, 'ferry_agent_alarms'), {
    'ferry_agent_alarms{alarm=cpu,state=INSUFFICIENT_DATA}': 0, 'ferry_agent_alarms{alarm=cpu,state=OK}': 0, 'ferry_agent_alarms{alarm=cpu,state=ALARM}': 1,
  });
  alarms.length = 0;
  t.same(await values(m.registry, 'ferry_agent_alarms'), {}, 'alarms the coordinator removed are gone');
});

t.test('two metric sets in one process do not share a registry', async t => {
  const a = coordinatorWith();
  const b = coordinatorWith();
  a.revisionBytesServed(10);
  t.same(await values(b.registry, 'ferry_revision_bytes_served_total'), { 'ferry_revision_bytes_served_total{}': 0 });
});

t.test('--metrics-listen takes HOST:PORT and refuses anything else, naming the flag', async t => {
  for (const ok of ['127.0.0.1:9464', '[::1]:9464', '0.0.0.0:0', 'localhost:9100']) t.equal(parseMetricsListen('--metrics-listen', ok), ok);
  for (const bad of ['9464', ':9464', '127.0.0.1', '127.0.0.1:70000', 'http://127.0.0.1:9464', 'a b:1']) {
    t.match(messageOf(() => parseMetricsListen('--metrics-listen', bad)), /^--metrics-listen: '.*' is not HOST:PORT \(e\.g\. 127\.0\.0\.1:9464/, bad);
  }
  const base = { data: '/d' };
  t.notOk('metricsListen' in resolveCoordinatorConfig(base, {}, '/'), 'off by default');
  t.equal(resolveCoordinatorConfig({ ...base, metricsListen: '127.0.0.1:9464' }, {}, '/').metricsListen, '127.0.0.1:9464');
  t.equal(resolveCoordinatorConfig(base, { FERRY_METRICS_LISTEN: '127.0.0.1:9000' }, '/').metricsListen, '127.0.0.1:9000');
  t.match(messageOf(() => resolveCoordinatorConfig({ ...base, metricsListen: 'nope' }, {}, '/')), /^--metrics-listen: 'nope'/);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-metrics-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'coordinator.yml'), 'metrics-listen: 127.0.0.1:9464\n');
  t.equal(resolveCoordinatorConfig({ ...base, config: 'coordinator.yml' }, {}, dir).metricsListen, '127.0.0.1:9464', 'from the config file');
  t.equal(resolveCoordinatorConfig({ ...base, config: 'coordinator.yml', metricsListen: '127.0.0.1:1' }, {}, dir).metricsListen, '127.0.0.1:1', 'the flag wins');
  const env: AgentEnvironment = { hookEnv: {}, uid: 1000, home: '/home/u', noColor: true };
  t.notOk('metricsListen' in resolveStartConfig({ coordinator: 'c:1' }, {}, env, '/'), 'the agent: off by default');
  t.equal(resolveStartConfig({ coordinator: 'c:1', metricsListen: '127.0.0.1:9465' }, {}, env, '/').metricsListen, '127.0.0.1:9465');
  t.equal(resolveStartConfig({ coordinator: 'c:1' }, { metricsListen: '127.0.0.1:1' }, env, '/', '/etc/a.yml').metricsListen, '127.0.0.1:1');
  t.match(messageOf(() => resolveStartConfig({ coordinator: 'c:1' }, { metricsListen: 9465 }, env, '/', '/etc/a.yml')),
    /^\/etc\/a\.yml: metrics-listen: '9465' is not HOST:PORT/);
});

const get = (url: string, method = 'GET') => new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
  http.request(url, { method }, res => {
    let body = '';
    res.on('data', (c: Buffer) => (body += c.toString()));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
  }).on('error', reject).end();
});

t.test('the metrics server serves GET /metrics on the port it bound, 404 elsewhere, and closes', async t => {
  const m = coordinatorWith();
  m.revisionBytesServed(7);
  const server = await startMetricsServer('127.0.0.1:0', m.registry);
  t.match(server.address, /^127\.0\.0\.1:[1-9]\d*$/, 'port 0 resolved');
  const ok = await get(`http://${server.address}/metrics`);
  t.equal(ok.status, 200);
  t.match(ok.type, /^text\/plain; version=0\.0\.4/);
  t.match(ok.body, /^ferry_revision_bytes_served_total 7$/m);
  t.match(ok.body, /^# TYPE ferry_hook_duration_seconds histogram$/m);
  t.equal((await get(`http://${server.address}/`)).status, 404);
  t.equal((await get(`http://${server.address}/metrics`, 'POST')).status, 405);
  const busy = await startMetricsServer(server.address, m.registry).then(() => undefined, (err: Error) => err);
  t.match(busy?.message, new RegExp(`^--metrics-listen ${server.address}: cannot listen: .*EADDRINUSE`), 'a taken port is a clear error');
  await server.close();
  await t.rejects(get(`http://${server.address}/metrics`), 'closed');
});
