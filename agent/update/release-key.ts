/**
 * The release signing key an update must be signed with: the one the agent pinned at its first
 * start after install (integrity.json, agent/integrity.ts), else the key the installed package
 * shipped (release-key.pem beside the program). Never a key that comes with the update.
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function pinnedReleaseKey(stateDir: string, installDir: string): string | undefined {
  try {
    const pinned = (JSON.parse(readFileSync(join(stateDir, 'integrity.json'), 'utf8')) as { release?: { key?: unknown } }).release?.key;
    if (typeof pinned === 'string' && pinned) return pinned;
  } catch {
    // no integrity record yet: the shipped key below
  }
  try {
    return createPublicKey(readFileSync(join(installDir, 'release-key.pem'))).export({ type: 'spki', format: 'der' }).toString('base64');
  } catch {
    return undefined;
  }
}
