/**
 * What the two loggers write alike: winston's (src/shared/log.ts: `mamori up`, the collector) and
 * the installed agent's own (agent/log-file.ts). No winston here, so the agent bundle can take it.
 */
import { chmodSync, mkdirSync } from 'node:fs';

/** Size-based rotation: COMPONENT.log, COMPONENT1.log … up to 10 files of 50 MB. */
export const MAX_LOG_BYTES = 50 * 1024 * 1024;
export const MAX_LOG_FILES = 10;

/** Log files hold host names, user names and device serials: their folder is owner-only (the files 0600). */
export function ownerOnlyLogDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** The short human line on the console: "HH:MM:SS.mmm component level: message {meta}". */
export function humanLine(fields: Record<string, unknown>): string {
  const { level, message, timestamp, component, ...rest } = fields;
  const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
  return `${String(timestamp).slice(11, 23)} ${String(component)} ${String(level)}: ${String(message)}${extra}`;
}
