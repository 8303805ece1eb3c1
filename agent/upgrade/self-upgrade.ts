import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, promises as fs, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { UpgradeCommand__Output as UpgradeCommand } from '../../proto/gen/ferry/v1/UpgradeCommand.js';
import type { UpgradeStatus } from '../../proto/gen/ferry/v1/UpgradeStatus.js';
import { describeError } from '../../common/errors.js';
import { FERRY_VERSION } from '../../common/version.js';
import type { AgentIdentity } from '../link/identity.js';
import type { Logger } from '../log.js';
import { type UpgradeMarker, markerPath, readMarker, writeMarker } from './marker.js';
import { type Address, addressNow } from '../link/endpoints.js';

/**
 * The agent replacing its own binary (`ferry hosts upgrade`, docs/install.md): on an UpgradeCommand
 * it refuses unless it is the agent binary (not `node bin/ferry-agent`) under a supervisor that
 * starts it again (systemd, or one declared with FERRY_AGENT_SUPERVISED=1), and answers Busy while
 * a deployment runs or waits. Otherwise it downloads `GET /v1/agent/files/<name>` beside its binary,
 * refuses it unless its size and SHA-256 are the announced ones and its `--version` prints the
 * announced version, then (idle still, taking no more commands) records the upgrade
 * (agent-state/upgrade.json), keeps the old binary as `<binary>.previous` (a hard link), starts
 * the watchdog from it and renames the new file over the binary: atomic, so the binary is always
 * one or the other. It answers Restarting and exits 0; the supervisor starts the new binary, with
 * the same config, root dir, host id and certificate. The watchdog (watchdog.ts) puts the old one
 * back if the new agent has not registered in time.
 */

export interface SelfUpgradeDeps {
  root: string;
  /** The replica the session is on (agent/link/endpoints.ts). */
  coordinator: Address;
  identity: () => AgentIdentity | undefined;
  /** The running executable (process.execPath) and whether it is the agent binary (a Node SEA). */
  exe: string;
  isBinary: boolean;
  supervisor?: 'systemd' | 'declared';
  busyWith: () => string | undefined;
  stopTaking: () => void;
  send: (status: UpgradeStatus) => void;
  /** Ends the agent (gracefully) so the supervisor starts the new binary. */
  exit: () => void;
  log: Logger;
}

const SHA256 = /^[0-9a-f]{64}$/;
const FILE = /^ferry-agent[A-Za-z0-9._+~-]*$/;
const VERSION = /^[0-9A-Za-z.+~_-]{1,64}$/;

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(i + 1)) };
}

/** Downloads the coordinator's agent file to `dest` (0700), returning its size and SHA-256. */
async function download(d: SelfUpgradeDeps, name: string, dest: string): Promise<{ size: number; sha256: string }> {
  const coordinator = addressNow(d.coordinator);
  const { host, port } = splitAddress(coordinator);
  const tls = d.identity();
  const urlPath = `/v1/agent/files/${encodeURIComponent(name)}`;
  const url = `${tls ? 'https' : 'http'}://${coordinator}${urlPath}`;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = (tls ? https : http).request({
      host, port, path: urlPath, method: 'GET', agent: false, headers: { 'user-agent': `ferry-agent/${FERRY_VERSION}` }, timeout: 60_000,
      ...(tls && { ca: tls.ca, key: tls.key, cert: tls.cert, ALPNProtocols: ['http/1.1'], ...(!net.isIP(host) && { servername: host }) }),
    }, resolve);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 60 s`)));
    req.on('error', reject);
    req.end();
  });
  if (res.statusCode !== 200) {
    res.resume();
    throw new Error(`GET ${url}: HTTP ${res.statusCode}`);
  }
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(res, count, createWriteStream(dest, { mode: 0o700, flags: 'wx' }));
  return { size, sha256: hash.digest('hex') };
}

/** `<file> --version`, with no Node.js options and a bounded time; its trimmed stdout or why it failed. */
function versionOf(file: string): { ok: true; version: string } | { ok: false; why: string } {
  const r = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 30_000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', NODE_OPTIONS: '' } });
  if (r.error) return { ok: false, why: describeError(r.error) };
  if (r.status !== 0) return { ok: false, why: `exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(0, 300)}` };
  return { ok: true, version: r.stdout.trim() };
}

/** The systemd unit this process runs in (from /proc/self/cgroup), else ferry-agent.service. */
function ownUnit(): string {
  try {
    const m = /\/([^/\n]+\.service)\s*$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'));
    if (m) return m[1]!;
  } catch {
    // not Linux, or no /proc: the packaged unit's name
  }
  return 'ferry-agent.service';
}

export class SelfUpgrade {
  private inProgress = false;

  constructor(private readonly d: SelfUpgradeDeps) {}

  handle(cmd: UpgradeCommand): void {
    const reply = (status: string, message: string) => this.d.send({ upgradeId: cmd.upgradeId, status, message });
    const log = this.d.log.child({ upgrade_id: cmd.upgradeId, to_version: cmd.version });
    const refuse = (why: string) => {
      log.warn('agent upgrade refused', { reason: why });
      reply('Refused', why);
    };
    if (this.inProgress) return refuse('an upgrade of this agent is already in progress');
    const problems = [
      !SHA256.test(cmd.sha256) && `sha256 '${cmd.sha256}' is not a lowercase hex SHA-256`,
      !FILE.test(cmd.fileName) && `file_name '${cmd.fileName}' is not an agent file name`,
      !VERSION.test(cmd.version) && `version '${cmd.version}' is not a version`,
    ].filter(Boolean);
    if (problems.length > 0) return refuse(`invalid upgrade command: ${problems.join('; ')}`);
    if (!this.d.isBinary) {
      return refuse(`this agent runs from Node.js (${this.d.exe}), not as the agent binary: upgrade it with its package or ferry-agent install (docs/install.md)`);
    }
    if (!this.d.supervisor) {
      return refuse('nothing would start the new agent: it was not started by systemd (no INVOCATION_ID) and FERRY_AGENT_SUPERVISED=1 does not declare another supervisor that restarts it when it exits');
    }
    const busy = this.d.busyWith();
    if (busy) {
      log.info('agent upgrade must wait', { reason: busy });
      return void reply('Busy', busy);
    }
    this.inProgress = true;
    void this.run(cmd, log, reply).catch(err => {
      log.error('agent upgrade failed; the old agent keeps running', { reason: describeError(err) });
      reply('Failed', describeError(err));
    }).finally(() => {
      this.inProgress = false;
    });
  }

  private async run(cmd: UpgradeCommand, log: Logger, reply: (status: string, message: string) => void): Promise<void> {
    const exe = this.d.exe;
    const dir = path.dirname(exe);
    const tmp = path.join(dir, `.${path.basename(exe)}.upgrade-${randomBytes(6).toString('hex')}`);
    log.info('agent upgrade: downloading the new binary', { file: cmd.fileName, into: dir });
    try {
      const got = await download(this.d, cmd.fileName, tmp);
      if (got.sha256 !== cmd.sha256 || got.size !== Number(cmd.size)) {
        throw new Error(`the download of ${cmd.fileName} is not the announced file: SHA-256 ${got.sha256} (${got.size} bytes), expected ${cmd.sha256} (${cmd.size} bytes); nothing was replaced`);
      }
      await fs.chmod(tmp, 0o755);
      const v = versionOf(tmp);
      if (!v.ok) throw new Error(`the new binary does not run here (${v.why}); nothing was replaced`);
      if (v.version !== cmd.version) throw new Error(`the new binary says it is ${v.version}, not ${cmd.version}; nothing was replaced`);
      const busy = this.d.busyWith();
      if (busy) {
        await fs.rm(tmp, { force: true });
        log.info('agent upgrade must wait', { reason: busy });
        return reply('Busy', busy);
      }
      // From here on, synchronously: no command can start between the idle check and the swap.
      this.d.stopTaking();
      this.swap(cmd, exe, tmp, log);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    log.info('agent upgrade: the new binary is in place; exiting for the supervisor to start it', { from_version: FERRY_VERSION, supervisor: this.d.supervisor });
    reply('Restarting', `${FERRY_VERSION} → ${cmd.version}: the binary is replaced, the agent restarts`);
    setTimeout(() => this.d.exit(), 200); // the answer goes out first
  }

  private swap(cmd: UpgradeCommand, exe: string, tmp: string, log: Logger): void {
    const previous = `${exe}.previous`;
    const marker: UpgradeMarker = {
      upgradeId: cmd.upgradeId, from: FERRY_VERSION, to: cmd.version, exe, previous,
      deadlineMs: Date.now() + Math.max(5000, cmd.confirmTimeoutMs || 60_000), supervisor: this.d.supervisor!,
      ...(this.d.supervisor === 'systemd' && { unit: ownUnit() }),
    };
    const file = markerPath(this.d.root);
    rmSync(previous, { force: true });
    linkSync(exe, previous);
    try {
      writeMarkerSync(file, marker);
      startWatchdog(marker, file, this.d.root);
      renameSync(tmp, exe);
    } catch (err) {
      rmSync(file, { force: true }); // the watchdog, if it started, sees no upgrade and exits
      // This agent takes no commands any more: exit, and the supervisor starts the old binary again.
      setTimeout(() => this.d.exit(), 200);
      throw new Error(`could not put the new binary in place (${describeError(err)}); the agent restarts with the old one`);
    }
    log.info('agent upgrade: old binary kept', { previous });
  }
}

function writeMarkerSync(file: string, m: UpgradeMarker): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const t = `${file}.tmp-${process.pid}`;
  writeFileSync(t, `${JSON.stringify(m, null, 2)}\n`, { mode: 0o600 });
  renameSync(t, file);
}

/**
 * Starts `<previous> upgrade-watchdog --marker FILE` outside this process's life: under systemd
 * through systemd-run (a unit of its own, which the agent's unit stopping does not kill), else
 * detached in its own session (the declared supervisor restarts only the agent). Its output goes
 * to <root-dir>/logs/upgrade-watchdog.log.
 */
function startWatchdog(m: UpgradeMarker, file: string, root: string): void {
  const args = ['upgrade-watchdog', '--marker', file];
  if (m.supervisor === 'systemd') {
    const r = spawnSync('systemd-run', ['--quiet', '--collect', `--unit=ferry-agent-upgrade-${m.upgradeId.slice(0, 8)}`, '--', m.previous, ...args], { encoding: 'utf8', timeout: 30_000 });
    if (r.error || r.status !== 0) throw new Error(`systemd-run could not start the upgrade watchdog: ${r.error ? describeError(r.error) : r.stderr.trim()}`);
    return;
  }
  mkdirSync(path.join(root, 'logs'), { recursive: true });
  const out = openSync(path.join(root, 'logs', 'upgrade-watchdog.log'), 'a', 0o600);
  try {
    spawn(m.previous, args, { detached: true, stdio: ['ignore', out, out], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', NODE_OPTIONS: '' } }).unref();
  } finally {
    closeSync(out);
  }
}

/**
 * At the new agent's start: records its pid in the upgrade marker (for the watchdog to stop it if
 * it does not register in time); returns the confirmation to call once registered, which removes
 * the marker. A marker for another version (the old agent, put back) is left to the watchdog.
 */
export async function upgradeAtStart(root: string, log: Logger): Promise<(() => void) | undefined> {
  const file = markerPath(root);
  const m = readMarker(file);
  if (!m) return undefined;
  if (m.to !== FERRY_VERSION) {
    log.warn('an agent upgrade did not complete: this agent is not the version it installed', { upgrade_id: m.upgradeId, to_version: m.to, running: FERRY_VERSION });
    return undefined;
  }
  await writeMarker(file, { ...m, pid: process.pid });
  log.info('agent upgraded: confirming once registered with the coordinator', { upgrade_id: m.upgradeId, from_version: m.from, deadline: new Date(m.deadlineMs).toISOString() });
  return () => {
    const now = readMarker(file);
    if (now?.upgradeId !== m.upgradeId) return;
    rmSync(file, { force: true });
    log.info('agent upgrade confirmed: registered running the new version', { upgrade_id: m.upgradeId, from_version: m.from, previous: m.previous });
  };
}
