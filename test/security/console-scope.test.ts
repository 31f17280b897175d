/**
 * 課 scope against a real `mamori collector` process: a helpdesk, an auditor and an
 * administrator limited to 税務課 try to read and change 市民課' media, loans, 例外措置 and
 * reports (the attack: a 税務課 helpdesk re-activating a lost 市民課 stick).
 *
 * The expected answers are written out by hand below, row by row, from the roles of
 * seed-requirements §4.3 and the rule "a scoped account sees and changes its own 課 only" —
 * not derived from the route table or `can()` of the code under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectorProc } from '../helpers/processes.js';
import { createToken, startCollectorProc, tempDir } from '../helpers/processes.js';
import { rawEnroll } from '../helpers/raw-client.js';
import type { ConsoleClient } from './console-client.js';
import { accountOf, adminOf } from './console-client.js';

type Who = 'admin' | 'adminZei' | 'helpdeskZei' | 'auditorZei';

let collector: CollectorProc;
const clients = {} as Record<Who, ConsoleClient>;
/** Ids made in setup: 市民課 and 税務課 media, PCs, exceptions. */
const ids: Record<string, string> = {};

const fill = (text: string): string => text.replace(/\{(\w+)\}/g, (_, k: string) => ids[k] ?? `{${k}}`);

async function must(r: Promise<{ status: number; json: any; text: string }>): Promise<any> {
  const a = await r;
  if (a.status !== 200) throw new Error(`setup: ${a.status} ${a.text}`);
  return a.json;
}

beforeAll(async () => {
  collector = await startCollectorProc(tempDir('sec-console-scope'));
  const admin = await adminOf(collector);
  clients.admin = admin;
  clients.adminZei = (await accountOf(collector, admin, 'kanri-zei', 'admin', ['税務課'])).client;
  clients.helpdeskZei = (await accountOf(collector, admin, 'desk-zei', 'helpdesk', ['税務課'])).client;
  clients.auditorZei = (await accountOf(collector, admin, 'kansa-zei', 'auditor', ['税務課'])).client;

  // Two enrolled PCs, one per 課.
  for (const [key, department] of [['pcShimin', '市民課'], ['pcZei', '税務課']] as const) {
    const { agentId } = await rawEnroll(collector.agentUrl, await createToken(collector.dataDir));
    ids[key] = agentId;
    await must(admin.request('PUT', `/api/v1/pcs/${agentId}/assignment`, { department, group: null }));
  }
  // A lost 市民課 stick, and a 税務課 stick.
  ids.mediaShimin = (await must(admin.request('POST', '/api/v1/media', { stickerNo: 'SHI-001', fingerprint: '0781:5567:SHIMIN001', owner: '市民課長', department: '市民課', status: 'lost' }))).media.id;
  ids.mediaZei = (await must(admin.request('POST', '/api/v1/media', { stickerNo: 'ZEI-001', fingerprint: '0781:5567:ZEIMU001', owner: '税務課長', department: '税務課' }))).media.id;
  const until = new Date(Date.now() + 30 * 86_400_000).toISOString();
  for (const [key, pc] of [['excShimin', 'pcShimin'], ['excZei', 'pcZei'], ['excShimin2', 'pcShimin']] as const) {
    ids[key] = (await must(admin.request('POST', '/api/v1/exceptions', { ruleId: 'USB-001', agentId: ids[pc], reason: '窓口端末の更新作業のため', until }))).exception.id;
  }
}, 120_000);

afterAll(async () => {
  await collector?.stop();
});

const SHIMIN_CSV = '登録番号,識別子,管理者,所属\nSHI-900,0781:5567:SHI900,市民課長,市民課\n';
const ZEI_CSV = '登録番号,識別子,管理者,所属\nZEI-900,0781:5567:ZEI900,税務課長,税務課\n';
const until = new Date(Date.now() + 20 * 86_400_000).toISOString();

/**
 * role × route × 課 → expected status. Rows run in this order (some change state a later row
 * relies on, e.g. a loan is made before it is returned).
 */
const MATRIX: [Who, string, string, unknown, number][] = [
  // ---- 媒体管理台帳: register
  ['helpdeskZei', 'POST', '/api/v1/media', { stickerNo: 'SHI-002', fingerprint: '0781:5567:SHIMIN002', owner: 'x', department: '市民課' }, 403],
  ['helpdeskZei', 'POST', '/api/v1/media', { stickerNo: 'ZEI-002', fingerprint: '0781:5567:ZEIMU002', owner: 'x', department: '税務課' }, 200],
  ['auditorZei', 'POST', '/api/v1/media', { stickerNo: 'ZEI-003', fingerprint: '0781:5567:ZEIMU003', owner: 'x', department: '税務課' }, 403],
  ['adminZei', 'POST', '/api/v1/media', { stickerNo: 'SHI-003', fingerprint: '0781:5567:SHIMIN003', owner: 'x', department: '市民課' }, 403],
  // ---- edit: the reported attack, and moving one's own medium to another 課
  ['helpdeskZei', 'PUT', '/api/v1/media/{mediaShimin}', { status: 'active' }, 403],
  ['adminZei', 'PUT', '/api/v1/media/{mediaShimin}', { status: 'active' }, 403],
  ['helpdeskZei', 'PUT', '/api/v1/media/{mediaZei}', { department: '市民課' }, 403],
  ['helpdeskZei', 'PUT', '/api/v1/media/{mediaZei}', { note: '2階書庫で保管' }, 200],
  ['auditorZei', 'PUT', '/api/v1/media/{mediaZei}', { note: '監査' }, 403],
  ['admin', 'PUT', '/api/v1/media/{mediaShimin}', { note: '紛失届 受理済み' }, 200],
  // ---- loans
  ['helpdeskZei', 'GET', '/api/v1/media/{mediaShimin}/loans', undefined, 403],
  ['auditorZei', 'GET', '/api/v1/media/{mediaShimin}/loans', undefined, 403],
  ['auditorZei', 'GET', '/api/v1/media/{mediaZei}/loans', undefined, 200],
  ['admin', 'GET', '/api/v1/media/{mediaShimin}/loans', undefined, 200],
  ['helpdeskZei', 'POST', '/api/v1/media/{mediaShimin}/loans', { borrower: '山田', department: '税務課', purpose: '申告書の受け渡し' }, 403],
  ['helpdeskZei', 'POST', '/api/v1/media/{mediaShimin}/return', {}, 403],
  ['helpdeskZei', 'POST', '/api/v1/media/{mediaZei}/loans', { borrower: '山田', department: '税務課', purpose: '申告書の受け渡し' }, 200],
  ['auditorZei', 'POST', '/api/v1/media/{mediaZei}/return', {}, 403],
  ['helpdeskZei', 'POST', '/api/v1/media/{mediaZei}/return', {}, 200],
  // ---- CSV import (administrators only)
  ['adminZei', 'POST', '/api/v1/media/import', SHIMIN_CSV, 403],
  ['adminZei', 'POST', '/api/v1/media/import', ZEI_CSV, 200],
  ['helpdeskZei', 'POST', '/api/v1/media/import', ZEI_CSV, 403],
  // ---- 例外措置
  ['helpdeskZei', 'POST', '/api/v1/exceptions', { ruleId: 'USB-001', agentId: '{pcShimin}', reason: '他課の端末', until }, 404],
  ['helpdeskZei', 'POST', '/api/v1/exceptions', { ruleId: 'USB-001', agentId: null, reason: '全庁の端末', until }, 403],
  ['helpdeskZei', 'POST', '/api/v1/exceptions', { ruleId: 'USB-001', agentId: '{pcZei}', reason: '自課の端末', until }, 200],
  ['auditorZei', 'POST', '/api/v1/exceptions', { ruleId: 'USB-001', agentId: '{pcZei}', reason: '自課の端末', until }, 403],
  ['adminZei', 'POST', '/api/v1/exceptions/{excShimin}/approve', {}, 403],
  ['adminZei', 'POST', '/api/v1/exceptions/{excShimin}/reject', {}, 403],
  ['adminZei', 'POST', '/api/v1/exceptions/{excZei}/approve', {}, 200],
  ['adminZei', 'POST', '/api/v1/exceptions/{excShimin2}/revoke', {}, 403],
  ['helpdeskZei', 'POST', '/api/v1/exceptions/{excZei}/revoke', {}, 403],
  ['adminZei', 'POST', '/api/v1/exceptions/{excZei}/revoke', {}, 200],
  // ---- PCs' 課 (administrators only)
  ['adminZei', 'PUT', '/api/v1/pcs/{pcShimin}/assignment', { department: '税務課', group: null }, 403],
  ['adminZei', 'PUT', '/api/v1/pcs/{pcZei}/assignment', { department: '市民課', group: null }, 403],
  ['helpdeskZei', 'PUT', '/api/v1/pcs/{pcZei}/assignment', { department: '税務課', group: 'madoguchi' }, 403],
  ['adminZei', 'PUT', '/api/v1/pcs/{pcZei}/assignment', { department: '税務課', group: 'madoguchi' }, 200],
  // ---- 自己点検 reports
  ['auditorZei', 'GET', '/api/v1/reports/self-inspection?department=市民課', undefined, 403],
  ['auditorZei', 'GET', '/api/v1/reports/self-inspection.csv?department=市民課', undefined, 403],
  ['auditorZei', 'GET', '/api/v1/reports/self-inspection', undefined, 200],
  ['auditorZei', 'GET', '/api/v1/reports/self-inspection?department=税務課', undefined, 200],
  ['helpdeskZei', 'GET', '/api/v1/reports/self-inspection?department=税務課', undefined, 403],
  ['adminZei', 'GET', '/api/v1/reports/self-inspection?department=市民課', undefined, 403],
  ['admin', 'GET', '/api/v1/reports/self-inspection?department=市民課', undefined, 200],
];

describe('課 scope', () => {
  it('answers each role × route × 課 as written in the matrix', async () => {
    const wrong: string[] = [];
    for (const [who, method, path, body, expected] of MATRIX) {
      const b = body === undefined ? undefined : typeof body === 'string' ? body : JSON.parse(fill(JSON.stringify(body)));
      const r = await clients[who].request(method, encodeURI(fill(path)), b);
      if (r.status !== expected) wrong.push(`${who} ${method} ${fill(path)} → ${r.status} (expected ${expected}) ${r.text.slice(0, 160)}`);
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it('lists only the 課 of a scoped account: media, the CSV export, loans and exceptions', async () => {
    const media = (await clients.helpdeskZei.request('GET', '/api/v1/media')).json.media as { department: string }[];
    expect(media.length).toBeGreaterThan(0);
    expect(media.every((m) => m.department === '税務課')).toBe(true);
    const csv = (await clients.auditorZei.request('GET', '/api/v1/media.csv')).text;
    expect(csv).toContain('ZEI-001');
    expect(csv).not.toContain('SHI-001');
    const exceptions = (await clients.helpdeskZei.request('GET', '/api/v1/exceptions')).json.exceptions as { id: string }[];
    expect(exceptions.map((e) => e.id)).toContain(ids.excZei);
    expect(exceptions.map((e) => e.id)).not.toContain(ids.excShimin);
    // The lost 市民課 stick is still lost: no scoped account could re-activate it.
    const all = (await clients.admin.request('GET', '/api/v1/media')).json.media as { stickerNo: string; status: string }[];
    expect(all.find((m) => m.stickerNo === 'SHI-001')!.status).toBe('lost');
    expect(all.some((m) => m.stickerNo === 'SHI-900')).toBe(false);
  });
});
