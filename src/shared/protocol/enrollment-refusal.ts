/**
 * Why the collector refuses an enrollment token, and the reason in Japanese as the installers,
 * the agent (`mamori status`, its log) and the console show it. The gateway closes a refused
 * enrollment with ENROLLMENT_REFUSED and the reason "enrollment token <code>".
 */
export type RefusalReason = 'malformed' | 'unknown' | 'expired' | 'used' | 'revoked';

export const REFUSAL_REASONS: readonly RefusalReason[] = ['malformed', 'unknown', 'expired', 'used', 'revoked'];

export const REFUSAL_TEXT: Record<RefusalReason, string> = {
  malformed: '登録トークンの形式が正しくありません (mmr1. で始まるトークンをそのまま指定してください)',
  unknown: '登録トークンがこの収集サーバーにありません (打ち間違いか、別の収集サーバーのトークンです)',
  expired: '登録トークンの有効期限が切れています (収集サーバーで新しいトークンを発行してください)',
  used: '登録トークンは使用済みです (1 台限りのトークンです。台数分のトークンか複数台用のトークンを発行してください)',
  revoked: '登録トークンは失効しています (収集サーバーで新しいトークンを発行してください)',
};

/** The reason code in the close reason of a refused enrollment ("enrollment token used", "malformed enrollment token"). */
export function refusalReasonOf(closeReason: string): RefusalReason | undefined {
  const m = /\b(malformed|unknown|expired|used|revoked)\b/.exec(closeReason);
  return m ? (m[1] as RefusalReason) : undefined;
}
