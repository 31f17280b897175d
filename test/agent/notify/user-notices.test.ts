/**
 * Notices to the person at the PC, decided from real judgements of recorded PCs
 * (test/fixtures/replay/linux: ubuntu2204-xfce-noav has no antivirus and user suzuki's screen
 * lock off; debian11-gnome-clamav has an unregistered USB stick) and the shipped
 * config/notices.yml. The desktop delivery here records what it was given; the real one is
 * exercised against a real notification daemon in desktop-notice.linux.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyFindingsState, findingsToEvents } from '../../../agent/findings.js';
import { localCheck, productCatalogue } from '../../../agent/local-check.js';
import { decideNotice, inQuietHours } from '../../../agent/notify/decide.js';
import type { DeliveryResult, NoticeDelivery, NoticeTarget } from '../../../agent/notify/delivery.js';
import { statusPath } from '../../../agent/notify/status.js';
import { effectiveNoticePolicy, loadNotices } from '../../../agent/notify/texts.js';
import type { ComposedNotice } from '../../../agent/notify/texts.js';
import { UserNotices } from '../../../agent/notify/user-notices.js';
import { silentLogger } from '../../../src/shared/log.js';
import { PolicyDocument } from '../../../src/shared/protocol/messages.js';
import type { NewAgentEvent } from '../../../src/shared/protocol/messages.js';

const REPLAY = join(import.meta.dirname, '../../fixtures/replay/linux');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

class RecordingDelivery implements NoticeDelivery {
  readonly shown: { notice: ComposedNotice; target: NoticeTarget }[] = [];
  constructor(private readonly answer: (t: NoticeTarget) => DeliveryResult[] | Error = () => [{ session: '2', user: 'suzuki', ok: true, notificationId: 1 }]) {}
  async deliver(notice: ComposedNotice, target: NoticeTarget): Promise<DeliveryResult[]> {
    const a = this.answer(target);
    if (a instanceof Error) throw a;
    this.shown.push({ notice, target });
    return a;
  }
}

async function opened(recording: string) {
  const report = await localCheck({ replayDir: join(REPLAY, recording) });
  return findingsToEvents(report, productCatalogue().rules, emptyFindingsState());
}

function notices(delivery: NoticeDelivery | undefined, o: { now?: Date; policy?: unknown } = {}) {
  const stateDir = join(mkdtempSync(join(tmpdir(), 'mamori-notices-')), 'state');
  dirs.push(join(stateDir, '..'));
  mkdirSync(stateDir, { mode: 0o700 });
  const events: NewAgentEvent[] = [];
  const policy = PolicyDocument.parse({ version: 3, ...(o.policy ?? {}) });
  const n = new UserNotices({ stateDir, log: silentLogger(), policy: () => policy, catalogue: productCatalogue, append: (e) => events.push(...e), notify: true, ...(delivery ? { delivery } : {}), now: () => o.now ?? new Date('2026-12-07T03:00:00Z') });
  return { n, events, stateDir };
}

const NOON_JST = new Date('2026-12-07T03:00:00Z');
const NIGHT_JST = new Date('2026-12-06T14:30:00Z'); // 23:30 JST

describe('config/notices.yml', () => {
  it('has a Japanese text for every rule it notifies, each a rule of the catalogue', () => {
    const file = loadNotices();
    const ids = new Set(productCatalogue().rules.map((r) => r.id));
    for (const id of file.policy.rules) {
      expect(ids.has(id), id).toBe(true);
      expect(file.notices[id], id).toBeDefined();
    }
    expect(file.policy.rules).toEqual(expect.arrayContaining(['USB-001', 'USB-002', 'SW-002', 'LOCK-001', 'AV-003']));
  });
  it('a pushed policy overrides the defaults field by field', () => {
    const p = effectiveNoticePolicy(loadNotices(), PolicyDocument.parse({ version: 1, notices: { rateLimitMinutes: 5, contact: { role: '情報セキュリティ管理者', name: '総務課', extension: '内線 200', mail: 'soumu@example.lg.jp' } } }));
    expect(p.rateLimitMinutes).toBe(5);
    expect(p.contact.name).toBe('総務課');
    expect(p.standard).toBe('003');
    expect(p.enabled).toBe(true);
  });
});

describe('when a notice is shown', () => {
  const policy = { ...loadNotices().policy, enabled: true };
  it('quiet hours are JST and may wrap past midnight', () => {
    expect(inQuietHours({ from: '22:00', to: '07:00' }, NIGHT_JST)).toBe(true);
    expect(inQuietHours({ from: '22:00', to: '07:00' }, new Date('2026-12-06T21:59:00Z'))).toBe(true); // 06:59 JST
    expect(inQuietHours({ from: '22:00', to: '07:00' }, new Date('2026-12-06T22:00:00Z'))).toBe(false); // 07:00 JST
    expect(inQuietHours({ from: '12:00', to: '13:00' }, NOON_JST)).toBe(true);
    expect(inQuietHours(null, NIGHT_JST)).toBe(false);
  });
  it('one notice per rule and subject within the rate limit', () => {
    expect(decideNotice('USB-001', policy, undefined, NOON_JST)).toEqual({ show: true });
    expect(decideNotice('USB-001', policy, '2026-12-07T02:30:00Z', NOON_JST)).toEqual({ show: false, why: 'rate-limited' });
    expect(decideNotice('USB-001', policy, '2026-12-07T01:59:00Z', NOON_JST)).toEqual({ show: true });
    expect(decideNotice('PATCH-001', policy, undefined, NOON_JST)).toEqual({ show: false, why: 'not-notifying' });
    expect(decideNotice('USB-001', { ...policy, enabled: false }, undefined, NOON_JST)).toEqual({ show: false, why: 'disabled' });
  });
});

describe('notices for violations opened on recorded PCs', () => {
  it('an unregistered USB stick: what happened, the clause of the site standard, what to do, whom to contact', async () => {
    const d = new RecordingDelivery();
    const { n, events } = notices(d);
    const f = await opened('debian11-gnome-clamav');
    n.afterFindings(f.events, f.state);
    await n.idle();
    expect(d.shown).toHaveLength(1);
    const { notice, target } = d.shown[0]!;
    expect(target).toEqual({});
    expect(notice.summary).toBe('【情報セキュリティ】登録されていないUSBメモリが接続されました');
    expect(notice.body.split('\n')).toEqual([
      '媒体管理台帳に登録されていないUSB記憶媒体 (0951:1666:E0D55EA573DCF450E97C0F9A) がこのパソコンに接続されました。',
      '規程: 川崎市情報セキュリティ基準 第4章4(1)ア、第9章8(8)',
      '対応: すぐに取り外してください。業務で使う必要がある場合は、情報セキュリティ管理者に届け出て媒体管理台帳に登録してもらってください。',
      '連絡先: 情報セキュリティ管理者 (情報政策課 ヘルプデスク 内線 1234 helpdesk@example.lg.jp)',
    ]);
    expect(events).toEqual([{ at: NOON_JST.toISOString(), kind: 'agent.notice', notice: 'user.notified', detail: { ruleId: 'USB-001', subject: '0951:1666:E0D55EA573DCF450E97C0F9A', title: notice.summary, sessions: [{ session: '2', user: 'suzuki' }] } }]);
  });

  it('the same stick again within the hour is not shown twice, even after a restart', async () => {
    const d = new RecordingDelivery();
    const { n, events, stateDir } = notices(d);
    const f = await opened('debian11-gnome-clamav');
    n.afterFindings(f.events, f.state);
    await n.idle();
    const again = new UserNotices({ stateDir, log: silentLogger(), policy: () => PolicyDocument.parse({ version: 3 }), catalogue: productCatalogue, append: (e) => events.push(...e), notify: true, delivery: d, now: () => new Date(NOON_JST.getTime() + 30 * 60_000) });
    again.afterFindings(f.events, f.state);
    await again.idle();
    expect(d.shown).toHaveLength(1);
    expect(events.map((e) => e.kind === 'agent.notice' && e.notice)).toEqual(['user.notified', 'user.notify-skipped']);
    expect(events[1]).toMatchObject({ detail: { ruleId: 'USB-001', reason: '同じ規則・対象の通知を 60 分以内に表示済みのため表示しませんでした' } });
  });

  it('screen lock off goes to that user only; antivirus off to everyone; rules that do not notify are silent', async () => {
    const d = new RecordingDelivery();
    const { n, events } = notices(d);
    const f = await opened('ubuntu2204-xfce-noav');
    n.afterFindings(f.events, f.state);
    await n.idle();
    const byRule = Object.fromEntries(d.shown.map((s) => [s.notice.summary, s.target]));
    expect(byRule).toEqual({
      '【情報セキュリティ】ウイルス対策ソフトが動いていません': {},
      '【情報セキュリティ】ウイルス対策ソフトのリアルタイム保護が無効です': {},
      '【情報セキュリティ】画面ロックが設定されていません': { user: 'suzuki' },
    });
    // AV-002 cites no clause of 003: the first clause it cites is shown, with its standard's title.
    expect(d.shown.find((s) => s.notice.summary.includes('動いていません'))!.notice.body).toContain('規程: 新潟県市町村総合事務組合情報セキュリティ対策基準 §7(4)①ウ');
    expect(events).toHaveLength(3);
  });

  it('in the quiet hours nothing is shown and the administrator sees why', async () => {
    const d = new RecordingDelivery();
    const { n, events } = notices(d, { now: NIGHT_JST });
    const f = await opened('debian11-gnome-clamav');
    n.afterFindings(f.events, f.state);
    await n.idle();
    expect(d.shown).toHaveLength(0);
    expect(events).toEqual([{ at: NIGHT_JST.toISOString(), kind: 'agent.notice', notice: 'user.notify-skipped', detail: { ruleId: 'USB-001', subject: '0951:1666:E0D55EA573DCF450E97C0F9A', reason: '通知しない時間帯 (quietHours) のため表示しませんでした' } }]);
  });

  it('no session, a session bus that refused, sessions not listable: each recorded as not shown with its reason', async () => {
    const cases: [NoticeDelivery | undefined, string][] = [
      [new RecordingDelivery(() => []), 'ログオン中の画面 (グラフィカルセッション) がありません'],
      [new RecordingDelivery(() => [{ session: '3', user: 'sato', ok: false, reason: 'Error: GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown' }]), '通知を表示できませんでした'],
      [new RecordingDelivery(() => new Error('loginctl list-sessions: Failed to connect to bus')), 'ログオン中のセッションを取得できません: loginctl list-sessions: Failed to connect to bus'],
      [undefined, 'この OS では利用者への通知に対応していません'],
    ];
    for (const [delivery, reason] of cases) {
      const { n, events } = notices(delivery);
      const f = await opened('debian11-gnome-clamav');
      n.afterFindings(f.events, f.state);
      await n.idle();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'agent.notice', notice: 'user.notify-failed', detail: { ruleId: 'USB-001', reason } });
    }
  });

  it('the policy can switch notices off', async () => {
    const d = new RecordingDelivery();
    const { n, events } = notices(d, { policy: { notices: { enabled: false } } });
    const f = await opened('debian11-gnome-clamav');
    n.afterFindings(f.events, f.state);
    await n.idle();
    expect(d.shown).toHaveLength(0);
    expect(events).toHaveLength(0);
  });
});

describe('the status file', () => {
  it('lists the open violations in Japanese, is world-readable and holds no ids, facts or keys', async () => {
    const { n, stateDir } = notices(new RecordingDelivery());
    const f = await opened('ubuntu2204-xfce-noav');
    n.afterFindings(f.events, f.state);
    await n.idle();
    const path = statusPath(stateDir);
    expect(path).toBe(`${stateDir}.status.json`);
    expect(statSync(path).mode & 0o777).toBe(0o644);
    const text = readFileSync(path, 'utf8');
    const status = JSON.parse(text) as { violations: { ruleId: string; subject: string; what: string; todo: string }[] };
    expect(status.violations.map((v) => v.ruleId).sort()).toEqual(Object.keys(f.state.open).map((k) => k.split('\u0000')[0]).sort());
    const lock = status.violations.find((v) => v.ruleId === 'LOCK-001')!;
    expect(lock).toMatchObject({ subject: 'suzuki', what: 'あなたのアカウント (suzuki) では、操作しない状態が続いても画面がロックされません。' });
    // A rule without a notice text still says what to do: the catalogue's remediation.
    expect(status.violations.find((v) => v.ruleId === 'ENC-001')!.todo).toBe(productCatalogue().rules.find((r) => r.id === 'ENC-001')!.remediation.ja);
    expect(text).not.toMatch(/ag_|secret|facts|policyKey/);
  });
});
