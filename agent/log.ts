import path from 'node:path';
import winston from 'winston';
import { compareText } from '../common/text.js';

/**
 * The agent's operator log (docs/design/style.md §12): winston, JSON lines in a rotating file
 * `<root>/logs/ferry-agent.log` (10 MiB × 5) plus a readable console format on stderr.
 * Components take a child logger (`logger.child({ component: 'session' })`); fields are stable
 * snake_case (`host_id`, `deployment_id`, `reason`). Pure code never logs. Users read the
 * deployment's events and hook output; these logs are for operators.
 */
export type Logger = winston.Logger;

export const LOG_FILE_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_FILE_COUNT = 5;

/** Field names whose values never reach a log line, whatever a caller passes. */
const SECRET_KEY = /token|secret|password|passwd|credential|authorization|api[_-]?key/i;

const redact = winston.format(info => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEY.test(key)) (info as Record<string, unknown>)[key] = '[redacted]';
  }
  return info;
});

const FIRST_FIELDS = ['host_id', 'deployment_id'];
const rank = (k: string) => (FIRST_FIELDS.includes(k) ? FIRST_FIELDS.indexOf(k) : FIRST_FIELDS.length);

/** `2025-01-02T03:04:05.678Z info  [session] connected host_id=h-abc deployment_id=d-1` */
const readable = winston.format.printf(info => {
  const { timestamp, level, message, component, ...rest } = info as Record<string, unknown>;
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined && v !== '')
    .sort(([a], [b]) => rank(a) - rank(b) || compareText(a, b))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  const where = component ? ` [${String(component)}]` : '';
  return `${String(timestamp)} ${String(level).padEnd(5)}${where} ${String(message)}${fields.length ? ' ' + fields.join(' ') : ''}`;
});

export interface LoggerOptions {
  level: 'debug' | 'info' | 'warn' | 'error';
  /** Directory of the rotating JSON file; none: console only. */
  dir?: string;
  /** Readable lines on stderr (default true). */
  console?: boolean;
}

export function createAgentLogger(opts: LoggerOptions): Logger {
  const transports: winston.transport[] = [];
  if (opts.dir) {
    transports.push(new winston.transports.File({
      filename: path.join(opts.dir, 'ferry-agent.log'),
      maxsize: LOG_FILE_MAX_BYTES,
      maxFiles: LOG_FILE_COUNT,
      tailable: true,
      format: winston.format.json(),
    }));
  }
  if (opts.console !== false) {
    transports.push(new winston.transports.Console({
      stderrLevels: ['error', 'warn', 'info', 'debug'],
      format: readable,
    }));
  }
  return winston.createLogger({
    level: opts.level,
    format: winston.format.combine(redact(), winston.format.timestamp()),
    transports,
  });
}

/** Flushes the file transport before the process exits (bounded: never hangs shutdown). */
export async function closeLogger(logger: Logger, timeoutMs = 2000): Promise<void> {
  const files = logger.transports.filter(t => t instanceof winston.transports.File);
  const finished = Promise.all(files.map(t => new Promise<void>(resolve => t.once('finish', () => resolve()))));
  logger.end();
  await Promise.race([finished, new Promise(r => setTimeout(r, timeoutMs).unref())]);
}
