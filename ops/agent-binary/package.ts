import { DEFAULT_AGENT_ROOT, configFile, layoutFor, unitFile } from '../install/plan.js';

/**
 * What the ferry-agent .deb and .rpm hold, decided purely (the writers are deb.ts and rpm.ts): the
 * binary, the systemd unit and /etc/ferry/agent.yaml as ops/install writes them (one source for
 * both), and the maintainer scripts, shared by the two formats. The scripts create the `ferry`
 * system user and the deployment root, and start the service only on an enrolled host.
 */

/** Node's arch names → the names Linux distributions and Ferry's downloads use. */
export const ARCHES: Readonly<Record<string, { deb: string; rpm: string }>> = {
  x64: { deb: 'amd64', rpm: 'x86_64' },
  arm64: { deb: 'arm64', rpm: 'aarch64' },
};

export const BINARY_PATH = '/usr/bin/ferry-agent';
/**
 * The package's unit, in each family's vendor place (`systemctl edit ferry-agent` overrides it;
 * `ferry-agent install` writes /etc/systemd/system instead). On RHEL /lib is a symlink that rpm must not go through.
 */
export const UNIT_PATHS = { deb: '/lib/systemd/system/ferry-agent.service', rpm: '/usr/lib/systemd/system/ferry-agent.service' } as const;
export const CONFIG_PATH = '/etc/ferry/agent.yaml';
export const SYSTEM_USER = 'ferry';

const layout = layoutFor('ferry-agent', '/');

export const DESCRIPTION = 'Ferry agent: runs CodeDeploy-compatible deployments on this host';
export const LONG_DESCRIPTION = [
  'The Ferry agent as one self-contained executable (no Node.js needed): it connects to a Ferry',
  'coordinator, installs revisions and runs their lifecycle hooks. The service starts once the host',
  'is enrolled (ferry-agent enroll) with a join token.',
];

export function packageUnit(): string {
  return unitFile('ferry-agent', { executable: BINARY_PATH }, layout, 'root',
    `Installed by the ferry-agent package (upgrades replace it): change it with \`systemctl edit ferry-agent\`.`);
}

/** The conffile: kept as the admin left it on upgrade (dpkg conffile, rpm %config(noreplace)). */
export function packageConfig(): string {
  const body = configFile({ service: 'ferry-agent', prefix: '/', agent: { tags: {} } }, layout);
  return body + [
    '# Set the coordinator, then enroll and start (or let the coordinator\'s install.sh do it all):',
    '#   coordinator: ferry.internal:7420',
    '#   tags:',
    '#     role: web',
    '#   ferry-agent enroll --config /etc/ferry/agent.yaml --token <join token> --ca-fingerprint <CA SHA-256>',
    '#   systemctl enable --now ferry-agent',
    '',
  ].join('\n');
}

/** Shell functions both formats' scripts use (POSIX sh: the scripts run on hosts with no Node.js). */
const FUNCTIONS = String.raw`
ferry_root() {
  r=$(sed -n 's/^root-dir:[[:space:]]*//p' ${CONFIG_PATH} 2>/dev/null | head -n 1 | tr -d "\"'")
  echo "${'$'}{r:-/${DEFAULT_AGENT_ROOT}}"
}
ferry_enrolled() {
  [ -s "$(ferry_root)/tls/agent.crt" ] && [ -s "$(ferry_root)/tls/agent.key" ]
}
ferry_systemd() {
  [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}
ferry_user() {
  getent group ${SYSTEM_USER} >/dev/null 2>&1 || groupadd --system ${SYSTEM_USER}
  getent passwd ${SYSTEM_USER} >/dev/null 2>&1 || useradd --system --gid ${SYSTEM_USER} --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --comment "Ferry agent" ${SYSTEM_USER}
}
# $1: "upgrade" or "install".
ferry_configure() {
  ferry_user
  mkdir -p "$(ferry_root)"
  chmod 0755 "$(ferry_root)"
  if ! ferry_enrolled; then
    echo "ferry-agent: installed, not started: this host is not enrolled yet. Set coordinator: in ${CONFIG_PATH}, then:"
    echo "  ferry-agent enroll --config ${CONFIG_PATH} --token <join token> --ca-fingerprint <CA SHA-256>"
    echo "  systemctl enable --now ferry-agent"
    ferry_systemd && systemctl daemon-reload || true
    return 0
  fi
  if ! ferry_systemd; then
    echo "ferry-agent: systemd is not running here: start ${BINARY_PATH} start --config ${CONFIG_PATH} under your supervisor"
    return 0
  fi
  systemctl daemon-reload
  systemctl enable ferry-agent.service
  if [ "$1" = upgrade ]; then systemctl restart ferry-agent.service; else systemctl start ferry-agent.service; fi
}
ferry_stop() {
  if ferry_systemd; then systemctl disable --now ferry-agent.service >/dev/null 2>&1 || true; fi
}
ferry_purge() {
  rm -rf "$(ferry_root)"
  rmdir /etc/ferry 2>/dev/null || true
}
`;

/** What the binary needs of the host (ldd on Node 20's official build): glibc 2.28 and libstdc++ of GCC 5. */
export const DEB_DEPENDS = 'libc6 (>= 2.28), libstdc++6 (>= 5.2), libgcc-s1 | libgcc1, passwd';
export const RPM_REQUIRES = ['glibc >= 2.28', 'libstdc++', '/usr/sbin/useradd'];

export type ScriptName = 'postinst' | 'prerm' | 'postrm';

/** Debian maintainer scripts ($1 is the action: configure, remove, upgrade, purge…). */
export function debScript(name: ScriptName): string {
  const body: Record<ScriptName, string> = {
    // configure with a previous version ($2) is an upgrade.
    postinst: 'if [ "$1" = configure ]; then\n  if [ -n "$2" ]; then ferry_configure upgrade; else ferry_configure install; fi\nfi',
    prerm: 'if [ "$1" = remove ]; then ferry_stop; fi',
    postrm: 'if [ "$1" = purge ]; then ferry_purge; fi\nif [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi',
  };
  return `#!/bin/sh\nset -e\n${FUNCTIONS}\n${body[name]}\n`;
}

/** rpm scriptlets ($1 counts the installed copies: 1 install, 2 upgrade; 0 on erase). */
export function rpmScript(name: ScriptName): string {
  const body: Record<ScriptName, string> = {
    postinst: 'if [ "$1" -ge 2 ]; then ferry_configure upgrade; else ferry_configure install; fi',
    prerm: 'if [ "$1" -eq 0 ]; then ferry_stop; fi',
    postrm: 'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi',
  };
  return `${FUNCTIONS}\n${body[name]}\n`;
}
