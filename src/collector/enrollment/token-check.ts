/**
 * Whether an enrollment token would be accepted now, without using it up: the installer asks
 * this before it installs anything (install-check.ts), so a wrong, expired, used or revoked
 * token fails the install cleanly. The token is redeemed only by the enrollment itself.
 */
import { sha256Hex } from '../../shared/protocol/auth.js';
import type { Segment } from '../../shared/protocol/messages.js';
import type { SqlRunner } from '../store/sql.js';
import type { RefusalReason } from '../../shared/protocol/enrollment-refusal.js';

/** "mmr1.<id>.<secret>" (src/collector/tokens.ts); the gateway accepts exactly this form. */
export const TOKEN_FORM = /^mmr1\.([0-9a-z]{10,40})\.([0-9a-f]{64})$/;

export type TokenCheck = { ok: true; segment: Segment; tokenId: string } | { ok: false; reason: RefusalReason; tokenId: string | null };

export async function checkEnrollmentToken(sql: SqlRunner, token: string, now: Date): Promise<TokenCheck> {
  const parsed = TOKEN_FORM.exec(token);
  if (!parsed) return { ok: false, reason: 'malformed', tokenId: null };
  const [, id, secret] = parsed as unknown as [string, string, string];
  const row = await sql.get<{ secret_hash: string; segment: Segment; expires_at: string; single_use: number | string; used_count: number | string; revoked_at: string | null }>(
    'SELECT secret_hash, segment, expires_at, single_use, used_count, revoked_at FROM enrollment_tokens WHERE id = ?',
    [id],
  );
  // Same order of reasons as the store's redeemToken.
  if (!row || row.secret_hash !== sha256Hex(secret)) return { ok: false, reason: 'unknown', tokenId: id };
  if (row.revoked_at) return { ok: false, reason: 'revoked', tokenId: id };
  if (Date.parse(row.expires_at) <= now.getTime()) return { ok: false, reason: 'expired', tokenId: id };
  if (Number(row.single_use) && Number(row.used_count) > 0) return { ok: false, reason: 'used', tokenId: id };
  return { ok: true, segment: row.segment, tokenId: id };
}
