import path from 'node:path';
import { stringify } from 'yaml';
import { agentTrust, coordinatorTrust } from './trust.js';
import type { InstallFacts, InstallOptions, Layout, ServiceName, Step } from './types.js';

/**
 * `ferry-agent install` / `ferry-coordinator install` and `uninstall`, decided purely (docs/design/style.md §7):
 * options and probed facts in, a list of steps out. `--dry-run` prints the steps; one executor
 * (execute.ts) performs them. Nothing here touches the file system or spawns.
 */

export const PACKAGE_HOME = 'opt/ferry';

/** `/opt/ferry/.services/<service>`: which services run from the shared /opt/ferry. */
export function markerFile(home: string, service: ServiceName): string {
  return path.join(home, '.services', service);
}

const otherService = (s: ServiceName): ServiceName => (s === 'ferry-agent' ? 'ferry-coordinator' : 'ferry-agent');

export function layoutFor(service: ServiceName, prefix: string): Layout {
  const p = (rel: string) => path.join(prefix, rel);
  const configName = service === 'ferry-agent' ? 'agent.yaml' : 'coordinator.yaml';
  return {
    prefix,
    home: p(PACKAGE_HOME),
    staged: p('opt/.ferry.staged'),
    old: p('opt/.ferry.old'),
    configDir: p('etc/ferry'),
    configFile: p(path.join('etc/ferry', configName)),
    unitDir: p('etc/systemd/system'),
    unitFile: p(path.join('etc/systemd/system', `${service}.service`)),
  };
}

/**
 * Open files: the agent holds one connection plus hook pipes; the coordinator one stream per
 * agent, and docs/design/stack.md §3 measured the open-file limit as the ceiling for 10,000 streams —
 * so its limit is sized well above a large fleet.
 */
export const OPEN_FILES: Record<ServiceName, number> = { 'ferry-agent': 65_536, 'ferry-coordinator': 1_048_576 };

export const DEFAULT_AGENT_ROOT = 'opt/ferry-agent/deployment-root';
export const DEFAULT_COORDINATOR_DATA = 'var/lib/ferry';

/**
 * How the service is started: the same line in the unit and for another supervisor. `launcher` is
 * the node binary (from a package or checkout: node runs PREFIX/opt/ferry/bin/<service>) or, for the
 * agent binary (a single executable, ops/agent-binary/), `{ executable }`: the file that runs alone.
 */
export type Launcher = Pick<InstallFacts, 'nodePath'> | { executable: string };

export function serviceCommand(service: ServiceName, launcher: Launcher, layout: Layout): string[] {
  const program = 'executable' in launcher ? [launcher.executable] : [launcher.nodePath, path.join(layout.home, 'bin', service)];
  return service === 'ferry-agent'
    ? [...program, 'start', '--config', layout.configFile]
    : [...program, '--config', layout.configFile];
}

export function shellLine(argv: readonly string[]): string {
  return argv.map(a => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Who wrote the unit, for its first comment line (install; or a package: ops/agent-binary/package.ts). */
export const installedBy = (service: ServiceName) => `Written by \`${service} install\`; re-running install rewrites it.`;

export function unitFile(service: ServiceName, launcher: Launcher, layout: Layout, user = 'root', origin = installedBy(service)): string {
  const what = service === 'ferry-agent' ? 'Ferry agent: runs deployments on this host' : 'Ferry coordinator: API, store and rollout scheduler';
  return [
    `# ${origin} Settings live in`,
    `# ${layout.configFile} (see docs/configuration.md).`,
    '[Unit]',
    `Description=${what}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${shellLine(serviceCommand(service, launcher, layout))}`,
    // `systemctl reload ferry-coordinator`: the coordinator serves DATA/tls/server.{crt,key} again (after renew-cert).
    ...(service === 'ferry-coordinator' ? ['ExecReload=/bin/kill -HUP $MAINPID'] : []),
    // The agent stays root: hooks switch to their appspec `runas` users. The coordinator may run
    // as a dedicated user (install --user).
    `User=${user}`,
    'Restart=always',
    'RestartSec=2',
    `LimitNOFILE=${OPEN_FILES[service]}`,
    // SIGTERM to the main process only: both binaries shut down cleanly (the agent cancels the
    // running hook itself), and daemons that hooks started (the deployed apps, in this unit's
    // cgroup) keep running across an agent restart or upgrade.
    'KillMode=process',
    'TimeoutStopSec=30',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The new config file: only what was given, plus the data location so `--purge` finds it. */
export function configFile(opts: InstallOptions, layout: Layout): string {
  const doc: Record<string, unknown> = {};
  if (opts.service === 'ferry-agent') {
    const a = opts.agent ?? { tags: {} };
    if (a.coordinator) doc.coordinator = a.coordinator;
    doc['root-dir'] = a.rootDir ?? path.join(layout.prefix, DEFAULT_AGENT_ROOT);
    if (a.hostId) doc['host-id'] = a.hostId;
    if (a.zone) doc.zone = a.zone;
    if (Object.keys(a.tags).length > 0) doc.tags = { ...a.tags };
  } else {
    const c = opts.coordinator ?? {};
    doc.data = c.data ?? path.join(layout.prefix, DEFAULT_COORDINATOR_DATA);
    if (c.listen) doc.listen = c.listen;
  }
  const head = `# ${opts.service} settings; every key, its default, flag and environment variable: docs/configuration.md\n`;
  return head + stringify(doc);
}

export type SystemdMode = 'run' | 'files-only' | 'absent';

/** systemctl runs only on the real root; a prefix install writes the unit for an image build. */
export function systemdMode(prefix: string, facts: Pick<InstallFacts, 'systemd'>): SystemdMode {
  if (!facts.systemd) return 'absent';
  return path.resolve(prefix) === '/' ? 'run' : 'files-only';
}

/** Where the agent's deployment root is: the existing config's, else --root-dir, else the default under the prefix. */
export function agentRootDir(opts: InstallOptions, facts: Pick<InstallFacts, 'configuredDataDir'>): string {
  return facts.configuredDataDir ?? opts.agent?.rootDir ?? path.join(opts.prefix, DEFAULT_AGENT_ROOT);
}

export function coordinatorDataDir(opts: InstallOptions, facts: Pick<InstallFacts, 'configuredDataDir'>): string {
  return facts.configuredDataDir ?? opts.coordinator?.data ?? path.join(opts.prefix, DEFAULT_COORDINATOR_DATA);
}

/**
 * Trust comes first: the agent enrolls (the coordinator ferry-coordinator init set up) before
 * anything is copied or written, so a refused token, a wrong fingerprint or an unreachable
 * coordinator leaves the machine as it was, and the unit never starts without its certificate.
 */
export function installPlan(opts: InstallOptions, facts: InstallFacts): Step[] {
  const l = layoutFor(opts.service, opts.prefix);
  const unit = `${opts.service}.service`;
  const mode = systemdMode(opts.prefix, facts);
  const trust = opts.service === 'ferry-agent'
    ? agentTrust(opts, facts, l, agentRootDir(opts, facts))
    : coordinatorTrust(opts, facts, coordinatorDataDir(opts, facts));
  const steps: Step[] = [
    ...trust.first,
    { kind: 'mkdir', path: path.dirname(l.home), mode: 0o755 },
    { kind: 'copy', from: facts.packageDir, to: l.staged, entries: facts.packageEntries },
    { kind: 'mkdir', path: path.join(l.staged, '.services'), mode: 0o755 },
    { kind: 'write', path: markerFile(l.staged, opts.service), mode: 0o644, content: `${opts.service}\n` },
    ...(facts.otherInstalled
      ? [{ kind: 'write', path: markerFile(l.staged, otherService(opts.service)), mode: 0o644, content: `${otherService(opts.service)}\n` } as const]
      : []),
    { kind: 'swap', staged: l.staged, target: l.home, old: l.old },
    { kind: 'mkdir', path: l.configDir, mode: 0o755 },
  ];
  if (facts.configExists) {
    steps.push({ kind: 'note', text: `kept ${l.configFile} as it is (install options are only written to a new file; edit it to change settings)` });
  } else {
    steps.push({ kind: 'write', path: l.configFile, mode: 0o600, content: configFile(opts, l) });
  }
  if (mode !== 'absent') {
    steps.push({ kind: 'mkdir', path: l.unitDir, mode: 0o755 });
    steps.push({ kind: 'write', path: l.unitFile, mode: 0o644, content: unitFile(opts.service, facts, l, opts.coordinator?.user) });
  }
  if (opts.coordinator?.user) steps.push(...userSteps(opts, facts, l));
  const command = shellLine(serviceCommand(opts.service, facts, l));
  if (mode === 'run') {
    steps.push({ kind: 'run', argv: ['systemctl', 'daemon-reload'] });
    steps.push({ kind: 'run', argv: ['systemctl', 'enable', unit] });
    steps.push({ kind: 'run', argv: ['systemctl', facts.installed ? 'restart' : 'start', unit] });
    if (facts.installed && facts.otherInstalled) {
      const other = otherService(opts.service);
      steps.push({ kind: 'note', text: `${other} shares ${l.home}: run \`systemctl restart ${other}\` to move it to this version` });
    }
  } else if (mode === 'files-only') {
    steps.push({ kind: 'note', text: `systemd: not started, as --prefix ${opts.prefix} is not this machine's root; on the target, run: systemctl daemon-reload && systemctl enable --now ${unit}` });
  } else {
    steps.push({ kind: 'note', text: `systemd: not in use (no /run/systemd/system, no systemctl on PATH, or --no-systemd), so nothing was started. Run this under your supervisor${opts.coordinator?.user ? ` as user ${opts.coordinator.user}` : ''} (restart always, open files ≥ ${OPEN_FILES[opts.service]}):\n    ${command}` });
  }
  steps.push(...trust.last);
  return steps;
}

/**
 * `ferry-coordinator install --user U`: the user (created as a system user when missing), its data
 * directory, and a config file it can read (root:U 0640). Only on this machine's root: for a
 * --prefix install it says what to do on the target.
 */
function userSteps(opts: InstallOptions, facts: InstallFacts, l: Layout): Step[] {
  const user = opts.coordinator!.user!;
  const data = coordinatorDataDir(opts, facts);
  if (path.resolve(opts.prefix) !== '/') {
    return [{ kind: 'note', text: `--user ${user}: on the target, create the user, then: chown -R ${user}: ${data}; chown root:${user} ${l.configFile}; chmod 0640 ${l.configFile}` }];
  }
  return [
    ...(facts.userExists ? [] : [{ kind: 'run', argv: ['useradd', '--system', '--user-group', '--no-create-home', '--home-dir', data, '--shell', '/usr/sbin/nologin', user] } as const]),
    { kind: 'mkdir', path: data, mode: 0o750 },
    { kind: 'run', argv: ['chown', '-R', `${user}:${user}`, data] },
    { kind: 'run', argv: ['chown', `root:${user}`, l.configFile] },
    { kind: 'run', argv: ['chmod', '0640', l.configFile] },
  ];
}

export interface UninstallOptions {
  service: ServiceName;
  prefix: string;
  purge: boolean;
}

export function uninstallPlan(opts: UninstallOptions, facts: InstallFacts): Step[] {
  const l = layoutFor(opts.service, opts.prefix);
  const unit = `${opts.service}.service`;
  const mode = systemdMode(opts.prefix, facts);
  const steps: Step[] = [];
  if (!facts.installed && !facts.unitExists) steps.push({ kind: 'note', text: `${opts.service} is not installed under ${opts.prefix} (no ${l.home}, no ${l.unitFile})` });
  if (mode === 'run' && facts.unitExists) steps.push({ kind: 'run', argv: ['systemctl', 'disable', '--now', unit], ignoreFailure: true });
  if (facts.unitExists) steps.push({ kind: 'remove', path: l.unitFile });
  if (mode === 'run' && facts.unitExists) steps.push({ kind: 'run', argv: ['systemctl', 'daemon-reload'] });
  if (facts.otherInstalled) {
    if (facts.installed) steps.push({ kind: 'remove', path: markerFile(l.home, opts.service) });
    steps.push({ kind: 'note', text: `kept ${l.home}: ${otherService(opts.service)} is installed too and runs from it` });
  } else if (facts.installed) {
    steps.push({ kind: 'remove', path: l.home });
  }
  const data = facts.configuredDataDir ?? path.join(opts.prefix, opts.service === 'ferry-agent' ? DEFAULT_AGENT_ROOT : DEFAULT_COORDINATOR_DATA);
  const dataName = opts.service === 'ferry-agent' ? 'deployment root' : 'data directory';
  if (opts.purge) {
    if (facts.configExists) steps.push({ kind: 'remove', path: l.configFile });
    steps.push({ kind: 'rmdir', path: l.configDir });
    steps.push({ kind: 'remove', path: data });
  } else {
    steps.push({ kind: 'note', text: `kept ${facts.configExists ? `${l.configFile} and ` : ''}the ${dataName} ${data} (--purge removes ${facts.configExists ? 'them' : 'it'})` });
  }
  return steps;
}

/** One line per step, for `--dry-run` and as each step runs. */
export function describeStep(s: Step): string {
  const mode = (m: number) => m.toString(8).padStart(4, '0');
  switch (s.kind) {
    case 'mkdir': return `mkdir   ${s.path} (${mode(s.mode)})`;
    case 'copy': {
      const deps = s.entries.filter(e => e.startsWith('node_modules/')).length;
      const own = s.entries.filter(e => !e.startsWith('node_modules/'));
      return `copy    ${s.from} → ${s.to}: ${own.join(', ')} and ${deps} runtime packages in node_modules`;
    }
    case 'swap': return `swap    ${s.staged} → ${s.target} (the previous copy is removed after the rename)`;
    case 'write': return `write   ${s.path} (${mode(s.mode)})`;
    case 'remove': return `remove  ${s.path}`;
    case 'rmdir': return `rmdir   ${s.path} (when empty)`;
    case 'run': return `run     ${shellLine(s.argv)}${s.ignoreFailure ? ' (failure ignored)' : ''}`;
    case 'enroll': return `enroll  as host ${s.hostId ?? `(the id in ${path.join(s.rootDir, 'host-id')}, made now if there is none)`} with ${s.coordinator}, pinning its CA by SHA256 ${s.caFingerprint}, join token ${s.token}: the key is made here; key and certificate go to ${path.join(s.rootDir, 'tls')}/ (0600)`;
    case 'init': return `init    ${s.data}: CA and server certificate in ${path.join(s.data, 'tls')}/ (names localhost, 127.0.0.1, ::1, this host's name${s.sans.map(n => `, ${n}`).join('')}), first admin token in ${path.join(s.data, 'admin.token')} (0600)`;
    case 'note': return `note    ${s.text}`;
  }
}
