/**
 * 概要, 自己点検 report, 操作記録, violation CSV / bulk 確認 and loan overdue through the real
 * HTTP API of a real collector on a small city written into its SQLite store (600 PCs, events
 * spread over 20 days, rule results): every overview count equals the total of the violation
 * list it links to; daily trends fall on JST days; the report cites the site's chosen standard
 * only, or its imported clause map (bad files refused line by line, in Japanese).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CITY_DEPARTMENTS, cityResult, seedCity } from '../../bench/lib/city.js';
import type { City } from '../../bench/lib/city.js';
import { openDefaultStore } from '../../src/collector/collector.js';
import { consoleOf } from '../../src/collector/console/plugin.js';
import type { Clock } from '../../src/collector/console/util.js';
import { loadCatalogue } from '../../src/shared/catalogue/load.js';
import { configDir } from '../../src/shared/paths.js';
import { adminClient, seedAgent, seedEvents, startTestCollector, usbViolation, userClient } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

// 12:00 JST: the minutes between a PC's events never cross a JST midnight.
const AT = new Date('2026-12-06T03:00:00.000Z');
const DAYS = 20;
const now = { ms: AT.getTime() };
const clock: Clock = { now: () => new Date(now.ms) };
const catalogue = loadCatalogue(configDir());
const SEEDED = catalogue.rules.filter((r) => r.check === 'usb-media' || r.check === 'screen-lock').map((r) => ({ ruleId: r.id, checkId: r.check }));

let t: TestCollector;
let admin: Client;
let city: City;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mamori-report-'));
  const store = openDefaultStore(dataDir);
  await store.migrate();
  city = await seedCity(store, { pcs: 600, perPc: 3, closeEvery: 3, at: AT, days: DAYS, results: SEEDED });
  await store.close();
  t = await startTestCollector({ dataDir, clock, housekeepingMs: 3_600_000 });
  admin = await adminClient(t);
}, 120_000);
afterAll(async () => {
  await t?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const total = async (qs: string): Promise<number> => {
  const r = await admin.request('GET', `/api/v1/violations?${qs}&limit=1`);
  expect(r.status).toBe(200);
  return r.json.total as number;
};

describe('概要', () => {
  it('counts per 課 and per kind are the totals of the lists they link to', async () => {
    const o = (await admin.request('GET', '/api/v1/reports/overview')).json;
    expect(o.pcs).toBe(600);
    expect(o.openViolations).toBe(city.totalOpen);
    expect(o.byDepartment.map((d: { department: string }) => d.department)).toEqual([...CITY_DEPARTMENTS].sort((a, b) => a.localeCompare(b, 'ja')));
    // The kinds come from the catalogue (a new area appears by itself).
    expect(o.checks).toEqual(expect.arrayContaining([...new Set(catalogue.rules.map((r) => r.check))]));
    for (const d of o.byDepartment as { department: string; pcs: number; open: number; byCheck: Record<string, number> }[]) {
      expect(d.pcs).toBe(60);
      expect(d.open).toBe(await total(`state=open&department=${encodeURIComponent(d.department)}`));
      for (const [check, n] of Object.entries(d.byCheck)) expect(n, `${d.department} ${check}`).toBe(await total(`state=open&department=${encodeURIComponent(d.department)}&check=${check}`));
    }
    for (const [sev, n] of Object.entries(o.bySeverity as Record<string, number>)) expect(n).toBe(await total(`state=open&severity=${sev}`));
  });

  it('counts the open violations an approved 例外措置 covers, still as rows of the list', async () => {
    const pc = city.pcs[3]!;
    const approver = await userClient(t, admin, 'approver', 'admin');
    const req = await admin.request('POST', '/api/v1/exceptions', { ruleId: 'USB-001', subject: '*', agentId: pc.id, reason: '確定申告会場で使用', until: new Date(now.ms + 7 * 86_400_000).toISOString() });
    expect(req.status).toBe(200);
    expect((await approver.request('POST', `/api/v1/exceptions/${req.json.exception.id}/approve`, { comment: '' })).status).toBe(200);
    const o = (await admin.request('GET', '/api/v1/reports/overview')).json;
    expect(o.excepted).toBe(1);
    const dep = o.byDepartment.find((d: { department: string }) => d.department === pc.department);
    expect(dep.excepted).toBe(1);
    expect(dep.open).toBe(await total(`state=open&department=${encodeURIComponent(pc.department)}`));
  });

  it('gives violations opened and closed per JST day, per kind and per 課', async () => {
    const tr = (await admin.request('GET', '/api/v1/reports/trends?days=30')).json;
    expect(tr.days).toHaveLength(30);
    expect(tr.days[29]).toBe('2026-12-06');
    for (let d = 0; d < DAYS; d++) {
      const pcs = city.pcs.filter((_, n) => n % DAYS === d).length;
      const i = 29 - d;
      // Each PC: a USB stick and a program opened on its day, the program's violation closed again.
      expect(tr.opened.total[i], tr.days[i]).toBe(2 * pcs);
      expect(tr.closed.total[i]).toBe(pcs);
      expect(tr.opened.byCheck['usb-media'][i]).toBe(pcs);
      expect(tr.closed.byCheck.software[i]).toBe(pcs);
    }
    expect(tr.opened.total.slice(0, 10)).toEqual(Array(10).fill(0));
    const zeimu = city.pcs.filter((p, n) => p.department === '税務課' && n % DAYS === 0).length;
    expect(tr.opened.byDepartment['税務課'][29]).toBe(2 * zeimu);
  });

  it('puts a violation opened at 00:30 JST on that JST day, not on the UTC day before', async () => {
    const id = await seedAgent(t, 'midnight-pc');
    const at = '2026-12-03T15:30:00.000Z'; // 2026-12-04 00:30 JST
    const before = (await admin.request('GET', '/api/v1/reports/trends?days=7')).json;
    await seedEvents(t, id, 'midnight-pc', [usbViolation('0781:5567:MIDNIGHT1', at)]);
    const after = (await admin.request('GET', '/api/v1/reports/trends?days=7')).json;
    const i = after.days.indexOf('2026-12-04');
    expect(after.opened.total[i] - before.opened.total[i]).toBe(1);
    expect(after.opened.byDepartment[''][i] - (before.opened.byDepartment['']?.[i] ?? 0)).toBe(1);
  });

  it('answers a 課-scoped account with its own 課 only', async () => {
    const tax = await userClient(t, admin, 'zei-helpdesk', 'helpdesk', ['税務課']);
    const o = (await tax.request('GET', '/api/v1/reports/overview')).json;
    expect(o.byDepartment.map((d: { department: string }) => d.department)).toEqual(['税務課']);
    expect(o.pcs).toBe(60);
  });
});

describe('自己点検 report', () => {
  it('counts every rule from the latest results; rules without a result are unknown', async () => {
    const r = (await admin.request('GET', '/api/v1/reports/self-inspection')).json;
    expect(r.pcs).toBe(601); // the city and the midnight PC
    SEEDED.forEach((s, i) => {
      const row = r.rules.find((x: { ruleId: string }) => x.ruleId === s.ruleId);
      const want = { pass: 0, fail: 0, unknown: 1 };
      city.pcs.forEach((_, n) => want[cityResult(n, i)]++);
      expect({ pass: row.pass, fail: row.fail, unknown: row.unknown }, s.ruleId).toEqual(want);
    });
    const other = r.rules.find((x: { checkId: string }) => x.checkId === 'antivirus');
    expect(other.unknown).toBe(601);
    // The trend of the 年度 has today's point, written when the report was made.
    expect(r.fiscalYear).toBe(2026);
    expect(r.period).toEqual({ from: '2026-04-01', to: '2026-12-06' });
    expect(r.trend.at(-1).day).toBe('2026-12-06');
    const tr = (await admin.request('GET', '/api/v1/reports/trends?days=7')).json;
    const p = r.trend.at(-1);
    expect(tr.compliance[6]).toBeCloseTo(p.pass / (p.pass + p.fail + p.unknown + p.excepted), 6);
  });

  it('checks the 年度 and period it is asked for, in Japanese', async () => {
    const last = (await admin.request('GET', '/api/v1/reports/self-inspection?year=2025')).json;
    expect(last.period).toEqual({ from: '2025-04-01', to: '2026-03-31' });
    const bad = await admin.request('GET', '/api/v1/reports/self-inspection?from=2026-13-01');
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('開始日');
    const reversed = await admin.request('GET', '/api/v1/reports/self-inspection?from=2026-10-01&to=2026-09-01');
    expect(reversed.status).toBe(400);
    expect(reversed.json.message).toContain('より後');
  });

  it('cites only the standard the site chose, in the report, the violation list and the policy', async () => {
    const saved = await admin.request('PUT', '/api/v1/reports/settings', { organisation: '湯沢市', standard: '004', era: 'wareki', preparedBy: '情報政策課 佐藤', checkedBy: '', approvedBy: '' });
    expect(saved.status).toBe(200);
    const r = (await admin.request('GET', '/api/v1/reports/self-inspection')).json;
    expect(r.organisation).toBe('湯沢市');
    expect(r.standard).toMatchObject({ kind: 'source', id: '004', title: '大口町情報セキュリティ対策基準' });
    expect(r.clauses.length).toBeGreaterThan(5);
    expect(r.clauses.every((c: { source: string }) => c.source === '004')).toBe(true);
    expect(r.rules.flatMap((x: { clauses: { source: string }[] }) => x.clauses).every((c: { source: string }) => c.source === '004')).toBe(true);
    const usb = r.rules.find((x: { ruleId: string }) => x.ruleId === 'USB-001');
    expect(usb.clauses.map((c: { ref: string }) => c.ref)).toEqual(['§8.4(2)エ', '§7.1(1)エ(ア)']);
    const v = (await admin.request('GET', '/api/v1/violations?state=open&check=usb-media&limit=5')).json.violations;
    expect(v.flatMap((x: { clauses: { source: string }[] }) => x.clauses).every((c: { source: string }) => c.source === '004')).toBe(true);
    const policy = (await admin.request('GET', '/api/v1/policy')).json;
    expect(policy.rules.flatMap((x: { clauses: { source: string }[] }) => x.clauses).every((c: { source: string }) => c.source === '004')).toBe(true);
    const audit = (await admin.request('GET', '/api/v1/audit?action=report.settings_saved')).json.entries;
    expect(audit[0]).toMatchObject({ actor: 'admin', target: '004' });
    expect(audit[0].detail.organisation).toBe('湯沢市');
    const csv = await admin.request('GET', '/api/v1/reports/self-inspection.csv');
    expect(csv.text).toMatch(/,USB-001,媒体管理台帳に登録された媒体だけが接続されていること,[^,]+,大口町情報セキュリティ対策基準,§8\.4\(2\)エ,/);
    expect(csv.text).not.toContain('川崎市');
    expect((await admin.request('PUT', '/api/v1/reports/settings', { standard: '999' })).json.message).toContain('config/sources.yml にありません');
  });

  it('refuses a clause map with bad rows, naming each line in Japanese, and keeps nothing of it', async () => {
    const bad = ['ルールID,条項番号,条項名', 'USB-001,第10条1号,可搬記録媒体の管理', 'USB-999,第10条2号,存在しないルール', 'LOCK-001,,画面ロック', 'USB-001,第10条1号,重複', 'AV-001,第11条'].join('\r\n');
    const r = await admin.request('POST', '/api/v1/reports/clause-map', bad, { 'content-type': 'text/csv' });
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual([
      '3行目: ルールID「USB-999」はルールカタログにありません',
      '4行目: LOCK-001 の条項番号が空です',
      '5行目: USB-001 の条項「第10条1号」は 2行目と重複しています',
      '6行目: 列は 3 つ (ルールID, 条項番号, 条項名) 必要ですが 2 つあります',
    ]);
    // The same problems for the English console.
    expect(r.json.message).toBe('条項対応表を取り込めません (4 件の誤り)');
    expect(r.json.messageEn).toBe('the clause map cannot be imported (4 problems)');
    expect(r.json.errorsEn).toEqual([
      'line 3: rule id "USB-999" is not in the rule catalogue',
      'line 4: the clause number of LOCK-001 is empty',
      'line 5: clause "第10条1号" of USB-001 repeats line 2',
      'line 6: 3 columns (ルールID, 条項番号, 条項名) are needed, it has 2',
    ]);
    expect((await admin.request('PUT', '/api/v1/reports/settings', { standard: 'site' })).status).toBe(400);
    const unclosed = await admin.request('POST', '/api/v1/reports/clause-map', 'USB-001,"第10条,x\r\n', { 'content-type': 'text/csv' });
    expect(unclosed.json.errors[0]).toMatch(/^\d+行目: 引用符/);
    expect(unclosed.json.errorsEn[0]).toMatch(/^line \d+: a field that starts with a quote \(\"\) is not closed$/);
  });

  it('reports with the imported clause map: its numbers and full titles', async () => {
    const title = '可搬記録媒体は、情報セキュリティ管理者が管理台帳に登録したものに限り使用することができる。';
    const map = ['\uFEFFルールID,条項番号,条項名', `USB-001,第10条1号,${title}`, 'USB-001,第10条3号,媒体の貸出と返却の記録', 'LOCK-001,第12条2号,"離席時の画面ロック, パスワード付き"', 'AV-001,,'].join('\r\n');
    const r = await admin.request('POST', '/api/v1/reports/clause-map', map, { 'content-type': 'text/csv' });
    expect(r.json).toEqual({ rules: 2, clauses: 3 });
    expect((await admin.request('PUT', '/api/v1/reports/settings', { standard: 'site' })).status).toBe(200);
    const rep = (await admin.request('GET', '/api/v1/reports/self-inspection')).json;
    expect(rep.standard.kind).toBe('custom');
    expect(rep.clauses.map((c: { ref: string; title: string }) => [c.ref, c.title])).toEqual([
      ['第10条1号', title],
      ['第10条3号', '媒体の貸出と返却の記録'],
      ['第12条2号', '離席時の画面ロック, パスワード付き'],
    ]);
    expect(rep.rules.find((x: { ruleId: string }) => x.ruleId === 'AV-001').clauses).toEqual([]);
    const exported = await admin.request('GET', '/api/v1/reports/clause-map.csv');
    expect(exported.text).toContain(`USB-001,第10条1号,${title}`);
    expect(exported.text).toMatch(/\r\nAV-001,,\r\n/);
    expect((await admin.request('GET', '/api/v1/audit?action=report.clause_map_imported')).json.entries).toHaveLength(3);
  });
});

describe('操作記録', () => {
  it('filters, pages with the exact total and exports what is filtered', async () => {
    const reports = (await admin.request('GET', '/api/v1/audit?action=report.&limit=100')).json;
    expect(reports.total).toBeGreaterThanOrEqual(5);
    expect(reports.entries).toHaveLength(reports.total);
    expect(reports.entries.every((e: { action: string }) => e.action.startsWith('report.'))).toBe(true);
    const page1 = (await admin.request('GET', '/api/v1/audit?action=report.&limit=2')).json;
    const page2 = (await admin.request('GET', '/api/v1/audit?action=report.&limit=2&offset=2')).json;
    expect(page2.total).toBe(reports.total);
    expect([...page1.entries, ...page2.entries].map((e: { seq: number }) => e.seq)).toEqual(reports.entries.slice(0, 4).map((e: { seq: number }) => e.seq));
    const byApprover = (await admin.request('GET', '/api/v1/audit?actor=approver')).json;
    expect(byApprover.entries.map((e: { action: string }) => e.action)).toContain('exception.approved');
    const dayOf = (await admin.request('GET', '/api/v1/audit?from=2026-12-06&to=2026-12-06&limit=1')).json;
    const future = (await admin.request('GET', '/api/v1/audit?from=2026-12-07')).json;
    expect(dayOf.total).toBeGreaterThan(0);
    expect(future.total).toBe(0);
    expect((await admin.request('GET', '/api/v1/audit?from=2026/12/06')).status).toBe(400);
    const csv = await admin.request('GET', '/api/v1/audit.csv?action=report.settings');
    const lines = csv.text.trim().split('\r\n');
    expect(csv.text.charCodeAt(0)).toBe(0xfeff);
    expect(lines[0]).toBe('番号,日時,操作者,役割,操作,対象,接続元,詳細,ハッシュ');
    expect(lines.length - 1).toBe((await admin.request('GET', '/api/v1/audit?action=report.settings')).json.total);
    expect(lines[1]).toMatch(/^\d+,2026\/12\/06 12:00:00,admin,[^,]+,[^,]*report\.settings_saved\)?,/);
  });
});

describe('違反の CSV と一括確認', () => {
  it('exports every violation matching the filters, not one page', async () => {
    const n = await total('state=open&department=%E7%A6%8F%E7%A5%89%E8%AA%B2');
    const csv = await admin.request('GET', `/api/v1/violations.csv?state=open&department=${encodeURIComponent('福祉課')}`);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toContain('状態,重要度,PC,課,セグメント');
    expect(lines.length - 1).toBe(n);
    expect(lines.slice(1).every((l) => l.split(',')[3] === '福祉課')).toBe(true);
    expect(lines[1]).toMatch(/,2026\/\d\d\/\d\d \d\d:\d\d(:\d\d)?,/);
  });

  it('acknowledges many violations at once, within the account\'s 課 only', async () => {
    const page = (await admin.request('GET', `/api/v1/violations?state=open&department=${encodeURIComponent('市民課')}&limit=30`)).json.violations as { agentId: string; ruleId: string; subject: string; acknowledgedBy: string | null }[];
    const keys = page.map(({ agentId, ruleId, subject }) => ({ agentId, ruleId, subject }));
    const tax = await userClient(t, admin, 'zei-annotator', 'helpdesk', ['税務課']);
    expect((await tax.request('POST', '/api/v1/violations/ack-bulk', { keys })).status).toBe(404);
    const r = await admin.request('POST', '/api/v1/violations/ack-bulk', { keys });
    expect(r.json.acknowledged).toBe(30);
    const after = (await admin.request('GET', `/api/v1/violations?state=open&department=${encodeURIComponent('市民課')}&limit=30`)).json.violations as { acknowledgedBy: string | null }[];
    expect(after.every((v) => v.acknowledgedBy === 'admin')).toBe(true);
    const audit = (await admin.request('GET', '/api/v1/audit?action=violation.acknowledged_bulk')).json.entries;
    expect(audit[0].detail.keys).toHaveLength(30);
    expect((await admin.request('POST', '/api/v1/violations/ack-bulk', { keys: [] })).status).toBe(400);
  });
});

describe('媒体管理台帳の貸出', () => {
  it('marks a loan past its 返却予定日 as overdue, in the list and in the history', async () => {
    const lend = async (sticker: string, dueAt: string) => {
      const m = (await admin.request('POST', '/api/v1/media', { stickerNo: sticker, fingerprint: `0781:5567:${sticker.replace(/-/g, '')}`, owner: '情報政策課', department: '情報政策課' })).json.media;
      expect((await admin.request('POST', `/api/v1/media/${m.id}/loans`, { borrower: '山田', department: '税務課', purpose: '申告会場', dueAt })).status).toBe(200);
      return m.id as string;
    };
    const today = await lend('USB-2026-001', '2026-12-06');
    const yesterday = await lend('USB-2026-002', '2026-12-05');
    const listed = async (id: string) => (await admin.request('GET', '/api/v1/media')).json.media.find((x: { id: string }) => x.id === id);
    // Due today: the whole day is the borrower's (JST).
    expect((await listed(today)).onLoan.overdue).toBe(false);
    expect((await listed(yesterday)).onLoan.overdue).toBe(true);
    expect((await admin.request('GET', `/api/v1/media/${yesterday}/loans`)).json.loans[0].overdue).toBe(true);
    await admin.request('POST', `/api/v1/media/${yesterday}/return`, {});
    expect((await admin.request('GET', `/api/v1/media/${yesterday}/loans`)).json.loans[0]).toMatchObject({ overdue: false, returnedBy: 'admin' });
    const lost = await admin.request('PUT', `/api/v1/media/${yesterday}`, { status: 'lost', note: '2026-12-06 紛失: 会場で紛失の届出' });
    expect(lost.json.media.status).toBe('lost');
    const doc = await consoleOf(t.collector.app).documentFor({ id: 'ag_none', segment: 'lgwan' });
    expect(doc.lists.registeredMedia).toContain('0781:5567:USB2026001');
    expect(doc.lists.registeredMedia).not.toContain('0781:5567:USB2026002');
  });
});
