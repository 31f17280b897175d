/**
 * Console services through the real HTTP API of a real collector: sessions, CSRF, lockout,
 * expiry; 例外措置 (no self-approval, expiry); 媒体管理台帳 CSV round trip; 自己点検 numbers on
 * seeded data; the audit chain's tamper detection; the live stream's authentication.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { consoleOf } from '../../src/collector/console/plugin.js';
import type { Clock } from '../../src/collector/console/util.js';
import { adminClient, Client, seedAgent, seedEvents, startTestCollector, usbViolation, userClient, waitUntil } from './helpers.js';
import type { TestCollector } from './helpers.js';

/** A clock the tests move forward. */
const now = { ms: Date.now() };
const clock: Clock = { now: () => new Date(now.ms) };

let t: TestCollector;
let admin: Client;

beforeAll(async () => {
  t = await startTestCollector({ clock, accounts: { maxFailures: 3, lockoutMs: 10 * 60_000, idleMs: 30 * 60_000, absoluteMs: 8 * 3_600_000 }, housekeepingMs: 3_600_000 });
  admin = await adminClient(t);
});
afterAll(async () => t?.close());

describe('sessions', () => {
  it('sets an HttpOnly SameSite=Strict cookie and refuses writes without the CSRF token', async () => {
    const c = new Client(t.base);
    const res = await fetch(`${t.base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: t.admin.password }) });
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    c.cookie = cookie.split(';')[0]!;
    const csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
    const body = { stickerNo: 'CSRF-1', fingerprint: '0781:5567:CSRF1', owner: 'x', department: 'y' };
    expect((await c.request('POST', '/api/v1/media', body)).status).toBe(403);
    c.csrf = 'wrong';
    expect((await c.request('POST', '/api/v1/media', body)).json.error).toBe('CSRF');
    c.csrf = csrf;
    expect((await c.request('POST', '/api/v1/media', body, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await c.request('POST', '/api/v1/media', body)).status).toBe(200);
  });

  it('locks an account after repeated failures and keeps it locked with the right password', async () => {
    await userClient(t, admin, 'locky', 'helpdesk');
    const c = new Client(t.base);
    expect((await c.login('locky', 'wrong-1')).status).toBe(401);
    expect((await c.login('locky', 'wrong-2')).status).toBe(401);
    const third = await c.login('locky', 'wrong-3');
    // Locked says exactly what a wrong password says: nothing tells a guesser the account exists.
    expect(third.status).toBe(401);
    expect(third.json).toEqual({ error: 'LOGIN_FAILED', message: 'ユーザー名またはパスワードが違います', messageEn: 'wrong user name or password' });
    const users = (await admin.request('GET', '/api/v1/users')).json.users as { username: string; id: string; lockedUntil: string | null }[];
    const id = users.find((u) => u.username === 'locky')!.id;
    expect(users.find((u) => u.username === 'locky')!.lockedUntil).not.toBeNull();
    // Even the right password is refused while locked; an admin reset unlocks with a new one-time password.
    const reset = await admin.request('POST', `/api/v1/users/${id}/reset-password`, {});
    expect((await c.login('locky', reset.json.oneTimePassword)).status).toBe(200);
    const audit = (await admin.request('GET', '/api/v1/audit?action=session.login_failed')).json.entries as { target: string }[];
    expect(audit.filter((e) => e.target === 'locky').length).toBeGreaterThanOrEqual(3);
  });

  it('ends a session after the idle limit', async () => {
    const c = await userClient(t, admin, 'sleepy', 'auditor');
    expect((await c.request('GET', '/api/v1/violations')).status).toBe(200);
    now.ms += 31 * 60_000;
    expect((await c.request('GET', '/api/v1/violations')).status).toBe(401);
    // The admin session idled as well: log in again.
    admin = new Client(t.base);
    expect((await admin.login('admin', t.admin.password)).status).toBe(200);
  });

  it('requires the one-time password to be changed before anything else', async () => {
    const r = await admin.request('POST', '/api/v1/users', { username: 'fresh', role: 'auditor' });
    const c = new Client(t.base);
    await c.login('fresh', r.json.oneTimePassword);
    expect((await c.request('GET', '/api/v1/violations')).json.error).toBe('PASSWORD_CHANGE_REQUIRED');
    expect((await c.request('GET', '/api/v1/session')).status).toBe(200);
  });
});

describe('例外措置', () => {
  let agentId: string;
  beforeAll(async () => {
    agentId = await seedAgent(t, 'pc-exc');
    await seedEvents(t, agentId, 'pc-exc', [usbViolation('0781:5567:EXC0001')]);
  });

  it('refuses self-approval and accepts a second person', async () => {
    const second = await userClient(t, admin, 'approver2', 'admin');
    const until = new Date(now.ms + 7 * 86_400_000).toISOString();
    const req = await admin.request('POST', '/api/v1/exceptions', { ruleId: 'USB-001', subject: '0781:5567:EXC0001', agentId, reason: '議会中継用の貸出機材', until });
    expect(req.status).toBe(200);
    const id = req.json.exception.id;
    const self = await admin.request('POST', `/api/v1/exceptions/${id}/approve`, {});
    expect(self.status).toBe(403);
    expect(self.json.error).toBe('SELF_APPROVAL');
    const ok = await second.request('POST', `/api/v1/exceptions/${id}/approve`, { comment: '確認済' });
    expect(ok.json.exception.state).toBe('approved');
    expect(ok.json.exception.decidedBy).toBe('approver2');
    // The violation stays visible, marked excepted.
    const v = (await admin.request('GET', `/api/v1/violations?agent=${agentId}`)).json.violations;
    expect(v).toHaveLength(1);
    expect(v[0].exceptionId).toBe(id);
    // And the agent's policy document carries it.
    const doc = await consoleOf(t.collector.app).documentFor({ id: agentId, segment: 'lgwan' });
    expect(doc.exceptions.map((e) => e.id)).toContain(id);
  });

  it('expires on its end date', async () => {
    now.ms += 8 * 86_400_000;
    const expired = await consoleOf(t.collector.app).housekeeping();
    expect(expired.map((e) => e.state)).toEqual(['approved']);
    admin = new Client(t.base);
    await admin.login('admin', t.admin.password);
    const list = (await admin.request('GET', '/api/v1/exceptions')).json.exceptions;
    expect(list[0].state).toBe('expired');
    const v = (await admin.request('GET', `/api/v1/violations?agent=${agentId}`)).json.violations;
    expect(v[0].exceptionId).toBeNull();
    const doc = await consoleOf(t.collector.app).documentFor({ id: agentId, segment: 'lgwan' });
    expect(doc.exceptions).toEqual([]);
  });

  it('refuses a request without reason or with a past end date', async () => {
    expect((await admin.request('POST', '/api/v1/exceptions', { ruleId: 'USB-001', reason: '', until: new Date(now.ms + 86_400_000).toISOString() })).status).toBe(400);
    expect((await admin.request('POST', '/api/v1/exceptions', { ruleId: 'USB-001', reason: '理由あり', until: new Date(now.ms - 1000).toISOString() })).status).toBe(400);
    expect((await admin.request('POST', '/api/v1/exceptions', { ruleId: 'NOPE-001', reason: '理由あり', until: new Date(now.ms + 86_400_000).toISOString() })).status).toBe(400);
  });
});

describe('媒体管理台帳', () => {
  it('round-trips through CSV (BOM, Japanese header, quotes) and flags duplicate serials', async () => {
    const base = { owner: '総務課 鈴木', department: '総務課', encryption: 'hardware' };
    await admin.request('POST', '/api/v1/media', { ...base, stickerNo: 'S-001', fingerprint: '0781:5567:AAA111', label: 'Cruzer, "Blade"' });
    await admin.request('POST', '/api/v1/media', { ...base, stickerNo: 'S-002', vendorId: '090C', productId: '1000', serial: 'aaa111', note: '=cmd' });
    const list = (await admin.request('GET', '/api/v1/media')).json.media as { stickerNo: string; duplicateSerial: boolean; fingerprint: string }[];
    expect(list.find((m) => m.stickerNo === 'S-002')!.fingerprint).toBe('090c:1000:AAA111');
    expect(list.filter((m) => m.stickerNo.startsWith('S-')).every((m) => m.duplicateSerial)).toBe(true);

    const csv = await admin.request('GET', '/api/v1/media.csv');
    expect(csv.text.charCodeAt(0)).toBe(0xfeff);
    expect(csv.text).toContain('登録番号,識別子');
    expect(csv.text).toContain('"Cruzer, ""Blade"""');
    expect(csv.text).toContain("'=cmd");
    // Values in Japanese: 使用中, not "active".
    expect(csv.text).toMatch(/,使用中,/);
    expect(csv.text).not.toMatch(/,active,/);

    // Edit in "Excel" and import back: one change, one new row.
    const edited = `${csv.text.replace('総務課 鈴木', '総務課 高橋')}S-003,0951:1666:NEW999,,,,,情報課 伊藤,情報課,software,active,,,\r\n`;
    const imp = await admin.request('POST', '/api/v1/media/import', edited, { 'content-type': 'text/csv' });
    expect(imp.status).toBe(200);
    expect(imp.json.created).toBe(1);
    const after = (await admin.request('GET', '/api/v1/media')).json.media as { stickerNo: string; owner: string; note: string; label: string }[];
    expect(after.find((m) => m.stickerNo === 'S-001')!.owner).toBe('総務課 高橋');
    expect(after.find((m) => m.stickerNo === 'S-001')!.label).toBe('Cruzer, "Blade"');
    expect(after.find((m) => m.stickerNo === 'S-002')!.note).toBe('=cmd');
    expect(after.find((m) => m.stickerNo === 'S-003')).toBeTruthy();
    const doc = await consoleOf(t.collector.app).documentFor({ id: 'ag_none', segment: 'lgwan' });
    expect(doc.lists.registeredMedia).toEqual(expect.arrayContaining(['0781:5567:AAA111', '090c:1000:AAA111', '0951:1666:NEW999']));
  });

  it('refuses a file with a bad row and names the line', async () => {
    const bad = '\uFEFF登録番号,識別子,管理者,所属\r\nS-100,0781:5567:X1,a,b\r\nS-101,not-a-fingerprint,a,b\r\n';
    const r = await admin.request('POST', '/api/v1/media/import', bad, { 'content-type': 'text/csv' });
    expect(r.status).toBe(400);
    // A stable code for programs; the message in Japanese, and in English for the console's switch.
    expect(r.json.error).toBe('BAD_REQUEST');
    expect(r.json.message).toBe('CSV 3 行目: 識別子 not-a-fingerprint は VVVV:PPPP:シリアル の形で指定してください');
    expect(r.json.messageEn).toBe('CSV line 3: fingerprint not-a-fingerprint: expected VVVV:PPPP:SERIAL');
    expect((await admin.request('GET', '/api/v1/media')).json.media.some((m: { stickerNo: string }) => m.stickerNo === 'S-100')).toBe(false);
  });

  it('lends and returns, one loan at a time', async () => {
    const m = (await admin.request('GET', '/api/v1/media')).json.media.find((x: { stickerNo: string }) => x.stickerNo === 'S-003');
    expect((await admin.request('POST', `/api/v1/media/${m.id}/loans`, { borrower: '山田', department: '税務課', purpose: '確定申告会場' })).status).toBe(200);
    expect((await admin.request('POST', `/api/v1/media/${m.id}/loans`, { borrower: '田中', department: '税務課', purpose: '二重' })).status).toBe(409);
    expect((await admin.request('POST', `/api/v1/media/${m.id}/return`, {})).json.loan.returnedBy).toBe('admin');
    expect((await admin.request('GET', `/api/v1/media/${m.id}/loans`)).json.loans).toHaveLength(1);
  });
});

describe('自己点検 report', () => {
  it('counts PCs per rule and clause on seeded results, per department, in JSON and CSV', async () => {
    const a = await seedAgent(t, 'rep-a');
    const b = await seedAgent(t, 'rep-b');
    const c = await seedAgent(t, 'rep-c');
    for (const [id, dep] of [[a, '税務課'], [b, '税務課'], [c, '福祉課']] as const) await admin.request('PUT', `/api/v1/pcs/${id}/assignment`, { department: dep, group: null });
    const results = (r: string) => ({ kind: 'results', at: new Date(now.ms).toISOString(), checkId: 'screen-lock', policyVersion: 0, results: [{ ruleId: 'LOCK-001', subject: '', result: r, reason: r }] }) as never;
    await seedEvents(t, a, 'rep-a', [results('pass')]);
    await seedEvents(t, b, 'rep-b', [results('fail')]);
    await seedEvents(t, c, 'rep-c', [results('unknown')]);
    const tax = (await admin.request('GET', `/api/v1/reports/self-inspection?department=${encodeURIComponent('税務課')}`)).json;
    expect(tax.pcs).toBe(2);
    const lock = tax.rules.find((r: { ruleId: string }) => r.ruleId === 'LOCK-001');
    expect([lock.pass, lock.fail, lock.unknown, lock.excepted]).toEqual([1, 1, 0, 0]);
    // A PC without any result for a rule counts as unknown, never as a pass.
    const usb = tax.rules.find((r: { ruleId: string }) => r.ruleId === 'USB-001');
    expect([usb.pass, usb.fail, usb.unknown]).toEqual([0, 0, 2]);
    const clause = tax.clauses.find((cl: { ruleIds: string[] }) => cl.ruleIds.includes('LOCK-001'));
    expect(clause.fail).toBe(1);
    const welfare = (await admin.request('GET', `/api/v1/reports/self-inspection?department=${encodeURIComponent('福祉課')}`)).json;
    expect(welfare.rules.find((r: { ruleId: string }) => r.ruleId === 'LOCK-001').unknown).toBe(1);
    expect(tax.trend.length).toBeGreaterThanOrEqual(1);
    const csv = await admin.request('GET', `/api/v1/reports/self-inspection.csv?department=${encodeURIComponent('税務課')}`);
    expect(csv.text.charCodeAt(0)).toBe(0xfeff);
    // Severity in Japanese (LOCK-001 is 高).
    expect(csv.text).toMatch(/税務課,[^,]+,LOCK-001,[^,]+,高,[^,]+,[^,]+,1,1,0,0,0,2/);
  });

  it('limits a department-scoped account to its own 課', async () => {
    const scoped = await userClient(t, admin, 'taxaudit', 'auditor', ['税務課']);
    expect((await scoped.request('GET', `/api/v1/reports/self-inspection?department=${encodeURIComponent('福祉課')}`)).status).toBe(403);
    const own = await scoped.request('GET', '/api/v1/reports/self-inspection');
    expect(own.json.department).toBe('税務課');
    const pcs = (await scoped.request('GET', '/api/v1/pcs')).json.pcs as { hostname: string }[];
    expect(pcs.map((p) => p.hostname).sort()).toEqual(['rep-a', 'rep-b']);
  });
});

describe('audit log', () => {
  it('verifies the chain and detects an edited or removed row', async () => {
    const ok = (await admin.request('GET', '/api/v1/audit/verify')).json;
    expect(ok.ok).toBe(true);
    expect(ok.rows).toBeGreaterThan(10);
    const sql = t.collector.store.sql;
    await sql.run("UPDATE console_audit SET actor = 'someone-else' WHERE seq = 3");
    const broken = (await admin.request('GET', '/api/v1/audit/verify')).json;
    expect(broken).toMatchObject({ ok: false, brokenAt: 3 });
    expect(broken.why).toContain('changed');
    // No route changes or deletes audit rows.
    for (const r of consoleOf(t.collector.app).routes) if (r.url.startsWith('/api/v1/audit')) expect(r.method).toBe('GET');
  });
});

describe('live stream', () => {
  it('refuses an upgrade without a session or from another origin, and streams violations to a logged-in watcher', async () => {
    const url = t.collector.consoleUrl.replace('http', 'ws') + 'api/v1/stream';
    const refused = await new Promise<number>((res) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, r) => res(r.statusCode ?? 0));
      ws.on('open', () => res(101));
    });
    expect(refused).toBe(401);
    const cross = await new Promise<number>((res) => {
      const ws = new WebSocket(url, { headers: { cookie: admin.cookie, origin: 'http://evil.example' } });
      ws.on('unexpected-response', (_req, r) => res(r.statusCode ?? 0));
      ws.on('open', () => res(101));
    });
    expect(cross).toBe(403);
    const ws = new WebSocket(url, { headers: { cookie: admin.cookie } });
    const got: { type: string; violation?: { subject: string; clauses: { title: string }[] } }[] = [];
    ws.on('message', (m) => got.push(JSON.parse(m.toString())));
    await new Promise((r) => ws.once('open', r));
    const id = await seedAgent(t, 'pc-stream');
    await seedEvents(t, id, 'pc-stream', [usbViolation('0781:5567:LIVE01')]);
    const v = await waitUntil(async () => got.find((m) => m.type === 'violation'), 5000, 'stream message');
    expect(v.violation!.subject).toBe('0781:5567:LIVE01');
    expect(v.violation!.clauses[0]!.title).toBe('川崎市情報セキュリティ基準');
    ws.close();
  });
});
