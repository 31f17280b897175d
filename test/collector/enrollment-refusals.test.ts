/**
 * Refused enrollments on the collector: the installers' check (POST /agent/enroll-check) says
 * whether a token would be accepted without using it up, and every refusal — there or in the
 * WebSocket enrollment itself — is recorded with the PC's name and address, counted, listed by
 * the console API and settled when the PC enrolls. The table itself on SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll } from '../../agent/link/enroll.js';
import { EnrollmentRefusals } from '../../src/collector/enrollment/refusals.js';
import { INSTALL_CHECK_PATH } from '../../src/collector/enrollment/install-check.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { SqliteStore } from '../../src/collector/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/collector/store/store.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { REFUSAL_TEXT } from '../../src/shared/protocol/enrollment-refusal.js';
import { createTestDatabase, probePg } from '../cluster/pg-env.js';
import type { TestDatabase } from '../cluster/pg-env.js';
import { adminClient, startTestCollector } from '../console/helpers.js';
import type { TestCollector } from '../console/helpers.js';

let t: TestCollector;

beforeAll(async () => {
  t = await startTestCollector();
});
afterAll(async () => t?.close());

async function check(token: string, hostname = 'PC-SOMU-001') {
  const res = await fetch(`${t.base}${INSTALL_CHECK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, hostname }) });
  return { status: res.status, type: res.headers.get('content-type'), lines: (await res.text()).trimEnd().split('\n') };
}

describe('install-time enrollment check', () => {
  it('says ok with the segment and uses nothing up', async () => {
    const { token, record } = await createEnrollmentToken(t.collector.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: true });
    for (let i = 0; i < 2; i++) expect(await check(token)).toEqual({ status: 200, type: 'text/plain; charset=utf-8', lines: ['ok', 'lgwan'] });
    expect((await t.collector.store.listTokens()).find((x) => x.id === record.id)?.usedCount).toBe(0);
  });

  it('refuses a malformed, unknown, expired, revoked or used token with the reason in Japanese, and records the PC', async () => {
    const store = t.collector.store;
    const expired = await createEnrollmentToken(store, { segment: 'internet', expiresInMs: 1000, singleUse: false, now: new Date(Date.now() - 60_000) });
    const revoked = await createEnrollmentToken(store, { segment: 'internet', expiresInMs: 60_000, singleUse: false });
    await store.revokeToken(revoked.record.id, new Date().toISOString());
    const used = await createEnrollmentToken(store, { segment: 'internet', expiresInMs: 60_000, singleUse: true });
    await enroll(t.collector.agentUrl, used.token, { platform: 'linux', hostname: 'PC-FIRST', release: '6', arch: 'x64' }, '0.1.0');
    const cases = [
      ['mmr1.short', 'malformed'],
      [`mmr1.${'0'.repeat(16)}.${'ab'.repeat(32)}`, 'unknown'],
      [expired.token, 'expired'],
      [revoked.token, 'revoked'],
      [used.token, 'used'],
    ] as const;
    for (const [token, reason] of cases) {
      expect(await check(token, `PC-${reason}`)).toEqual({ status: 403, type: 'text/plain; charset=utf-8', lines: ['refused', reason, REFUSAL_TEXT[reason]] });
    }
    const rows = await new EnrollmentRefusals(store.sql).list();
    for (const [, reason] of cases) expect(rows.find((r) => r.hostname === `PC-${reason}`)).toMatchObject({ address: '127.0.0.1', reason, stage: 'install-check', attempts: 1, reasonText: REFUSAL_TEXT[reason] });
    expect(rows.find((r) => r.hostname === 'PC-unknown')?.tokenId).toBe('0'.repeat(16));
    expect(rows.find((r) => r.hostname === 'PC-malformed')?.tokenId).toBeNull();
  });

  it('answers a bad request plainly, and slows down a flood from one address', async () => {
    const bad = await fetch(`${t.base}${INSTALL_CHECK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 1 }) });
    expect(bad.status).toBe(400);
    expect((await bad.text()).split('\n')[0]).toBe('bad-request');
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await check('mmr1.flood', 'PC-FLOOD')).status);
    expect(statuses).toContain(429);
  });
});

describe('refused enrollments in the console', () => {
  it('counts a PC retrying, lists it for the console, and settles it when the PC enrolls', async () => {
    const os = { platform: 'windows' as const, hostname: 'PC-ZEIMU-014', release: '10.0.26100', arch: 'x64' };
    const bogus = `mmr1.${'9'.repeat(16)}.${'cd'.repeat(32)}`;
    for (let i = 0; i < 3; i++) await expect(enroll(t.collector.agentUrl, bogus, os, '0.1.0')).rejects.toMatchObject({ code: 'ENROLLMENT_REFUSED' });
    const admin = await adminClient(t);
    const listed = await admin.request('GET', '/api/v1/enrollment/refusals');
    expect(listed.status).toBe(200);
    const row = (listed.json.refusals as { hostname: string }[]).find((r) => r.hostname === 'PC-ZEIMU-014');
    expect(row).toMatchObject({ address: '127.0.0.1', reason: 'unknown', stage: 'enroll', attempts: 3, tokenId: '9'.repeat(16), reasonText: REFUSAL_TEXT.unknown });

    const { token } = await createEnrollmentToken(t.collector.store, { segment: 'mynumber', expiresInMs: 60_000, singleUse: true });
    await enroll(t.collector.agentUrl, token, os, '0.1.0');
    const after = await admin.request('GET', '/api/v1/enrollment/refusals');
    expect((after.json.refusals as { hostname: string }[]).some((r) => r.hostname === 'PC-ZEIMU-014')).toBe(false);
    // Someone without a console session sees nothing.
    expect((await fetch(`${t.base}/api/v1/enrollment/refusals`)).status).toBe(401);
  });
});

const pg = await probePg('enrollment refusals');
describe.each([
  ['sqlite', true],
  ['postgres', pg.available],
] as const)('the refusals table on %s', (dialect, available) => {
  let store: Store;
  let dir: string | undefined;
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    if (!available) return;
    if (dialect === 'sqlite') {
      dir = mkdtempSync(join(tmpdir(), 'mamori-refusals-'));
      store = new SqliteStore(join(dir, 'mamori.db'));
      await store.migrate();
    } else {
      db = await createTestDatabase();
      store = await openPostgresStore(db.url, { maxConnections: 2 });
    }
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!available)('keeps one counted row per PC and reason, newest first, at most 1,000 rows', async () => {
    const refusals = new EnrollmentRefusals(store.sql);
    const at = (i: number) => new Date(Date.UTC(2026, 11, 6, 0, 0, i)).toISOString();
    await refusals.record({ address: '::ffff:10.1.2.3', hostname: 'PC-A\u0007', reason: 'used', stage: 'install-check', tokenId: 'aaaaaaaaaaaaaaaa', at: at(1) });
    await refusals.record({ address: '10.1.2.3', hostname: 'PC-A', reason: 'used', stage: 'enroll', tokenId: 'aaaaaaaaaaaaaaaa', at: at(2) });
    await refusals.record({ address: '10.1.2.4', hostname: 'PC-B', reason: 'expired', stage: 'enroll', tokenId: 'bbbbbbbbbbbbbbbb', at: at(3) });
    expect((await refusals.list()).map((r) => [r.hostname, r.address, r.reason, r.stage, r.attempts, r.firstAt, r.lastAt])).toEqual([
      ['PC-B', '10.1.2.4', 'expired', 'enroll', 1, at(3), at(3)],
      ['PC-A', '10.1.2.3', 'used', 'enroll', 2, at(1), at(2)],
    ]);
    await refusals.settled('10.1.2.3', 'PC-A');
    expect((await refusals.list()).map((r) => r.hostname)).toEqual(['PC-B']);
    for (let i = 0; i < 1005; i++) await refusals.record({ address: `10.9.${Math.floor(i / 250)}.${i % 250}`, hostname: `PC-${i}`, reason: 'unknown', stage: 'enroll', tokenId: null, at: at(10 + i) });
    const rows = await refusals.list(2000);
    expect(rows).toHaveLength(1000);
    expect(rows[0]!.hostname).toBe('PC-1004');
    expect(rows.some((r) => r.hostname === 'PC-B')).toBe(false);
  }, 120_000);
});
