/** Real-run test helpers: a tool that is missing fails the test under CI=true and skips it (with the reason printed) elsewhere. */
import { existsSync } from 'node:fs';

/** Names of the tools (absolute paths) that are missing on this machine. */
export function missingTools(paths: string[]): string[] {
  return paths.filter((p) => !existsSync(p));
}

/**
 * For `test.skipIf(skipReal(...))`: true only when tools are missing and we are not in CI.
 * In CI a missing tool is not skipped: the test runs and fails on `requireTools`.
 */
export function skipReal(paths: string[], packages: string): boolean {
  const missing = missingTools(paths);
  if (missing.length === 0 || process.env.CI === 'true') return false;
  console.warn(`skipping real-run test: ${missing.join(', ')} not installed (Debian packages: ${packages})`);
  return true;
}

/** Fail with a clear message when a tool is missing (the CI path). */
export function requireTools(paths: string[], packages: string): void {
  const missing = missingTools(paths);
  if (missing.length) throw new Error(`real-run test needs ${missing.join(', ')} — install the Debian packages: ${packages}`);
}
