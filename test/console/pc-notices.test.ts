/**
 * The notices to the person at a PC on its page (GET /api/v1/pcs/:id/notices): shown, held back
 * and not shown, with where and why, newest first, from the agent's own agent.notice events
 * stored through the real ingest; other agent notices stay out, and a 課-scoped account does
 * not see another 課's PC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { adminClient, seedAgent, seedEvents, startTestCollector, userClient } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

let t: TestCollector;
let admin: Client;

beforeAll(async () => {
  t = await startTestCollector();
  admin = await adminClient(t);
});
afterAll(async () => {
  await t?.close();
});

const notice = (at: string, name: string, detail: Record<string, unknown>): NewAgentEvent => ({ kind: 'agent.notice', at, notice: name, detail });

describe('notices on the PC page', () => {
  it('lists every notice shown, held back or not shown, with where and why, newest first', async () => {
    const id = await seedAgent(t, 'ZEIMU-PC07');
    expect((await admin.request('GET', `/api/v1/pcs/${id}/notices`)).json).toEqual({ notices: [] });
    await seedEvents(t, id, 'ZEIMU-PC07', [
      notice('2026-12-07T01:00:00.000Z', 'started', { version: '0.1.0' }),
      notice('2026-12-07T01:01:00.000Z', 'user.notified', { ruleId: 'USB-001', subject: '0951:1666:E0D55EA573DCF450E97C0F9A', title: '【情報セキュリティ】登録されていないUSBメモリが接続されました', sessions: [{ session: '1', user: 'LGWAN\\suzuki', shownAs: 'toast' }], failed: [{ session: '2', user: 'LGWAN\\sato', reason: 'WTSQueryUserToken が失敗しました (エラー 1008)' }] }),
      notice('2026-12-07T01:20:00.000Z', 'user.notify-skipped', { ruleId: 'USB-001', subject: '0951:1666:E0D55EA573DCF450E97C0F9A', reason: '同じ規則・対象の通知を 60 分以内に表示済みのため表示しませんでした' }),
      notice('2026-12-07T13:00:00.000Z', 'user.notify-failed', { ruleId: 'AV-002', subject: '', reason: 'ログオン中の画面 (グラフィカルセッション) がありません' }),
      notice('2026-12-07T13:05:00.000Z', 'watcher.down', { watcher: 'windows-devices', reason: 'x' }),
    ]);
    const r = await admin.request('GET', `/api/v1/pcs/${id}/notices`);
    expect(r.status).toBe(200);
    const list = (r.json as { notices: { at: string; outcome: string; ruleId: string; reason: string | null; sessions: unknown[]; failed: unknown[] }[] }).notices;
    expect(list.map((n) => [n.outcome, n.ruleId])).toEqual([
      ['failed', 'AV-002'],
      ['skipped', 'USB-001'],
      ['shown', 'USB-001'],
    ]);
    expect(list[0]!.reason).toBe('ログオン中の画面 (グラフィカルセッション) がありません');
    expect(list[2]).toMatchObject({ sessions: [{ session: '1', user: 'LGWAN\\suzuki', shownAs: 'toast' }], failed: [{ session: '2', reason: 'WTSQueryUserToken が失敗しました (エラー 1008)' }], reason: null });
  });

  it('an unknown PC is not found; a 課-scoped account does not see another 課\'s PC', async () => {
    expect((await admin.request('GET', '/api/v1/pcs/ag_nonexistent0000000000/notices')).status).toBe(404);
    const id = await seedAgent(t, 'KAIKEI-PC02');
    await admin.request('PUT', `/api/v1/pcs/${id}/assignment`, { department: '会計課', group: null });
    const viewer = await userClient(t, admin, 'zeimu-helpdesk', 'helpdesk', ['税務課']);
    expect((await viewer.request('GET', `/api/v1/pcs/${id}/notices`)).status).toBe(404);
  });
});
