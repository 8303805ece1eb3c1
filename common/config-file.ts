import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { parseAddress, parseDuration, parseLimit, parsePositiveInt, parseSize, parseTag } from './parse.js';
import { FerryError, describeError } from './errors.js';
import { parseMetricsListen } from './metrics-http.js';

/**
 * Reading `/etc/ferry/agent.yaml` and `/etc/ferry/coordinator.yaml` (docs/design/style.md §8): every problem of the
 * file at once — unknown keys (with a "did you mean"), wrong types, bad durations, sizes and
 * addresses — each with the file's line. The binaries' config.ts merge the values it returns.
 */
export interface Problem {
  /** The key, kebab-case as documented. */
  path: string;
  line?: number;
  message: string;
}

export type ValueKind = 'string' | 'address' | 'listen' | 'metrics' | 'duration' | 'size' | 'count' | 'limit' | 'level' | 'tags' | 'boolean';

/** What the agent's keys hold (keys not listed accept any scalar; their resolver checks them). */
export const AGENT_KINDS: Readonly<Record<string, ValueKind>> = {
  coordinator: 'address', rootDir: 'string', hostId: 'string', tags: 'tags', zone: 'string', logLevel: 'level',
  heartbeatInterval: 'duration', maxRevisions: 'count', maxBundleSize: 'size', killGrace: 'duration',
  outputGrace: 'duration', maxDownloadRate: 'size', metricsListen: 'metrics', renewBefore: 'duration',
};

export const COORDINATOR_KINDS: Readonly<Record<string, ValueKind>> = {
  data: 'string', listen: 'listen', logLevel: 'level', heartbeatInterval: 'duration', agentTimeout: 'duration', maxHeartbeatRate: 'limit',
  logBytesPerHost: 'size', maxRevisionSize: 'size', metricsListen: 'metrics',
  webhookRetryBase: 'duration', webhookRetryMax: 'duration', webhookMaxAttempts: 'count', webhookMaxAge: 'duration',
  webhookTimeout: 'duration', eventsRetained: 'count', auditRetention: 'duration', insecure: 'boolean', serverCertRenewBefore: 'duration',
  refusedCallLimit: 'limit', connectTimeout: 'duration', requestTimeout: 'duration', idleTimeout: 'duration',
  maxConnections: 'limit', maxConnectionsPerAddress: 'limit', webhookAllow: 'string',
  maxStreamsPerCaller: 'limit', maxDownloadsPerHost: 'limit', downloadStallTimeout: 'duration',
  publicUrl: 'string',
  store: 'string', storePasswordFile: 'string', storeSslmode: 'string', storeCaFile: 'string',
};

export const kebab = (k: string) => k.replace(/[A-Z]/g, c => '-' + c.toLowerCase());
/** `root-dir`, `root_dir` and `rootDir` are one key. */
export const camel = (k: string) => k.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());

/** The closest known key within a small edit distance, for "did you mean". */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  const w = kebab(camel(word)).toLowerCase();
  let best: { key: string; d: number } | undefined;
  for (const k of known.map(kebab)) {
    const d = editDistance(w, k);
    if (d <= Math.max(2, Math.floor(k.length / 3)) && (!best || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

const LEVELS = ['debug', 'info', 'warn', 'error'];

function checkValue(kind: ValueKind, key: string, value: unknown): string | undefined {
  if (kind === 'tags') {
    if (Array.isArray(value)) return firstError(value.map(v => () => parseTag(key, String(v))));
    if (value !== null && typeof value === 'object') {
      return firstError(Object.entries(value).map(([k, v]) => () => parseTag(key, `${k}=${v === null ? '' : String(v)}`)));
    }
    return `${key}: must be a mapping (key: value) or a list of key=value`;
  }
  if (value !== null && typeof value === 'object') return `${key}: must be a single value, not a ${Array.isArray(value) ? 'list' : 'mapping'}`;
  const raw = String(value);
  switch (kind) {
    case 'string': return raw.trim() === '' ? `${key}: must not be empty` : undefined;
    case 'address': return firstError([() => parseAddress(key, raw)]);
    case 'listen': return /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.test(raw.trim()) && Number(raw.trim().split(':').pop()) <= 65535
      ? undefined : `${key}: '${raw}' is not HOST:PORT (e.g. 127.0.0.1:7420)`;
    case 'metrics': return firstError([() => parseMetricsListen(key, raw)]);
    case 'duration': return firstError([() => parseDuration(key, raw)]);
    case 'size': return firstError([() => parseSize(key, raw)]);
    case 'count': return firstError([() => parsePositiveInt(key, raw)]);
    case 'limit': return firstError([() => parseLimit(key, raw)]);
    case 'level': return LEVELS.includes(raw) ? undefined : `${key}: '${raw}' is not one of ${LEVELS.join(', ')}`;
    case 'boolean': return ['true', 'false'].includes(raw) ? undefined : `${key}: '${raw}' is not true or false`;
  }
}

function firstError(checks: (() => unknown)[]): string | undefined {
  for (const check of checks) {
    try {
      check();
    } catch (err) {
      return describeError(err);
    }
  }
  return undefined;
}

/**
 * Parses a settings file: values by camelCase key, and every problem with its line. `keys` are
 * the file keys the binary knows (camelCase); `kinds` what they hold.
 */
export function readSettings(text: string, keys: readonly string[], kinds: Readonly<Record<string, ValueKind>>): { values: Record<string, unknown>; problems: Problem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineOf = (node: unknown) => {
    const range = (node as { range?: unknown } | null)?.range;
    return Array.isArray(range) && typeof range[0] === 'number' ? Math.max(1, lines.linePos(range[0]).line) : undefined;
  };
  const problems: Problem[] = doc.errors.map(e => ({ path: '(yaml)', line: Math.max(1, lines.linePos(e.pos[0]).line), message: `not valid YAML: ${e.message.split('\n')[0]}` }));
  const values: Record<string, unknown> = {};
  if (problems.length > 0 || doc.contents === null) return { values, problems };
  if (!isMap(doc.contents)) {
    return { values, problems: [{ path: '(top)', line: lineOf(doc.contents) ?? 1, message: `must be a mapping of settings (${keys.slice(0, 3).map(kebab).join(', ')}, …)` }] };
  }
  for (const pair of doc.contents.items) {
    const rawKey = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const key = camel(rawKey);
    const line = lineOf(pair.key);
    const at = (message: string): Problem => ({ path: rawKey, ...(line !== undefined && { line }), message });
    if (!keys.includes(key)) {
      const guess = didYouMean(rawKey, keys);
      problems.push(at(`unknown key '${rawKey}'${guess ? ` (did you mean '${guess}'?)` : ''}; known: ${keys.map(kebab).join(', ')}`));
      continue;
    }
    if (key in values) {
      problems.push(at(`'${rawKey}' is set twice (as ${kebab(key)})`));
      continue;
    }
    const value = isScalar(pair.value) || isMap(pair.value) || isSeq(pair.value) ? pair.value.toJSON() : pair.value;
    const kind = kinds[key];
    if (value === null || value === undefined) continue;
    const bad = kind ? checkValue(kind, kebab(key), value) : undefined;
    if (bad) problems.push(at(bad));
    else values[key] = value;
  }
  return { values, problems };
}

/** All problems, one per line, `FILE:LINE: message`, under one `--config` error. */
export function problemsError(file: string, problems: readonly Problem[]): FerryError {
  const list = problems.map(p => `  ${file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}`).join('\n');
  const n = problems.length;
  return new FerryError('INVALID_ARGUMENT', `--config: ${file}: ${n} problem${n === 1 ? '' : 's'}:\n${list}`);
}
