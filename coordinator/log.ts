import path from 'node:path';
import winston from 'winston';

export type Logger = winston.Logger;
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Structured logs (docs/design/style.md §12): JSON lines to a rotating file under the data dir, and a readable
 * console format. Components get child loggers; fields are snake_case.
 */
export function createLogger(opts: { level: LogLevel; file?: string; console: boolean }): Logger {
  const transports: winston.transport[] = [];
  if (opts.file) {
    transports.push(new winston.transports.File({
      filename: opts.file,
      maxsize: 10 * 1024 * 1024,
      maxFiles: 5,
      tailable: true,
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    }));
  }
  if (opts.console) {
    transports.push(new winston.transports.Console({
      stderrLevels: ['error', 'warn', 'info', 'debug'],
      format: winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.printf(({ timestamp, level, message, component, ...rest }) => {
          const fields = Object.entries(rest)
            .filter(([k]) => !k.startsWith('Symbol'))
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          return `${String(timestamp)} ${level.padEnd(5)} ${component ? `[${String(component)}] ` : ''}${String(message)}${fields ? ` ${fields}` : ''}`;
        }),
      ),
    }));
  }
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return winston.createLogger({ level: opts.level, transports });
}

export function logFileIn(dir: string, name: string): string {
  return path.join(dir, 'logs', name);
}

/**
 * A periodic pass that may fail over and over (the database unreachable for a minute: the scheduler
 * passes every second): the first failure is logged, then one line a minute with how many failed
 * since, and one when a pass succeeds again. Different errors are each logged the first time.
 */
export class RepeatedFailure {
  private failing: { error: string; since: number; count: number; loggedAt: number } | undefined;

  constructor(
    private readonly log: Logger, private readonly message: string, private readonly component: string,
    private readonly now: () => number = () => performance.now(), private readonly everyMs = 60_000,
  ) {}

  failed(error: string): void {
    const now = this.now();
    const f = this.failing;
    if (f && f.error === error) {
      f.count++;
      if (now - f.loggedAt < this.everyMs) return;
      this.log.error(`${this.message} (still)`, { component: this.component, error, failures: f.count, failing_s: Math.round((now - f.since) / 1000) });
      f.loggedAt = now;
      return;
    }
    this.failing = { error, since: f?.since ?? now, count: (f?.count ?? 0) + 1, loggedAt: now };
    this.log.error(this.message, { component: this.component, error });
  }

  succeeded(): void {
    const f = this.failing;
    if (!f) return;
    this.failing = undefined;
    this.log.info(`${this.message}: passing again`, { component: this.component, failures: f.count, failing_s: Math.round((this.now() - f.since) / 1000) });
  }
}
