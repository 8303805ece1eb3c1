import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { runBin } from '../helpers/agent-cli.js';
import { FakeCoordinator } from '../helpers/fake-coordinator.js';
import { tempDir } from '../helpers/temp.js';

const mode = async (p: string) => ((await fs.stat(p)).mode & 0o777).toString(8);

/** Runs a program from the installed copy (not the checkout) until it prints `until`, then stops it. */
function runInstalled(t: Test, bin: string, args: string[], until: RegExp): Promise<string> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  const exited = new Promise(resolve => child.on('exit', resolve));
  t.teardown(() => {
    child.kill('SIGKILL');
    return exited;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${until} in:\n${out}`)), 30_000);
    const seen = (b: Buffer) => {
      out += b.toString();
      if (until.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', code => reject(new Error(`${bin} exited ${code} before ${until}:\n${out}`)));
  });
}

t.test('install --dry-run prints the steps and the files, and changes nothing', async t => {
  const prefix = await tempDir(t);
  const r = await runBin('ferry-agent', ['install', '--dry-run', '--prefix', prefix, '--coordinator', '10.0.0.5:7420', '--tag', 'role=web', '--no-systemd']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, 'ferry-agent install --dry-run: nothing is changed; these are the steps:\n');
  t.match(r.stdout, `  copy    `);
  t.match(r.stdout, ` → ${prefix}/opt/.ferry.staged: bin, dist/agent, dist/cli, dist/common, dist/coordinator, dist/ops, dist/proto, proto/ferry, package.json and `);
  t.match(r.stdout, `  swap    ${prefix}/opt/.ferry.staged → ${prefix}/opt/ferry`);
  t.match(r.stdout, `  write   ${prefix}/etc/ferry/agent.yaml (0600)\n        | # ferry-agent settings`);
  t.match(r.stdout, '        | coordinator: 10.0.0.5:7420\n');
  t.match(r.stdout, `${process.execPath} ${prefix}/opt/ferry/bin/ferry-agent start --config ${prefix}/etc/ferry/agent.yaml`);
  t.same(await fs.readdir(prefix), [], 'nothing was written');
  const json = await runBin('ferry-agent', ['install', '--dry-run', '--json', '--prefix', prefix, '--coordinator', '10.0.0.5:7420', '--no-systemd']);
  t.match(json.json, { service: 'ferry-agent', action: 'install', dryRun: true, systemd: 'absent', upgrade: false });
  t.ok(json.json.steps.some((s: any) => s.kind === 'write' && s.path === `${prefix}/etc/ferry/agent.yaml`));
});

t.test('install refuses bad input, naming the flag', async t => {
  const prefix = await tempDir(t);
  const none = await runBin('ferry-agent', ['install', '--prefix', prefix, '--no-systemd']);
  t.equal(none.code, 2);
  t.equal(none.stderr, `ferry-agent: --coordinator: required for a new install (no ${prefix}/etc/ferry/agent.yaml yet)\n`);
  const bad = await runBin('ferry-agent', ['install', '--dry-run', '--coordinator', 'nohost']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, "--coordinator: 'nohost' is not HOST:PORT");
  const tag = await runBin('ferry-coordinator', ['install', '--dry-run', '--listen', 'everywhere']);
  t.equal(tag.code, 2);
  t.match(tag.stderr, "--listen: 'everywhere' is not HOST:PORT");
  const user = await runBin('ferry-coordinator', ['install', '--dry-run', '--user', 'Bad User']);
  t.equal(user.code, 2);
  t.equal(user.stderr, "ferry-coordinator: --user: 'Bad User' is not a system user name (lower-case letters, digits, '_', '-'; at most 32)\n");
});

t.test('a real install without systemd, an upgrade that keeps the config, the installed copy runs, uninstall', async t => {
  const prefix = await tempDir(t);
  const fake = await FakeCoordinator.start();
  t.teardown(() => fake.stop());
  const first = await runBin('ferry-agent', ['install', '--prefix', prefix, '--no-systemd', '--coordinator', fake.address, '--zone', 'eu-1a'], { timeoutMs: 120_000 });
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, `Run this under your supervisor (restart always, open files ≥ 65536):\n      ${process.execPath} ${prefix}/opt/ferry/bin/ferry-agent start --config ${prefix}/etc/ferry/agent.yaml\n`);
  t.match(first.stdout, `note    enrollment: not enrolled, so the agent connects in plaintext, which only a coordinator run with --insecure accepts.`);
  t.equal(await mode(`${prefix}/etc/ferry/agent.yaml`), '600');
  t.equal(await mode(`${prefix}/opt/ferry/bin/ferry-agent`), '755');
  t.notOk(existsSync(`${prefix}/etc/systemd`), 'no unit without systemd');
  t.notOk(existsSync(`${prefix}/opt/ferry/dist/test`), 'no tests in the installed copy');
  t.notOk(existsSync(`${prefix}/opt/ferry/node_modules/tap`), 'no dev dependencies');
  t.match(await fs.readFile(`${prefix}/etc/ferry/agent.yaml`, 'utf8'), `coordinator: ${fake.address}\nroot-dir: ${prefix}/opt/ferry-agent/deployment-root\nzone: eu-1a\n`);

  const version = await runInstalled(t, `${prefix}/opt/ferry/bin/ferry-agent`, ['--version'], /\d+\.\d+\.\d+/);
  t.match(version, /^0\.\d+\.\d+/);
  await runInstalled(t, `${prefix}/opt/ferry/bin/ferry-agent`, ['start', '--config', `${prefix}/etc/ferry/agent.yaml`], /./);
  const reg = await fake.waitFor('Register from the installed agent', () => fake.of('register')[0]);
  t.equal(reg.zone, 'eu-1a', 'the installed agent runs with the written config');

  const marker = `${prefix}/opt/ferry/package.json`;
  await fs.appendFile(marker, '\n');
  const second = await runBin('ferry-agent', ['install', '--prefix', prefix, '--no-systemd', '--coordinator', '10.9.9.9:1'], { timeoutMs: 120_000 });
  t.equal(second.code, 0, second.stderr);
  t.match(second.stdout, `note    kept ${prefix}/etc/ferry/agent.yaml as it is`);
  t.match(await fs.readFile(`${prefix}/etc/ferry/agent.yaml`, 'utf8'), `coordinator: ${fake.address}`, 'the config file is untouched');
  t.notMatch(await fs.readFile(marker, 'utf8'), /\n\n$/, 'the code was replaced');
  t.notOk(existsSync(`${prefix}/opt/.ferry.staged`) || existsSync(`${prefix}/opt/.ferry.old`), 'no leftovers of the swap');

  // The coordinator from the same /opt/ferry: agent uninstall keeps the shared copy.
  const coord = await runBin('ferry-coordinator', ['install', '--prefix', prefix, '--no-systemd', '--listen', '127.0.0.1:0'], { timeoutMs: 120_000 });
  t.equal(coord.code, 0, coord.stderr);
  t.match(coord.stdout, `${process.execPath} ${prefix}/opt/ferry/bin/ferry-coordinator --config ${prefix}/etc/ferry/coordinator.yaml`);
  t.match(coord.stdout, `  init    ${prefix}/var/lib/ferry: CA and server certificate in ${prefix}/var/lib/ferry/tls/`, 'a new data dir is initialised');
  t.match(coord.stdout, /\n {10}CA fingerprint SHA256 ([0-9A-F]{2}:){31}[0-9A-F]{2} \(agents pin it/);
  t.match(coord.stdout, `          admin token in ${prefix}/var/lib/ferry/admin.token (0600; token id `);
  t.notOk(coord.stdout.includes((await fs.readFile(`${prefix}/var/lib/ferry/admin.token`, 'utf8')).trim()), 'never the admin token itself');
  const listening = await runInstalled(t, `${prefix}/opt/ferry/bin/ferry-coordinator`, ['--config', `${prefix}/etc/ferry/coordinator.yaml`], /listening on/);
  t.match(listening, /ferry-coordinator listening on 127\.0\.0\.1:\d+/);
  t.ok(existsSync(`${prefix}/var/lib/ferry/ferry.db`), 'the installed coordinator opened its store (better-sqlite3 works from the copy)');

  const un = await runBin('ferry-agent', ['uninstall', '--prefix', prefix, '--no-systemd']);
  t.equal(un.code, 0, un.stderr);
  t.match(un.stdout, `kept ${prefix}/opt/ferry: ferry-coordinator is installed too`);
  t.match(un.stdout, `kept ${prefix}/etc/ferry/agent.yaml and the deployment root ${prefix}/opt/ferry-agent/deployment-root (--purge removes them)`);
  t.ok(existsSync(`${prefix}/opt/ferry/bin/ferry-coordinator`));
  t.notOk(existsSync(`${prefix}/opt/ferry/.services/ferry-agent`));

  const purge = await runBin('ferry-coordinator', ['uninstall', '--prefix', prefix, '--no-systemd', '--purge']);
  t.equal(purge.code, 0, purge.stderr);
  t.notOk(existsSync(`${prefix}/opt/ferry`), '/opt/ferry removed with the last service');
  t.notOk(existsSync(`${prefix}/var/lib/ferry`), 'the data dir purged');
  t.ok(existsSync(`${prefix}/etc/ferry/agent.yaml`), 'the agent\'s config is not the coordinator\'s to purge');
  t.same(await fs.readdir(path.join(prefix, 'etc', 'ferry')), ['agent.yaml']);
});

t.test('start reads the file FERRY_AGENT_CONFIG / FERRY_COORDINATOR_CONFIG names, and lists every problem of it (exit 2)', async t => {
  const dir = await tempDir(t);
  const agentFile = path.join(dir, 'agent.yaml');
  await fs.writeFile(agentFile, 'coordinator: 127.0.0.1:1\nzonee: a\nkill-grace: forever\n');
  const a = await runBin('ferry-agent', ['start'], { env: { FERRY_AGENT_CONFIG: agentFile } });
  t.equal(a.code, 2);
  t.equal(a.stderr, [
    `ferry-agent: --config: ${agentFile}: 2 problems:`,
    `  ${agentFile}:2: unknown key 'zonee' (did you mean 'zone'?); known: coordinator, root-dir, host-id, tags, zone, log-level, heartbeat-interval, max-revisions, max-bundle-size, kill-grace, output-grace, max-download-rate, metrics-listen, renew-before`,
    `  ${agentFile}:3: kill-grace: 'forever' is not a duration (e.g. 5, 500ms, 2m, 30d)`,
    '',
  ].join('\n'));
  const coordFile = path.join(dir, 'coordinator.yaml');
  await fs.writeFile(coordFile, `data: ${dir}/data\nlisten: nowhere\n`);
  const c = await runBin('ferry-coordinator', [], { env: { FERRY_COORDINATOR_CONFIG: coordFile } });
  t.equal(c.code, 2);
  t.equal(c.stderr, `ferry-coordinator: --config: ${coordFile}: 1 problem:\n  ${coordFile}:2: listen: 'nowhere' is not HOST:PORT (e.g. 127.0.0.1:7420)\n`);
});
