import t from 'tap';
import { describeStep, installPlan, uninstallPlan, unitFile, layoutFor } from '../../ops/install/plan.js';
import { type InstallFacts, type InstallOptions, type Step } from '../../ops/install/types.js';
import { probeSystemd, runtimePackages } from '../../ops/install/facts.js';
import { REPO } from '../helpers/agent-cli.js';
import { executeInstall, executeUninstall } from '../../ops/install/command.js';
import { executeSteps } from '../../ops/install/execute.js';
import { redactToken } from '../../ops/install/trust.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/temp.js';

const facts = (over: Partial<InstallFacts> = {}): InstallFacts => ({
  systemd: true, nodePath: '/usr/bin/node', packageDir: '/src/ferry', packageEntries: ['bin', 'dist/agent', 'node_modules/yaml'],
  installed: false, configExists: false, unitExists: false, otherInstalled: false, ...over,
});
const agent = (over: Partial<InstallOptions> = {}): InstallOptions =>
  ({ service: 'ferry-agent', prefix: '/', agent: { coordinator: '10.0.0.5:7420', tags: { role: 'web' }, zone: 'eu-1a' }, ...over });
const lines = (steps: Step[]) => steps.map(describeStep);
const runs = (steps: Step[]) => steps.flatMap(s => (s.kind === 'run' ? [s.argv.join(' ')] : []));
const written = (steps: Step[], p: string) => steps.find((s): s is Extract<Step, { kind: 'write' }> => s.kind === 'write' && s.path === p);

t.test('a fresh agent install copies aside, swaps in, writes the config and unit, and starts it', async t => {
  const steps = installPlan(agent(), facts());
  t.same(lines(steps).slice(0, 7), [
    'mkdir   /opt (0755)',
    'copy    /src/ferry → /opt/.ferry.staged: bin, dist/agent and 1 runtime packages in node_modules',
    'mkdir   /opt/.ferry.staged/.services (0755)',
    'write   /opt/.ferry.staged/.services/ferry-agent (0644)',
    'swap    /opt/.ferry.staged → /opt/ferry (the previous copy is removed after the rename)',
    'mkdir   /etc/ferry (0755)',
    'write   /etc/ferry/agent.yaml (0600)',
  ]);
  t.equal(written(steps, '/etc/ferry/agent.yaml')!.content, [
    '# ferry-agent settings; every key, its default, flag and environment variable: docs/configuration.md',
    'coordinator: 10.0.0.5:7420', 'root-dir: /opt/ferry-agent/deployment-root', 'zone: eu-1a', 'tags:', '  role: web', '',
  ].join('\n'));
  t.same(runs(steps), ['systemctl daemon-reload', 'systemctl enable ferry-agent.service', 'systemctl start ferry-agent.service']);
  const unit = written(steps, '/etc/systemd/system/ferry-agent.service')!;
  t.equal(unit.mode, 0o644);
  t.match(unit.content, /^ExecStart=\/usr\/bin\/node \/opt\/ferry\/bin\/ferry-agent start --config \/etc\/ferry\/agent.yaml$/m);
  for (const line of ['Restart=always', 'LimitNOFILE=65536', 'After=network-online.target', 'Wants=network-online.target', 'User=root', 'WantedBy=multi-user.target', 'KillMode=process']) {
    t.match(unit.content, new RegExp(`^${line}$`, 'm'), line);
  }
  t.notMatch(unit.content, /ExecReload/, 'the agent has nothing to reload (SIGHUP would end it)');
  t.match(lines(steps).at(-1), /^note {4}enrollment: not enrolled, so the agent connects in plaintext/);
});

t.test('re-running install upgrades in place: the config is kept, the service restarted', async t => {
  const steps = installPlan(agent(), facts({ installed: true, configExists: true, unitExists: true }));
  t.notOk(written(steps, '/etc/ferry/agent.yaml'), 'the config file is not rewritten');
  t.ok(lines(steps).includes('note    kept /etc/ferry/agent.yaml as it is (install options are only written to a new file; edit it to change settings)'));
  t.ok(steps.some(s => s.kind === 'swap'));
  t.same(runs(steps), ['systemctl daemon-reload', 'systemctl enable ferry-agent.service', 'systemctl restart ferry-agent.service']);
  const both = installPlan(agent(), facts({ installed: true, configExists: true, otherInstalled: true }));
  t.ok(written(both, '/opt/.ferry.staged/.services/ferry-coordinator'), 'the other service\'s marker survives the swap');
  t.match(lines(both).join('\n'), /ferry-coordinator shares \/opt\/ferry: run `systemctl restart ferry-coordinator`/);
});

t.test('without systemd: no unit, no systemctl, and the command line for another supervisor', async t => {
  const steps = installPlan(agent({ prefix: '/tmp/p' }), facts({ systemd: false }));
  t.same(runs(steps), []);
  t.notOk(steps.some(s => s.kind === 'write' && s.path.endsWith('.service')));
  t.match(lines(steps).join('\n'), 'systemd: not in use (no /run/systemd/system, no systemctl on PATH, or --no-systemd), so nothing was started. Run this under your supervisor (restart always, open files ≥ 65536):\n    /usr/bin/node /tmp/p/opt/ferry/bin/ferry-agent start --config /tmp/p/etc/ferry/agent.yaml');
  t.match(written(steps, '/tmp/p/etc/ferry/agent.yaml')!.content, 'root-dir: /tmp/p/opt/ferry-agent/deployment-root', 'the default root dir is under the prefix');
  const image = installPlan(agent({ prefix: '/mnt/image' }), facts({ systemd: true }));
  t.same(runs(image), [], 'a prefix install on a systemd machine writes the unit but does not start anything');
  t.ok(written(image, '/mnt/image/etc/systemd/system/ferry-agent.service'));
});

t.test('the coordinator: its own config and a larger open-file limit', async t => {
  const steps = installPlan({ service: 'ferry-coordinator', prefix: '/', coordinator: { listen: '0.0.0.0:7420' } }, facts());
  t.equal(written(steps, '/etc/ferry/coordinator.yaml')!.content.split('\n').slice(1).join('\n'), 'data: /var/lib/ferry\nlisten: 0.0.0.0:7420\n');
  const unit = unitFile('ferry-coordinator', facts(), layoutFor('ferry-coordinator', '/'));
  t.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/ferry\/bin\/ferry-coordinator --config \/etc\/ferry\/coordinator.yaml$/m);
  t.match(unit, /^LimitNOFILE=1048576$/m);
  t.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m, 'systemctl reload serves a renewed server certificate');
  t.notMatch(lines(steps).join('\n'), /enrollment/);
});

t.test('uninstall stops and removes the service and /opt/ferry, keeping config and data unless --purge', async t => {
  const f = facts({ installed: true, configExists: true, unitExists: true, configuredDataDir: '/srv/deploy' });
  t.same(lines(uninstallPlan({ service: 'ferry-agent', prefix: '/', purge: false }, f)), [
    'run     systemctl disable --now ferry-agent.service (failure ignored)',
    'remove  /etc/systemd/system/ferry-agent.service',
    'run     systemctl daemon-reload',
    'remove  /opt/ferry',
    'note    kept /etc/ferry/agent.yaml and the deployment root /srv/deploy (--purge removes them)',
  ]);
  t.same(lines(uninstallPlan({ service: 'ferry-agent', prefix: '/', purge: true }, f)).slice(3), [
    'remove  /opt/ferry',
    'remove  /etc/ferry/agent.yaml',
    'rmdir   /etc/ferry (when empty)',
    'remove  /srv/deploy',
  ]);
  const shared = lines(uninstallPlan({ service: 'ferry-agent', prefix: '/', purge: false }, { ...f, otherInstalled: true }));
  t.ok(shared.includes('remove  /opt/ferry/.services/ferry-agent'));
  t.ok(shared.includes('note    kept /opt/ferry: ferry-coordinator is installed too and runs from it'));
  t.notOk(shared.includes('remove  /opt/ferry'));
  const coord = lines(uninstallPlan({ service: 'ferry-coordinator', prefix: '/x', purge: true }, facts({ systemd: false, installed: true, configExists: true })));
  t.same(coord, ['remove  /x/opt/ferry', 'remove  /x/etc/ferry/coordinator.yaml', 'rmdir   /x/etc/ferry (when empty)', 'remove  /x/var/lib/ferry']);
});

t.test('the systemd probe needs both /run/systemd/system and systemctl on PATH', async t => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, 'run'));
  await fs.mkdir(path.join(dir, 'bin'));
  t.notOk(probeSystemd(path.join(dir, 'bin'), path.join(dir, 'run')), 'no systemctl');
  await fs.writeFile(path.join(dir, 'bin', 'systemctl'), '#!/bin/sh\n', { mode: 0o755 });
  t.ok(probeSystemd(`/nonexistent:${path.join(dir, 'bin')}`, path.join(dir, 'run')));
  t.notOk(probeSystemd(path.join(dir, 'bin'), path.join(dir, 'missing')), 'no /run/systemd/system');
});

t.test('the runtime dependency closure holds the dependencies and none of the dev tools', async t => {
  const pkgs = runtimePackages(REPO);
  for (const p of ['node_modules/better-sqlite3', 'node_modules/@grpc/grpc-js', 'node_modules/yaml', 'node_modules/bindings']) t.ok(pkgs.includes(p), p);
  for (const p of ['node_modules/tap', 'node_modules/typescript', 'node_modules/@types/better-sqlite3']) t.notOk(pkgs.includes(p), p);
});

t.test('install and uninstall refuse to run without root unless --dry-run or --prefix', async t => {
  const host = { uid: 1000, pathEnv: '', nodePath: '/usr/bin/node', write: () => {} };
  await t.rejects(executeInstall('ferry-agent', { prefix: '/', coordinator: 'c:1' }, host, '/'), {
    code: 'INVALID_ARGUMENT',
    message: 'install: must run as root to write /opt/ferry, /etc/ferry and the systemd unit (or give --dry-run, or --prefix DIR)',
  });
  await t.rejects(executeUninstall('ferry-coordinator', { prefix: '/' }, host, '/'), { code: 'INVALID_ARGUMENT', message: /^uninstall: must run as root/ });
  const out: string[] = [];
  const code = await executeInstall('ferry-agent', { prefix: '/', coordinator: '10.0.0.5:7420', dryRun: true, systemd: false }, { ...host, write: s => void out.push(s) }, '/');
  t.equal(code, 0);
  t.match(out.join(''), 'ferry-agent install --dry-run: nothing is changed');
});

t.test('the executor runs commands through the runner, stops at the first failure naming the step, honours ignoreFailure', async t => {
  const ran: string[] = [];
  const runner = (argv: readonly string[]) => {
    ran.push(argv.join(' '));
    return argv[1] === 'start' ? { code: 1, output: 'Unit not found' } : { code: 0, output: '' };
  };
  const said: string[] = [];
  await executeSteps([
    { kind: 'run', argv: ['systemctl', 'disable', '--now', 'x.service'], ignoreFailure: true },
    { kind: 'run', argv: ['systemctl', 'daemon-reload'] },
  ], l => void said.push(l), { run: argv => (argv[1] === 'disable' ? { code: 5, output: 'no such unit' } : runner(argv)) });
  t.same(said, ['run     systemctl disable --now x.service (failure ignored)', 'run     systemctl daemon-reload']);
  await t.rejects(executeSteps([
    { kind: 'run', argv: ['systemctl', 'start', 'ferry-agent.service'] },
    { kind: 'run', argv: ['systemctl', 'never'] },
  ], () => {}, { run: runner }), { code: 'INSTALL_FAILED', message: 'run     systemctl start ferry-agent.service: exit 1: Unit not found' });
  t.notOk(ran.includes('systemctl never'), 'nothing runs after a failed step');
});

t.test('uninstall where nothing is installed says so and removes nothing', async t => {
  const steps = uninstallPlan({ service: 'ferry-agent', prefix: '/p', purge: false }, facts({ systemd: false }));
  t.same(lines(steps), [
    'note    ferry-agent is not installed under /p (no /p/opt/ferry, no /p/etc/systemd/system/ferry-agent.service)',
    'note    kept the deployment root /p/opt/ferry-agent/deployment-root (--purge removes it)',
  ]);
});

t.test('the coordinator as a dedicated user: created when missing, owns its data, reads its config', async t => {
  const opts: InstallOptions = { service: 'ferry-coordinator', prefix: '/', coordinator: { user: 'ferry', data: '/srv/ferry' } };
  const steps = installPlan(opts, facts({ userExists: false }));
  t.same(runs(steps).slice(0, 4), [
    'useradd --system --user-group --no-create-home --home-dir /srv/ferry --shell /usr/sbin/nologin ferry',
    'chown -R ferry:ferry /srv/ferry',
    'chown root:ferry /etc/ferry/coordinator.yaml',
    'chmod 0640 /etc/ferry/coordinator.yaml',
  ]);
  t.match(written(steps, '/etc/systemd/system/ferry-coordinator.service')!.content, /^User=ferry$/m);
  t.notOk(runs(installPlan(opts, facts({ userExists: true }))).some(r => r.startsWith('useradd')), 'an existing user is used as it is');
  const image = lines(installPlan({ ...opts, prefix: '/img' }, facts({ systemd: false })));
  t.notOk(image.some(l => l.includes('useradd')), 'a prefix install creates no user on this machine');
  t.ok(image.some(l => l.startsWith('note    --user ferry: on the target, create the user')));
  t.ok(image.some(l => l.includes('Run this under your supervisor as user ferry')));
});

t.test('enrollment: with a join token it comes first; an enrolled host skips it unless --reenroll; a certificate for another id does not count', async t => {
  const enroll = { caFingerprint: 'AB:CD', token: 'fy.abc.***', reenroll: false };
  const withToken = (over: Partial<InstallOptions['agent']> = {}) => agent({ agent: { coordinator: '10.0.0.5:7420', tags: {}, enroll, ...over } });
  const fresh = installPlan(withToken({ hostId: 'web-1' }), facts());
  t.same(fresh[0], { kind: 'enroll', coordinator: '10.0.0.5:7420', caFingerprint: 'AB:CD', rootDir: '/opt/ferry-agent/deployment-root', hostId: 'web-1', token: 'fy.abc.***' });
  t.equal(fresh.filter(s => s.kind === 'enroll').length, 1);
  t.notOk(lines(fresh).some(l => l.includes('enrollment:')), 'no enrollment note when it enrolls');

  const enrolled = facts({ installed: true, configExists: true, configuredCoordinator: '10.0.0.9:7420', keptHostId: 'h-1', enrolledHostId: 'h-1', configuredDataDir: '/srv/root' });
  const skip = installPlan(withToken(), enrolled);
  t.notOk(skip.some(s => s.kind === 'enroll'));
  t.equal(lines(skip)[0], 'note    enrollment: host h-1 is enrolled already (/srv/root/tls/agent.crt), so the join token is not used; --reenroll makes a new key and certificate');
  const again = installPlan(withToken({ enroll: { ...enroll, reenroll: true } }), enrolled);
  t.match(again[0], { kind: 'enroll', coordinator: '10.0.0.9:7420', rootDir: '/srv/root', hostId: 'h-1' }, 'the configured coordinator and root dir, which the service uses');
  t.equal(lines(installPlan(agent(), enrolled)).at(-1), 'note    enrollment: host h-1 is enrolled (/srv/root/tls/agent.crt): the agent connects with mutual TLS');

  const otherId = facts({ installed: true, configExists: true, configuredHostId: 'web-2', enrolledHostId: 'web-1', configuredDataDir: '/srv/root' });
  t.match(installPlan(withToken(), otherId)[0], { kind: 'enroll', hostId: 'web-2' });
  t.match(lines(installPlan(agent(), otherId)).at(-1), /^note {4}enrollment: not enrolled \(\/srv\/root\/tls\/agent.crt is for host web-1, not this one\)/);
});

t.test('the coordinator: init first for a new data dir, a note with the fingerprint for an initialised one', async t => {
  const steps = installPlan({ service: 'ferry-coordinator', prefix: '/', coordinator: { data: '/srv/ferry', sans: ['10.0.0.5'] } }, facts());
  t.same(steps[0], { kind: 'init', data: '/srv/ferry', sans: ['10.0.0.5'] });
  t.equal(describeStep(steps[0]!), "init    /srv/ferry: CA and server certificate in /srv/ferry/tls/ (names localhost, 127.0.0.1, ::1, this host's name, 10.0.0.5), first admin token in /srv/ferry/admin.token (0600)");
  const kept = installPlan({ service: 'ferry-coordinator', prefix: '/', coordinator: { sans: ['x.internal'] } }, facts({ configExists: true, configuredDataDir: '/d', caFingerprint: 'AA:BB' }));
  t.notOk(kept.some(s => s.kind === 'init'));
  t.equal(lines(kept)[0], 'note    trust: /d is initialised already (CA fingerprint SHA256 AA:BB; the first admin token was written to /d/admin.token); kept as it is (--san is ignored: the server certificate exists already)');
  const withUser = installPlan({ service: 'ferry-coordinator', prefix: '/', coordinator: { user: 'ferry', data: '/srv/ferry' } }, facts({ userExists: true }));
  t.ok(withUser.findIndex(s => s.kind === 'init') < withUser.findIndex(s => s.kind === 'run' && s.argv[0] === 'chown'), 'the data dir is chowned after init made it');
});

t.test('a join token is shown as fy.<id>.*** and nothing of the secret', async t => {
  t.equal(redactToken(`fy.abcdef123456.${'s'.repeat(43)}`), 'fy.abcdef123456.***');
  t.equal(redactToken('garbage-secret'), '***');
});
