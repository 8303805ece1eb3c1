import path from 'node:path';
import { Command } from 'commander';
import { parseAddress, parseTag, parseListen, isSafeId } from '../../common/parse.js';
import { FerryError } from '../../common/errors.js';
import { normaliseFingerprint } from '../../common/tls-pin.js';
import { isLoopbackHost, listenHost } from '../../common/loopback.js';
import { subjectAltNames } from '../../common/certificates.js';
import type { TrustEffects } from './execute.js';
import { redactToken } from './trust.js';
import { type AgentSettings, type InstallFacts, type InstallOptions, type ServiceName, type Step } from './types.js';

/**
 * `install` and `uninstall` for both binaries: parse flags, probe the machine, plan, then print
 * (`--dry-run`) or execute. What differs between the agent and the coordinator is the settings.
 */
export interface InstallHost {
  uid: number;
  /** $PATH, for the systemctl probe. */
  pathEnv: string;
  nodePath: string;
  write: (text: string) => void;
  /** FERRY_JOIN_TOKEN, from the agent's environment reader: used when --token is not given. */
  joinToken?: string;
  /** Enrolment (agent) or CA initialisation (coordinator), from the program being installed. */
  trust?: TrustEffects;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * The planner, the machine probes and the step executor (with yaml), loaded by install and
 * uninstall only: the agent's program carries these commands, and `ferry-agent start` never runs them.
 */
async function loadOps() {
  const [plan, facts, execute] = await Promise.all([import('./plan.js'), import('./facts.js'), import('./execute.js')]);
  return { ...plan, ...facts, ...execute };
}
type Ops = Awaited<ReturnType<typeof loadOps>>;

function common(cmd: Command): Command {
  return cmd
    .option('--prefix <dir>', 'install under DIR instead of / (DIR/opt/ferry, DIR/etc/ferry, DIR/etc/systemd/system); needs no root', '/')
    .option('--dry-run', 'print the steps and the files that would be written; change nothing')
    .option('--no-systemd', 'do not use systemd even when present: print the command line for another supervisor (also for tests)')
    .option('--json', 'print the plan as JSON');
}

export function installCommand(service: ServiceName): Command {
  const cmd = common(new Command('install').description(`install ${service} under /opt/ferry as a systemd service (re-run to upgrade in place)`));
  if (service === 'ferry-agent') {
    cmd
      .option('--coordinator <host:port>', 'the coordinator\'s address, written to agent.yaml (required for a new install)')
      .option('--root-dir <dir>', 'deployment root (default PREFIX/opt/ferry-agent/deployment-root)')
      .option('--host-id <id>', 'this host\'s id (default with --token: this machine\'s hostname, else a generated id; without: generated at first start)')
      .option('--tag <key=value>', 'a host tag, repeatable', collect, [])
      .option('--zone <zone>', 'availability zone')
      .option('--token <token>', 'enroll with this join token before the service starts (default $FERRY_JOIN_TOKEN); needs --ca-fingerprint')
      .option('--ca-fingerprint <sha256>', "the coordinator CA's SHA-256 fingerprint, as ferry-coordinator init printed it; needs --token")
      .option('--reenroll', 'enroll again (new key and certificate) even when this host is enrolled already; the coordinator takes only a token bound to this host id for that (ferry hosts reenroll ID)');
  } else {
    cmd
      .option('--data <dir>', 'data directory (default PREFIX/var/lib/ferry)')
      .option('--san <host-or-ip>', 'another name or address agents reach the coordinator by, for the server certificate a new data dir gets (repeatable)', collect, [])
      .option('--listen <host:port>', 'gRPC address (default 127.0.0.1:7420: loopback only until you choose otherwise)')
      .option('--user <name>', 'run as this system user (created when missing; owns the data dir) instead of root');
  }
  const cfg = service === 'ferry-agent' ? 'agent.yaml' : 'coordinator.yaml';
  const trust = service === 'ferry-agent'
    ? `With --token and --ca-fingerprint the host enrolls first (as ferry-agent enroll does: key made here,
certificate into ROOT/tls/, 0600), so the service starts with mutual TLS; a refused enrollment stops
install before anything is written. An enrolled host skips it on re-runs unless --reenroll. The token
is never printed, logged or written (shown as fy.<id>.***).`
    : `A data dir without a CA is initialised first (as ferry-coordinator init does): CA, server certificate
and the first admin token in DATA/admin.token (0600); install prints the CA fingerprint agents pin,
and where the token is, never the token itself.`;
  return cmd.addHelpText('after', `
The settings are written to a new /etc/ferry/${cfg}; an existing one is kept untouched, so
re-running install only upgrades the code in /opt/ferry (copied aside, then renamed into place).
${trust}
Without systemd it says so and prints the command line to run under another supervisor.
Must run as root unless --prefix or --dry-run is given.
Exit codes: 0 done, 1 a step failed (named), 2 bad usage.

Examples:
  ${service} install --dry-run${service === 'ferry-agent' ? ' --coordinator 10.0.0.5:7420' : ''}
  ${service === 'ferry-agent'
    ? 'FERRY_JOIN_TOKEN=fy.… ferry-agent install --coordinator coordinator.internal:7420 --ca-fingerprint 7A:35:…:68 --tag role=web'
    : 'ferry-coordinator install --listen 0.0.0.0:7420 --data /var/lib/ferry --san ferry.internal --san 10.0.0.5'}
  ${service} install --prefix /tmp/image --no-systemd${service === 'ferry-agent' ? ' --coordinator 10.0.0.5:7420' : ''}`);
}

export function uninstallCommand(service: ServiceName): Command {
  return common(new Command('uninstall').description(`stop and remove the ${service} service and /opt/ferry`))
    .option('--purge', `also remove the config file and the ${service === 'ferry-agent' ? 'deployment root' : 'data directory'}`)
    .addHelpText('after', `
Keeps /etc/ferry and the ${service === 'ferry-agent' ? 'deployment root' : 'data directory'} unless --purge. /opt/ferry stays while the
other Ferry service is installed from it.

Examples:
  ${service} uninstall --dry-run
  ${service} uninstall --purge`);
}

function checkRoot(host: InstallHost, opts: Record<string, unknown>, verb: string): void {
  if (host.uid === 0 || opts.dryRun === true || path.resolve(String(opts.prefix)) !== '/') return;
  throw new FerryError('INVALID_ARGUMENT', `${verb}: must run as root to write /opt/ferry, /etc/ferry and the systemd unit (or give --dry-run, or --prefix DIR)`);
}

/** Flags → InstallOptions; every bad value names its flag. */
export function installOptions(service: ServiceName, opts: Record<string, unknown>, cwd: string, joinToken?: string): InstallOptions {
  const prefix = path.resolve(cwd, String(opts.prefix ?? '/'));
  const abs = (v: unknown) => (typeof v === 'string' ? path.resolve(cwd, v) : undefined);
  if (service === 'ferry-coordinator') {
    const listen = opts.listen === undefined ? undefined : parseListen(String(opts.listen));
    const data = abs(opts.data);
    const user = typeof opts.user === 'string' ? opts.user : undefined;
    if (user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) {
      throw new FerryError('INVALID_ARGUMENT', `--user: '${user}' is not a system user name (lower-case letters, digits, '_', '-'; at most 32)`);
    }
    // The address it listens on, when it is a particular one, is a name agents reach it by.
    const host = listen === undefined ? undefined : listenHost(listen);
    const sans = [...(host && host !== '0.0.0.0' && host !== '::' && !isLoopbackHost(host) ? [host] : []), ...((opts.san as string[] | undefined) ?? [])];
    subjectAltNames(sans); // names the bad --san
    return { service, prefix, coordinator: { ...(data && { data }), ...(listen && { listen }), ...(user && { user }), ...(sans.length > 0 && { sans }) } };
  }
  const tags: Record<string, string> = {};
  for (const raw of (opts.tag as string[] | undefined) ?? []) {
    const [k, v] = parseTag('--tag', raw);
    tags[k] = v;
  }
  const zone = typeof opts.zone === 'string' ? opts.zone.trim() : undefined;
  if (zone !== undefined && /[,\s]/.test(zone)) throw new FerryError('INVALID_ARGUMENT', `--zone: '${zone}' may not hold blanks or commas`);
  const hostId = typeof opts.hostId === 'string' ? opts.hostId : undefined;
  if (hostId !== undefined && !isSafeId(hostId)) throw new FerryError('INVALID_ARGUMENT', `--host-id: '${hostId}' must be letters, digits, '.', '_' or '-'`);
  const coordinator = opts.coordinator === undefined ? undefined : parseAddress('--coordinator', String(opts.coordinator));
  const rootDir = abs(opts.rootDir);
  const enroll = enrollOptions(opts, joinToken);
  return {
    service, prefix,
    agent: { tags, ...(coordinator && { coordinator }), ...(rootDir && { rootDir }), ...(hostId && { hostId }), ...(zone && { zone }), ...(enroll && { enroll }) },
  };
}

/** The join token to enroll with: --token, else FERRY_JOIN_TOKEN (from the agent's environment reader). */
export function joinTokenOf(opts: Record<string, unknown>, joinToken: string | undefined): string | undefined {
  const t = typeof opts.token === 'string' ? opts.token.trim() : joinToken?.trim();
  return t === '' ? undefined : t;
}

/** --token/FERRY_JOIN_TOKEN, --ca-fingerprint and --reenroll: one needs the other; the token itself never goes into a message. */
function enrollOptions(opts: Record<string, unknown>, joinToken: string | undefined): AgentSettings['enroll'] {
  const token = joinTokenOf(opts, joinToken);
  const fp = typeof opts.caFingerprint === 'string' ? opts.caFingerprint : undefined;
  const source = typeof opts.token === 'string' ? '--token' : 'FERRY_JOIN_TOKEN';
  if (token !== undefined && fp === undefined) {
    throw new FerryError('INVALID_ARGUMENT', `--ca-fingerprint: required with ${source === '--token' ? '--token' : 'a join token (FERRY_JOIN_TOKEN is set)'}, to pin the coordinator's CA: ferry-coordinator install or init printed it`);
  }
  if (token === undefined && (fp !== undefined || opts.reenroll === true)) {
    throw new FerryError('INVALID_ARGUMENT', `--token: required with ${fp !== undefined ? '--ca-fingerprint' : '--reenroll'} (or set FERRY_JOIN_TOKEN): an admin makes one with ferry token create --role agent --uses 1`);
  }
  if (token === undefined || fp === undefined) return undefined;
  if (!/^[0-9A-F]{64}$/.test(normaliseFingerprint(fp))) {
    throw new FerryError('INVALID_ARGUMENT', `--ca-fingerprint: '${fp}' is not a SHA-256 fingerprint (64 hex digits, colons allowed, as ferry-coordinator init prints it)`);
  }
  if (!/^fy\.[a-z0-9]+\.\S+$/.test(token)) {
    throw new FerryError('INVALID_ARGUMENT', `${source}: not a join token (expected fy.<id>.<secret>, as ferry token create prints it)`);
  }
  return { caFingerprint: fp, token: redactToken(token), reenroll: opts.reenroll === true };
}

function facts(m: Ops, service: ServiceName, prefix: string, opts: Record<string, unknown>, host: InstallHost, forUninstall: boolean, dataDir?: string): InstallFacts {
  const user = typeof opts.user === 'string' ? opts.user : undefined;
  return m.probeFacts({ service, prefix, systemd: opts.systemd !== false && m.probeSystemd(host.pathEnv), nodePath: host.nodePath, forUninstall, ...(user && { user }), ...(dataDir && { dataDir }) });
}

export async function executeInstall(service: ServiceName, opts: Record<string, unknown>, host: InstallHost, cwd: string): Promise<number> {
  checkRoot(host, opts, 'install');
  const o = installOptions(service, opts, cwd, host.joinToken);
  const m = await loadOps();
  const f = facts(m, service, o.prefix, opts, host, false, o.agent?.rootDir ?? o.coordinator?.data);
  const configFile = m.layoutFor(service, o.prefix).configFile;
  if (service === 'ferry-agent' && !f.configExists && !o.agent?.coordinator) {
    throw new FerryError('INVALID_ARGUMENT', `--coordinator: required for a new install (no ${configFile} yet)`);
  }
  if (o.agent?.enroll && !f.configuredCoordinator && !o.agent.coordinator) {
    throw new FerryError('INVALID_ARGUMENT', `--coordinator: required to enroll (${configFile} names none)`);
  }
  const steps = m.installPlan(o, f);
  const command = m.serviceCommand(service, f, m.layoutFor(service, o.prefix));
  const joinToken = joinTokenOf(opts, host.joinToken);
  return report(m, service, 'install', steps, { systemd: m.systemdMode(o.prefix, f), upgrade: f.installed, command: m.shellLine(command) }, opts, host, joinToken);
}

export async function executeUninstall(service: ServiceName, opts: Record<string, unknown>, host: InstallHost, cwd: string): Promise<number> {
  checkRoot(host, opts, 'uninstall');
  const prefix = path.resolve(cwd, String(opts.prefix ?? '/'));
  const m = await loadOps();
  const f = facts(m, service, prefix, opts, host, true);
  const steps = m.uninstallPlan({ service, prefix, purge: opts.purge === true }, f);
  return report(m, service, 'uninstall', steps, { systemd: m.systemdMode(prefix, f), installed: f.installed }, opts, host);
}

async function report(m: Ops, service: ServiceName, verb: string, steps: Step[], extra: Record<string, unknown>, opts: Record<string, unknown>, host: InstallHost, joinToken?: string): Promise<number> {
  const dryRun = opts.dryRun === true;
  const json = opts.json === true;
  if (!json) host.write(`${service} ${verb}${dryRun ? ' --dry-run: nothing is changed; these are the steps' : ''}:\n`);
  if (dryRun) {
    if (json) host.write(JSON.stringify({ service, action: verb, dryRun, ...extra, steps: steps.map(s => ({ ...s, line: m.describeStep(s) })) }, null, 2) + '\n');
    else for (const s of steps) host.write(printed(m, s));
    return 0;
  }
  const results = await m.executeSteps(steps, line => {
    if (!json) host.write(`  ${line.replace(/\n/g, '\n  ')}\n`);
  }, { ...(joinToken && { joinToken }), ...(host.trust && { trust: host.trust }) });
  if (json) host.write(JSON.stringify({ service, action: verb, dryRun, ...extra, ...results, steps: steps.map(s => ({ ...s, line: m.describeStep(s) })) }, null, 2) + '\n');
  else host.write(`${service} ${verb}: done\n`);
  return 0;
}

/** A dry-run line, with the content of written files shown beneath it. */
function printed(m: Ops, s: Step): string {
  const line = `  ${m.describeStep(s).replace(/\n/g, '\n  ')}\n`;
  if (s.kind !== 'write' || s.path.includes(`${path.sep}.services${path.sep}`)) return line;
  return line + s.content.replace(/\n$/, '').split('\n').map(l => `        | ${l}`).join('\n') + '\n';
}
