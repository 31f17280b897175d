/**
 * 概要, 自己点検報告, 媒体管理台帳, 操作記録 and the violation list's CSV / bulk 確認 in real
 * Chromium against a collector holding a city (3,000 PCs, events over 90 days, rule results,
 * thousands of audit rows): each overview number opens a list of exactly that many rows; the
 * report shows the site's standard only, in Japanese dates (和暦), with its approval block,
 * and prints (print media and page.pdf) without cutting a title; overdue loans are marked and
 * media reported lost; the audit log is filtered, paged and exported with its filters.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { City } from '../../bench/lib/city.js';
import { systemActor } from '../../src/collector/console/audit.js';
import { consoleOf } from '../../src/collector/console/plugin.js';
import { loadCatalogue } from '../../src/shared/catalogue/load.js';
import { configDir } from '../../src/shared/paths.js';
import { Client, startTestCollector } from '../console/helpers.js';
import type { TestCollector } from '../console/helpers.js';
import { haveChromium, seededCityDir, signedInConsole } from '../helpers/city-console.js';

const PASSWORD = 'Scale-Report-2026!';
const SHOTS = join(resolve(import.meta.dirname, '..', '..'), 'test-results', 'screenshots');
const num = (n: number) => n.toLocaleString('ja-JP');
const catalogue = loadCatalogue(configDir());
const SEEDED = catalogue.rules.filter((r) => ['usb-media', 'screen-lock', 'antivirus'].includes(r.check)).map((r) => ({ ruleId: r.id, checkId: r.check }));
const jstToday = () => new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);
const wareki = (day: string) => new Intl.DateTimeFormat('ja-JP-u-ca-japanese', { era: 'long', year: 'numeric', month: 'long', day: 'numeric', timeZone: 'Asia/Tokyo' }).format(new Date(`${day}T00:00:00+09:00`));

describe.skipIf(!haveChromium)('overview, report, ledger and audit log at city size in Chromium', () => {
  let browser: Browser;
  let t: TestCollector;
  let city: City;
  let page: Page;
  let api: Client;
  let dataDir: string;

  beforeAll(async () => {
    ({ dataDir, city } = await seededCityDir('mamori-report-scale-', { pcs: 3000, perPc: 3, closeEvery: 3, days: 90, results: SEEDED }));
    t = await startTestCollector({ dataDir });
    // Months of console use: thousands of audit rows.
    const audit = consoleOf(t.collector.app).audit;
    for (let i = 0; i < 3000; i++) await audit.append(i % 3 ? systemActor : { actor: 'tanaka', role: 'helpdesk', ip: '10.0.0.5' }, i % 3 ? 'exception.expired' : 'pc.viewed', `PC ${city.pcs[i]!.hostname}`, { i });
    ({ browser, page } = await signedInConsole(t.collector.consoleUrl, t.admin, PASSWORD, { locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1280, height: 720 } }));
    await page.waitForSelector('[data-testid=live-table] tr.vrow');
    api = new Client(t.base);
    expect((await api.login('admin', PASSWORD)).status).toBe(200);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const summary = () => page.getByTestId('live-table-summary');

  it('概要: every number opens the list of exactly that many violations', async () => {
    await page.goto(`${t.collector.consoleUrl}#/overview`);
    await page.waitForSelector('[data-testid=overview-matrix]');
    expect(await page.getByTestId('grand-total').textContent()).toBe(num(city.totalOpen));
    const zeimu = page.locator('[data-testid=overview-matrix] tr[data-department="税務課"]');
    const cell = zeimu.getByTestId('cell').first();
    const n = Number((await cell.textContent())!.replace(/,/g, ''));
    expect(n).toBeGreaterThan(0);
    await cell.click();
    await expect.poll(() => summary().textContent()).toBe(`${num(n)} 件中 1–50 件`);
    const rows = await page.locator('[data-testid=live-table] tr.vrow').allTextContents();
    expect(rows.every((r) => r.includes('税務課'))).toBe(true);
    expect(new URL(page.url().replace('#/live', '')).searchParams.get('department')).toBe('税務課');

    await page.goto(`${t.collector.consoleUrl}#/overview`);
    const rowTotal = page.locator('[data-testid=overview-matrix] tr[data-department="福祉課"]').getByTestId('row-total');
    const m = (await rowTotal.textContent())!;
    await rowTotal.click();
    await expect.poll(() => summary().textContent()).toBe(`${m} 件中 1–50 件`);
  });

  it('概要: shows 90 days of openings and closings and the compliance rate', async () => {
    await page.goto(`${t.collector.consoleUrl}#/reports`);
    await page.waitForSelector('[data-testid=report-doc]'); // takes today's snapshot
    await page.goto(`${t.collector.consoleUrl}#/overview`);
    await page.waitForSelector('[data-testid=flow-chart]');
    // 90 days, each with openings (PC n's events are on day n mod 90) and closings.
    expect(await page.locator('[data-testid=flow-chart] rect.bar-open').count()).toBe(90);
    expect(await page.locator('[data-testid=flow-chart] rect.bar-closed').count()).toBe(90);
    expect(await page.getByTestId('rate-last').textContent()).toMatch(/^\d+%$/);
    const kinds = await page.locator('[data-testid=trend-byCheck] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')));
    expect(kinds.sort()).toEqual(['software', 'usb-media']);
    await page.getByRole('button', { name: '課別' }).click();
    expect(await page.locator('[data-testid=trend-byDepartment] tbody tr').count()).toBe(10);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'scale-overview.png'), fullPage: true });
  });

  it('自己点検: the site chooses its standard; the report shows it only, in 和暦, with the approval block', async () => {
    await page.goto(`${t.collector.consoleUrl}#/reports`);
    const form = page.getByTestId('report-settings');
    await form.locator('input[name=organisation]').fill('湯沢市');
    await form.locator('select[name=standard]').selectOption('003');
    await form.locator('input[name=preparedBy]').fill('情報政策課 佐藤');
    await form.locator('input[name=approvedBy]').fill('副市長 鈴木');
    await page.getByTestId('report-settings-save').click();
    await expect.poll(() => page.getByTestId('report-standard').textContent()).toContain('川崎市情報セキュリティ基準');
    const today = jstToday();
    const fy = Number(today.slice(0, 4)) - (Number(today.slice(5, 7)) < 4 ? 1 : 0);
    expect(await page.locator('.doc-title').textContent()).toContain(`${wareki(`${fy}-04-01`).replace(/年.*$/, '')}年度 情報セキュリティ自己点検結果報告書`);
    expect(await page.getByTestId('report-period').textContent()).toBe(`${wareki(`${fy}-04-01`)} 〜 ${wareki(today)}`);
    expect(await page.getByTestId('report-meta').textContent()).toContain('湯沢市');
    const seals = page.getByTestId('approval-block');
    expect(await seals.locator('th').allTextContents()).toEqual(['作成者', '確認者', '承認者']);
    expect(await seals.locator('.seal-box').count()).toBe(3);
    expect(await seals.locator('.seal-name').allTextContents()).toEqual(['情報政策課 佐藤', '', '副市長 鈴木']);
    const clauseRows = await page.locator('[data-testid=report-clauses] tbody tr').allTextContents();
    expect(clauseRows.length).toBeGreaterThan(10);
    expect(clauseRows.every((r) => r.includes('川崎市情報セキュリティ基準') && !r.includes('大口町'))).toBe(true);
    // 西暦 on request.
    await page.selectOption('[data-testid=report-filters] select[name=era]', 'seireki');
    await expect.poll(() => page.getByTestId('report-period').textContent()).toBe(`${fy}年4月1日 〜 ${Number(today.slice(0, 4))}年${Number(today.slice(5, 7))}月${Number(today.slice(8, 10))}日`);
  });

  it('自己点検: imports the site\'s own clause map, refusing a bad file line by line', async () => {
    await page.goto(`${t.collector.consoleUrl}#/overview`);
    await page.waitForSelector('[data-testid=overview-matrix]');
    await page.goto(`${t.collector.consoleUrl}#/reports`);
    await page.waitForSelector('[data-testid=report-doc]');
    // The settings stay unfolded once opened (they were, while no standard was chosen).
    if (!(await page.locator('details.settings').evaluate((d) => (d as HTMLDetailsElement).open))) await page.locator('details.settings summary').click();
    const file = page.getByTestId('clause-map-file');
    await file.setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('ルールID,条項番号,条項名\r\nUSB-001,第10条,媒体\r\nNOPE-001,第1条,x\r\n') });
    await expect.poll(() => page.getByTestId('clause-map-errors').textContent()).toContain('3行目: ルールID「NOPE-001」はルールカタログにありません');
    const long = '可搬記録媒体は情報セキュリティ管理者が管理台帳に登録し、シリアル番号で個体を識別できるものに限り、業務上必要な場合に許可を得て使用することができる (貸出・返却は台帳に記録する)';
    const rows = ['ルールID,条項番号,条項名', `USB-001,第10条第1項第1号,${long}`, ...SEEDED.filter((r) => r.ruleId !== 'USB-001').map((r, i) => `${r.ruleId},第${20 + i}条,${r.ruleId} の条項 ${'とても長い条項名の一部'.repeat(4)}`)];
    await file.setInputFiles({ name: 'map.csv', mimeType: 'text/csv', buffer: Buffer.from(`\uFEFF${rows.join('\r\n')}\r\n`) });
    await page.getByTestId('report-settings').locator('select[name=standard] option[value=site]').waitFor({ state: 'attached' });
    expect(await page.locator('details.settings').getAttribute('open')).not.toBeNull();
    await page.getByTestId('report-settings').locator('select[name=standard]').selectOption('site');
    await page.getByTestId('report-settings-save').click();
    await expect.poll(() => page.getByTestId('report-standard').textContent()).toContain('独自の条項対応表');
    expect(await page.locator('[data-testid=report-clauses] tbody tr').count()).toBe(SEEDED.length);
    const settings = (await api.request('GET', '/api/v1/audit?action=report.').then((r) => r.json.entries)) as { action: string }[];
    expect(settings.map((e) => e.action)).toEqual(expect.arrayContaining(['report.settings_saved', 'report.clause_map_imported']));
  });

  it('自己点検: prints every title in full (print media, A4 PDF)', async () => {
    await page.goto(`${t.collector.consoleUrl}#/reports?era=wareki`);
    await page.waitForSelector('[data-testid=report-clauses] tbody tr');
    await page.emulateMedia({ media: 'print' });
    let pdf: Buffer;
    try {
      const cut = await page.evaluate(() => {
        const bad: string[] = [];
        for (const el of document.querySelectorAll<HTMLElement>('.report-doc .clause-title, .report-doc .rule-name, .report-doc td, .report-doc th')) {
          const cs = getComputedStyle(el);
          if (cs.textOverflow === 'ellipsis' || el.scrollWidth > el.clientWidth + 1) bad.push(el.textContent ?? '');
        }
        const hidden = ['.sidenav', '.topbar', '[data-testid=report-settings]', '[data-testid=report-filters]'].filter((s) => {
          const el = document.querySelector<HTMLElement>(s);
          return el && el.getClientRects().length > 0;
        });
        return { bad, hidden, text: document.querySelector('.report-doc')!.textContent ?? '' };
      });
      expect(cut.bad).toEqual([]);
      expect(cut.hidden).toEqual([]);
      expect(cut.text).toContain('可搬記録媒体は情報セキュリティ管理者が管理台帳に登録し、シリアル番号で個体を識別できるものに限り、業務上必要な場合に許可を得て使用することができる (貸出・返却は台帳に記録する)');
      expect(cut.text).not.toContain('…');
      pdf = await page.pdf({ format: 'A4', printBackground: true });
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, 'scale-report-print.png'), fullPage: true });
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    expect(pages).toBeGreaterThanOrEqual(2);
  });

  it('媒体管理台帳: marks overdue loans, shows the loan history and records a lost medium', async () => {
    const reg = async (sticker: string) => (await api.request('POST', '/api/v1/media', { stickerNo: sticker, fingerprint: `0781:5567:${sticker.replace(/-/g, '')}`, owner: '情報政策課', department: '情報政策課' })).json.media.id as string;
    const late = await reg('M-0001');
    const fine = await reg('M-0002');
    const yesterday = new Date(Date.now() - 86_400_000 + 9 * 3_600_000).toISOString().slice(0, 10);
    await api.request('POST', `/api/v1/media/${late}/loans`, { borrower: '山田', department: '税務課', purpose: '申告会場 (前回)', dueAt: yesterday });
    await api.request('POST', `/api/v1/media/${late}/return`, {});
    await api.request('POST', `/api/v1/media/${late}/loans`, { borrower: '田中', department: '税務課', purpose: '申告会場', dueAt: yesterday });
    await api.request('POST', `/api/v1/media/${fine}/loans`, { borrower: '高橋', department: '市民課', purpose: '窓口', dueAt: null });
    await page.goto(`${t.collector.consoleUrl}#/media`);
    const lateRow = page.locator('[data-testid=media-table] tr[data-sticker="M-0001"]');
    await lateRow.waitFor();
    expect(await lateRow.getAttribute('class')).toContain('overdue');
    expect(await lateRow.textContent()).toContain('返却期限超過');
    expect(await page.locator('[data-testid=media-table] tr[data-sticker="M-0002"]').textContent()).not.toContain('返却期限超過');
    expect(await page.getByTestId('overdue-notice').textContent()).toContain('1 件');
    await lateRow.getByTestId('loan-history-open').click();
    const history = page.locator('[data-testid=loan-history] tbody tr');
    await expect.poll(() => history.count()).toBe(2);
    expect(await history.first().textContent()).toContain('田中');
    expect(await history.nth(1).textContent()).toContain('山田');
    await page.locator('dialog .dlg-actions button', { hasText: 'キャンセル' }).click();
    await page.locator('dialog').waitFor({ state: 'detached' });
    await page.locator('[data-testid=media-table] tr[data-sticker="M-0002"]').getByTestId('media-lost').click();
    await page.locator('dialog textarea[name=note]').fill('窓口で紛失の届出 (高橋)');
    await page.getByTestId('media-status-save').click();
    await expect.poll(() => page.locator('[data-testid=media-table] tr[data-sticker="M-0002"]').getAttribute('data-status')).toBe('lost');
    expect(await page.locator('[data-testid=media-table] tr[data-sticker="M-0002"]').textContent()).toContain('紛失');
    await page.selectOption('select[name=show]', 'lost');
    await expect.poll(() => page.locator('[data-testid=media-table] tbody tr').count()).toBe(1);
  });

  it('操作記録: filters and pages thousands of rows with the exact total, and exports the filtered rows', async () => {
    await page.goto(`${t.collector.consoleUrl}#/audit`);
    const sum = page.getByTestId('audit-table-summary');
    await expect.poll(() => sum.textContent()).toMatch(/^[\d,]+ 件中 1–100 件$/);
    const all = Number((await sum.textContent())!.split(' ')[0]!.replace(/,/g, ''));
    expect(all).toBeGreaterThan(3000);
    await page.locator('[data-testid=audit-filters] input[name=actor]').fill('tanaka');
    await expect.poll(() => sum.textContent()).toBe('1,000 件中 1–100 件');
    await page.getByTestId('page-next').click();
    await expect.poll(() => sum.textContent()).toBe('1,000 件中 101–200 件');
    expect((await page.locator('[data-testid=audit-table] tbody tr').allTextContents()).every((r) => r.includes('tanaka'))).toBe(true);
    await page.locator('[data-testid=audit-filters] input[name=q]').fill('FUKUSHI');
    await expect.poll(() => sum.textContent()).toBe('100 件中 1–100 件');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-csv').click()]);
    const path = join(dataDir, 'audit.csv');
    await download.saveAs(path);
    const lines = readFileSync(path, 'utf8').trim().split('\r\n');
    expect(lines).toHaveLength(101);
    expect(lines.slice(1).every((l) => l.includes(',tanaka,') && l.includes('FUKUSHI'))).toBe(true);
  });

  it('違反: exports the filtered list as CSV and acknowledges a page of violations at once', async () => {
    await page.goto(`${t.collector.consoleUrl}#/live?department=${encodeURIComponent('環境課')}`);
    await expect.poll(() => summary().textContent()).toMatch(/^[\d,]+ 件中 1–50 件$/);
    const n = Number((await summary().textContent())!.split(' ')[0]!.replace(/,/g, ''));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('violations-csv').click()]);
    const path = join(dataDir, 'violations.csv');
    await download.saveAs(path);
    const lines = readFileSync(path, 'utf8').trim().split('\r\n');
    expect(lines).toHaveLength(n + 1);
    expect(lines.slice(1).every((l) => l.split(',')[3] === '環境課')).toBe(true);
    // Switched to English, the same list exports in English (headings and values), times still in JST.
    await page.getByTestId('lang').click();
    await expect.poll(() => page.getByTestId('violations-csv').getAttribute('href')).toContain('lang=en');
    const [enDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('violations-csv').click()]);
    const enPath = join(dataDir, 'violations-en.csv');
    await enDownload.saveAs(enPath);
    const enLines = readFileSync(enPath, 'utf8').replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(enLines).toHaveLength(n + 1);
    expect(enLines[0]!.split(',').slice(0, 4)).toEqual(['State', 'Severity', 'PC', 'Department']);
    expect(enLines.slice(1).every((l) => /^(open|excepted|unknown),(critical|high|medium|low|info),/.test(l))).toBe(true);
    await page.getByTestId('lang').click();
    await expect.poll(() => page.getByTestId('violations-csv').getAttribute('href')).not.toContain('lang=en');

    await page.getByTestId('select-page').check();
    await expect.poll(() => page.getByTestId('bulk-count').textContent()).toBe('50 件選択');
    await page.getByTestId('bulk-ack').click();
    await expect.poll(() => page.locator('[data-testid=live-table] tr.vrow', { hasText: '確認済 (admin)' }).count()).toBe(50);
    expect(await page.locator('[data-testid=live-table] input.pick').count()).toBe(0);
    expect(await page.getByTestId('bulk-count').textContent()).toBe('0 件選択');
  });
});
