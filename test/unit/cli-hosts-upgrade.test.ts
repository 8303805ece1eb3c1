import t from 'tap';
import { type FakeControl, hostInfo, runFerry, startFakeControl } from '../helpers/fake-control.js';

/** `ferry hosts upgrade` and the out-of-date marks of the real `bin/ferry` against the fake ControlService. */

const ferry = (fake: FakeControl, ...args: string[]) => runFerry(['--coordinator', fake.address, ...args]);

t.test('hosts upgrade: usage errors name the flag, nothing is sent', async t => {
  const fake = await startFakeControl(t);
  for (const [args, message] of [
    [[], /give one of --all, --group G or --host H/],
    [['--all', '--host', 'web-1'], /give only one of --all, --group, --host \(got --all, --host\)/],
    [['--all', '--app', 'shop'], /--app: only with --group/],
    [['--all', '--batch', '0'], /--batch/],
    [['--all', '--timeout', '5s'], /--timeout: 5s is under 10s/],
    [['--all', '--timeout', 'soon'], /--timeout/],
    [['--host', ''], /--host/],
  ] as const) {
    const r = await ferry(fake, 'hosts', 'upgrade', ...args);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, message, `${args.join(' ')}: ${r.stderr.trim()}`);
  }
  t.same(fake.requests('UpgradeHosts'), []);
});

t.test('hosts upgrade sends the selection and prints each host; a failed rollout exits 1', async t => {
  const fake = await startFakeControl(t);
  fake.upgrade = {
    status: 'Failed',
    hosts: [
      { hostId: 'h-1', hostname: 'web-1', fromVersion: '0.1.0', toVersion: '0.2.0', status: 'Failed', message: 'the new agent did not register in time and was rolled back', batch: 1 },
      { hostId: 'h-2', hostname: 'web-2', fromVersion: '0.1.0', toVersion: '0.2.0', status: 'NotAttempted', message: 'an earlier failure stopped the rollout', batch: 2 },
    ],
  };
  const r = await ferry(fake, 'hosts', 'upgrade', '--group', 'web', '--app', 'shop', '--batch', '5', '--timeout', '2m');
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /HOST\s+HOSTNAME\s+BATCH\s+FROM\s+TO\s+STATUS\s+MESSAGE\n/);
  t.match(r.stdout, /h-1\s+web-1\s+1\s+0\.1\.0\s+0\.2\.0\s+Failed\s+the new agent did not register/);
  t.match(r.stdout, /h-2\s+web-2\s+2\s+.*NotAttempted/);
  t.match(r.stdout, /agent upgrade failed: the hosts after the failure were not touched/);
  t.match(fake.requests('UpgradeHosts'), [{ all: false, group: 'web', application: 'shop', host: '', batch: 5, timeoutMs: 120_000 }]);
  fake.upgrade = { status: 'Succeeded', hosts: [{ hostId: 'h-1', hostname: 'web-1', fromVersion: '0.1.0', toVersion: '0.2.0', status: 'Upgraded', message: 'reconnected running 0.2.0', batch: 1 }] };
  const json = await ferry(fake, 'hosts', 'upgrade', '--host', 'web-1', '--json');
  t.equal(json.code, 0, json.stderr);
  t.match(json.json, { status: 'Succeeded', hosts: [{ status: 'Upgraded' }] });
  t.match(fake.requests('UpgradeHosts')[1], { host: 'web-1', batch: 1, timeoutMs: 300_000 });
});

t.test('hosts list and show mark an agent older than the one the coordinator serves', async t => {
  const fake = await startFakeControl(t);
  fake.hosts = [
    hostInfo({ id: 'h-1', hostname: 'web-1', agentVersion: '0.1.0', latestAgentVersion: '0.2.0', agentOutOfDate: true }),
    hostInfo({ id: 'h-2', hostname: 'web-2', agentVersion: '0.2.0', latestAgentVersion: '0.2.0', agentOutOfDate: false }),
  ];
  const list = await ferry(fake, 'hosts', 'list');
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /h-1\s+web-1\s+.*0\.1\.0 \(out of date: 0\.2\.0\)/);
  t.notMatch(list.stdout, /h-2.*out of date/);
  const show = await ferry(fake, 'hosts', 'show', 'h-1');
  t.match(show.stdout, /Agent:\s+0\.1\.0 \(out of date: 0\.2\.0\)/);
});
