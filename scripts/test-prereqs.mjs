// The Debian packages the suite needs, checked (and, as root with apt-get, installed) before it runs,
// so `npm ci && npm test` passes on a fresh Debian machine. Without root it names what is missing:
// the tests that need a missing tool then fail saying which package brings it.
import { spawnSync } from 'node:child_process';

/** Debian's multiarch directory for this machine (libraries live under /usr/lib/<it>). */
const MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch] ?? `${process.arch}-linux-gnu`;
/** libfaketime's preload library (Debian package libfaketime); test/helpers/fake-clock.ts uses the same path. */
export const LIBFAKETIME = `/usr/lib/${MULTIARCH}/faketime/libfaketime.so.1`;

/** [command the tests run (or, when absolute, a file they use), Debian package, what needs it]. */
export const PREREQUISITES = [
  ['setfacl', 'acl', 'appspec permissions with acls (test/integration/local-install.test.ts)'],
  ['openssl', 'openssl', 'the coordinator CA and certificates (every TLS test)'],
  ['ip', 'iproute2', 'hosts in network namespaces (test/e2e/netns.test.ts)'],
  ['unshare', 'util-linux', 'a private app dir per agent (the e2e fleet tests)'],
  ['zsh', 'zsh', 'the zsh completion script (test/unit/cli-tree.test.ts, test/unit/cli-completion.test.ts)'],
  ['fish', 'fish', 'the fish completion script, parsed and driven (test/unit/cli-completion.test.ts)'],
  ['dpkg-deb', 'dpkg', 'the agent .deb (test/e2e/agent-binary.test.ts)'],
  ['rpmbuild', 'rpm', 'the agent .rpm, installed with rpm in a throwaway root (test/e2e/agent-binary.test.ts)'],
  ['chromium', 'chromium', 'the web console driven headless by playwright-core (test/console/)'],
  // Debian keeps initdb and pg_ctl off PATH (in /usr/lib/postgresql/<major>/bin): checked there.
  ['/usr/lib/postgresql/*/bin/initdb', 'postgresql', 'the PostgreSQL store, started per test file (test/contract/store.test.ts, test/helpers/postgres.ts)'],
  ['strip', 'binutils', 'a 12 MB smaller agent binary (npm run build:agent; it works unstripped too)'],
  [LIBFAKETIME, 'libfaketime', 'wall-clock jumps of the coordinator alone (test/e2e/truth-clock.test.ts, npm run soak)'],
];

/** A command on PATH, or (starting with /) a file matching a glob such as /usr/lib/postgresql/*\/bin/initdb. */
const has = cmd => spawnSync('sh', ['-c', cmd.startsWith('/') ? `for f in ${cmd}; do [ -e "$f" ] && exit 0; done; exit 1` : `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const apt = args => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8' });

/** Installs what is missing when it can; returns the lines to print (empty when all is there). */
export function ensurePrerequisites(log = line => process.stdout.write(`${line}\n`)) {
  const missing = PREREQUISITES.filter(([cmd]) => !has(cmd));
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && has('apt-get')) {
    log(`test prerequisites: installing ${packages.join(' ')} (apt-get)`);
    let r = apt(['install', '-y', '-qq', ...packages]);
    if (r.status !== 0) {
      apt(['update', '-qq']);
      r = apt(['install', '-y', '-qq', ...packages]);
    }
    if (r.status !== 0) log(`test prerequisites: apt-get install ${packages.join(' ')} failed: ${(r.stderr ?? '').trim().split('\n').at(-1)}`);
  }
  const still = PREREQUISITES.filter(([cmd]) => !has(cmd));
  for (const [cmd, pkg, why] of still) {
    log(`test prerequisites: ${cmd} is missing (Debian package ${pkg}), needed for ${why}: run as root \`apt-get install ${pkg}\``);
  }
  return still;
}
