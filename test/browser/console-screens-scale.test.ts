/**
 * The scan, policy, 例外措置, accounts and forwarders screens, comments and 確認 in real Chromium
 * at 1280x720 against a collector holding 3,000 PCs (written straight into the store): any PC
 * found and scanned (by search, by 課 and segment, a selection or the whole filtered list), the
 * policy's 適用状況 counted per state and paged by the server, the action buttons in view and
 * clickable, 確認 and comments visible with who and when.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { City } from '../../bench/lib/city.js';
import { Client, seedEvents, startTestCollector, userClient } from '../console/helpers.js';
import type { TestCollector } from '../console/helpers.js';
import { haveChromium, seededCityDir, signedInConsole } from '../helpers/city-console.js';

const PASSWORD = 'Scale-Screens-2026!';
const PCS = 3000;
const num = (n: number) => n.toLocaleString('ja-JP');
/** Waits for what the screen shows; a loaded machine may take seconds (no timing is asserted). */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 30_000 });

describe.skipIf(!haveChromium)('console screens at city size in Chromium (1280x720)', () => {
  let browser: Browser;
  let t: TestCollector;
  let city: City;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    ({ dataDir, city } = await seededCityDir('mamori-screens-', { pcs: PCS, perPc: 2, closeEvery: 3 }));
    t = await startTestCollector({ dataDir });
    ({ browser, page } = await signedInConsole(t.collector.consoleUrl, t.admin, PASSWORD, { locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1280, height: 720 } }));
    await page.waitForSelector('[data-testid=live-table] tr.vrow');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const open = async (hash: string, selector: string) => {
    await page.goto(`${t.collector.consoleUrl}#/${hash}`);
    await page.waitForSelector(selector);
  };
  const flashText = () => page.locator('#flash .flash').textContent();
  const sql = () => t.collector.store.sql;
  /** The table fits its box (no sideways scrolling), and every action button of its first row is inside the 1280 px window and is what a click there hits. */
  const actionsInView = async (table: string) => {
    const fits = await page.locator(table).evaluate((el) => ({ scroll: el.parentElement!.scrollWidth, client: el.parentElement!.clientWidth }));
    expect(fits.scroll, table).toBeLessThanOrEqual(fits.client);
    const buttons = await page.locator(`${table} tbody tr`).first().locator('td.actions .btn').all();
    expect(buttons.length, table).toBeGreaterThan(0);
    for (const b of buttons) {
      const hit = await b.evaluate((el) => {
        el.scrollIntoView({ block: 'center' });
        const r = el.getBoundingClientRect();
        const at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return { left: r.x, right: r.x + r.width, hit: at === el };
      });
      expect(hit.left, table).toBeGreaterThanOrEqual(0);
      expect(hit.right, table).toBeLessThanOrEqual(1280);
      expect(hit.hit, table).toBe(true);
    }
  };

  describe('今すぐ検査', () => {
    const summary = () => page.getByTestId('scan-table-summary');
    const rows = () => page.locator('[data-testid=scan-table] tr.pcrow');

    it('lists every PC page by page and finds any of them by part of its name', async () => {
      await open('scan', '[data-testid=scan-table] tr.pcrow');
      await poll(() => summary().textContent()).toBe(`${num(PCS)} 件中 1–50 件`);
      const pc = city.pcs[2718]!;
      await page.getByTestId('scan-search').fill(pc.hostname.slice(-6));
      await poll(() => summary().textContent()).toBe('1 件中 1–1 件');
      expect(await rows().first().getAttribute('data-host')).toBe(pc.hostname);
    });

    it('scans the PCs ticked, and shows the result in the row when the agent answers', async () => {
      const pc = city.pcs[2718]!;
      await rows().first().locator('input[data-testid=scan-pick]').check();
      await poll(() => page.getByTestId('scan-selected').textContent()).toBe('1 台を選択中');
      await page.getByTestId('scan-selected-start').click();
      await poll(flashText).toContain('1 台に検査を依頼しました');
      const row = page.locator(`[data-testid=scan-table] tr.pcrow[data-host="${pc.hostname}"]`);
      await poll(() => row.getAttribute('data-state')).toBe('queued');
      const req = await sql().get<{ id: string }>('SELECT id FROM scan_requests WHERE agent_id = ?', [pc.id]);
      expect(req).toBeTruthy();
      // The agent answers: one check found two violations.
      await seedEvents(t, pc.id, pc.hostname, [{ kind: 'scan.result', at: new Date().toISOString(), policyVersion: 1, requestId: req!.id, checks: [{ checkId: 'usb-media', status: 'ok', failed: 2 }, { checkId: 'antivirus', status: 'ok', failed: 0 }] } as never]);
      await poll(() => row.getAttribute('data-state')).toBe('done');
      expect(await row.getByTestId('scan-result').textContent()).toContain('違反 2 件');
      await poll(() => page.getByTestId('scan-progress').textContent()).toBe('今回の検査: 1 台 (完了 1、検査中 0、待機中 0)');
    });

    it('narrows the list by 課 and segment and scans every PC of it, on all its pages', async () => {
      await page.getByTestId('scan-search').fill('');
      await page.selectOption('[data-testid=scan-filters] select[name=department]', '福祉課');
      await page.selectOption('[data-testid=scan-filters] select[name=segment]', 'lgwan');
      const targets = city.pcs.filter((p) => p.department === '福祉課' && p.segment === 'lgwan');
      expect(targets.length).toBeGreaterThan(50);
      await poll(() => summary().textContent()).toBe(`${num(targets.length)} 件中 1–50 件`);
      await poll(() => page.getByTestId('scan-all-start').textContent()).toBe(`一覧の全 ${num(targets.length)} 台を検査`);
      await page.getByTestId('scan-all-start').click();
      await poll(flashText).toContain(`${num(targets.length)} 台に検査を依頼しました`);
      // The PC scanned before is not of this list: 1 done, the list's PCs offline and queued.
      expect(await page.getByTestId('scan-progress').textContent()).toBe(`今回の検査: ${num(targets.length + 1)} 台 (完了 1、検査中 0、待機中 ${num(targets.length)})`);
      const asked = await sql().all<{ agent_id: string }>("SELECT DISTINCT agent_id FROM scan_requests WHERE requested_by = ? AND agent_id <> ?", [t.admin.username, city.pcs[2718]!.id]);
      expect(asked.map((r) => r.agent_id).sort()).toEqual(targets.map((p) => p.id).sort());
      // Every row of the page shows its request.
      expect(new Set(await rows().evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.state)))).toEqual(new Set(['queued']));
    });
  });

  describe('ポリシー: 端末への適用状況', () => {
    it('counts the PCs per state, and pages and filters them on the server', async () => {
      const status = await page.evaluate(async () => (await fetch('/api/v1/policy/status?limit=1000')).json());
      expect(status.total).toBe(PCS);
      // 100 PCs (10 of each 課) run their version; 40 others are connected and have not applied theirs.
      const versionOf = async (id: string) => Number((await sql().get<{ version: number }>('SELECT version FROM console_policy_agents WHERE agent_id = ?', [id]))!.version);
      const applied = city.pcs.filter((_, n) => n % 300 < 10);
      for (const p of applied) await sql().run('UPDATE agents SET policy_version = ? WHERE id = ?', [await versionOf(p.id), p.id]);
      const pending = city.pcs.filter((_, n) => n % 300 >= 10 && n % 300 < 14);
      for (const p of pending) await sql().run('UPDATE agents SET online = 1 WHERE id = ?', [p.id]);

      await open('policy', '[data-testid=policy-status] tr.pcrow');
      const count = (s: string) => page.locator(`[data-testid=policy-counts] [data-count=${s}]`).textContent();
      await poll(() => count('applied')).toBe('100');
      expect(await count('pending')).toBe('40');
      expect(await count('outdated')).toBe(num(PCS - 140));
      const summary = () => page.getByTestId('policy-status-summary');
      expect(await summary().textContent()).toBe(`${num(PCS)} 件中 1–50 件`);
      expect(await page.locator('[data-testid=policy-status] tr.pcrow').count()).toBe(50);

      await page.getByTestId('policy-count-pending').click();
      await poll(() => summary().textContent()).toBe('40 件中 1–40 件');
      expect(new Set(await page.locator('[data-testid=policy-status] tr.pcrow').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.state)))).toEqual(new Set(['pending']));

      await page.getByTestId('policy-count-applied').click();
      await poll(() => summary().textContent()).toBe('100 件中 1–50 件');
      await page.getByTestId('page-next').click();
      await poll(() => summary().textContent()).toBe('100 件中 51–100 件');

      // 課 narrows the counts too.
      const dep = '税務課';
      await page.selectOption('[data-testid=policy-filters] select[name=department]', dep);
      const depApplied = applied.filter((p) => p.department === dep).length;
      expect(depApplied).toBe(10);
      await poll(() => count('applied')).toBe(String(depApplied));
      expect(await summary().textContent()).toBe(`${depApplied} 件中 1–${depApplied} 件`);
      expect(Number((await count('outdated'))!.replace(/,/g, '')) + Number(await count('pending')) + depApplied).toBe(city.pcs.filter((p) => p.department === dep).length);
    });
  });

  describe('違反 (リアルタイム) at 1280x720', () => {
    it('shows the action buttons of every row inside the screen, and 確認 says it was done', async () => {
      await open('live', '[data-testid=live-table] tr.vrow');
      await actionsInView('[data-testid=live-table]');
      const row = page.locator('[data-testid=live-table] tr.vrow').first();
      const host = await row.locator('td a').first().textContent();
      await row.getByTestId('ack').click();
      await poll(flashText).toBe(`${host} の違反を確認済みにしました。`);
      await poll(() => row.textContent()).toContain(`確認済 (${t.admin.username})`);
    });

    it('shows comments on the violation and on its PC page, with who wrote them and when (JST)', async () => {
      const row = page.locator('[data-testid=live-table] tr.vrow').nth(1);
      const key = (await row.getAttribute('data-key'))!;
      const agentId = key.split('|')[0]!;
      await row.getByTestId('comment').click();
      await page.fill('dialog textarea[name=comment]', '利用者に確認中。来週撤去予定');
      await page.getByTestId('comment-save').click();
      await poll(flashText).toContain('コメントを記録しました');
      const note = (await sql().get<{ at: string; author: string }>("SELECT at, author FROM console_violation_notes WHERE kind = 'comment' AND agent_id = ?", [agentId]))!;
      const jst = new Date(note.at).toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
      const expected = `利用者に確認中。来週撤去予定 — ${t.admin.username}、${jst}`;
      const shown = page.locator(`[data-testid=live-table] tr.vrow[data-key="${key}"] [data-testid=violation-comments]`);
      await poll(() => shown.textContent()).toBe(expected);
      // Someone else comments on the same violation: it appears here without a reload, once.
      const other = new Client(t.base);
      expect((await other.login(t.admin.username, PASSWORD)).status).toBe(200);
      const [, ruleId, subject] = key.split('|');
      expect((await other.request('POST', '/api/v1/violations/comment', { agentId, ruleId, subject, comment: '撤去を確認しました' })).status).toBe(200);
      await poll(() => shown.locator('li').count()).toBe(2);
      expect(await shown.locator('li').nth(1).textContent()).toContain('撤去を確認しました');
      await page.reload();
      await page.waitForSelector('[data-testid=live-table] tr.vrow');
      await poll(() => shown.locator('li').count()).toBe(2);
      expect(await shown.locator('li').first().textContent()).toBe(expected);
      await open(`pc/${agentId}`, '[data-testid=pc-open] tr.vrow');
      expect(await page.locator(`[data-testid=pc-open] tr.vrow[data-key="${key}"] [data-testid=violation-comments] li`).first().textContent()).toBe(expected);
    });
  });
  describe('端末一覧: the check areas shown', () => {
    it('lets the administrator choose the areas of the compliance columns, or show all, and remembers the choice', async () => {
      const areas: string[] = (await page.evaluate(async () => (await fetch('/api/v1/session')).json())).areas;
      expect(areas.length).toBeGreaterThan(6);
      await open('pcs', '[data-testid=pcs-table] tr.pcrow');
      const shown = () => page.locator('[data-testid=pcs-table] tr.pcrow').first().locator('td[data-area]').evaluateAll((tds) => tds.map((td) => (td as HTMLElement).dataset.area));
      expect((await shown()).sort()).toEqual(['antivirus', 'beyond', 'os-patches', 'screen-lock', 'software', 'usb-media']);
      // One more area, ticked by its name: a column for it, kept after a reload.
      const extra = areas.find((a) => !['usb-media', 'software', 'antivirus', 'screen-lock', 'os-patches', 'beyond'].includes(a))!;
      await page.locator('[data-testid=pcs-areas] summary').click();
      await page.locator(`[data-testid=pcs-areas] input[data-area="${extra}"]`).check();
      await poll(shown).toContain(extra);
      await page.reload();
      await page.waitForSelector('[data-testid=pcs-table] tr.pcrow');
      expect(await shown()).toContain(extra);
      expect((await shown()).length).toBe(7);
      // Every area: all in view at 1280x720, their titles written vertically.
      await page.locator('[data-testid=pcs-areas] summary').click();
      await page.getByTestId('pcs-areas-all').click();
      await poll(async () => (await shown()).length).toBe(areas.length);
      const th = page.locator('[data-testid=pcs-table] th span[title]').first();
      expect(await th.evaluate((el) => getComputedStyle(el).writingMode)).toBe('vertical-rl');
      await page.evaluate(() => localStorage.removeItem('mamori.pcs.areas'));
    });
  });
  describe('例外措置, accounts and forwarders', () => {
    let helpdesk: Client;
    const EXCEPTIONS = 120;

    beforeAll(async () => {
      const admin = new Client(t.base);
      expect((await admin.login(t.admin.username, PASSWORD)).status).toBe(200);
      helpdesk = await userClient(t, admin, 'sato', 'helpdesk');
      const until = new Date(Date.now() + 30 * 86_400_000).toISOString();
      for (let i = 0; i < EXCEPTIONS; i++) {
        const r = await helpdesk.request('POST', '/api/v1/exceptions', { ruleId: 'USB-001', agentId: city.pcs[i * 20]!.id, reason: `窓口業務の更新作業 ${i}`, until });
        expect(r.status).toBe(200);
      }
      for (let i = 0; i < 60; i++) expect((await admin.request('POST', '/api/v1/users', { username: `staff${String(i).padStart(2, '0')}`, role: 'auditor' })).status).toBe(200);
    }, 120_000);

    it('pages the 例外措置 on the server, finds one by its PC name, and approves it in place', async () => {
      await open('exceptions', '[data-testid=exceptions-table] tr[data-id]');
      const summary = () => page.getByTestId('exceptions-table-summary');
      await poll(() => summary().textContent()).toBe(`${EXCEPTIONS} 件中 1–50 件`);
      const pc = city.pcs[77 * 20]!;
      await page.getByTestId('exceptions-search').fill(pc.hostname);
      await poll(() => summary().textContent()).toBe('1 件中 1–1 件');
      const row = page.locator('[data-testid=exceptions-table] tr[data-id]').first();
      expect(await row.textContent()).toContain(pc.hostname);
      await row.getByTestId('approve').click();
      await poll(flashText).toBe(`USB-001 (${pc.hostname}) の例外措置を承認しました。`);
      await poll(() => row.getAttribute('data-state')).toBe('approved');
      expect(await row.textContent()).toContain(t.admin.username);
      await page.getByTestId('exceptions-search').fill('');
      await page.selectOption('[data-testid=exceptions-filters] select[name=state]', 'requested');
      await poll(() => summary().textContent()).toBe(`${EXCEPTIONS - 1} 件中 1–50 件`);
    });

    it('pages the accounts, finds one, and disables it in place', async () => {
      await open('users', '[data-testid=users-table] tr[data-id]');
      const summary = () => page.getByTestId('users-table-summary');
      await poll(() => summary().textContent()).toBe('62 件中 1–50 件');
      await page.getByTestId('users-search').fill('staff42');
      await poll(() => summary().textContent()).toBe('1 件中 1–1 件');
      const row = page.locator('[data-testid=users-table] tr[data-username=staff42]');
      await row.getByTestId('user-toggle').click();
      await poll(flashText).toBe('staff42 を無効にしました。');
      await poll(() => row.locator('td').nth(4).textContent()).toBe('無効');
    });

    it('fits the 例外措置, accounts and PC page tables at 1280x720, their action buttons in view', async () => {
      await open('exceptions?state=requested', '[data-testid=exceptions-table] tr[data-id]');
      await actionsInView('[data-testid=exceptions-table]');
      await open('users', '[data-testid=users-table] tr[data-id]');
      await actionsInView('[data-testid=users-table]');
      await open(`pc/${city.pcs[5]!.id}`, '[data-testid=pc-open] tr.vrow');
      await actionsInView('[data-testid=pc-open]');
    });

    it('adds and removes a forwarder', async () => {
      await open('forwarders', '[data-testid=forwarders-table]');
      await page.fill('input[name=target]', '127.0.0.1:5514');
      await page.click('form.inline-form button[type=submit]');
      await poll(flashText).toBe('転送先 127.0.0.1:5514 を追加しました。');
      const row = page.locator('[data-testid=forwarders-table] tr[data-forwarder]');
      await poll(() => row.count()).toBe(1);
      expect(await page.getByTestId('forwarders-table-summary').textContent()).toBe('1 件中 1–1 件');
      await row.getByTestId('fwd-remove').click();
      await poll(flashText).toBe('転送先 127.0.0.1:5514 を削除しました。');
      await poll(() => row.count()).toBe(0);
    });
  });
  describe('errors in the language of the console', () => {
    it('shows a 自己点検 report error in Japanese, and in English after the switch', async () => {
      await page.goto(`${t.collector.consoleUrl}#/reports?from=2026-12-06&to=2026-05-01`);
      const error = page.locator('main .flash-error');
      await poll(() => error.textContent()).toBe('エラー: 期間の開始日 (2026年12月6日) が終了日 (2026年5月1日) より後です');
      await page.getByTestId('lang').click();
      await poll(() => error.textContent()).toMatch(/^Error: the period starts \(2026-12-06\) after it ends \(2026-05-01\)$/);
      await page.getByTestId('lang').click();
      await poll(() => error.textContent()).toContain('期間の開始日');
    });
  });
});
