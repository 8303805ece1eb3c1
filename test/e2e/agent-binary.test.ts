import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FERRY_VERSION } from '../../common/version.js';
import { buildDeb } from '../../ops/agent-binary/deb.js';
import { type Packages } from '../../ops/agent-binary/packages.js';
import { buildRpm } from '../../ops/agent-binary/rpm.js';
import { NO_NODE_ENV, agentBinary, agentPackages } from '../helpers/agent-binary.js';
import { overlayRoot } from '../helpers/overlay-root.js';
import { writeBundle, pack } from '../helpers/bundle.js';
import { ferry, startAgent, startCoordinator, waitFor, waitForHosts } from '../helpers/fleet.js';
import { asCaller, readTrust } from '../helpers/trust.js';
import { isRoot, tempDir } from '../helpers/temp.js';

/**
 * The agent binary (`npm run build:agent`: esbuild bundle in a Node single executable) is built once
 * for this file (cached under dist/agent-binary by a hash of its inputs) and run with no Node.js
 * reachable: PATH=/nonexistent, NODE_OPTIONS empty, nothing else inherited.
 */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file` with exactly `env` (nothing inherited from the test, whose NODE_OPTIONS load tap). */
function runExact(file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', code => resolve({ code, stdout, stderr }));
  });
}

/** A hook that only bash built-ins run (there is no PATH), and proves node is not reachable from it. */
const HOOK = (proof: string) => [
  '#!/bin/bash',
  `echo "$LIFECYCLE_EVENT $APPLICATION_NAME" >> ${proof}`,
  'if command -v node >/dev/null; then echo "node is reachable: $(command -v node)" >&2; exit 9; fi',
  '',
].join('\n');

async function hookBundle(dir: string, proof: string): Promise<string> {
  return writeBundle(dir, {
    appspec: { version: 0.0, os: 'linux', hooks: { BeforeInstall: [{ location: 'hooks/run.sh' }], ValidateService: [{ location: 'hooks/run.sh' }] } },
    files: { 'hooks/run.sh': { content: HOOK(proof), mode: 0o755 } },
  });
}

t.test('the agent binary runs with no Node.js: --version, and `local` with a bash hook', async t => {
  const bin = await agentBinary();
  const dir = await tempDir(t, 'ferry-agent-binary-');
  const version = await runExact(bin.file, ['--version'], NO_NODE_ENV, dir);
  t.same(version, { code: 0, stdout: `${FERRY_VERSION}\n`, stderr: '' }, '--version prints the bundled version');
  const proof = path.join(dir, 'proof');
  const bundle = await hookBundle(path.join(dir, 'bundle'), proof);
  const r = await runExact(bin.file, ['local', '--bundle-location', bundle, '--root-dir', path.join(dir, 'root'), '--application-name', 'nonode', '--json'], NO_NODE_ENV, dir);
  t.equal(r.code, 0, r.code === 0 ? 'local exits 0' : `local: ${r.stderr.slice(-600)}`);
  t.equal(JSON.parse(r.stdout).status, 'Succeeded');
  t.same((await fs.readFile(proof, 'utf8')).trim().split('\n'), ['BeforeInstall nonode', 'ValidateService nonode'], 'the hooks ran, with no node on their PATH');
});

t.test('an agent binary with no Node.js connects to a real coordinator and completes a deployment', async t => {
  const bin = await agentBinary();
  const dir = await tempDir(t, 'ferry-agent-binary-');
  const coordinator = await startCoordinator(t, path.join(dir, 'data'));
  const agent = await startAgent(t, {
    coordinator: coordinator.address, rootDir: path.join(dir, 'root'), hostId: 'bin-1', tags: { role: 'web' },
    program: bin.file, env: NO_NODE_ENV,
  });
  await waitForHosts(coordinator.address, ['bin-1']).catch(err => {
    throw new Error(`${String(err)}\nagent output:\n${agent.output()}`);
  });
  const hosts = await ferry(coordinator.address, ['hosts', 'list', '--json']);
  t.equal(hosts.json.hosts[0].agentVersion, FERRY_VERSION, 'the agent registers with its bundled version');
  const proof = path.join(dir, 'proof');
  const archive = pack(await hookBundle(path.join(dir, 'bundle'), proof), path.join(dir, 'bundle.tgz'), 'tgz');
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web']]) {
    const r = await ferry(coordinator.address, args);
    t.equal(r.code, 0, `ferry ${args.join(' ')} ${r.stderr}`);
  }
  const push = await ferry(coordinator.address, ['revision', 'push', archive, '--app', 'shop', '--json']);
  t.equal(push.code, 0, push.stderr);
  const d = await ferry(coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', push.json.revision.digest, '--wait', '--json'], { timeoutMs: 60_000 });
  t.equal(d.code, 0, d.code === 0 ? 'deploy create --wait exits 0' : `deploy create --wait: ${d.stderr.slice(-600)}\nagent:\n${agent.output().slice(-1500)}`);
  t.equal(d.json.deployment.status, 'Succeeded');
  t.same((await fs.readFile(proof, 'utf8')).trim().split('\n'), ['BeforeInstall shop', 'ValidateService shop'], 'the hooks ran on the binary agent');
});

/** What the package left, read inside the throwaway root: one `key=value` line each. */
const INSPECT = [
  'echo "version=$(/usr/bin/ferry-agent --version 2>/dev/null || echo none)"',
  'echo "config=$(stat -c %a /etc/ferry/agent.yaml 2>/dev/null || echo none)"',
  'echo "coordinator=$(sed -n "s/^coordinator: //p" /etc/ferry/agent.yaml 2>/dev/null)"',
  'echo "rpmsave=$(test -e /etc/ferry/agent.yaml.rpmsave && echo yes || echo no)"',
  'echo "user=$(getent passwd ferry | cut -d: -f7)"',
  'echo "root=$(test -d /opt/ferry-agent/deployment-root && echo yes || echo no)"',
  'echo "exec=$(grep -h ^ExecStart= /lib/systemd/system/ferry-agent.service /usr/lib/systemd/system/ferry-agent.service 2>/dev/null | head -n 1)"',
].join('\n');

function parseInspect(out: string): Record<string, string> {
  return Object.fromEntries(out.split('\n').filter(l => /^\w+=/.test(l)).map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The fake enrollment the scripts look for (ROOT/tls/agent.{crt,key}), and an admin's edit of the conffile. */
const ENROLL_AND_EDIT = 'mkdir -p /opt/ferry-agent/deployment-root/tls && echo cert > /opt/ferry-agent/deployment-root/tls/agent.crt && echo key > /opt/ferry-agent/deployment-root/tls/agent.key\necho "coordinator: ferry.internal:7420" >> /etc/ferry/agent.yaml';

const formats = [
  { name: '.deb (dpkg)', pkg: (p: Packages) => p.deb, build: buildDeb, install: 'dpkg -i', upgrade: 'dpkg -i', remove: 'dpkg -r ferry-agent', purge: 'dpkg --purge ferry-agent', query: "dpkg-query -W -f '${Version}' ferry-agent" },
  { name: '.rpm (rpm)', pkg: (p: Packages) => p.rpm, build: buildRpm, install: 'rpm -i --nodeps', upgrade: 'rpm -U --nodeps', remove: 'rpm -e --nodeps ferry-agent', purge: undefined, query: "rpm -q --qf '%{VERSION}' ferry-agent" },
];

for (const f of formats) {
  t.test(`the ${f.name} package installs, upgrades keeping the config, and removes, in a throwaway root (root)`, { skip: !isRoot && 'needs root (unshare, mount, chroot)' }, async t => {
    const bin = await agentBinary();
    const dir = await tempDir(t, 'ferry-agent-package-');
    const packages = await agentPackages(bin);
    const v1 = f.pkg(packages);
    if (v1 === undefined) {
      t.fail(`no ${f.name}: ${packages.rpmMissing}`);
      return;
    }
    const v2 = await f.build({ binary: bin.file, version: `${bin.version}+t2`, arch: bin.arch, outDir: dir });
    const root = overlayRoot(path.join(dir, 'root'));
    const step = async (what: string, script: string) => {
      const r = await root.run(`${script}\n${INSPECT}`);
      t.equal(r.code, 0, r.code === 0 ? what : `${what}:\n${r.out}`);
      return { out: r.out, state: parseInspect(r.out) };
    };

    const installed = await step('install', `${f.install} ${v1}`);
    t.match(installed.out, /not started: this host is not enrolled yet/, 'postinst does not start an unenrolled host, and says how to enroll');
    t.match(installed.state, {
      version: bin.version, config: '600', user: '/usr/sbin/nologin', root: 'yes',
      exec: 'ExecStart=/usr/bin/ferry-agent start --config /etc/ferry/agent.yaml',
    }, 'binary, unit, config, the ferry system user and the deployment root are in place');

    const upgraded = await step('upgrade', `${ENROLL_AND_EDIT}\n${f.upgrade} ${v2}\necho "pkgversion=$(${f.query})"`);
    t.equal(upgraded.state.pkgversion, `${bin.version}+t2`, 'the new version is installed');
    t.equal(upgraded.state.coordinator, 'ferry.internal:7420', 'the edited config is kept on upgrade');
    t.match(upgraded.out, /systemd is not running here: start \/usr\/bin\/ferry-agent start --config \/etc\/ferry\/agent.yaml/, 'an enrolled host is started (here: told how, as there is no systemd)');

    const removed = await step('remove', f.remove);
    t.match(removed.state, { version: 'none', root: 'yes', user: '/usr/sbin/nologin' }, 'remove takes the binary, keeps the deployment root and the user');
    if (f.purge) {
      t.equal(removed.state.coordinator, 'ferry.internal:7420', 'dpkg -r keeps the conffile');
      const purged = await step('purge', f.purge);
      t.match(purged.state, { config: 'none', root: 'no' }, 'purge takes the config and the deployment root');
    } else {
      t.equal(removed.state.rpmsave, 'yes', 'rpm -e keeps the edited config as agent.yaml.rpmsave');
    }
  });
}

t.test('the one-line install from the coordinator enrolls a fresh root, whose agent then connects with mutual TLS (root)', { skip: !isRoot && 'needs root (unshare, mount, chroot)' }, async t => {
  const bin = await agentBinary();
  const packages = await agentPackages(bin);
  const dir = await tempDir(t, 'ferry-agent-oneline-');
  const data = path.join(dir, 'data');
  const coordinator = await startCoordinator(t, data, [], '127.0.0.1:0', { tls: true });
  const trust = await readTrust(data);
  await fs.mkdir(path.join(data, 'agent'));
  for (const f of [bin.file, packages.deb]) await fs.link(f, path.join(data, 'agent', path.basename(f)));
  const as = asCaller(coordinator.address, { FERRY_CA: trust.caFile });
  // The line `ferry token create --role agent` prints, as an operator pastes it (root already: no sudo here).
  const minted = await as(trust.admin, ['token', 'create', '--role', 'agent', '--uses', '1', '--tag', 'role=web']);
  t.equal(minted.code, 0, minted.code === 0 ? 'ferry token create --role agent' : minted.stderr);
  const line = /^ {2}(curl .*)$/m.exec(minted.stderr)?.[1] ?? '';
  t.equal(line, `curl -fsSL --cacert ${trust.caFile} https://${coordinator.address}/v1/agent/install.sh | sudo sh -s -- --token ${minted.stdout.trim()}`, 'token create prints the one line to paste');

  const root = overlayRoot(path.join(dir, 'root'));
  const r = await root.run(`${line.replace('| sudo sh', '| sh')} --tag role=web --zone z1\ncat /etc/ferry/agent.yaml`);
  t.equal(r.code, 0, r.code === 0 ? 'curl … | sh -s -- --token … --tag role=web exits 0' : r.out);
  t.match(r.out, /downloading ferry-agent_[^ ]+_amd64\.deb/, 'dpkg is there, so the .deb is chosen');
  t.match(r.out, /done; systemd is not running here: run \/usr\/bin\/ferry-agent start --config \/etc\/ferry\/agent.yaml/);
  t.match(r.out, new RegExp(`^coordinator: ${coordinator.address.replace(/\./g, '\\.')}$`, 'm'), 'agent.yaml names the coordinator as the host reached it');
  t.match(r.out, /^tags:\n {2}"role": "web"$/m);

  const agent = root.start('exec /usr/bin/ferry-agent start --config /etc/ferry/agent.yaml');
  let out = '';
  agent.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  agent.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  t.teardown(() => void agent.kill('SIGKILL'));
  const host = await waitFor('the installed agent to connect', async () => {
    const hosts = (await as(trust.admin, ['hosts', 'list', '--json'])).json?.hosts ?? [];
    return hosts.find((h: any) => h.connected && h.tags?.role === 'web');
  }, 60_000).catch(err => {
    throw new Error(`${String(err)}\nagent:\n${out}`);
  });
  t.equal(host.agentVersion, bin.version, 'the installed binary is the one that connected');
  t.match(out, /connected to the coordinator/);
  t.notMatch(out, /plaintext/, 'with mutual TLS (it enrolled)');
});
