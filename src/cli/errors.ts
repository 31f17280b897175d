import { MESSAGES, msg } from '../shared/i18n/index.js';
import type { MessageId } from '../shared/i18n/index.js';
import { t } from './lang.js';

/** Errors the CLI reports as one line and exit code 2 (bad input) instead of a stack trace. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

const USER_FACING = new Set(['USAGE', 'CATALOGUE_LOAD', 'CATALOGUE_INVALID', 'IDENTITY_INVALID', 'BAD_DURATION', 'RECORDING_INVALID', 'CONFIG_INVALID', 'ENROLL_CONNECT', 'ENROLL_TIMEOUT', 'ENROLLMENT_REFUSED', 'CLUSTER_IDENTITY_MISMATCH']);

/** Errors of the machine around the command (a file it cannot read, a port in use …): one line, not a stack. */
const SYSTEM_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EADDRINUSE', 'EADDRNOTAVAIL', 'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EROFS', 'ENOSPC']);

export function isUserFacing(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && (USER_FACING.has(code) || SYSTEM_CODES.has(code) || code.startsWith('ENROLL') || code.startsWith('TLS_'));
}

/** A user-facing error in the language of the run: an error of the machine (ENOENT, EADDRINUSE …) in words with the system's own text after it. */
function userText(err: Error & { code: string }): string {
  const id = `cli.system.${err.code}`;
  return SYSTEM_CODES.has(err.code) && id in MESSAGES ? t('cli.system', { what: msg(id as MessageId), detail: err.message }) : err.message;
}

/** Run a command line: user-facing errors as one line and exit 2, anything else with its stack and exit 1. */
export function runCommandLine(program: { parseAsync(argv: string[]): Promise<unknown> }): void {
  program.parseAsync(process.argv).catch((err: unknown) => {
    if (isUserFacing(err)) {
      process.stderr.write(`mamori: ${userText(err)}\n`);
      process.exit(2);
    }
    process.stderr.write(`mamori: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
