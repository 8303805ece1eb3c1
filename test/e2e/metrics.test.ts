import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, startCoordinator, waitFor, waitForHosts } from '../helpers/fleet.js';
import { runBin } from '../helpers/agent-cli.js';
import { tempDir } from '../helpers/temp.js';

function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, res => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/** The value of one sample of the text format, e.g. `ferry_deployments{status="Succeeded"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('a real coordinator and agent expose their metrics over HTTP; a deployment shows up in both (mount namespace)', async t => {
  const f = await startFleet(t, [], { coordinatorArgs: ['--metrics-listen', '127.0.0.1:0'] });
  const coordinatorUrl = /ferry-coordinator metrics on (http:\S+)/.exec(f.coordinator.output())?.[1];
  t.match(coordinatorUrl, /^http:\/\/127\.0\.0\.1:[1-9]\d*\/metrics$/, 'the coordinator prints where its metrics are');
  const agent = await f.addAgent('h1', { role: 'web' }, undefined, ['--metrics-listen', '127.0.0.1:0']);
  const agentUrl = await waitFor('the agent metrics address', () => /metrics listening on (http:\S+)/.exec(agent.output())?.[1]);
  await waitForHosts(f.coordinator.address, ['h1']);

  const before = await scrape(coordinatorUrl!);
  t.equal(sample(before, 'ferry_deployments{status="Succeeded"}'), 0);
  t.equal(sample(before, 'ferry_agents{state="connected"}'), 1, 'one agent connected');
  t.match(before, /^process_cpu_user_seconds_total /m, 'default process metrics included');
  t.equal(sample(await scrape(agentUrl), 'ferry_agent_connected'), 1);

  const bundle = await f.bundle('v1');
  const pushed = await ferry(f.coordinator.address, ['revision', 'push', bundle, '--app', 'shop', '--json']);
  t.equal(pushed.code, 0, pushed.stderr);
  const { digest, size } = pushed.json.revision;
  t.ok(Number(size) > 0);
  const r = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr.slice(-400));
  const events: any[] = r.json.hosts.find((h: any) => h.hostId === 'h1')?.events ?? [];
  const finished = events.filter(e => e.status === 'Succeeded' || e.status === 'Failed');
  t.ok(finished.length >= 5, `the hooks ran (${finished.map((e: any) => e.name).join(', ')})`);

  const c = await scrape(coordinatorUrl!);
  t.equal(sample(c, 'ferry_deployments{status="Succeeded"}'), 1);
  t.equal(sample(c, 'ferry_host_deployments{status="Succeeded",error_code=""}'), 1);
  t.equal(sample(c, 'ferry_revision_bytes_served_total'), Number(size), 'bytes served = the revision size');
  t.equal(sample(c, 'ferry_dispatch_latency_seconds_count'), 1, 'one dispatch measured');
  t.ok(sample(c, 'ferry_dispatch_latency_seconds_sum')! > 0);
  for (const e of finished) {
    t.equal(sample(c, `ferry_hook_duration_seconds_count{event="${e.name}",status="${e.status}"}`), 1, `coordinator: ${e.name} observed once`);
  }
  t.equal(sample(c, 'ferry_agents{state="connected"}'), 1);

  const a = await scrape(agentUrl);
  t.equal(sample(a, 'ferry_agent_download_bytes_total'), Number(size), 'agent download bytes = the revision size');
  t.equal(sample(a, 'ferry_agent_revision_transfers_total{transport="http"}'), 1, 'one transfer, over HTTP');
  t.equal(sample(a, 'ferry_agent_revision_transfers_total{transport="grpc"}'), undefined, 'no fallback to FetchRevision');
  t.equal(sample(a, 'ferry_agent_deployments_total{status="Succeeded"}'), 1);
  for (const e of finished) {
    t.equal(sample(a, `ferry_agent_hook_duration_seconds_count{event="${e.name}",status="${e.status}"}`), 1, `agent: ${e.name} observed once`);
  }

  await agent.kill('SIGTERM');
  await waitFor('the agent to count as disconnected', async () =>
    sample(await scrape(coordinatorUrl!), 'ferry_agents{state="reconnecting"}') === 1);
  await t.rejects(scrape(agentUrl), 'the agent closed its metrics port on shutdown');
});

t.test('a bad --metrics-listen is refused with a clear error and exit 2', async t => {
  const dir = await tempDir(t, 'ferry-metrics-');
  const c = await runBin('ferry-coordinator', ['--data', path.join(dir, 'data'), '--listen', '127.0.0.1:0', '--insecure', '--metrics-listen', '9464']);
  t.equal(c.code, 2);
  t.match(c.stderr, /--metrics-listen: '9464' is not HOST:PORT \(e\.g\. 127\.0\.0\.1:9464/);
  const a = await runBin('ferry-agent', ['start', '--coordinator', '127.0.0.1:1', '--root-dir', path.join(dir, 'agent'), '--metrics-listen', 'localhost']);
  t.equal(a.code, 2);
  t.match(a.stderr, /--metrics-listen: 'localhost' is not HOST:PORT/);
});

t.test('without --metrics-listen nothing is served', async t => {
  const dir = await tempDir(t, 'ferry-metrics-');
  const c = await startCoordinator(t, path.join(dir, 'data'));
  t.notMatch(c.output(), /metrics on http|metrics listening/);
  await c.kill();
});
