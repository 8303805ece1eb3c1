import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEFAULT_AGENT_ROOT, DEFAULT_COORDINATOR_DATA, layoutFor, markerFile } from './plan.js';
import { type InstallFacts, type ServiceName } from './types.js';

/** The package or checkout this code runs from: the nearest directory up with bin/ferry-agent and package.json. */
export function packageRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'bin', 'ferry-agent')) && existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`cannot find the Ferry package above ${from}`);
}

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
}

/**
 * The runtime dependency closure, as `node_modules/<name>` entries of the package root: resolved
 * the way Node does (nearest node_modules upwards), so dev dependencies of a checkout stay out.
 * A package's own nested node_modules come along with its directory.
 */
export function runtimePackages(root: string): string[] {
  const rootReal = realpathSync(root);
  const top = new Set<string>();
  const seen = new Set<string>();
  const visit = (fromDir: string) => {
    const m = manifest(fromDir);
    const names = [...Object.keys(m.dependencies ?? {}), ...Object.keys(m.optionalDependencies ?? {})];
    for (const name of names) {
      const dir = resolvePackage(fromDir, name, root);
      if (!dir) {
        if (m.optionalDependencies?.[name] !== undefined) continue;
        throw new Error(`cannot find the runtime dependency ${name} (needed by ${path.relative(root, fromDir) || 'ferry'}); run npm ci first`);
      }
      const real = realpathSync(dir);
      if (seen.has(real)) continue;
      seen.add(real);
      const rel = path.relative(root, dir).split(path.sep);
      // node_modules/<name> or node_modules/@scope/<name> at the top: the unit that is copied.
      if (rel[0] === 'node_modules') top.add(rel.slice(0, rel[1]!.startsWith('@') ? 3 : 2).join('/'));
      else if (!real.startsWith(rootReal)) throw new Error(`runtime dependency ${name} resolves outside the package (${real})`);
      visit(dir);
    }
  };
  visit(root);
  return [...top].sort();
}

function resolvePackage(fromDir: string, name: string, root: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.resolve(dir) === path.resolve(root) || dir === path.dirname(dir)) return undefined;
  }
}

/** What is copied into /opt/ferry besides node_modules: the built code, the .proto files, the launchers. */
export function ownEntries(root: string): string[] {
  const want = ['bin', 'dist/agent', 'dist/cli', 'dist/common', 'dist/coordinator', 'dist/ops', 'dist/proto', 'proto/ferry', 'package.json'];
  const missing = want.filter(e => !existsSync(path.join(root, e)));
  if (missing.length > 0) throw new Error(`${root} is not a built Ferry package (missing ${missing.join(', ')}); run npm run build first`);
  return want;
}

/** systemd runs this machine: `/run/systemd/system` exists and `systemctl` is on PATH. */
export function probeSystemd(pathEnv: string, runDir = '/run/systemd/system'): boolean {
  if (!existsSync(runDir)) return false;
  return pathEnv.split(path.delimiter).some(d => d !== '' && isFile(path.join(d, 'systemctl')));
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

interface Configured {
  dataDir?: string;
  coordinator?: string;
  hostId?: string;
}

/** What an existing config file says (unreadable or not YAML: nothing; `start` reports its problems). */
function configured(service: ServiceName, file: string): Configured {
  let doc: Record<string, unknown> | null;
  try {
    doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
  } catch {
    return {};
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const dir = str(service === 'ferry-agent' ? doc?.['root-dir'] ?? doc?.rootDir : doc?.data);
  const coordinator = service === 'ferry-agent' ? str(doc?.coordinator) : undefined;
  const hostId = service === 'ferry-agent' ? str(doc?.['host-id'] ?? doc?.hostId) : undefined;
  return {
    ...(dir && { dataDir: path.resolve(path.dirname(file), dir) }),
    ...(coordinator && { coordinator }),
    ...(hostId && { hostId }),
  };
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The agent's enrollment in its root dir: the id in ROOT/host-id and the one ROOT/tls/agent.crt names. */
export function probeEnrollment(rootDir: string): Pick<InstallFacts, 'keptHostId' | 'enrolledHostId'> {
  const kept = readText(path.join(rootDir, 'host-id'))?.trim();
  const pem = readText(path.join(rootDir, 'tls', 'agent.crt'));
  let enrolled: string | undefined;
  if (pem !== undefined && existsSync(path.join(rootDir, 'tls', 'agent.key'))) {
    try {
      enrolled = /^CN=(.+)$/m.exec(new X509Certificate(pem).subject)?.[1];
    } catch {
      enrolled = undefined; // not a certificate: not enrolled
    }
  }
  return { ...(kept && { keptHostId: kept }), ...(enrolled && { enrolledHostId: enrolled }) };
}

/** The coordinator's CA fingerprint when DATA/tls holds what it serves TLS with (as the server checks at start). */
export function probeInitialised(dataDir: string): Pick<InstallFacts, 'caFingerprint'> {
  const files = ['ca.crt', 'server.crt', 'server.key'].map(f => path.join(dataDir, 'tls', f));
  if (!files.every(existsSync)) return {};
  try {
    return { caFingerprint: new X509Certificate(readFileSync(files[0]!)).fingerprint256 };
  } catch {
    return {};
  }
}

/** `name` has an entry in PREFIX/etc/passwd. */
export function userExists(prefix: string, name: string): boolean {
  try {
    return readFileSync(path.join(prefix, 'etc', 'passwd'), 'utf8').split('\n').some(line => line.split(':')[0] === name);
  } catch {
    return false;
  }
}

export interface ProbeInput {
  service: ServiceName;
  prefix: string;
  /** The coordinator's --user, to probe. */
  user?: string;
  systemd: boolean;
  nodePath: string;
  /** Skips the package scan (uninstall does not copy anything). */
  forUninstall?: boolean;
  /** --root-dir (agent) or --data (coordinator), used when there is no config file naming one. */
  dataDir?: string;
}

export function probeFacts(input: ProbeInput): InstallFacts {
  const l = layoutFor(input.service, input.prefix);
  const otherName: ServiceName = input.service === 'ferry-agent' ? 'ferry-coordinator' : 'ferry-agent';
  const other = layoutFor(otherName, input.prefix);
  const root = packageRoot();
  const entries = input.forUninstall ? [] : [...ownEntries(root), ...runtimePackages(root)];
  const cfg = configured(input.service, l.configFile);
  const dataDir = cfg.dataDir;
  const effective = dataDir ?? input.dataDir ?? path.join(input.prefix, input.service === 'ferry-agent' ? DEFAULT_AGENT_ROOT : DEFAULT_COORDINATOR_DATA);
  return {
    systemd: input.systemd,
    nodePath: input.nodePath,
    packageDir: root,
    packageEntries: entries,
    installed: existsSync(l.home),
    configExists: existsSync(l.configFile),
    unitExists: existsSync(l.unitFile),
    otherInstalled: existsSync(markerFile(l.home, otherName)) || existsSync(other.unitFile),
    ...(dataDir && { configuredDataDir: dataDir }),
    ...(input.user && { userExists: userExists(input.prefix, input.user) }),
    ...(cfg.coordinator && { configuredCoordinator: cfg.coordinator }),
    ...(cfg.hostId && { configuredHostId: cfg.hostId }),
    ...(input.service === 'ferry-agent' ? probeEnrollment(effective) : probeInitialised(effective)),
  };
}
