/**
 * Enrollment tokens on the real SQLite store: what a new token holds, the durations an
 * administrator can give, and the installer's question "would this token be accepted now?",
 * which must refuse in the same order as the enrollment itself and never use the token up.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEnrollmentToken, TOKEN_FORM } from '../../src/collector/enrollment/token-check.js';
import { SqliteConnectionStore } from '../../src/collector/store/sqlite/connection-store.js';
import type { Store } from '../../src/collector/store/store.js';
import { createEnrollmentToken, DurationError, parseDuration } from '../../src/collector/tokens.js';
import { sha256Hex } from '../../src/shared/protocol/auth.js';
import { tempDir } from '../helpers/processes.js';

let store: Store;
beforeAll(async () => {
  // The SQLite store's own connection, in this thread: the collector runs the same class on its
  // writer thread (loaded from dist/), and the token code under test runs here either way.
  store = new SqliteConnectionStore(join(tempDir('tokens'), 'mamori.db'));
  await store.migrate();
});
afterAll(async () => store?.close());

const NOW = new Date('2026-12-06T10:00:00.000Z');
/** Why a token is refused ('' when it is accepted). */
const refusal = async (token: string, at: Date): Promise<string> => {
  const r = await checkEnrollmentToken(store.sql, token, at);
  return r.ok ? '' : r.reason;
};

describe('a new enrollment token', () => {
  it('is "mmr1.<id>.<secret>", and the store keeps only the hash of the secret', async () => {
    const { token, record } = await createEnrollmentToken(store, { segment: 'mynumber', expiresInMs: 3_600_000, singleUse: true, note: '窓口PC', department: ' 税務課 ', now: NOW });
    const m = TOKEN_FORM.exec(token)!;
    expect(m).not.toBeNull();
    expect(m[1]).toBe(record.id);
    expect(record).toEqual({ id: m[1], secretHash: sha256Hex(m[2]!), segment: 'mynumber', expiresAt: '2026-12-06T11:00:00.000Z', singleUse: true, usedCount: 0, revokedAt: null, createdAt: NOW.toISOString(), note: '窓口PC', department: '税務課' });
    const stored = (await store.listTokens()).find((t) => t.id === record.id)!;
    expect(stored.secretHash).toBe(record.secretHash);
    expect(JSON.stringify(stored)).not.toContain(m[2]);
  });

  it('has no note or 課 unless given; a blank 課 is none, a long one is cut to 64 characters', async () => {
    const plain = (await createEnrollmentToken(store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false, now: NOW })).record;
    expect([plain.note, plain.department, plain.singleUse]).toEqual([null, null, false]);
    expect((await createEnrollmentToken(store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false, department: '   ' })).record.department).toBeNull();
    expect((await createEnrollmentToken(store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false, department: null })).record.department).toBeNull();
    expect((await createEnrollmentToken(store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false, department: '課'.repeat(80) })).record.department).toBe('課'.repeat(64));
  });

  it('each token is different, and valid from now when no time is given', async () => {
    const before = Date.now();
    const a = await createEnrollmentToken(store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false });
    const b = await createEnrollmentToken(store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false });
    expect(a.token).not.toBe(b.token);
    expect(a.record.id).not.toBe(b.record.id);
    expect(Date.parse(a.record.createdAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(a.record.expiresAt) - Date.parse(a.record.createdAt)).toBe(60_000);
  });
});

describe('parseDuration', () => {
  it('reads minutes, hours and days', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration(' 2 d ')).toBe(172_800_000);
  });
  it('refuses anything else with a typed error', () => {
    for (const bad of ['7', 'd', '1w', '1.5h', '-1d', '7days', 'x7d', '']) {
      expect(() => parseDuration(bad), bad).toThrow(DurationError);
    }
    expect(() => parseDuration('1w')).toThrow('"1w" is not a duration like 30m, 12h or 7d');
    // By this code the CLI reports it as one line of bad input (src/cli/errors.ts), not a stack trace.
    const err = (() => {
      try {
        parseDuration('1w');
      } catch (e) {
        return e as DurationError;
      }
    })();
    expect(err?.code).toBe('BAD_DURATION');
  });
});

describe('checkEnrollmentToken (the installer asks before it installs)', () => {
  const make = (over: Partial<Parameters<typeof createEnrollmentToken>[1]> = {}) => createEnrollmentToken(store, { segment: 'internet', expiresInMs: 3_600_000, singleUse: true, now: NOW, ...over });

  it('accepts a valid token with its segment and does not use it up', async () => {
    const { token, record } = await make();
    const at = new Date(NOW.getTime() + 60_000);
    expect(await checkEnrollmentToken(store.sql, token, at)).toEqual({ ok: true, segment: 'internet', tokenId: record.id });
    expect(await checkEnrollmentToken(store.sql, token, at)).toEqual({ ok: true, segment: 'internet', tokenId: record.id });
    expect((await store.redeemToken(record.id, record.secretHash, at.toISOString())).ok).toBe(true);
  });

  it('refuses a malformed token without looking it up', async () => {
    const { token } = await make();
    for (const bad of [`${token}0`, token.replace('mmr1', 'mmr2'), token.toUpperCase(), ` ${token}`, 'mmr1.abc.def']) {
      expect(await checkEnrollmentToken(store.sql, bad, NOW), bad).toEqual({ ok: false, reason: 'malformed', tokenId: null });
    }
  });

  it('refuses an unknown id or a wrong secret as unknown', async () => {
    const { token, record } = await make();
    const wrongSecret = `mmr1.${record.id}.${'0'.repeat(64)}`;
    expect(await checkEnrollmentToken(store.sql, wrongSecret, NOW)).toEqual({ ok: false, reason: 'unknown', tokenId: record.id });
    const otherId = token.replace(record.id, 'ffffffffffffffff');
    expect(await checkEnrollmentToken(store.sql, otherId, NOW)).toEqual({ ok: false, reason: 'unknown', tokenId: 'ffffffffffffffff' });
  });

  it('refuses a token at its expiry time and after, not a moment before', async () => {
    const { token, record } = await make({ expiresInMs: 60_000 });
    expect((await checkEnrollmentToken(store.sql, token, new Date(NOW.getTime() + 59_999))).ok).toBe(true);
    expect(await checkEnrollmentToken(store.sql, token, new Date(NOW.getTime() + 60_000))).toEqual({ ok: false, reason: 'expired', tokenId: record.id });
  });

  it('refuses a used single-use token, but not a used multi-use one', async () => {
    const single = await make();
    expect((await store.redeemToken(single.record.id, single.record.secretHash, NOW.toISOString())).ok).toBe(true);
    expect(await checkEnrollmentToken(store.sql, single.token, NOW)).toEqual({ ok: false, reason: 'used', tokenId: single.record.id });
    const multi = await make({ singleUse: false });
    expect((await store.redeemToken(multi.record.id, multi.record.secretHash, NOW.toISOString())).ok).toBe(true);
    expect((await checkEnrollmentToken(store.sql, multi.token, NOW)).ok).toBe(true);
  });

  it('says revoked before expired or used, as the enrollment does', async () => {
    const { token, record } = await make({ expiresInMs: 1 });
    expect((await store.redeemToken(record.id, record.secretHash, NOW.toISOString())).ok).toBe(true);
    const later = new Date(NOW.getTime() + 86_400_000);
    expect(await refusal(token, later)).toBe('expired');
    await store.revokeToken(record.id, NOW.toISOString());
    expect(await checkEnrollmentToken(store.sql, token, later)).toEqual({ ok: false, reason: 'revoked', tokenId: record.id });
    const fresh = await make();
    await store.revokeToken(fresh.record.id, NOW.toISOString());
    expect(await refusal(fresh.token, NOW)).toBe('revoked');
  });

  it('says expired before used', async () => {
    const { token, record } = await make({ expiresInMs: 1000 });
    expect((await store.redeemToken(record.id, record.secretHash, NOW.toISOString())).ok).toBe(true);
    expect(await refusal(token, new Date(NOW.getTime() + 1000))).toBe('expired');
  });
});
