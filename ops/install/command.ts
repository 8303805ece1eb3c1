import path from 'node:path';
import { Command } from 'commander';
import { parseAddress, parseTag } from '../../agent/config.js';
import { FerryError } from '../../agent/errors.js';
import { isSafeId } from '../../agent/state/layout.js';
import { parseListen } from '../../coordinator/config.js';
import { executeSteps } from './execute.js';
import { probeFacts, probeSystemd } from './facts.js';
import {
  type InstallFacts, type InstallOptions, type ServiceName, type Step, describeStep, installPlan, layoutFor,
  serviceCommand, shellLine, systemdMode, uninstallPlan,
} from './plan.js';

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
}

const collect = (value: string, previous: string[]) => [...previous, value];

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
      .option('--host-id <id>', 'this host\'s id (default: generated at first start)')
      .option('--tag <key=value>', 'a host tag, repeatable', collect, [])
      .option('--zone <zone>', 'availability zone');
  } else {
    cmd
      .option('--data <dir>', 'data directory (default PREFIX/var/lib/ferry)')
      .option('--listen <host:port>', 'gRPC address (default 127.0.0.1:7420: loopback only until you choose otherwise)')
      .option('--user <name>', 'run as this system user (created when missing; owns the data dir) instead of root');
  }
  const cfg = service === 'ferry-agent' ? 'agent.yaml' : 'coordinator.yaml';
  return cmd.addHelpText('after', `
The settings are written to a new /etc/ferry/${cfg}; an existing one is kept untouched, so
re-running install only upgrades the code in /opt/ferry (copied aside, then renamed into place).
Without systemd it says so and prints the command line to run under another supervisor.
Must run as root unless --prefix or --dry-run is given.
Exit codes: 0 done, 1 a step failed (named), 2 bad usage.

Examples:
  ${service} install --dry-run${service === 'ferry-agent' ? ' --coordinator 10.0.0.5:7420' : ''}
  ${service === 'ferry-agent'
    ? 'ferry-agent install --coordinator coordinator.internal:7420 --tag role=web --zone eu-1a'
    : 'ferry-coordinator install --listen 0.0.0.0:7420 --data /var/lib/ferry'}
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
export function installOptions(service: ServiceName, opts: Record<string, unknown>, cwd: string): InstallOptions {
  const prefix = path.resolve(cwd, String(opts.prefix ?? '/'));
  const abs = (v: unknown) => (typeof v === 'string' ? path.resolve(cwd, v) : undefined);
  if (service === 'ferry-coordinator') {
    const listen = opts.listen === undefined ? undefined : parseListen(String(opts.listen));
    const data = abs(opts.data);
    const user = typeof opts.user === 'string' ? opts.user : undefined;
    if (user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) {
      throw new FerryError('INVALID_ARGUMENT', `--user: '${user}' is not a system user name (lower-case letters, digits, '_', '-'; at most 32)`);
    }
    return { service, prefix, coordinator: { ...(data && { data }), ...(listen && { listen }), ...(user && { user }) } };
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
  return {
    service, prefix,
    agent: { tags, ...(coordinator && { coordinator }), ...(rootDir && { rootDir }), ...(hostId && { hostId }), ...(zone && { zone }) },
  };
}

function facts(service: ServiceName, prefix: string, opts: Record<string, unknown>, host: InstallHost, forUninstall: boolean): InstallFacts {
  const user = typeof opts.user === 'string' ? opts.user : undefined;
  return probeFacts({ service, prefix, systemd: opts.systemd !== false && probeSystemd(host.pathEnv), nodePath: host.nodePath, forUninstall, ...(user && { user }) });
}

export async function executeInstall(service: ServiceName, opts: Record<string, unknown>, host: InstallHost, cwd: string): Promise<number> {
  checkRoot(host, opts, 'install');
  const o = installOptions(service, opts, cwd);
  const f = facts(service, o.prefix, opts, host, false);
  if (service === 'ferry-agent' && !f.configExists && !o.agent?.coordinator) {
    throw new FerryError('INVALID_ARGUMENT', `--coordinator: required for a new install (no ${layoutFor(service, o.prefix).configFile} yet)`);
  }
  const steps = installPlan(o, f);
  const command = serviceCommand(service, f, layoutFor(service, o.prefix));
  return report(service, 'install', steps, { systemd: systemdMode(o.prefix, f), upgrade: f.installed, command: shellLine(command) }, opts, host);
}

export async function executeUninstall(service: ServiceName, opts: Record<string, unknown>, host: InstallHost, cwd: string): Promise<number> {
  checkRoot(host, opts, 'uninstall');
  const prefix = path.resolve(cwd, String(opts.prefix ?? '/'));
  const f = facts(service, prefix, opts, host, true);
  const steps = uninstallPlan({ service, prefix, purge: opts.purge === true }, f);
  return report(service, 'uninstall', steps, { systemd: systemdMode(prefix, f), installed: f.installed }, opts, host);
}

async function report(service: ServiceName, verb: string, steps: Step[], extra: Record<string, unknown>, opts: Record<string, unknown>, host: InstallHost): Promise<number> {
  const dryRun = opts.dryRun === true;
  const json = opts.json === true;
  if (!json) host.write(`${service} ${verb}${dryRun ? ' --dry-run: nothing is changed; these are the steps' : ''}:\n`);
  if (dryRun) {
    if (json) host.write(JSON.stringify({ service, action: verb, dryRun, ...extra, steps: steps.map(s => ({ ...s, line: describeStep(s) })) }, null, 2) + '\n');
    else for (const s of steps) host.write(printed(s));
    return 0;
  }
  await executeSteps(steps, line => {
    if (!json) host.write(`  ${line.replace(/\n/g, '\n  ')}\n`);
  });
  if (json) host.write(JSON.stringify({ service, action: verb, dryRun, ...extra, steps: steps.map(s => ({ ...s, line: describeStep(s) })) }, null, 2) + '\n');
  else host.write(`${service} ${verb}: done\n`);
  return 0;
}

/** A dry-run line, with the content of written files shown beneath it. */
function printed(s: Step): string {
  const line = `  ${describeStep(s).replace(/\n/g, '\n  ')}\n`;
  if (s.kind !== 'write' || s.path.includes(`${path.sep}.services${path.sep}`)) return line;
  return line + s.content.replace(/\n$/, '').split('\n').map(l => `        | ${l}`).join('\n') + '\n';
}
