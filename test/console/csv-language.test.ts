/**
 * Every CSV export of the console follows its language switch, as the violations CSV does:
 * Japanese headers and values by default, English ones with `lang=en`, times in JST either way.
 * 端末一覧, 操作記録, 媒体管理台帳 and the 自己点検 report, each downloaded in both languages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/collector/console/csv.js';
import { jstNumeric } from '../../src/shared/i18n/index.js';
import { adminClient, seedAgent, seedEvents, startTestCollector, usbViolation } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;
const JST_SECONDS = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/;

let t: TestCollector;
let admin: Client;
let agentId = '';

/** A CSV download: its BOM checked, then the header and the rows as objects keyed by the header. */
async function download(path: string): Promise<{ header: string[]; rows: Record<string, string>[] }> {
  const r = await admin.request('GET', path);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
  expect(r.text.startsWith('\uFEFF')).toBe(true);
  const [header, ...rows] = parseCsv(r.text);
  return { header: header!, rows: rows.map((row) => Object.fromEntries(header!.map((h, i) => [h, row[i] ?? '']))) };
}

beforeAll(async () => {
  t = await startTestCollector();
  admin = await adminClient(t);
  agentId = await seedAgent(t, 'SOMU-PC-01', 'lgwan');
  await seedEvents(t, agentId, 'SOMU-PC-01', [usbViolation('0781:5567:CSV001')]);
  const base = { owner: '総務課 佐藤', department: '総務課', encryption: 'hardware' };
  expect((await admin.request('POST', '/api/v1/media', { ...base, stickerNo: 'M-001', fingerprint: '0781:5567:CSV001', label: 'Secure Stick' })).status).toBe(200);
  expect((await admin.request('POST', '/api/v1/media', { ...base, stickerNo: 'M-002', fingerprint: '0781:5567:CSV002', label: 'Old Stick', status: 'lost' })).status).toBe(200);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('CSV exports in the console language', () => {
  it('端末一覧: Japanese headers and values by default, English with lang=en, JST times in both', async () => {
    const pc = (await admin.request('GET', `/api/v1/pcs/${agentId}`)).json;
    const enrolled = jstNumeric(pc.pc.enrolledAt, { seconds: true });
    expect(enrolled).toMatch(JST_SECONDS);

    const ja = await download('/api/v1/pcs.csv');
    expect(ja.header.slice(0, 4)).toEqual(['端末名', '接続', '最終通信', '系統']);
    expect(ja.header).toContain('画面ロック');
    const jaRow = ja.rows.find((r) => r['端末名'] === 'SOMU-PC-01')!;
    expect(jaRow['接続']).toBe('オフライン');
    expect(jaRow['系統']).toBe('LGWAN接続系');
    expect(jaRow['登録日時']).toBe(enrolled);
    expect(jaRow['未解決違反']).toBe('1');

    const en = await download('/api/v1/pcs.csv?lang=en');
    expect(en.header.slice(0, 4)).toEqual(['PC', 'Connection', 'Last contact (JST)', 'Segment']);
    expect(en.header).toContain('Screen lock');
    expect(en.header.join(',')).not.toMatch(JAPANESE);
    const enRow = en.rows.find((r) => r.PC === 'SOMU-PC-01')!;
    expect(enRow.Connection).toBe('offline');
    expect(enRow.Segment).toBe('LGWAN segment');
    expect(enRow['Enrolled (JST)']).toBe(enrolled);
    expect(enRow['Open violations']).toBe('1');
  });

  it('操作記録: actions and roles in the language, the action code kept, JST times', async () => {
    const ja = await download('/api/v1/audit.csv');
    expect(ja.header).toEqual(['番号', '日時', '操作者', '役割', '操作', '対象', '接続元', '詳細', 'ハッシュ']);
    const jaLogin = ja.rows.find((r) => r['操作']!.endsWith('(session.login)'))!;
    expect(jaLogin['操作']).toBe('ログイン (session.login)');
    expect(jaLogin['役割']).toBe('管理者');
    expect(jaLogin['日時']).toMatch(JST_SECONDS);
    const jaMedium = ja.rows.find((r) => r['操作']!.endsWith('(media.registered)'))!;
    expect(jaMedium['操作']).toBe('媒体の登録 (media.registered)');

    const en = await download('/api/v1/audit.csv?lang=en');
    expect(en.header).toEqual(['No.', 'Time (JST)', 'Account', 'Role', 'Action', 'Target', 'From', 'Detail', 'Hash']);
    const enLogin = en.rows.find((r) => r.Action!.endsWith('(session.login)'))!;
    expect(enLogin.Action).toBe('signed in (session.login)');
    expect(enLogin.Role).toBe('administrator');
    // The same entry, the same JST time.
    expect(enLogin['Time (JST)']).toBe(ja.rows.find((r) => r['番号'] === enLogin['No.'])!['日時']);
    for (const row of en.rows) expect(`${row.Role} ${row.Action}`).not.toMatch(JAPANESE);
  });

  it('媒体管理台帳: status and encryption in the language; the English file imports back unchanged', async () => {
    const ja = await download('/api/v1/media.csv');
    expect(ja.header.slice(0, 3)).toEqual(['登録番号', '識別子', 'ベンダーID']);
    const jaLost = ja.rows.find((r) => r['登録番号'] === 'M-002')!;
    expect(jaLost['状態']).toBe('紛失');
    expect(jaLost['暗号化']).toBe('ハードウェア暗号化');
    expect(ja.rows.find((r) => r['登録番号'] === 'M-001')!['状態']).toBe('使用中');

    const enText = (await admin.request('GET', '/api/v1/media.csv?lang=en')).text;
    const en = await download('/api/v1/media.csv?lang=en');
    expect(en.header.slice(0, 3)).toEqual(['sticker_no', 'fingerprint', 'vendor_id']);
    expect(en.header.join(',')).not.toMatch(JAPANESE);
    const enLost = en.rows.find((r) => r.sticker_no === 'M-002')!;
    expect(enLost.status).toBe('lost');
    expect(enLost.encryption).toBe('hardware');
    expect(en.rows.find((r) => r.sticker_no === 'M-001')!.status).toBe('active');

    const imported = await admin.request('POST', '/api/v1/media/import', enText, { 'content-type': 'text/csv' });
    expect(imported.status).toBe(200);
    expect(imported.json).toMatchObject({ created: 0, updated: 2 });
    const media = (await admin.request('GET', '/api/v1/media')).json.media as { stickerNo: string; status: string; encryption: string }[];
    expect(media.find((m) => m.stickerNo === 'M-002')).toMatchObject({ status: 'lost', encryption: 'hardware' });
  });

  it('資産管理台帳: Japanese headers by default, English with lang=en', async () => {
    const ja = await download('/api/v1/inventory.csv');
    expect(ja.header.slice(0, 3)).toEqual(['ホスト名', '課', 'グループ']);
    expect(ja.header).toContain('収集日時');
    const en = await download('/api/v1/inventory.csv?lang=en');
    expect(en.header.slice(0, 3)).toEqual(['Host name', 'Department', 'Group']);
    expect(en.header).toContain('Collected (JST)');
    expect(en.header.join(',')).not.toMatch(JAPANESE);
    expect(en.header.length).toBe(ja.header.length);
  });

  it('a ledger file that is not CSV is refused as a bad request naming the line, in both languages', async () => {
    const r = await admin.request('POST', '/api/v1/media/import', '登録番号,管理者\r\nM-009,"佐藤\r\n', { 'content-type': 'text/csv' });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/^CSV の形式が正しくありません: \d+行目: 引用符 \(\"\) で始まった項目が閉じられていません$/);
    expect(r.json.messageEn).toMatch(/^the CSV is malformed: line \d+: a field that starts with a quote \(\"\) is not closed$/);
  });

  it('自己点検: rule names, severities and scope in the language, the time in JST', async () => {
    const ja = await download('/api/v1/reports/self-inspection.csv');
    expect(ja.header.slice(0, 5)).toEqual(['範囲', '作成日時', 'ルール', 'ルール名', '重要度']);
    const jaUsb = ja.rows.find((r) => r['ルール'] === 'USB-001')!;
    expect(jaUsb['範囲']).toBe('全庁');
    expect(jaUsb['重要度']).toBe('高');
    expect(jaUsb['ルール名']).toMatch(JAPANESE);
    expect(jaUsb['作成日時']).toMatch(JST_SECONDS);

    const en = await download('/api/v1/reports/self-inspection.csv?lang=en');
    expect(en.header.join(',')).not.toMatch(JAPANESE);
    const enUsb = en.rows.find((r) => r.rule === 'USB-001')!;
    expect(enUsb.scope).toBe('organisation');
    expect(enUsb.severity).toBe('high');
    expect(enUsb.rule_name).not.toMatch(JAPANESE);
    expect(enUsb.generated_at).toMatch(JST_SECONDS);
  });
});
