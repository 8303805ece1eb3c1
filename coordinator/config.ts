import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { COORDINATOR_KINDS, problemsError, readSettings } from '../common/config-file.js';
import { parseDuration, parseLimit, parseListen, parsePositiveInt, parseSize } from '../common/parse.js';
import { isLoopbackHost, listenHost } from '../common/loopback.js';
import { STORE_FILE_KEYS, type StoreConfig, type StoreFlags, resolveStoreConfig } from './store/pg-config.js';
import { FerryError, describeError } from '../common/errors.js';
import { parseMetricsListen } from '../common/metrics-http.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import type { WebhookSettings } from './notify/webhook-worker.js';
import { type WebhookAllow, parseWebhookAllow } from './notify/destination.js';

/**
 * The coordinator's configuration: defaults, then the config file (YAML or JSON), then the
 * environment, then flags — merged and validated here, once (docs/design/style.md §10).
 */
export interface CoordinatorConfig {
  dataDir: string;
  /** Where the state is kept: SQLite in the data dir (the default) or PostgreSQL (`--store postgres://…`, store/pg-config.ts). */
  store: StoreConfig;
  listen: string;
  logLevel: LogLevel;
  heartbeatIntervalMs: number;
  /** An agent silent this long is lost (default: 3 missed heartbeats). */
  agentTimeoutMs: number;
  /**
   * Heartbeats a second the whole fleet sends at most: past it the interval and the timeout grow in
   * whole steps of the configured ones (agents/pace.ts). 0: never stretched.
   */
  maxHeartbeatRate: number;
  logBytesPerHost: number;
  maxRevisionBytes: number;
  /** Where GET /metrics (Prometheus) is served; absent: no metrics endpoint (the default). */
  metricsListen?: string;
  /** Webhook retries and timeout, and the event log's retention (notify/webhook-worker.ts). */
  webhook: WebhookSettings;
  /** Audit records whose last occurrence is older than this are deleted (security/audit-retention.ts); 0 keeps them forever. */
  auditRetentionMs: number;
  /** Plaintext on a loopback address, no tokens (development; the demo and tests). Without it the coordinator serves TLS. */
  insecure: boolean;
  /** The server certificate is renewed (signed by DATA/tls/ca.key) once it expires within this long (security/server-cert.ts). */
  serverCertRenewBeforeMs: number;
  /**
   * Refused calls per client address and minute before that address is refused at once, whatever it
   * presents (token guessing); also how many refused or failed calls an address adds to the audit
   * log per minute before the rest fold into one record. 0: no limit.
   */
  refusedCallLimit: number;
  /** A client that has not finished its TLS handshake (plaintext: sent its first bytes) this long after connecting is dropped. */
  connectTimeoutMs: number;
  /** An HTTP/1.1 request's headers must arrive within this long of the connection or of the previous response. */
  requestTimeoutMs: number;
  /** A connection with nothing going on this long is closed: an HTTP/2 one with no call open, an HTTP/1.1 one with no bytes moving. */
  idleTimeoutMs: number;
  /** Open connections at most (0: no limit); keep it below the process's open-file limit. */
  maxConnections: number;
  /** Open connections from one client address at most (0: no limit). */
  maxConnectionsPerAddress: number;
  /** Non-public webhook destinations allowed (notify/destination.ts); none by default. */
  webhookAllow: WebhookAllow;
  /** Server streams (watches, log/event/audit follows, console pages) one API token, or one address without a token, holds at once (0: no limit). */
  maxStreamsPerCaller: number;
  /** Revision downloads one host holds at once, over HTTP and FetchRevision together (0: no limit). */
  maxDownloadsPerHost: number;
  /** A revision download whose client takes nothing this long is cut and its send buffers returned. */
  downloadStallTimeoutMs: number;
  /** Where people reach the coordinator (https://ferry.example.com, no trailing slash): chat notifications link to its console pages. */
  publicUrl?: string;
}

export const COORDINATOR_DEFAULTS = Object.freeze({
  listen: '127.0.0.1:7420',
  logLevel: 'info' as LogLevel,
  heartbeatInterval: '5s',
  maxHeartbeatRate: '250',
  logBytesPerHost: '1M',
  maxRevisionBytes: '2G',
  webhookRetryBase: '1s',
  webhookRetryMax: '5m',
  webhookMaxAttempts: '300',
  webhookMaxAge: '24h',
  webhookTimeout: '10s',
  eventsRetained: '100000',
  auditRetention: '365d',
  serverCertRenewBefore: '30d',
  refusedCallLimit: '60',
  connectTimeout: '10s',
  requestTimeout: '30s',
  idleTimeout: '5m',
  maxConnections: '20000',
  maxConnectionsPerAddress: '4096',
  webhookAllow: '',
  maxStreamsPerCaller: '64',
  maxDownloadsPerHost: '4',
  downloadStallTimeout: '60s',
});

const FILE_KEYS = ['data', 'listen', 'logLevel', 'heartbeatInterval', 'agentTimeout', 'maxHeartbeatRate', 'logBytesPerHost', 'maxRevisionSize', 'metricsListen',
  'webhookRetryBase', 'webhookRetryMax', 'webhookMaxAttempts', 'webhookMaxAge', 'webhookTimeout', 'eventsRetained', 'auditRetention', 'insecure', 'serverCertRenewBefore',
  'refusedCallLimit', 'connectTimeout', 'requestTimeout', 'idleTimeout', 'maxConnections', 'maxConnectionsPerAddress', 'webhookAllow',
  'maxStreamsPerCaller', 'maxDownloadsPerHost', 'downloadStallTimeout', 'publicUrl', ...STORE_FILE_KEYS] as const;

export interface CoordinatorFlags extends StoreFlags {
  data?: string;
  listen?: string;
  config?: string;
  logLevel?: string;
  heartbeatInterval?: string;
  agentTimeout?: string;
  maxHeartbeatRate?: string;
  metricsListen?: string;
  webhookRetryBase?: string;
  auditRetention?: string;
  insecure?: boolean;
  serverCertRenewBefore?: string;
  refusedCallLimit?: string;
  connectTimeout?: string;
  requestTimeout?: string;
  idleTimeout?: string;
  maxConnections?: string;
  maxConnectionsPerAddress?: string;
  webhookAllow?: string;
  maxStreamsPerCaller?: string;
  maxDownloadsPerHost?: string;
  downloadStallTimeout?: string;
  publicUrl?: string;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FerryError('INVALID_ARGUMENT', `--config: cannot read ${file}: ${describeError(err)}`);
  }
  // Every problem of the file at once, with lines (common/config-file.ts).
  const { values, problems } = readSettings(text, FILE_KEYS, COORDINATOR_KINDS);
  if (problems.length > 0) throw problemsError(file, problems);
  return values;
}

export function resolveCoordinatorConfig(flags: CoordinatorFlags, env: NodeJS.ProcessEnv, cwd: string): CoordinatorConfig {
  const chosen = coordinatorConfigPath(flags, env);
  const fileName = chosen ? path.resolve(cwd, chosen) : undefined;
  const file = fileName ? readConfigFile(fileName) : {};
  const pick = (flag: string | undefined, envName: string, fileKey: string, def?: string): string | undefined =>
    flag ?? env[envName] ?? (file[fileKey] !== undefined ? String(file[fileKey]) : def);
  const data = pick(flags.data, 'FERRY_DATA_DIR', 'data');
  const dataFromFile = flags.data === undefined && env.FERRY_DATA_DIR === undefined;
  if (!data) throw new FerryError('INVALID_ARGUMENT', '--data DIR is required (where the SQLite store and revisions live)');
  const level = pick(flags.logLevel, 'FERRY_LOG_LEVEL', 'logLevel', COORDINATOR_DEFAULTS.logLevel)!;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new FerryError('INVALID_ARGUMENT', `--log-level: '${level}' is not one of ${LOG_LEVELS.join(', ')}`);
  const heartbeatIntervalMs = parseDuration('--heartbeat-interval', pick(flags.heartbeatInterval, 'FERRY_HEARTBEAT_INTERVAL', 'heartbeatInterval', COORDINATOR_DEFAULTS.heartbeatInterval)!);
  const timeout = pick(flags.agentTimeout, 'FERRY_AGENT_TIMEOUT', 'agentTimeout');
  const agentTimeoutMs = timeout ? parseDuration('--agent-timeout', timeout) : 3 * heartbeatIntervalMs;
  if (agentTimeoutMs <= heartbeatIntervalMs) {
    throw new FerryError('INVALID_ARGUMENT', `--agent-timeout (${agentTimeoutMs} ms) must be longer than the heartbeat interval (${heartbeatIntervalMs} ms)`);
  }
  const metricsListen = pick(flags.metricsListen, 'FERRY_METRICS_LISTEN', 'metricsListen');
  const publicUrl = pick(flags.publicUrl, 'FERRY_PUBLIC_URL', 'publicUrl');
  const fromFile = (key: keyof typeof COORDINATOR_DEFAULTS & string) => String(file[key] ?? COORDINATOR_DEFAULTS[key]);
  const webhook: WebhookSettings = {
    baseMs: parseDuration('--webhook-retry-base', pick(flags.webhookRetryBase, 'FERRY_WEBHOOK_RETRY_BASE', 'webhookRetryBase', COORDINATOR_DEFAULTS.webhookRetryBase)!),
    maxMs: parseDuration('webhookRetryMax', fromFile('webhookRetryMax')),
    maxAttempts: parsePositiveInt('webhookMaxAttempts', fromFile('webhookMaxAttempts')),
    maxAgeMs: parseDuration('webhookMaxAge', fromFile('webhookMaxAge')),
    timeoutMs: parseDuration('webhookTimeout', fromFile('webhookTimeout')),
    eventsRetained: parsePositiveInt('eventsRetained', fromFile('eventsRetained')),
  };
  if (webhook.baseMs < 1 || webhook.maxMs < webhook.baseMs) {
    throw new FerryError('INVALID_ARGUMENT', `--webhook-retry-base (${webhook.baseMs} ms) must be at least 1ms and at most webhookRetryMax (${webhook.maxMs} ms)`);
  }
  if (webhook.timeoutMs < 1) throw new FerryError('INVALID_ARGUMENT', 'webhookTimeout must be at least 1ms');
  const auditRetentionMs = flags.auditRetention !== undefined ? parseDuration('--audit-retention', flags.auditRetention)
    : env.FERRY_AUDIT_RETENTION !== undefined ? parseDuration('FERRY_AUDIT_RETENTION', env.FERRY_AUDIT_RETENTION)
    : parseDuration('auditRetention', fromFile('auditRetention'));
  const listen = parseListen(pick(flags.listen, 'FERRY_LISTEN', 'listen', COORDINATOR_DEFAULTS.listen)!);
  const insecure = flags.insecure ?? parseBool('insecure', env.FERRY_INSECURE, 'FERRY_INSECURE') ?? parseBool('insecure', file.insecure, 'insecure') ?? false;
  if (insecure && !isLoopbackHost(listenHost(listen))) {
    throw new FerryError('INVALID_ARGUMENT', `--insecure serves plaintext, which is allowed only on a loopback address, not --listen ${listen}: drop --insecure (the coordinator then serves TLS)`);
  }
  // As in the agent's file: a relative path in the file is relative to the file (a unit's cwd is `/`).
  const dataDir = path.resolve(dataFromFile && fileName ? path.dirname(fileName) : cwd, data);
  return Object.freeze({
    dataDir,
    store: resolveStoreConfig(flags, env, file, dataDir, cwd, fileName ? path.dirname(fileName) : cwd),
    listen,
    logLevel: level as LogLevel,
    heartbeatIntervalMs,
    agentTimeoutMs,
    maxHeartbeatRate: parseLimit('--max-heartbeat-rate', pick(flags.maxHeartbeatRate, 'FERRY_MAX_HEARTBEAT_RATE', 'maxHeartbeatRate', COORDINATOR_DEFAULTS.maxHeartbeatRate)!),
    logBytesPerHost: parseSize('logBytesPerHost', String(file.logBytesPerHost ?? COORDINATOR_DEFAULTS.logBytesPerHost)),
    maxRevisionBytes: parseSize('maxRevisionSize', String(file.maxRevisionSize ?? COORDINATOR_DEFAULTS.maxRevisionBytes)),
    ...(metricsListen && { metricsListen: parseMetricsListen('--metrics-listen', metricsListen) }),
    webhook: Object.freeze(webhook),
    auditRetentionMs,
    insecure,
    serverCertRenewBeforeMs: parseDuration('--server-cert-renew-before',
      pick(flags.serverCertRenewBefore, 'FERRY_SERVER_CERT_RENEW_BEFORE', 'serverCertRenewBefore', COORDINATOR_DEFAULTS.serverCertRenewBefore)!),
    refusedCallLimit: parseLimit('--refused-call-limit', pick(flags.refusedCallLimit, 'FERRY_REFUSED_CALL_LIMIT', 'refusedCallLimit', COORDINATOR_DEFAULTS.refusedCallLimit)!),
    connectTimeoutMs: positiveDuration('--connect-timeout', pick(flags.connectTimeout, 'FERRY_CONNECT_TIMEOUT', 'connectTimeout', COORDINATOR_DEFAULTS.connectTimeout)!),
    requestTimeoutMs: positiveDuration('--request-timeout', pick(flags.requestTimeout, 'FERRY_REQUEST_TIMEOUT', 'requestTimeout', COORDINATOR_DEFAULTS.requestTimeout)!),
    idleTimeoutMs: positiveDuration('--idle-timeout', pick(flags.idleTimeout, 'FERRY_IDLE_TIMEOUT', 'idleTimeout', COORDINATOR_DEFAULTS.idleTimeout)!),
    maxConnections: parseLimit('--max-connections', pick(flags.maxConnections, 'FERRY_MAX_CONNECTIONS', 'maxConnections', COORDINATOR_DEFAULTS.maxConnections)!),
    maxConnectionsPerAddress: parseLimit('--max-connections-per-address',
      pick(flags.maxConnectionsPerAddress, 'FERRY_MAX_CONNECTIONS_PER_ADDRESS', 'maxConnectionsPerAddress', COORDINATOR_DEFAULTS.maxConnectionsPerAddress)!),
    webhookAllow: parseWebhookAllow('--webhook-allow', pick(flags.webhookAllow, 'FERRY_WEBHOOK_ALLOW', 'webhookAllow', COORDINATOR_DEFAULTS.webhookAllow)!),
    maxStreamsPerCaller: parseLimit('--max-streams-per-caller',
      pick(flags.maxStreamsPerCaller, 'FERRY_MAX_STREAMS_PER_CALLER', 'maxStreamsPerCaller', COORDINATOR_DEFAULTS.maxStreamsPerCaller)!),
    maxDownloadsPerHost: parseLimit('--max-downloads-per-host',
      pick(flags.maxDownloadsPerHost, 'FERRY_MAX_DOWNLOADS_PER_HOST', 'maxDownloadsPerHost', COORDINATOR_DEFAULTS.maxDownloadsPerHost)!),
    downloadStallTimeoutMs: positiveDuration('--download-stall-timeout',
      pick(flags.downloadStallTimeout, 'FERRY_DOWNLOAD_STALL_TIMEOUT', 'downloadStallTimeout', COORDINATOR_DEFAULTS.downloadStallTimeout)!),
    ...(publicUrl && { publicUrl: parsePublicUrl('--public-url', publicUrl) }),
  });
}

/** `--public-url`: an absolute http(s) URL without query or fragment; returned without a trailing slash. */
export function parsePublicUrl(name: string, raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username || url.password) {
    throw new FerryError('INVALID_ARGUMENT', `${name}: '${raw}' must be an absolute http(s) URL without user, query or fragment, e.g. https://ferry.example.com`);
  }
  return url.href.replace(/\/+$/, '');
}

/** A duration of at least 1 ms (a timeout of 0 would drop every connection). */
function positiveDuration(name: string, raw: string): number {
  const ms = parseDuration(name, raw);
  if (ms < 1) throw new FerryError('INVALID_ARGUMENT', `${name}: '${raw}' must be longer than 0`);
  return ms;
}

function parseBool(key: string, v: unknown, source: string): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === true || v === 'true' || v === '1') return true;
  if (v === false || v === 'false' || v === '0') return false;
  throw new FerryError('INVALID_ARGUMENT', `${source}: '${String(v)}' is not true or false (${key})`);
}

// ---- the config file's location (install writes /etc/ferry/coordinator.yaml) ----

/** Where `ferry-coordinator install` writes the config; read when it exists and no other is named. */
export const DEFAULT_COORDINATOR_CONFIG = '/etc/ferry/coordinator.yaml';

/** The keys the config file knows (camelCase; kebab-case accepted), for docs and checks. */
export const COORDINATOR_FILE_KEYS: readonly string[] = FILE_KEYS;

/**
 * `--config`, else FERRY_COORDINATOR_CONFIG (empty: none), else /etc/ferry/coordinator.yaml when it
 * exists. A named file must exist; the default may not.
 */
export function coordinatorConfigPath(flags: Pick<CoordinatorFlags, 'config'>, env: NodeJS.ProcessEnv, defaultFile = DEFAULT_COORDINATOR_CONFIG): string | undefined {
  if (flags.config !== undefined) return flags.config;
  const fromEnv = env.FERRY_COORDINATOR_CONFIG;
  if (fromEnv !== undefined) return fromEnv === '' ? undefined : fromEnv;
  return existsSync(defaultFile) ? defaultFile : undefined;
}
