import { promises as fs } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { AlarmEvaluator, type ProbeResult } from '../../common/health/evaluate.js';
import { HostProbe, type SystemInfo, systemInformation } from '../../agent/health/probes.js';
import type { AlarmSpec } from '../../common/health/spec.js';
import { ChildProcessRunner } from '../../agent/lifecycle/process-runner.js';
import { tempDir } from '../helpers/temp.js';

// Real probes against real local things: an HTTP server, TCP ports, processes, the root filesystem.

const never = new AbortController().signal;
const probeWith = (system: SystemInfo = systemInformation()) =>
  new HostProbe({ system, runner: new ChildProcessRunner(), env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, killGraceMs: 500 });
const alarm = (s: Partial<AlarmSpec> & Pick<AlarmSpec, 'kind'>): AlarmSpec => ({ name: s.kind, timeoutMs: 2000, forMs: 0, ...s });

async function listen(t: Test, server: net.Server): Promise<number> {
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>(r => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>(r => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>(r => s.close(() => r()));
  return port;
}

t.test('http: a 2xx is healthy, a 500 breaches, no answer or a refused connection breaches', async t => {
  let status = 200;
  const server = http.createServer((req, res) => {
    if (req.url === '/hang') return; // never answers
    res.writeHead(status, { 'content-type': 'text/plain' }).end('body\n');
  });
  t.teardown(() => server.closeAllConnections());
  const port = await listen(t, server);
  const url = `http://127.0.0.1:${port}/health`;
  const probe = probeWith();
  const ev = new AlarmEvaluator(alarm({ kind: 'http', url }), Date.now());

  t.same(await probe.measure(alarm({ kind: 'http', url }), never), { kind: 'measured', value: 200 });
  t.match(ev.sample(await probe.measure(ev.spec, never), Date.now()), { state: 'OK', value: 200, reason: `GET ${url} answered 200` });
  status = 500;
  t.match(ev.sample(await probe.measure(ev.spec, never), Date.now()), { state: 'ALARM', value: 500, reason: `GET ${url} answered 500` });
  status = 204;
  t.match(ev.sample(await probe.measure(ev.spec, never), Date.now()), { state: 'OK', value: 204 });

  const started = Date.now();
  const hung = await probe.measure(alarm({ kind: 'http', url: `http://127.0.0.1:${port}/hang`, timeoutMs: 200 }), never);
  t.same(hung, { kind: 'measured', value: 0, detail: 'no answer within 200ms' });
  t.ok(Date.now() - started < 1500, 'the timeout is kept');

  const refused = await probe.measure(alarm({ kind: 'http', url: `http://127.0.0.1:${await closedPort()}/` }), never);
  t.match(refused, { kind: 'measured', value: 0, detail: /ECONNREFUSED/ });
});

t.test('tcp: an open port is 1, a closed port 0 with the reason', async t => {
  const port = await listen(t, net.createServer(socket => socket.end()));
  const probe = probeWith();
  t.same(await probe.measure(alarm({ kind: 'tcp', address: `127.0.0.1:${port}` }), never), { kind: 'measured', value: 1 });
  const closed = await closedPort();
  const r = await probe.measure(alarm({ kind: 'tcp', address: `127.0.0.1:${closed}` }), never);
  t.match(r, { kind: 'measured', value: 0, detail: `connect ECONNREFUSED 127.0.0.1:${closed}` });
  const ev = new AlarmEvaluator(alarm({ kind: 'tcp', address: `127.0.0.1:${closed}` }), Date.now());
  t.match(ev.sample(r, Date.now()), { state: 'ALARM', reason: `tcp 127.0.0.1:${closed} is not open: connect ECONNREFUSED 127.0.0.1:${closed}` });
});

t.test('command: exit 0 is healthy, exit 1 breaches, a timeout kills it, a missing program is INSUFFICIENT_DATA', async t => {
  const probe = probeWith();
  t.same(await probe.measure(alarm({ kind: 'command', argv: ['/bin/true'] }), never), { kind: 'measured', value: 0 });
  t.same(await probe.measure(alarm({ kind: 'command', argv: ['/bin/false'] }), never), { kind: 'measured', value: 1 });
  t.same(await probe.measure(alarm({ kind: 'command', argv: ['sh', '-c', 'echo "db is down" >&2; exit 3'] }), never),
    { kind: 'measured', value: 3, detail: 'last output: db is down' }, 'found on PATH; the last output line is kept');

  const dir = await tempDir(t);
  const pidFile = path.join(dir, 'pid');
  const started = Date.now();
  const slow = await probe.measure(alarm({ kind: 'command', argv: ['sh', '-c', `echo $$ > ${pidFile}; exec sleep 5`], timeoutMs: 200 }), never);
  t.same(slow, { kind: 'measured', value: -1, detail: 'did not exit within 200ms; stopped (TERM)' });
  t.ok(Date.now() - started < 2000, `sleep 5 was stopped at the 200 ms timeout (${Date.now() - started} ms)`);
  const pid = Number(await fs.readFile(pidFile, 'utf8'));
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the sleep process is gone');

  const missing = await probe.measure(alarm({ kind: 'command', argv: ['/nonexistent/check'] }), never);
  t.match(missing, { kind: 'failed', reason: /^cannot run \/nonexistent\/check: .*ENOENT/ });
  const ev = new AlarmEvaluator(alarm({ kind: 'command', argv: ['/nonexistent/check'] }), Date.now());
  t.match(ev.sample(missing, Date.now()), { state: 'INSUFFICIENT_DATA', reason: /^cannot sample: cannot run/ });
});

t.test('command arguments are not interpreted by a shell', async t => {
  const dir = await tempDir(t);
  const marker = path.join(dir, 'touched');
  const r = await probeWith().measure(alarm({ kind: 'command', argv: ['/bin/echo', `; touch ${marker}`] }), never);
  t.match(r, { kind: 'measured', value: 0 });
  await t.rejects(fs.stat(marker), { code: 'ENOENT' });
});

t.test('disk, memory and cpu read real figures from systeminformation', async t => {
  const probe = probeWith();
  for (const spec of [
    alarm({ kind: 'disk', path: '/', thresholdPercent: 100, timeoutMs: 5000 }),
    alarm({ kind: 'disk', path: '/no/such/dir/below/root', thresholdPercent: 100, timeoutMs: 5000 }),
    alarm({ kind: 'memory', thresholdPercent: 100, timeoutMs: 5000 }),
    alarm({ kind: 'cpu', thresholdPercent: 100, timeoutMs: 5000 }),
  ]) {
    const r = await probe.measure(spec, never);
    t.ok(r.kind === 'measured' && r.value >= 0 && r.value <= 100, `${spec.kind} ${spec.path ?? ''}: ${JSON.stringify(r)}`);
  }
});

t.test('the disk of a path is the filesystem with the longest mount prefix', async t => {
  const system: SystemInfo = {
    cpuPercent: async () => 0, memoryPercent: async () => 0,
    filesystems: async () => [{ mount: '/', usePercent: 10 }, { mount: '/var', usePercent: 70 }, { mount: '/var/lib/docker', usePercent: 95 }],
  };
  const probe = probeWith(system);
  const disk = (p: string) => probe.measure(alarm({ kind: 'disk', path: p, thresholdPercent: 80 }), never);
  t.same(await disk('/var/log/app'), { kind: 'measured', value: 70 });
  t.same(await disk('/var/lib/docker'), { kind: 'measured', value: 95 });
  t.same(await disk('/variable'), { kind: 'measured', value: 10 }, 'a mount prefix must end at a path separator');
});

t.test('systeminformation failing, hanging or answering nonsense is INSUFFICIENT_DATA', async t => {
  const results: Record<string, ProbeResult> = {};
  const system: SystemInfo = {
    cpuPercent: async () => { throw new Error('cannot read /proc/stat'); },
    memoryPercent: () => new Promise(() => {}),
    filesystems: async () => [],
  };
  const probe = probeWith(system);
  results.cpu = await probe.measure(alarm({ kind: 'cpu', thresholdPercent: 80, timeoutMs: 5000 }), never);
  results.memory = await probe.measure(alarm({ kind: 'memory', thresholdPercent: 80, timeoutMs: 100 }), never);
  results.disk = await probe.measure(alarm({ kind: 'disk', path: '/', thresholdPercent: 80 }), never);
  const nan = await probeWith({ ...system, cpuPercent: async () => NaN }).measure(alarm({ kind: 'cpu', thresholdPercent: 80 }), never);
  t.same(results, {
    cpu: { kind: 'failed', reason: 'cannot read /proc/stat' },
    memory: { kind: 'failed', reason: 'reading the memory use took longer than 100ms' },
    disk: { kind: 'failed', reason: 'no filesystem found for /' },
  });
  t.same(nan, { kind: 'failed', reason: 'the figure read is not a number (NaN)' });
  const ev = new AlarmEvaluator(alarm({ kind: 'cpu', thresholdPercent: 80 }), Date.now());
  t.match(ev.sample(results.cpu, Date.now()), { state: 'INSUFFICIENT_DATA', value: 0, reason: 'cannot sample: cannot read /proc/stat' });
});

t.test('an aborted probe answers at once', async t => {
  const server = http.createServer(() => {});
  t.teardown(() => server.closeAllConnections());
  const port = await listen(t, server);
  const probe = probeWith({ cpuPercent: () => new Promise(() => {}), memoryPercent: async () => 0, filesystems: async () => [] });
  const specs = [
    alarm({ kind: 'http', url: `http://127.0.0.1:${port}/`, timeoutMs: 60_000 }),
    alarm({ kind: 'cpu', thresholdPercent: 1, timeoutMs: 60_000 }),
    alarm({ kind: 'command', argv: ['sleep', '60'], timeoutMs: 60_000 }),
  ];
  for (const spec of specs) {
    const ac = new AbortController();
    const started = Date.now();
    const pending = probe.measure(spec, ac.signal);
    setTimeout(() => ac.abort(), 50);
    t.same(await pending, { kind: 'failed', reason: 'cancelled' }, spec.kind);
    t.ok(Date.now() - started < 2000, `${spec.kind}: within ${Date.now() - started} ms`);
  }
});
