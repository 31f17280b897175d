/**
 * The agent's identity (its id and secret from enrollment), stored in the state directory
 * readable by the agent's own account only (root / SYSTEM).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Segment } from '../src/shared/protocol/messages.js';

export const IdentityFile = z.object({
  agentId: z.string().regex(/^ag_[0-9a-z]{20,40}$/),
  secret: z.string().regex(/^[0-9a-f]{64}$/),
  segment: Segment,
  collectorUrl: z.string(),
  enrolledAt: z.string(),
});
export type IdentityFile = z.infer<typeof IdentityFile>;

export class IdentityError extends Error {
  readonly code = 'IDENTITY_INVALID';
}

/** Create the state directory with owner-only permissions (and tighten an existing one). */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') chmodSync(dir, 0o700);
}

export function loadIdentity(stateDir: string): IdentityFile | undefined {
  const path = join(stateDir, 'identity.json');
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new IdentityError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = IdentityFile.safeParse(raw);
  if (!parsed.success) throw new IdentityError(`${path}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export function saveIdentity(stateDir: string, identity: IdentityFile): void {
  ensureStateDir(stateDir);
  const path = join(stateDir, 'identity.json');
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
