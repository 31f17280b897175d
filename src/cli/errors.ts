/** Errors the CLI reports as one line and exit code 2 (bad input) instead of a stack trace. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

const USER_FACING = new Set(['USAGE', 'CATALOGUE_LOAD', 'CATALOGUE_INVALID', 'IDENTITY_INVALID', 'BAD_DURATION', 'RECORDING_INVALID', 'CONFIG_INVALID', 'ENROLL_CONNECT', 'ENROLL_TIMEOUT', 'ENROLLMENT_REFUSED']);

export function isUserFacing(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && (USER_FACING.has(code) || code.startsWith('ENROLL') || code.startsWith('TLS_'));
}
