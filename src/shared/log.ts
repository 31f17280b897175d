/**
 * Logging through winston: JSON lines to a size-rotated file that only the owner (root /
 * SYSTEM / the service account) can read, and short human lines on the console.
 */
import winston from 'winston';
import { MAX_LOG_BYTES, MAX_LOG_FILES, humanLine, ownerOnlyLogDir } from './log-format.js';

export type Logger = winston.Logger;

export interface LogOptions {
  /** Component name in every line: "collector", "agent". */
  component: string;
  /** Directory for the rotated JSON log; none = console only. */
  dir?: string;
  level?: string;
  /** Human lines on stderr (default true). */
  console?: boolean;
}

const human = winston.format.printf((info) => humanLine(info as Record<string, unknown>));

export function createLogger(opts: LogOptions): Logger {
  const transports: winston.transport[] = [];
  if (opts.console !== false) {
    transports.push(new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'], format: winston.format.combine(winston.format.timestamp(), human) }));
  }
  if (opts.dir) {
    ownerOnlyLogDir(opts.dir);
    transports.push(
      new winston.transports.File({
        dirname: opts.dir,
        filename: `${opts.component}.log`,
        maxsize: MAX_LOG_BYTES,
        maxFiles: MAX_LOG_FILES,
        tailable: true,
        options: { flags: 'a', mode: 0o600 },
        format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      }),
    );
  }
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return winston.createLogger({ level: opts.level ?? process.env.MAMORI_LOG_LEVEL ?? 'info', defaultMeta: { component: opts.component }, transports });
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
}
