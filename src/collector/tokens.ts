/** Enrollment tokens: "mmr1.<id>.<secret>"; the collector keeps only the SHA-256 of the secret. */
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../shared/protocol/auth.js';
import type { Segment } from '../shared/protocol/messages.js';
import type { Store, TokenRecord } from './store/store.js';

export interface NewTokenOptions {
  segment: Segment;
  expiresInMs: number;
  singleUse: boolean;
  note?: string;
  /** The 課 the PCs enrolled with it land in. */
  department?: string | null;
  now?: Date;
}

export async function createEnrollmentToken(store: Store, opts: NewTokenOptions): Promise<{ token: string; record: TokenRecord }> {
  const now = opts.now ?? new Date();
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('hex');
  const record: TokenRecord = {
    id,
    secretHash: sha256Hex(secret),
    segment: opts.segment,
    expiresAt: new Date(now.getTime() + opts.expiresInMs).toISOString(),
    singleUse: opts.singleUse,
    usedCount: 0,
    revokedAt: null,
    createdAt: now.toISOString(),
    note: opts.note ?? null,
    department: opts.department?.trim() ? opts.department.trim().slice(0, 64) : null,
  };
  await store.createToken(record);
  return { token: `mmr1.${id}.${secret}`, record };
}

export class DurationError extends Error {
  readonly code = 'BAD_DURATION';
}

/** "30m", "12h", "7d" → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(m|h|d)$/.exec(text.trim());
  if (!m) throw new DurationError(`"${text}" is not a duration like 30m, 12h or 7d`);
  const n = Number(m[1]);
  return n * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}
