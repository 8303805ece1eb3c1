import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_KINDS, problemsError, readSettings } from '../common/config-file.js';
import { parseAddresses, parseDuration, parsePositiveInt, parseSize, parseTag, isSafeId } from '../common/parse.js';
import { FerryError, describeError } from '../common/errors.js';
import { parseMetricsListen } from '../common/metrics-http.js';

/**
 * The agent's configuration: defaults, environment and flags merged in one place (docs/design/style.md §10).
 * `process.env` is read here and nowhere else in the agent.
 */
export interface AgentEnvironment {
  /** What hook scripts inherit: the agent's environment minus Ferry's own settings and secrets. */
  hookEnv: Readonly<Record<string, string>>;
  uid: number;
  home: string;
  noColor: boolean;
  /** FERRY_COORDINATOR: the coordinator address when `--coordinator` is not given. */
  coordinator?: string;
  /** FERRY_AGENT_CONFIG: the config file when `--config` is not given ('' = none, not even the default). */
  configFile?: string;
  /** FERRY_JOIN_TOKEN: the join token `ferry-agent enroll` uses when `--token` is not given. */
  joinToken?: string;
  /**
   * What starts the agent again when it exits (so it can replace its own binary, `ferry hosts upgrade`):
   * `systemd` when systemd started it (INVOCATION_ID is set), `declared` with FERRY_AGENT_SUPERVISED=1
   * (runit, s6, a shell loop), else none.
   */
  supervisor?: 'systemd' | 'declared';
  /** FERRY_AGENT_REFUSED_RETRY_BASE: the first wait after the coordinator refused this host (default 1 min; tests shorten it). */
  refusedRetryBaseMs?: number;
}

/** Variables hook scripts never see: Ferry's own settings (tokens, coordinator address, …). */
export function scrubEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k.startsWith('FERRY_')) continue;
    out[k] = v;
  }
  if (!out.PATH) out.PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return out;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): AgentEnvironment {
  return Object.freeze({
    hookEnv: Object.freeze(scrubEnvironment(env)),
    uid: typeof process.getuid === 'function' ? process.getuid() : -1,
    home: env.HOME || os.homedir(),
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== '',
    ...(env.FERRY_COORDINATOR && { coordinator: env.FERRY_COORDINATOR }),
    ...(env.FERRY_AGENT_CONFIG !== undefined && { configFile: env.FERRY_AGENT_CONFIG }),
    ...(env.FERRY_JOIN_TOKEN && { joinToken: env.FERRY_JOIN_TOKEN }),
    ...(env.INVOCATION_ID ? { supervisor: 'systemd' as const } : env.FERRY_AGENT_SUPERVISED === '1' ? { supervisor: 'declared' as const } : {}),
    ...(env.FERRY_AGENT_REFUSED_RETRY_BASE && { refusedRetryBaseMs: parseDuration('FERRY_AGENT_REFUSED_RETRY_BASE', env.FERRY_AGENT_REFUSED_RETRY_BASE) }),
  });
}

/** CodeDeploy's default root, or a directory in the user's home when not root. */
export function defaultRootDir(e: Pick<AgentEnvironment, 'uid' | 'home'>): string {
  return e.uid === 0 ? '/opt/ferry-agent/deployment-root' : path.join(e.home, '.ferry-agent', 'deployment-root');
}


export const AGENT_DEFAULTS = Object.freeze({
  groupId: 'default-local-deployment-group',
  groupName: 'LocalFleet',
  retention: 5,
  maxBundleBytes: 2 * 1024 ** 3,
  killGraceMs: 10_000,
  outputGraceMs: 3_000,
  deploymentsLogRotateBytes: 64 * 1024 ** 2,
});

// ---------------------------------------------------------------------------------------------
// `ferry-agent start`: flags > FERRY_COORDINATOR > config file (YAML) > defaults.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface StartConfig {
  /** `host:port` of the coordinator's AgentService; several for the replicas of an HA coordinator. */
  coordinators: readonly string[];
  rootDir: string;
  /** Given by flag or file; otherwise generated once and kept in `<root>/host-id`. */
  hostId?: string;
  tags: Readonly<Record<string, string>>;
  zone: string;
  logLevel: LogLevel;
  /** Until the coordinator's `Registered.heartbeat_interval_ms` says otherwise. */
  heartbeatIntervalMs: number;
  retention: number;
  maxBundleBytes: number;
  killGraceMs: number;
  outputGraceMs: number;
  /** Download bandwidth cap in bytes per second; 0 = unlimited. */
  maxDownloadRate: number;
  /** Where GET /metrics (Prometheus) is served; absent: no metrics endpoint (the default). */
  metricsListen?: string;
  /** An enrolled agent renews its certificate when it expires within this long. */
  renewBeforeMs: number;
}

export const START_DEFAULTS = Object.freeze({ heartbeatIntervalMs: 5_000, logLevel: 'info' as LogLevel, renewBeforeMs: 30 * 86_400_000 });

/** Keys of the config file: the flags' names, camelCase (kebab-case accepted). */
export const START_FILE_KEYS = [
  'coordinator', 'rootDir', 'hostId', 'tags', 'zone', 'logLevel', 'heartbeatInterval',
  'maxRevisions', 'maxBundleSize', 'killGrace', 'outputGrace', 'maxDownloadRate', 'metricsListen', 'renewBefore',
] as const;
type StartKey = (typeof START_FILE_KEYS)[number];
export type StartFile = Partial<Record<StartKey, unknown>>;

const kebab = (k: string) => k.replace(/[A-Z]/g, c => '-' + c.toLowerCase());

/**
 * Parses the YAML config file; every problem (unknown keys, wrong types, bad durations, sizes,
 * addresses) is listed with its line in one error (common/config-file.ts).
 */
export function parseStartFile(text: string, file: string): StartFile {
  const { values, problems } = readSettings(text, START_FILE_KEYS, AGENT_KINDS);
  if (problems.length > 0) throw problemsError(file, problems);
  return values as StartFile;
}

function fileTags(v: unknown, where: string): Record<string, string> {
  const tags: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const [k, val] = parseTag(where, String(item));
      tags[k] = val;
    }
  } else if (v !== null && typeof v === 'object') {
    for (const [k, val] of Object.entries(v)) {
      const [key, value] = parseTag(where, `${k}=${val === null ? '' : String(val)}`);
      tags[key] = value;
    }
  } else if (v !== undefined) {
    throw new FerryError('INVALID_ARGUMENT', `${where}: must be a mapping (key: value) or a list of key=value`);
  }
  return tags;
}

/**
 * Merges flags (commander's camelCase options), the environment and the config file into one
 * frozen StartConfig. Every error names the flag, or the file and key, that caused it (exit 2).
 */
export function resolveStartConfig(flags: Record<string, unknown>, file: StartFile, env: AgentEnvironment, cwd: string, fileName = 'config file'): StartConfig {
  const pick = (key: StartKey): { value: string; where: string; inFile?: true } | undefined => {
    const f = flags[key];
    if (f !== undefined) return { value: String(f), where: `--${kebab(key)}` };
    if (key === 'coordinator' && env.coordinator) return { value: env.coordinator, where: 'FERRY_COORDINATOR' };
    const v = file[key];
    return v === undefined || v === null ? undefined : { value: String(v), where: `${fileName}: ${kebab(key)}`, inFile: true };
  };
  const coordinator = pick('coordinator');
  if (!coordinator) throw new FerryError('INVALID_ARGUMENT', '--coordinator: required (HOST:PORT, or several comma-separated; or set FERRY_COORDINATOR)');
  const rootDir = pick('rootDir');
  const hostId = pick('hostId');
  if (hostId && !isSafeId(hostId.value)) {
    throw new FerryError('INVALID_ARGUMENT', `${hostId.where}: '${hostId.value}' must be letters, digits, '.', '_' or '-'`);
  }
  const tags = fileTags(file.tags, `${fileName}: tags`);
  for (const raw of (flags.tag as string[] | undefined) ?? []) {
    const [k, v] = parseTag('--tag', raw);
    tags[k] = v;
  }
  const zone = pick('zone')?.value.trim() ?? '';
  if (/[,\s]/.test(zone)) throw new FerryError('INVALID_ARGUMENT', `${pick('zone')!.where}: '${zone}' may not hold blanks or commas`);
  const level = pick('logLevel');
  if (level && !(LOG_LEVELS as readonly string[]).includes(level.value)) {
    throw new FerryError('INVALID_ARGUMENT', `${level.where}: '${level.value}' is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const num = <T>(key: StartKey, parse: (flag: string, raw: string) => T, dflt: T): T => {
    const p = pick(key);
    return p ? parse(p.where, p.value) : dflt;
  };
  const metricsListen = pick('metricsListen');
  const heartbeatIntervalMs = num('heartbeatInterval', parseDuration, START_DEFAULTS.heartbeatIntervalMs);
  if (heartbeatIntervalMs < 100) throw new FerryError('INVALID_ARGUMENT', `${pick('heartbeatInterval')!.where}: must be at least 100ms`);
  return Object.freeze({
    coordinators: Object.freeze(parseAddresses(coordinator.where, coordinator.value)),
    // A relative root dir in the file is relative to the file, as a unit's cwd is usually `/`.
    rootDir: path.resolve(rootDir?.inFile ? path.dirname(path.resolve(cwd, fileName)) : cwd, rootDir ? rootDir.value : defaultRootDir(env)),
    ...(hostId && { hostId: hostId.value }),
    tags: Object.freeze(tags),
    zone,
    logLevel: (level?.value ?? START_DEFAULTS.logLevel) as LogLevel,
    heartbeatIntervalMs,
    retention: num('maxRevisions', parsePositiveInt, AGENT_DEFAULTS.retention),
    maxBundleBytes: num('maxBundleSize', parseSize, AGENT_DEFAULTS.maxBundleBytes),
    killGraceMs: num('killGrace', parseDuration, AGENT_DEFAULTS.killGraceMs),
    outputGraceMs: num('outputGrace', parseDuration, AGENT_DEFAULTS.outputGraceMs),
    maxDownloadRate: num('maxDownloadRate', parseSize, 0),
    renewBeforeMs: num('renewBefore', parseDuration, START_DEFAULTS.renewBeforeMs),
    ...(metricsListen && { metricsListen: parseMetricsListen(metricsListen.where, metricsListen.value) }),
  });
}

/** Where `ferry-agent install` writes the config; `start` reads it when it exists and no other is named. */
export const DEFAULT_AGENT_CONFIG = '/etc/ferry/agent.yaml';

/**
 * The config file to read: `--config`, else FERRY_AGENT_CONFIG (empty: none), else
 * /etc/ferry/agent.yaml when it exists. A named file must exist; the default may not.
 */
export function agentConfigPath(flags: Record<string, unknown>, env: Pick<AgentEnvironment, 'configFile'>, defaultFile = DEFAULT_AGENT_CONFIG): string | undefined {
  if (flags.config !== undefined) return String(flags.config);
  if (env.configFile !== undefined) return env.configFile === '' ? undefined : env.configFile;
  return existsSync(defaultFile) ? defaultFile : undefined;
}

/** Reads the config file (agentConfigPath) and resolves the whole start configuration. */
export async function loadStartConfig(flags: Record<string, unknown>, env: AgentEnvironment, cwd: string): Promise<StartConfig> {
  let file: StartFile = {};
  let fileName: string | undefined;
  const chosen = agentConfigPath(flags, env);
  if (chosen !== undefined) {
    fileName = path.resolve(cwd, chosen);
    let text: string;
    try {
      text = await fs.readFile(fileName, 'utf8');
    } catch (err) {
      throw new FerryError('INVALID_ARGUMENT', `--config: cannot read ${fileName}: ${describeError(err)}`);
    }
    file = parseStartFile(text, fileName);
  }
  return resolveStartConfig(flags, file, env, cwd, fileName);
}
