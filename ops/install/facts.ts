import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { type InstallFacts, type ServiceName, layoutFor, markerFile } from './plan.js';

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
  const want = ['bin', 'dist/agent', 'dist/coordinator', 'dist/ops', 'dist/proto', 'proto/ferry', 'package.json'];
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

function configuredDataDir(service: ServiceName, file: string): string | undefined {
  try {
    const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
    const v = service === 'ferry-agent' ? doc?.['root-dir'] ?? doc?.rootDir : doc?.data;
    return typeof v === 'string' ? path.resolve(path.dirname(file), v) : undefined;
  } catch {
    return undefined;
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
}

export function probeFacts(input: ProbeInput): InstallFacts {
  const l = layoutFor(input.service, input.prefix);
  const otherName: ServiceName = input.service === 'ferry-agent' ? 'ferry-coordinator' : 'ferry-agent';
  const other = layoutFor(otherName, input.prefix);
  const root = packageRoot();
  const entries = input.forUninstall ? [] : [...ownEntries(root), ...runtimePackages(root)];
  const dataDir = configuredDataDir(input.service, l.configFile);
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
  };
}
