/**
 * The agent's logger in its installed bundle, in place of src/shared/log.ts (winston): the same
 * lines in the same files, without winston's stream machinery and the zlib module its file
 * transport loads, which a mostly idle daemon would hold for its whole life (BENCHMARKS.md,
 * "Agent memory to 65 MB"). scripts/package.mjs puts it in the agent bundle; `mamori up` and
 * the collector keep winston.
 *
 * Same output as src/shared/log.ts:
 *  - file: one JSON object per line with sorted keys (winston's json format), level, message,
 *    component, timestamp and the meta fields, in DIR/COMPONENT.log, owner-only (0600 in a 0700
 *    folder); at 50 MB it is renamed COMPONENT1.log (the older ones shifted up to COMPONENT9.log,
 *    the oldest deleted) and a new COMPONENT.log begun, as winston's `tailable` rotation does;
 *  - console: "HH:MM:SS.mmm component level: message {meta}" on standard error.
 * Lines are written synchronously: nothing logged is lost when the service stops or crashes.
 */
import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LogOptions } from '../src/shared/log.js';
import { MAX_LOG_BYTES, MAX_LOG_FILES, humanLine, ownerOnlyLogDir } from '../src/shared/log-format.js';

export type { LogOptions };

/** winston's npm levels: a line is written when its level is at most the logger's. */
const LEVELS = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 } as const;
type Level = keyof typeof LEVELS;

export interface Logger {
  error(message: string, meta?: unknown): void;
  warn(message: string, meta?: unknown): void;
  info(message: string, meta?: unknown): void;
  debug(message: string, meta?: unknown): void;
}

/** JSON with the keys of every object sorted, "[Circular]" for a cycle (as winston's safe-stable-stringify). */
export function stableJson(value: unknown): string {
  const seen = new Set<object>();
  const sort = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? String(v) : v;
    if (seen.has(v)) return '[Circular]';
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return sort((v as { toJSON: () => unknown }).toJSON());
    seen.add(v);
    const out = Array.isArray(v) ? v.map(sort) : Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    seen.delete(v);
    return out;
  };
  return JSON.stringify(sort(value));
}

/** The fields of one line: meta merged as winston merges it (an Error adds its message and stack). */
function entry(component: string, level: Level, message: string, meta: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = { component };
  let text = message;
  if (meta instanceof Error) {
    text = `${message} ${meta.message}`;
    fields.stack = meta.stack;
  } else if (meta && typeof meta === 'object') {
    Object.assign(fields, meta);
  }
  return { ...fields, level, message: text, timestamp: new Date().toISOString() };
}

/** DIR/NAME.log, rotated at MAX_LOG_BYTES into NAME1.log … NAME9.log. */
export class RotatingFile {
  private fd: number | undefined;
  private size = 0;

  constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly maxBytes = MAX_LOG_BYTES,
    private readonly maxFiles = MAX_LOG_FILES,
  ) {}

  private path(n: number): string {
    return join(this.dir, `${this.name}${n === 0 ? '' : n}.log`);
  }

  private open(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.path(0), 'a', 0o600);
      this.size = fstatSync(this.fd).size;
    }
    return this.fd;
  }

  private rotate(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.path(this.maxFiles - 1), { force: true });
    for (let n = this.maxFiles - 2; n >= 0; n--) if (existsSync(this.path(n))) renameSync(this.path(n), this.path(n + 1));
  }

  write(line: string): void {
    const bytes = Buffer.from(line);
    this.open();
    if (this.size > 0 && this.size + bytes.length > this.maxBytes) this.rotate();
    const fd = this.open();
    this.size += writeSync(fd, bytes);
  }
}

export function createLogger(opts: LogOptions): Logger {
  const threshold = LEVELS[(opts.level ?? process.env.MAMORI_LOG_LEVEL ?? 'info') as Level] ?? LEVELS.info;
  let file: RotatingFile | undefined;
  if (opts.dir) {
    ownerOnlyLogDir(opts.dir);
    file = new RotatingFile(opts.dir, opts.component);
  }
  const toConsole = opts.console !== false;
  const log = (level: Level) => (message: string, meta?: unknown) => {
    if (LEVELS[level] > threshold) return;
    const fields = entry(opts.component, level, message, meta);
    try {
      file?.write(`${stableJson(fields)}\n`);
    } catch {
      // A full or read-only disk must not stop the agent; the console line below still goes out.
    }
    if (toConsole) process.stderr.write(`${humanLine(fields)}\n`);
  };
  return { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') };
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  const none = () => undefined;
  return { error: none, warn: none, info: none, debug: none };
}
