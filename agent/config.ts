import os from 'node:os';
import path from 'node:path';
import { FerryError } from './errors.js';

/**
 * The agent's configuration: defaults, environment and flags merged in one place (STYLE 10).
 * `process.env` is read here and nowhere else in the agent.
 */
export interface AgentEnvironment {
  /** What hook scripts inherit: the agent's environment minus Ferry's own settings and secrets. */
  hookEnv: Readonly<Record<string, string>>;
  uid: number;
  home: string;
  noColor: boolean;
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
  });
}

/** CodeDeploy's default root, or a directory in the user's home when not root. */
export function defaultRootDir(e: Pick<AgentEnvironment, 'uid' | 'home'>): string {
  return e.uid === 0 ? '/opt/ferry-agent/deployment-root' : path.join(e.home, '.ferry-agent', 'deployment-root');
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `512M`, `2G`, `1048576` → bytes. */
export function parseSize(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(raw.trim());
  if (!m) throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' is not a size (e.g. 512M, 2G)`);
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!);
  if (bytes <= 0) throw new FerryError('INVALID_ARGUMENT', `${flag}: must be greater than zero`);
  return bytes;
}

/** `30`, `1.5`, `500ms`, `2m` → milliseconds (bare numbers are seconds). */
export function parseDuration(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' is not a duration (e.g. 5, 500ms, 2m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

export function parsePositiveInt(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
    throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' must be a positive integer`);
  }
  return Number(raw);
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
