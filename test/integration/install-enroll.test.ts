import os from 'node:os';
import { defaultHostId } from '../../agent/start/host-id.js';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { type CliResult, runBin } from '../helpers/agent-cli.js';
import { type Coordinator, ferry, startCoordinator, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

/**
 * `ferry-agent install --token … --ca-fingerprint …`: enrolls before anything is
 * installed, against a real TLS coordinator; the installed agent then connects with mutual TLS.
 * `--no-systemd` stands for a machine without systemd (this one has none either).
 */

const mode = async (p: string) => ((await fs.stat(p)).mode & 0o777).toString(8);

/** Every file under `dir` (symlinks not followed). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Fails the test when the token's secret shows in any output or in any file under `dirs`. */
async function assertNoSecret(t: Test, token: string, outputs: CliResult[], dirs: string[]): Promise<void> {
  const secret = token.split('.')[2]!;
  t.ok(secret.length >= 40, 'a real secret to look for');
  for (const r of outputs) t.notOk((r.stdout + r.stderr).includes(secret), 'the token is in no output');
  let scanned = 0;
  for (const dir of dirs) {
    for (const f of await filesUnder(dir)) {
      scanned += 1;
      if ((await fs.readFile(f)).includes(secret)) t.fail(`the token is written in ${f}`);
    }
  }
  t.ok(scanned > 100, `scanned every written file (${scanned})`);
}

interface Tls {
  c: Coordinator;
  caFile: string;
  fingerprint: string;
  admin: string;
  /** A one-use join token; bound to `hostId` when given (ferry token create --host-id, what ferry hosts reenroll makes). */
  mint(hostId?: string): Promise<string>;
  hosts(): Promise<any[]>;
  audit(): Promise<{ text: string; records: any[] }>;
}

async function tlsCoordinator(t: Test): Promise<Tls> {
  const data = path.join(await tempDir(t, 'ferry-coord-'), 'data');
  const c = await startCoordinator(t, data, [], '127.0.0.1:0', { tls: true });
  const caFile = path.join(data, 'tls', 'ca.crt');
  const fingerprint = new X509Certificate(await fs.readFile(caFile)).fingerprint256;
  const admin = (await fs.readFile(path.join(data, 'admin.token'), 'utf8')).trim();
  const env = { FERRY_CA: caFile, FERRY_TOKEN: admin };
  return {
    c, caFile, fingerprint, admin,
    mint: async (hostId?: string) => {
      const r = await ferry(c.address, ['token', 'create', '--role', 'agent', '--uses', '1', '--tag', 'role=web', ...(hostId ? ['--host-id', hostId] : []), '--json'], { env });
      t.equal(r.code, 0, r.stderr);
      return r.json.token as string;
    },
    hosts: async () => (await ferry(c.address, ['hosts', 'list', '--json'], { env })).json?.hosts ?? [],
    audit: async () => {
      const r = await ferry(c.address, ['audit', '--json'], { env });
      t.equal(r.code, 0, r.stderr);
      return { text: r.stdout, records: r.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l)) };
    },
  };
}

/** Runs the printed supervisor command line (node, the installed bin, its args) until the test ends. */
function runFallback(t: Test, line: string): { output(): string } {
  const argv = line.trim().split(' ');
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FERRY_JOIN_TOKEN: '' } });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise(resolve => child.on('exit', resolve));
  t.teardown(() => {
    child.kill('SIGKILL');
    return exited;
  });
  return { output: () => out };
}

const JOIN = /^fy\.[a-z0-9]+\.(\S+)$/;

t.test('install --dry-run with a join token shows the enroll step first and never the token', async t => {
  const prefix = await tempDir(t);
  const token = `fy.abcdef123456.${'S3cr3t_'.repeat(6)}x`;
  const fp = 'AB:'.repeat(31) + 'AB';
  const args = ['install', '--dry-run', '--prefix', prefix, '--no-systemd', '--coordinator', '10.0.0.5:7420', '--ca-fingerprint', fp];
  const r = await runBin('ferry-agent', [...args, '--token', token]);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.match(lines[1], `  enroll  as host (the id in ${prefix}/opt/ferry-agent/deployment-root/host-id, made now if there is none) with 10.0.0.5:7420, pinning its CA by SHA256 ${fp}, join token fy.abcdef123456.***: the key is made here; key and certificate go to ${prefix}/opt/ferry-agent/deployment-root/tls/ (0600)`);
  t.match(lines[2], /^ {2}mkdir /, 'enrollment comes before anything is installed');
  t.notMatch(r.stdout, /enrollment: not enrolled/);
  const json = await runBin('ferry-agent', [...args, '--json', '--host-id', 'web-1'], { env: { FERRY_JOIN_TOKEN: token } });
  t.equal(json.code, 0, json.stderr);
  t.match(json.json.steps[0], { kind: 'enroll', coordinator: '10.0.0.5:7420', caFingerprint: fp, hostId: 'web-1', token: 'fy.abcdef123456.***' }, 'FERRY_JOIN_TOKEN works as --token');
  for (const out of [r, json]) t.notOk((out.stdout + out.stderr).includes('S3cr3t'), 'no part of the secret is printed');
  t.same(await fs.readdir(prefix), [], 'nothing was written');

  const without = await runBin('ferry-agent', ['install', '--dry-run', '--prefix', prefix, '--no-systemd', '--coordinator', '10.0.0.5:7420'], { env: { FERRY_JOIN_TOKEN: '' } });
  t.equal(without.code, 0, without.stderr);
  t.notMatch(without.stdout, /^ {2}enroll /m);
  t.match(without.stdout, `enrollment: not enrolled, so the agent connects in plaintext`);
  t.match(without.stdout, `${prefix}/opt/ferry/bin/ferry-agent enroll --config ${prefix}/etc/ferry/agent.yaml --token <join token> --ca-fingerprint <CA fingerprint>`);
});

t.test('--token and --ca-fingerprint need each other: a usage error naming the missing flag', async t => {
  const prefix = await tempDir(t);
  const base = ['install', '--dry-run', '--prefix', prefix, '--coordinator', '10.0.0.5:7420'];
  const token = `fy.abcdef123456.${'x'.repeat(43)}`;
  const [noFp, envNoFp, noToken, reenroll, badFp, badToken, badSan] = await Promise.all([
    runBin('ferry-agent', [...base, '--token', token], { env: { FERRY_JOIN_TOKEN: '' } }),
    runBin('ferry-agent', base, { env: { FERRY_JOIN_TOKEN: token } }),
    runBin('ferry-agent', [...base, '--ca-fingerprint', 'AB'.repeat(32)], { env: { FERRY_JOIN_TOKEN: '' } }),
    runBin('ferry-agent', [...base, '--reenroll'], { env: { FERRY_JOIN_TOKEN: '' } }),
    runBin('ferry-agent', [...base, '--token', token, '--ca-fingerprint', 'AB:CD']),
    runBin('ferry-agent', [...base, '--token', 'not-a-token-secretvalue', '--ca-fingerprint', 'AB'.repeat(32)]),
    runBin('ferry-coordinator', ['install', '--dry-run', '--prefix', prefix, '--san', 'not a name']),
  ]);
  t.equal(noFp.code, 2);
  t.equal(noFp.stderr, "ferry-agent: --ca-fingerprint: required with --token, to pin the coordinator's CA: ferry-coordinator install or init printed it\n");
  t.equal(envNoFp.code, 2);
  t.match(envNoFp.stderr, /^ferry-agent: --ca-fingerprint: required with a join token \(FERRY_JOIN_TOKEN is set\)/);
  t.equal(noToken.code, 2);
  t.equal(noToken.stderr, 'ferry-agent: --token: required with --ca-fingerprint (or set FERRY_JOIN_TOKEN): an admin makes one with ferry token create --role agent --uses 1\n');
  t.equal(reenroll.code, 2);
  t.match(reenroll.stderr, /^ferry-agent: --token: required with --reenroll/);
  t.equal(badFp.code, 2);
  t.match(badFp.stderr, "--ca-fingerprint: 'AB:CD' is not a SHA-256 fingerprint");
  t.equal(badToken.code, 2);
  t.equal(badToken.stderr, 'ferry-agent: --token: not a join token (expected fy.<id>.<secret>, as ferry token create prints it)\n', 'not echoed');
  t.equal(badSan.code, 2);
  t.match(badSan.stderr, "--san 'not a name': not an IP address or a DNS name");
});

t.test('install enrolls against a real TLS coordinator, prints the supervisor command, which connects with mutual TLS; re-runs skip enrollment', async t => {
  const tls = await tlsCoordinator(t);
  const prefix = await tempDir(t, 'ferry-prefix-');
  const join = await tls.mint();
  t.match(join, JOIN);
  const root = `${prefix}/opt/ferry-agent/deployment-root`;
  const outputs: CliResult[] = [];

  // The token through the environment (FERRY_JOIN_TOKEN), as a provisioning script passes it.
  const first = await runBin('ferry-agent', ['install', '--prefix', prefix, '--no-systemd', '--coordinator', tls.c.address, '--ca-fingerprint', tls.fingerprint, '--tag', 'role=web'],
    { env: { FERRY_JOIN_TOKEN: join }, timeoutMs: 120_000 });
  outputs.push(first);
  t.equal(first.code, 0, first.stderr);
  const hostId = (await fs.readFile(`${root}/host-id`, 'utf8')).trim();
  t.equal(hostId, defaultHostId(), 'enrolled as this machine\'s hostname, the default');
  t.equal(hostId, os.hostname().toLowerCase(), 'the hostname itself (a valid id here)');
  t.match(first.stdout, `  enroll  as host (the id in ${root}/host-id, made now if there is none) with ${tls.c.address}, pinning its CA by SHA256 ${tls.fingerprint}, join token fy.`);
  t.match(first.stdout, `          enrolled host ${hostId}: key and certificate in ${root}/tls/ (0600)\n`);
  for (const f of ['agent.key', 'agent.crt', 'ca.crt']) t.equal(await mode(`${root}/tls/${f}`), '600', `${f} is 0600`);
  t.equal(await mode(`${root}/tls`), '700');
  t.same((await fs.readdir(`${root}/tls`)).sort(), ['agent.crt', 'agent.key', 'ca.crt'], 'no leftover request or half key');
  t.match(new X509Certificate(await fs.readFile(`${root}/tls/agent.crt`)).subject, `CN=${hostId}`);
  t.notOk(existsSync(`${prefix}/etc/systemd`), 'no unit without systemd');
  const fallback = /Run this under your supervisor \(restart always, open files ≥ 65536\):\n {6}(.+)\n/.exec(first.stdout)?.[1];
  t.equal(fallback, `${process.execPath} ${prefix}/opt/ferry/bin/ferry-agent start --config ${prefix}/etc/ferry/agent.yaml`, 'the fallback command is printed');
  t.notMatch(first.stdout, /not enrolled/);

  // The printed line, run as it is, connects over mutual TLS.
  const agent = runFallback(t, fallback!);
  await waitFor(`host ${hostId} connected (agent output: ${agent.output().slice(-300)})`, async () => (await tls.hosts()).some(h => h.id === hostId && h.connected), 30_000);
  t.match((await tls.hosts()).find(h => h.id === hostId), { tags: { role: 'web' } }, 'the installed agent runs with the written config');
  const plain = await ferry(tls.c.address, ['hosts', 'list']);
  t.not(plain.code, 0, 'the coordinator serves TLS only, so the agent can only have come in over TLS');

  // Re-run (upgrade) with the spent one-use token: already enrolled, so the token is not used.
  const again = await runBin('ferry-agent', ['install', '--prefix', prefix, '--no-systemd', '--token', join, '--ca-fingerprint', tls.fingerprint], { timeoutMs: 120_000 });
  outputs.push(again);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, `  note    enrollment: host ${hostId} is enrolled already (${root}/tls/agent.crt), so the join token is not used; --reenroll makes a new key and certificate\n`);
  t.notMatch(again.stdout, /^ {2}enroll /m);
  const plainRerun = await runBin('ferry-agent', ['install', '--prefix', prefix, '--no-systemd', '--json'], { env: { FERRY_JOIN_TOKEN: '' }, timeoutMs: 120_000 });
  t.equal(plainRerun.code, 0, plainRerun.stderr);
  t.ok(plainRerun.json.steps.some((s: any) => s.kind === 'note' && s.text === `enrollment: host ${hostId} is enrolled (${root}/tls/agent.crt): the agent connects with mutual TLS`));

  // --reenroll with a token bound to this host id (an enrolled id takes no other: docs/security.md): a new key and certificate for the same host id.
  const keyBefore = await fs.readFile(`${root}/tls/agent.key`, 'utf8');
  const second = await tls.mint(hostId);
  const re = await runBin('ferry-agent', ['install', '--prefix', prefix, '--no-systemd', '--token', second, '--ca-fingerprint', tls.fingerprint, '--reenroll', '--json'], { timeoutMs: 120_000 });
  outputs.push(re);
  t.equal(re.code, 0, re.stderr);
  t.match(re.json, { enrolled: { hostId, tlsDir: `${root}/tls` } });
  t.match(re.json.steps[0], { kind: 'enroll', hostId, token: /^fy\.[a-z0-9]+\.\*\*\*$/ });
  t.not(await fs.readFile(`${root}/tls/agent.key`, 'utf8'), keyBefore, 'a new key');

  // The coordinator audited both enrollments, by the join token's id.
  const audit = await tls.audit();
  for (const token of [join, second]) {
    t.ok(audit.records.some(r => r.action === 'AgentService/Enroll' && r.actor === `join-token:${token.split('.')[1]}` && r.outcome === 'ok' && r.target.hostId === hostId), 'the enrollment is in the audit log');
  }

  // Not in the install's output, nor any file under the prefix (code, config, keys, the agent's logs),
  // nor the coordinator's output, log, store or audit log.
  for (const token of [join, second]) {
    await assertNoSecret(t, token, outputs, [prefix, tls.c.dataDir]);
    t.notOk((tls.c.output() + audit.text).includes(token.split('.')[2]!), 'the token is not in the coordinator\'s output or audit log');
  }
});

t.test('a refused enrollment stops install before anything is written: bad token, wrong fingerprint, unreachable coordinator', async t => {
  const tls = await tlsCoordinator(t);
  const unknown = `fy.aaaaaaaaaaaa.${'A'.repeat(43)}`;
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown token', ['--coordinator', tls.c.address, '--token', unknown, '--ca-fingerprint', tls.fingerprint],
      /^ferry-agent: enroll {2}as host .*: enrollment refused by 127\.0\.0\.1:\d+: the token is not known to this coordinator/],
    ['a wrong CA fingerprint', ['--coordinator', tls.c.address, '--token', await tls.mint(), '--ca-fingerprint', 'AB'.repeat(32)],
      /: the coordinator at 127\.0\.0\.1:\d+ does not present a CA with fingerprint ABAB/],
    ['an unreachable coordinator', ['--coordinator', '127.0.0.1:1', '--token', await tls.mint(), '--ca-fingerprint', tls.fingerprint],
      /: cannot reach the coordinator at 127\.0\.0\.1:1 over TLS/],
  ];
  for (const [what, args, message] of cases) {
    const prefix = await tempDir(t, 'ferry-prefix-');
    const r = await runBin('ferry-agent', ['install', '--prefix', prefix, '--no-systemd', ...args], { timeoutMs: 120_000 });
    t.equal(r.code, 1, `${what}: install fails`);
    t.match(r.stderr, message, `${what}: the reason`);
    t.match(r.stdout, /^ {2}enroll /m);
    t.notMatch(r.stdout, /^ {2}(copy|write|mkdir) /m, `${what}: no step after the enrollment ran`);
    t.same(await fs.readdir(prefix), [], `${what}: no unit, config, key or directory is left`);
    const token = args[args.indexOf('--token') + 1]!;
    t.notOk((r.stdout + r.stderr).includes(token.split('.')[2]!), `${what}: the token is not printed`);
  }

  // An enrolled host keeps its key and certificate when a --reenroll is refused.
  const prefix = await tempDir(t, 'ferry-prefix-');
  const ok = await runBin('ferry-agent', ['install', '--prefix', prefix, '--no-systemd', '--coordinator', tls.c.address, '--token', await tls.mint(), '--ca-fingerprint', tls.fingerprint], { timeoutMs: 120_000 });
  t.equal(ok.code, 0, ok.stderr);
  const tlsDir = `${prefix}/opt/ferry-agent/deployment-root/tls`;
  const before = await Promise.all(['agent.key', 'agent.crt'].map(f => fs.readFile(path.join(tlsDir, f), 'utf8')));
  const refused = await runBin('ferry-agent', ['install', '--prefix', prefix, '--no-systemd', '--token', unknown, '--ca-fingerprint', tls.fingerprint, '--reenroll'], { timeoutMs: 120_000 });
  t.equal(refused.code, 1);
  t.match(refused.stderr, /not known to this coordinator/);
  t.same(await Promise.all(['agent.key', 'agent.crt'].map(f => fs.readFile(path.join(tlsDir, f), 'utf8'))), before, 'the enrollment is as it was');
  t.same((await fs.readdir(tlsDir)).sort(), ['agent.crt', 'agent.key', 'ca.crt'], 'no half-written key');
});

t.test('ferry-coordinator install initialises a new data dir: prints the CA fingerprint and where the admin token is, never the token', async t => {
  const prefix = await tempDir(t, 'ferry-prefix-');
  const first = await runBin('ferry-coordinator', ['install', '--prefix', prefix, '--no-systemd', '--listen', '127.0.0.1:0', '--json'], { timeoutMs: 120_000 });
  t.equal(first.code, 0, first.stderr);
  const data = `${prefix}/var/lib/ferry`;
  const token = (await fs.readFile(`${data}/admin.token`, 'utf8')).trim();
  t.equal(await mode(`${data}/admin.token`), '600');
  const fp = new X509Certificate(await fs.readFile(`${data}/tls/ca.crt`)).fingerprint256;
  t.match(first.json, { initialised: { caFingerprint: fp, adminTokenFile: `${data}/admin.token` } });
  t.equal(first.json.steps[0].kind, 'init', 'init comes first');
  t.notOk(first.stdout.includes(token.split('.')[2]!), 'the admin token is not printed');

  const again = await runBin('ferry-coordinator', ['install', '--prefix', prefix, '--no-systemd'], { timeoutMs: 120_000 });
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, `  note    trust: ${data} is initialised already (CA fingerprint SHA256 ${fp}; the first admin token was written to ${data}/admin.token); kept as it is\n`);
  t.equal((await fs.readFile(`${data}/admin.token`, 'utf8')).trim(), token, 'the admin token is kept');
  t.notOk(again.stdout.includes(token.split('.')[2]!), 'the admin token is not printed');
});
