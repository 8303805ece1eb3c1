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
