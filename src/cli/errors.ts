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

/** Run a command line: user-facing errors as one line and exit 2, anything else with its stack and exit 1. */
export function runCommandLine(program: { parseAsync(argv: string[]): Promise<unknown> }): void {
  program.parseAsync(process.argv).catch((err: unknown) => {
    if (isUserFacing(err)) {
      process.stderr.write(`mamori: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`mamori: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
