/**
 * Logging through winston: JSON lines to a size-rotated file that only the owner (root /
 * SYSTEM / the service account) can read, and short human lines on the console.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import winston from 'winston';

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

const human = winston.format.printf((info) => {
  const { level, message, timestamp, component, ...rest } = info as Record<string, unknown>;
  const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
  return `${String(timestamp).slice(11, 23)} ${String(component)} ${level}: ${String(message)}${extra}`;
});

export function createLogger(opts: LogOptions): Logger {
  const transports: winston.transport[] = [];
  if (opts.console !== false) {
    transports.push(new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'], format: winston.format.combine(winston.format.timestamp(), human) }));
  }
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    chmodSync(opts.dir, 0o700);
    transports.push(
      new winston.transports.File({
        dirname: opts.dir,
        filename: `${opts.component}.log`,
        // Size-based rotation: component.log, component1.log … up to 10 files of 50 MB.
        maxsize: 50 * 1024 * 1024,
        maxFiles: 10,
        tailable: true,
        // Log files hold host names, user names and device serials: owner-only.
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
