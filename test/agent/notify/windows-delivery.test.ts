/**
 * Windows notice delivery by replay: which sessions exist and who is logged on come from the
 * recorded or documented answers of mamori-notice.exe (test/fixtures/windows-sessions, see its
 * meta.json); which sessions are told, the quiet hours and the rate limit run through the real
 * UserNotices. Nothing here ran on Windows; the helper itself runs under wine in
 * windows-notice-helper.wine.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyFindingsState, findingsToEvents } from '../../../agent/findings.js';
import { localCheck, productCatalogue } from '../../../agent/local-check.js';
import { UserNotices } from '../../../agent/notify/user-notices.js';
import { SessionListError, parseSessionList, parseShowResult, sessionsToNotify, windowsDelivery } from '../../../agent/notify/windows.js';
import type { RunHelper } from '../../../agent/notify/windows.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import { silentLogger } from '../../../src/shared/log.js';
import { PolicyDocument } from '../../../src/shared/protocol/messages.js';
import type { NewAgentEvent } from '../../../src/shared/protocol/messages.js';
import { ROOT } from '../../helpers/processes.js';

const SESSIONS = join(ROOT, 'test/fixtures/windows-sessions');
const sessionsOut = (name: string) => readFileSync(join(SESSIONS, name), 'utf8');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** mamori-notice.exe replayed: `sessions` answers the fixture, `show-in ID` the answer given for that session. */
function replayHelper(sessions: string, shown: Record<string, string>) {
  const calls: { args: string[]; input?: string }[] = [];
  const run: RunHelper = async (args, input) => {
    calls.push({ args, ...(input !== undefined ? { input } : {}) });
    if (args[0] === 'sessions') return { ok: true, stdout: sessions, stderr: '' };
    return { ok: true, stdout: shown[args[1]!] ?? 'failed\tWTSQueryUserToken\t1008\n', stderr: '' };
  };
  return { run, calls };
}

describe('the session list', () => {
  it('reads every session with numbers, not the localised words of query session', () => {
    expect(parseSessionList(sessionsOut('console-rdp-disconnected.out'))).toEqual([
      { id: 0, state: 4, protocol: 'console', winStation: 'Services', domain: '', user: '' },
      { id: 1, state: 0, protocol: 'console', winStation: 'Console', domain: 'GIKAI-PC01', user: '議会事務局' },
      { id: 2, state: 0, protocol: 'rdp', winStation: 'RDP-Tcp#3', domain: 'LGWAN', user: 'suzuki' },
      { id: 3, state: 4, protocol: 'rdp', winStation: '', domain: 'LGWAN', user: 'tanaka' },
      { id: 65536, state: 6, protocol: 'rdp', winStation: 'RDP-Tcp', domain: '', user: '' },
    ]);
    expect(parseSessionList(sessionsOut('wine8-no-sessions.out'))).toEqual([]);
    expect(parseSessionList('mamori-notice sessions 1\r\nsession\t1\t0\t0\tConsole\tPC\tsato\r\n')).toHaveLength(1);
  });

  it('refuses what it cannot read with a typed error that says what it got', () => {
    expect(() => parseSessionList('')).toThrow(SessionListError);
    expect(() => parseSessionList('SESSIONNAME       USERNAME  ID  STATE\n')).toThrow(/mamori-notice.exe sessions の出力を読めません/);
    expect(() => parseSessionList('mamori-notice sessions 1\nsession\tx\t0\t0\tConsole\tPC\tsato\n')).toThrow(/セッション一覧の行を読めません/);
    expect(() => parseSessionList('failed\tWTSEnumerateSessionsW\t5\n')).toThrow('WTSEnumerateSessionsW が失敗しました (エラー 5)');
  });

  it('tells the active console and RDP users; not session 0, a disconnected session, the listener or the sign-in screen', () => {
    const all = parseSessionList(sessionsOut('console-rdp-disconnected.out'));
    expect(sessionsToNotify(all, {}).map((s) => s.id)).toEqual([1, 2]);
    // A violation about one account goes to that account's sessions only, named either way, in any case.
    expect(sessionsToNotify(all, { user: 'LGWAN\\Suzuki' }).map((s) => s.id)).toEqual([2]);
    expect(sessionsToNotify(all, { user: '議会事務局' }).map((s) => s.id)).toEqual([1]);
    expect(sessionsToNotify(all, { user: 'LGWAN\\tanaka' })).toEqual([]);
    expect(sessionsToNotify(parseSessionList(sessionsOut('nobody-logged-on.out')), {})).toEqual([]);
  });

  it('reads the answers of show-in', () => {
    const s = { id: 2, state: 0, protocol: 'rdp' as const, winStation: 'RDP-Tcp#3', domain: 'LGWAN', user: 'suzuki' };
    expect(parseShowResult('shown\ttoast\r\n', s)).toEqual({ session: '2', user: 'LGWAN\\suzuki', ok: true, shownAs: 'toast' });
    expect(parseShowResult('shown\twindow\n', s)).toMatchObject({ ok: true, shownAs: 'window' });
    expect(parseShowResult('started\t4242\n', s)).toMatchObject({ ok: true, shownAs: 'pending' });
    expect(parseShowResult('failed\tWTSQueryUserToken\t1008\n', s)).toEqual({ session: '2', user: 'LGWAN\\suzuki', ok: false, reason: 'WTSQueryUserToken が失敗しました (エラー 1008)' });
    expect(parseShowResult('garbage', s)).toMatchObject({ ok: false, reason: expect.stringContaining('応答を読めません') });
  });
});

const NOON_JST = new Date('2026-12-07T03:00:00Z');
const NIGHT_JST = new Date('2026-12-07T14:00:00Z');

/** A Windows PC with an unregistered stick (recorded), judged for real: the violations it opens. */
async function opened() {
  const probes = new ReplayProbes(join(ROOT, 'test/fixtures/replay/windows/w11-23h2-pro-en-symantec-sticks'));
  const report = await localCheck({ probes, checks: ['usb-media'], policy: PolicyDocument.parse({ version: 3 }), segment: 'lgwan', catalogue: productCatalogue() });
  return findingsToEvents(report, productCatalogue().rules, emptyFindingsState());
}

function notices(run: RunHelper, now: Date) {
  const stateDir = mkdtempSync(join(tmpdir(), 'mamori-winnotice-'));
  dirs.push(stateDir);
  const events: NewAgentEvent[] = [];
  const make = (at: Date) => new UserNotices({ stateDir, log: silentLogger(), policy: () => PolicyDocument.parse({ version: 3 }), catalogue: productCatalogue, append: (e) => events.push(...e), notify: true, delivery: windowsDelivery({ run }), now: () => at });
  return { n: make(now), make, events };
}

describe('Windows notices through UserNotices', () => {
  it('each active session gets the Japanese notice on the helper\'s standard input; the administrator sees who and how', async () => {
    const { run, calls } = replayHelper(sessionsOut('console-rdp-disconnected.out'), { '1': 'shown\ttoast\n', '2': 'shown\twindow\n' });
    const { n, events } = notices(run, NOON_JST);
    const f = await opened();
    const usb = f.events.filter((e) => e.kind === 'violation.opened' && e.violation.ruleId === 'USB-001');
    expect(usb.length).toBeGreaterThan(0);
    n.afterFindings(f.events, f.state);
    await n.idle();
    const shows = calls.filter((c) => c.args[0] === 'show-in');
    expect(new Set(shows.map((c) => c.args[1]))).toEqual(new Set(['1', '2']));
    const [title, ...body] = shows[0]!.input!.split('\n');
    expect(title).toBe('【情報セキュリティ】登録されていないUSBメモリが接続されました');
    expect(body.join('\n')).toMatch(/^媒体管理台帳に登録されていないUSB記憶媒体 \(.+\) がこのパソコンに接続されました。\n規程: /);
    const notified = events.filter((e) => e.kind === 'agent.notice' && e.notice === 'user.notified' && (e.detail as { ruleId: string }).ruleId === 'USB-001');
    expect(notified).toHaveLength(usb.length);
    expect(notified[0]).toMatchObject({ detail: { ruleId: 'USB-001', sessions: [{ session: '1', user: 'GIKAI-PC01\\議会事務局', shownAs: 'toast' }, { session: '2', user: 'LGWAN\\suzuki', shownAs: 'window' }] } });
  });

  it('a session whose token cannot be had is named with the Windows error; nobody logged on is said so', async () => {
    const failing = replayHelper(sessionsOut('console-rdp-disconnected.out'), { '1': 'shown\ttoast\n' });
    const a = notices(failing.run, NOON_JST);
    const f = await opened();
    a.n.afterFindings(f.events, f.state);
    await a.n.idle();
    expect(a.events.find((e) => e.kind === 'agent.notice' && e.notice === 'user.notified')).toMatchObject({ detail: { sessions: [{ session: '1' }], failed: [{ session: '2', reason: 'WTSQueryUserToken が失敗しました (エラー 1008)' }] } });

    const empty = replayHelper(sessionsOut('nobody-logged-on.out'), {});
    const b = notices(empty.run, NOON_JST);
    b.n.afterFindings(f.events, f.state);
    await b.n.idle();
    expect(empty.calls.map((c) => c.args[0])).not.toContain('show-in');
    expect(b.events.every((e) => e.kind === 'agent.notice' && e.notice === 'user.notify-failed' && (e.detail as { reason: string }).reason === 'ログオン中の画面 (グラフィカルセッション) がありません')).toBe(true);

    const broken = notices(async () => ({ ok: false, stdout: '', stderr: 'spawn mamori-notice.exe ENOENT' }), NOON_JST);
    broken.n.afterFindings(f.events, f.state);
    await broken.n.idle();
    expect(broken.events[0]).toMatchObject({ notice: 'user.notify-failed', detail: { reason: 'ログオン中のセッションを取得できません: mamori-notice.exe sessions: spawn mamori-notice.exe ENOENT' } });
  });

  it('quiet hours: the helper is not run at all; the rate limit: the same stick within the hour is shown once', async () => {
    const night = replayHelper(sessionsOut('console-rdp-disconnected.out'), { '1': 'shown\ttoast\n', '2': 'shown\ttoast\n' });
    const q = notices(night.run, NIGHT_JST);
    const f = await opened();
    q.n.afterFindings(f.events, f.state);
    await q.n.idle();
    expect(night.calls).toEqual([]);
    expect(q.events.every((e) => e.kind === 'agent.notice' && e.notice === 'user.notify-skipped')).toBe(true);

    const day = replayHelper(sessionsOut('console-rdp-disconnected.out'), { '1': 'shown\ttoast\n', '2': 'shown\ttoast\n' });
    const r = notices(day.run, NOON_JST);
    r.n.afterFindings(f.events, f.state);
    await r.n.idle();
    const shownOnce = day.calls.filter((c) => c.args[0] === 'show-in').length;
    const later = r.make(new Date(NOON_JST.getTime() + 30 * 60_000));
    later.afterFindings(f.events, f.state);
    await later.idle();
    expect(day.calls.filter((c) => c.args[0] === 'show-in')).toHaveLength(shownOnce);
    expect(r.events.filter((e) => e.kind === 'agent.notice' && e.notice === 'user.notify-skipped').map((e) => String((e.kind === 'agent.notice' && e.detail?.reason) ?? ''))).toContain('同じ規則・対象の通知を 60 分以内に表示済みのため表示しませんでした');
  });
});
