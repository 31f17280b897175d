/**
 * 端末一覧 in real Chromium against a collector holding 3,000 PCs (written straight into the
 * store): the exact total and paging, filters, search and sort answered by the server, the CSV
 * of the filtered list, 課 set on the PCs ticked, on every PC of a filtered list and from a CSV
 * file, and a PC's page with its open violations, history, software and policy version.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { City } from '../../bench/lib/city.js';
import { startTestCollector } from '../console/helpers.js';
import type { TestCollector } from '../console/helpers.js';
import { haveChromium, seededCityDir, signedInConsole } from '../helpers/city-console.js';

const PASSWORD = 'Scale-Console-2026!';
const PCS = 3000;
const num = (n: number) => n.toLocaleString('ja-JP');

describe.skipIf(!haveChromium)('端末一覧 at city size in Chromium', () => {
  let browser: Browser;
  let t: TestCollector;
  let city: City;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    ({ dataDir, city } = await seededCityDir('mamori-pcs-', { pcs: PCS, perPc: 3, closeEvery: 3 }));
    t = await startTestCollector({ dataDir });
    ({ browser, page } = await signedInConsole(t.collector.consoleUrl, t.admin, PASSWORD, { locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1280, height: 720 }, acceptDownloads: true }));
    await page.waitForSelector('[data-testid=live-table]');
    await page.goto(`${t.collector.consoleUrl}#/pcs`);
    await page.waitForSelector('[data-testid=pcs-table] tr.pcrow');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const summary = () => page.getByTestId('pcs-table-summary');
  const rows = () => page.locator('[data-testid=pcs-table] tr.pcrow');
  const filter = (name: string) => `[data-testid=pcs-filters] select[name=${name}]`;

  it('shows the exact number of PCs and pages through them', async () => {
    await expect.poll(() => summary().textContent()).toBe(`${num(PCS)} 件中 1–50 件`);
    expect(await rows().count()).toBe(50);
    await page.getByTestId('page-next').click();
    await expect.poll(() => summary().textContent()).toBe(`${num(PCS)} 件中 51–100 件`);
    await page.getByTestId('page-prev').click();
    await expect.poll(() => summary().textContent()).toBe(`${num(PCS)} 件中 1–50 件`);
  });

  it('filters by 課, segment and OS, finds a PC by part of its name, and sorts by open violations', async () => {
    await page.selectOption(filter('department'), '福祉課');
    const fukushi = city.pcs.filter((p) => p.department === '福祉課');
    await expect.poll(() => summary().textContent()).toBe(`${num(fukushi.length)} 件中 1–50 件`);
    expect((await page.locator('[data-testid=pcs-table] tr.pcrow td.dep').allTextContents()).every((x) => x === '福祉課')).toBe(true);
    await page.selectOption(filter('segment'), 'internet');
    await page.selectOption(filter('os'), 'linux');
    const narrowed = city.pcs.filter((p, n) => p.department === '福祉課' && p.segment === 'internet' && n % 3 === 0);
    expect(narrowed.length).toBeGreaterThan(0);
    await expect.poll(() => summary().textContent()).toBe(`${num(narrowed.length)} 件中 1–${Math.min(50, narrowed.length)} 件`);
    // The filters are in the address: the list can be linked to and reloaded.
    expect(page.url()).toContain('department=');
    expect(page.url()).toContain('os=linux');
    for (const name of ['department', 'segment', 'os']) await page.selectOption(filter(name), '');
    const pc = city.pcs[2345]!;
    await page.getByTestId('pcs-search').fill(pc.hostname.slice(-7).toLowerCase());
    await expect.poll(() => summary().textContent()).toBe('1 件中 1–1 件');
    expect(await rows().first().getAttribute('data-host')).toBe(pc.hostname);
    await page.getByTestId('pcs-search').fill('');
    await expect.poll(() => summary().textContent()).toBe(`${num(PCS)} 件中 1–50 件`);
    // Sorted by open violations, most first: a PC with the most.
    await page.getByTestId('sort-openViolations').click();
    const max = Math.max(...city.open.values());
    await expect.poll(async () => (await rows().first().locator('td[data-col=violations]').textContent())?.trim()).toBe(String(max));
    await page.getByTestId('sort-openViolations').click();
    await expect.poll(async () => (await rows().first().locator('td[data-col=violations]').textContent())?.trim()).toBe(String(Math.min(...city.open.values())));
    await page.getByTestId('sort-hostname').click();
  });

  it('exports the filtered list as CSV with Japanese headers and JST times', async () => {
    await page.selectOption(filter('department'), '会計課');
    await expect.poll(() => summary().textContent()).toMatch(/^300 件中/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('pcs-csv').click()]);
    const path = await download.path();
    const text = (await import('node:fs')).readFileSync(path!, 'utf8');
    const lines = text.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toMatch(/^端末名,接続,最終通信,系統,所属 \(課\),グループ,OS,/);
    expect(lines).toHaveLength(301);
    expect(lines.slice(1).every((l) => l.split(',')[4] === '会計課')).toBe(true);
    // Times in JST as 2026/12/06 21:44:05 (the seed's "seen a moment ago").
    expect(lines[1]!.split(',')[2]).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(download.suggestedFilename()).toMatch(/^端末一覧_\d{4}-\d{2}-\d{2}\.csv$/);
    await page.selectOption(filter('department'), '');
  });

  it('sets the 課 of the PCs ticked, then of every PC of a filtered list', async () => {
    await expect.poll(() => summary().textContent()).toBe(`${num(PCS)} 件中 1–50 件`);
    const picked = rows().locator('input[data-testid=pc-pick]');
    for (let i = 0; i < 3; i++) await picked.nth(i).check();
    await expect.poll(() => page.getByTestId('pcs-selected').textContent()).toBe('3 台を選択中');
    const hosts = await Promise.all([0, 1, 2].map((i) => rows().nth(i).getAttribute('data-host')));
    await page.getByTestId('assign-selected').click();
    await page.getByTestId('assign-department').fill('危機管理課');
    await page.getByTestId('assign-save').click();
    await expect.poll(() => page.locator('.flash').textContent(), { timeout: 30_000 }).toContain('3 台の所属を設定しました');
    for (const host of hosts) expect(await page.locator(`tr.pcrow[data-host="${host}"] td.dep`).textContent()).toBe('危機管理課');

    // Every PC of 環境課 (300, on 6 pages) moves to 環境政策課.
    await page.selectOption(filter('department'), '環境課');
    await expect.poll(() => summary().textContent()).toBe('300 件中 1–50 件');
    await page.getByTestId('assign-all').click();
    expect(await page.locator('dialog').textContent()).toContain('条件に一致する全 300 台');
    await page.getByTestId('assign-department').fill('環境政策課');
    await page.getByTestId('assign-save').click();
    await expect.poll(() => summary().textContent()).toBe('0 件中 0–0 件');
    const r = await fetchJson(`/api/v1/pcs?department=${encodeURIComponent('環境政策課')}&limit=1`);
    expect(r.total).toBe(300);
  });

  it('sets 課 from a CSV file of PC names, and refuses a file with an unknown PC naming its line', async () => {
    await page.selectOption(filter('department'), '');
    const targets = city.pcs.filter((p) => p.department === '教育総務課').slice(0, 5);
    const file = join(dataDir, 'assign.csv');
    writeFileSync(file, `\uFEFF端末名,所属 (課)\r\n${targets.map((p) => `${p.hostname},学校教育課`).join('\r\n')}\r\n`);
    await page.getByTestId('assign-csv').setInputFiles(file);
    await expect.poll(() => page.locator('.flash').textContent(), { timeout: 30_000 }).toContain('5 台の所属を設定しました');
    expect((await fetchJson(`/api/v1/pcs?department=${encodeURIComponent('学校教育課')}&limit=10`)).pcs.map((p: { hostname: string }) => p.hostname).sort()).toEqual(targets.map((p) => p.hostname).sort());

    writeFileSync(file, `端末名,所属 (課)\r\n${targets[0]!.hostname},別の課\r\nNO-SUCH-PC,別の課\r\n`);
    await page.getByTestId('assign-csv').setInputFiles(file);
    await expect.poll(() => page.locator('.flash-error').textContent(), { timeout: 30_000 }).toContain('3行目: 端末 NO-SUCH-PC は登録されていないか、担当外の課です');
    // Nothing of that file was applied.
    expect((await fetchJson(`/api/v1/pcs?department=${encodeURIComponent('別の課')}&limit=1`)).total).toBe(0);
  });

  it("shows a PC's open violations, history, software and the policy version the policy screen shows", async () => {
    const pc = city.pcs[42]!;
    await page.goto(`${t.collector.consoleUrl}#/pc/${pc.id}`);
    await page.waitForSelector('[data-testid=pc-open]');
    expect(await page.locator('[data-testid=pc-open] tr.vrow').count()).toBe(city.open.get(pc.id));
    // History: three violation events of the seed, newest first.
    const kinds = await page.locator('[data-testid=pc-history] tr[data-kind]').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.kind));
    expect(kinds).toEqual(['violation.closed', 'violation.opened', 'violation.opened']);
    expect(await page.getByTestId('pc-software-unknown').textContent()).toContain('不明');
    const shown = await page.getByTestId('pc-policy').textContent();
    await page.goto(`${t.collector.consoleUrl}#/policy`);
    const row = page.locator('tr', { hasText: pc.hostname }).first();
    await row.waitFor();
    expect(shown).toContain((await row.getByTestId('policy-pc-version').textContent())!);
  });

  async function fetchJson(path: string): Promise<any> {
    return page.evaluate(async (p) => (await fetch(p)).json(), path);
  }
});
