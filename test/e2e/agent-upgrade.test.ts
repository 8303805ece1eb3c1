/**
 * The agent on a fresh server in one line, and upgraded from the coordinator (docs/install.md):
 * a TLS coordinator in one network namespace; a "server" that is another network namespace AND a
 * private mount namespace (an overlay of this machine's root entered with chroot) from which
 * Node.js is removed. The line `ferry token create --role agent` prints installs the .deb there,
 * enrolls and writes the config; the agent takes a deployment; `ferry hosts upgrade` then rolls a
 * newer agent binary onto it, which reconnects with the new version, same host id and certificate.
 * A failed rollout: agent-upgrade-rollback.test.ts; one asked for mid-deployment: agent-upgrade-busy.test.ts.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { sha256File } from '../../ops/agent-binary/build.js';
import { agentBinary, agentBinaryWithVersion, agentPackages } from '../helpers/agent-binary.js';
import { runBin } from '../helpers/agent-cli.js';
import { pack, writeBundle } from '../helpers/bundle.js';
import { startCoordinator, waitFor } from '../helpers/fleet.js';
import { makeNet, netnsUnavailable, removeStaleNamespaces } from '../helpers/netns.js';
import { overlayRoot } from '../helpers/overlay-root.js';
import { isRoot, tempDir } from '../helpers/temp.js';
import { asCaller, readTrust } from '../helpers/trust.js';

const notRoot = !isRoot && 'needs root: network namespaces, mount namespaces and chroot';

/** A hook that fails if node is reachable from it, and records that it ran. */
const HOOK = (proof: string) => [
  '#!/bin/sh',
  'if command -v node >/dev/null 2>&1; then echo "node is reachable: $(command -v node)" >&2; exit 9; fi',
  `echo "$LIFECYCLE_EVENT $APPLICATION_NAME" >> ${proof}`,
  '',
].join('\n');

async function hookArchive(dir: string, proof: string): Promise<string> {
  const bundle = await writeBundle(path.join(dir, 'bundle'), {
    appspec: { version: 0.0, os: 'linux', hooks: { ValidateService: [{ location: 'hooks/run.sh' }] } },
    files: { 'hooks/run.sh': { content: HOOK(proof), mode: 0o755 } },
  });
  return pack(bundle, path.join(dir, 'bundle.tgz'), 'tgz');
}

/** Replaces DATA/agent/<name> with `file` (a hard link: the coordinator serves what is there). */
async function serve(data: string, name: string, file: string): Promise<void> {
  await fs.mkdir(path.join(data, 'agent'), { recursive: true });
  await fs.rm(path.join(data, 'agent', name), { force: true });
  await fs.link(file, path.join(data, 'agent', name));
}

t.test('one line installs the agent on a server with no Node.js in its own network and mount namespace; it deploys, then ferry hosts upgrade replaces it (root, network namespaces)', { skip: notRoot }, async t => {
  const unavailable = await netnsUnavailable();
  if (unavailable) return void t.fail(`this test needs network namespaces: ${unavailable}`);
  await removeStaleNamespaces();
  const [bin, next] = await Promise.all([agentBinary(), agentBinaryWithVersion(`${(await agentBinary()).version}-up2`)]);
  const packages = await agentPackages(bin);
  const net = await makeNet(t, ['c', 'h1']);
  const { c: hc, h1 } = net.hosts;
  const dir = await tempDir(t, 'ferry-agent-upgrade-');
  const data = path.join(dir, 'data');
  const init = await runBin('ferry-coordinator', ['init', '--data', data, '--san', hc.address], { netns: hc.ns });
  t.equal(init.code, 0, `init: ${init.stderr}`);
  const coordinator = await startCoordinator(t, data, ['--heartbeat-interval', '1s'], `${hc.address}:0`, { tls: true, netns: hc.ns });
  const trust = await readTrust(data);
  for (const f of [bin.file, packages.deb]) await serve(data, path.basename(f), f);
  const as = asCaller(coordinator.address, { FERRY_CA: trust.caFile }, hc.ns);

  // The line token create prints, run as pasted (root already: no sudo) on the server.
  const minted = await as(trust.admin, ['token', 'create', '--role', 'agent', '--uses', '1', '--tag', 'role=web']);
  t.equal(minted.code, 0, minted.code === 0 ? 'ferry token create --role agent' : minted.stderr);
  const line = /^ {2}(curl .*)$/m.exec(minted.stderr)?.[1] ?? '';
  t.equal(line, `curl -fsSL --cacert ${trust.caFile} https://${coordinator.address}/v1/agent/install.sh | sudo sh -s -- --token ${minted.stdout.trim()}`, 'token create prints the one line to paste');
  const root = overlayRoot(path.join(dir, 'root'), { netns: h1.ns, withoutNode: true });
  const probe = await root.run(`ip -o -4 addr show | awk '{print $4}'\necho "node=$(command -v node || echo none)"`);
  t.equal(probe.code, 0, probe.out);
  t.match(probe.out, new RegExp(`^${h1.address.replace(/\./g, '\\.')}/24$`, 'm'), 'the server has its own network: only its bridge address (and loopback)');
  t.notMatch(probe.out, /^10\.\d+\.\d+\.1\//m, 'not the coordinator\'s');
  t.match(probe.out, /^node=none$/m, 'no Node.js on the server');
  // The CA file sits at the same path inside the root (an overlay of /), as an operator would have copied it.
  const r = await root.run(`${line.replace('| sudo sh', '| sh')} --tag role=web --zone z1\ncat /etc/ferry/agent.yaml`);
  t.equal(r.code, 0, r.code === 0 ? 'curl … | sh -s -- --token … --tag role=web exits 0' : r.out);
  t.match(r.out, /downloading ferry-agent_[^ ]+_amd64\.deb/, 'dpkg is there, so the .deb is chosen');
  t.match(r.out, /done; systemd is not running here: run \/usr\/bin\/ferry-agent start --config \/etc\/ferry\/agent.yaml/, 'without systemd it says how to start the agent');
  t.match(r.out, new RegExp(`^coordinator: ${coordinator.address.replace(/\./g, '\\.')}$`, 'm'), 'agent.yaml names the coordinator as the host reached it');
  t.match(r.out, /^tags:\n {2}"role": "web"$/m);

  // No systemd in the root: the agent runs under a supervisor loop, declared with FERRY_AGENT_SUPERVISED=1.
  const agent = root.start('export FERRY_AGENT_SUPERVISED=1\nwhile :; do /usr/bin/ferry-agent start --config /etc/ferry/agent.yaml; echo "supervisor: agent exited $?"; sleep 1; done');
  let out = '';
  agent.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  agent.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const host = await waitFor('the installed agent to connect', async () => {
    const hosts = (await as(trust.admin, ['hosts', 'list', '--json'])).json?.hosts ?? [];
    return hosts.find((h: any) => h.connected && h.tags?.role === 'web');
  }, 60_000).catch(err => {
    throw new Error(`${String(err)}\nagent:\n${out}`);
  });
  t.equal(host.agentVersion, bin.version, 'the installed binary is the one that connected');
  t.match(host, { latestAgentVersion: bin.version, agentOutOfDate: false }, 'up to date with what the coordinator serves');
  t.notMatch(out, /plaintext/, 'with mutual TLS (it enrolled)');

  // It takes a deployment; the hook proves node is not reachable there either.
  const proof = '/tmp/ferry-upgrade-proof';
  const archive = await hookArchive(dir, proof);
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web']]) {
    const c = await as(trust.admin, args);
    t.equal(c.code, 0, `ferry ${args.join(' ')} ${c.stderr}`);
  }
  const push = await as(trust.admin, ['revision', 'push', archive, '--app', 'shop', '--json']);
  t.equal(push.code, 0, push.stderr);
  const d = await as(trust.admin, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', push.json.revision.digest, '--wait', '--json']);
  t.equal(d.json?.deployment?.status, 'Succeeded', d.code === 0 ? 'the deployment succeeded on the installed agent' : `${d.stderr.slice(-600)}\nagent:\n${out.slice(-1500)}`);
  // What the running root wrote is in the overlay's upper layer (mounting the root a second time while the agent runs in it is not safe).
  const upper = (p: string) => path.join(dir, 'root', 'upper', p);
  t.match(await fs.readFile(upper(proof), 'utf8'), /ValidateService shop/, 'its hook ran in the root, without node');

  // A newer agent is served: the host is out of date, in the table and in --json.
  await serve(data, path.basename(bin.file), next.file);
  const listed = await as(trust.admin, ['hosts', 'list', '--json']);
  t.match(listed.json.hosts[0], { agentVersion: bin.version, latestAgentVersion: next.version, agentOutOfDate: true }, 'hosts list --json marks it out of date');
  const table = await as(trust.admin, ['hosts', 'list']);
  t.match(table.stdout, `${bin.version} (out of date: ${next.version})`, 'and so does the table');
  const shown = await as(trust.admin, ['hosts', 'show', host.id]);
  t.match(shown.stdout, new RegExp(`Agent:\\s+${bin.version.replace(/\./g, '\\.')} \\(out of date: ${next.version.replace(/\./g, '\\.')}\\)`), 'and hosts show');

  const up = await as(trust.admin, ['hosts', 'upgrade', '--all', '--json']);
  t.equal(up.code, 0, up.code === 0 ? 'ferry hosts upgrade --all exits 0' : `${up.stdout}${up.stderr}\nagent:\n${out.slice(-3000)}`);
  t.match(up.json, { status: 'Succeeded', hosts: [{ hostId: host.id, fromVersion: bin.version, toVersion: next.version, status: 'Upgraded', batch: 1 }] });
  const after = (await as(trust.admin, ['hosts', 'list', '--json'])).json.hosts;
  t.equal(after.length, 1, 'still one host: the same host id');
  t.match(after[0], { id: host.id, connected: true, agentVersion: next.version, agentOutOfDate: false }, 'it reconnected running the new version');
  t.equal(await sha256File(upper('usr/bin/ferry-agent')), next.sha256, 'the binary is the new one');
  t.equal(await sha256File(upper('usr/bin/ferry-agent.previous')), bin.sha256, 'the old one is kept beside it');
  await t.rejects(fs.stat(upper('opt/ferry-agent/deployment-root/agent-state/upgrade.json')), 'the upgrade is confirmed (its record removed)');
  t.match(out, /supervisor: agent exited 0/, 'the old agent exited 0 for its supervisor to start the new one');
  t.notMatch(out, /plaintext/, 'the new agent uses the same certificate (mutual TLS)');
  agent.kill('SIGKILL');
});
