/**
 * 資産管理台帳 in real Chromium (playwright-core) against a real collector and two real agent
 * processes replaying Windows inventory recordings (agent/checks/inventory/fixtures/windows):
 * the inventory arrives from each agent's start run; the desktop's recording then changes to the
 * same PC with a swapped SSD, a removed module and a USB NIC, and the change reaches the PC's
 * history. The console filters the PCs by model, OS build, memory and IP range (in the store),
 * downloads the CSV and shows the PC's inventory and changes. Screenshots: test-results/screenshots/.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { consoleOf } from '../../src/collector/console/plugin.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { createLogger } from '../../src/shared/log.js';

const CHROMIUM = process.env.MAMORI_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..', '..');
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const RECORDINGS = join(ROOT, 'agent', 'checks', 'inventory', 'fixtures', 'windows');
const NEW_PASSWORD = 'Mamori-Inventory-2026!';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`browser tests: Chromium not found at ${CHROMIUM}. Install the Debian packages "chromium" and "fonts-noto-cjk" (or set MAMORI_CHROMIUM).`);
  process.stderr.write(`browser tests skipped: Chromium not found at ${CHROMIUM} (apt-get install chromium fonts-noto-cjk)\n`);
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!haveChromium)('資産管理台帳 in Chromium', () => {
  let browser: Browser;
  let collector: RunningCollector;
  let page: Page;
  let dataDir: string;
  const agents: ChildProcess[] = [];
  const output: string[] = [];

  async function startAgent(name: string, recording: string): Promise<void> {
    const dir = join(dataDir, name);
    cpSync(join(RECORDINGS, recording), dir, { recursive: true });
    const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 600_000, singleUse: true });
    const agent = spawn(process.execPath, [join(ROOT, 'bin', 'mamori.js'), 'agent', 'run', '--collector', collector.agentUrl, '--enroll', token, '--state', join(dataDir, `${name}-state`), '--replay', dir, '--insecure-plain'], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
    agent.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
    agents.push(agent);
  }

  const inventoryRows = () => collector.store.sql.all<{ serial: string; n: number }>('SELECT l.serial, (SELECT COUNT(*) FROM inventory_changes c WHERE c.agent_id = l.agent_id) AS n FROM inventory_latest l ORDER BY l.serial');

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    dataDir = mkdtempSync(join(tmpdir(), 'mamori-inventory-browser-'));
    collector = await startCollector({ dataDir, log: createLogger({ component: 'collector', console: false }) });
    await startAgent('desktop', 'w11-24h2-pro-ja-desktop');
    await startAgent('notebook', 'w10-22h2-pro-ja-notebook-wmi-broken');
    await waitUntil(`both inventories\n${output.join('')}`, async () => (await inventoryRows()).length === 2);
    // The desktop a week later: its recording changes, which the replaying agent takes as a device event.
    const desktop = join(dataDir, 'desktop');
    copyFileSync(join(RECORDINGS, 'w11-24h2-pro-ja-desktop-swapped', 'meta.json'), join(desktop, 'meta.json'));
    copyFileSync(join(RECORDINGS, 'w11-24h2-pro-ja-desktop-swapped', 'win.inventory.out'), join(desktop, 'win.inventory.out'));
    await waitUntil(`the desktop's hardware changes\n${output.join('')}`, async () => (await inventoryRows()).find((r) => r.serial === '8K2LMX3' && Number(r.n) === 4));
    const ctx = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    page = await ctx.newPage();
    const oneTime = consoleOf(collector.app).initialAdmin!.password;
    await page.goto(collector.consoleUrl);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', oneTime);
    await page.click('button[type=submit]');
    await page.waitForSelector('input[name=next]');
    await page.fill('input[name=current]', oneTime);
    await page.fill('input[name=next]', NEW_PASSWORD);
    await page.fill('input[name=confirm]', NEW_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('.sidenav');
  }, 180_000);

  afterAll(async () => {
    for (const a of agents) a.kill('SIGTERM');
    await browser?.close();
    await collector?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const serials = async (): Promise<string[]> => (await page.locator('[data-testid=inventory-table] tbody tr[data-agent] td:nth-child(5)').allTextContents()).sort();

  async function filter(name: string, value: string, expected: string[]): Promise<void> {
    await page.fill(`[data-testid=inventory-filters] input[name=${name}]`, value);
    await waitUntil(`${name}=${value} → ${expected.join(',')}`, async () => JSON.stringify(await serials()) === JSON.stringify(expected), 15_000);
  }

  it('lists both PCs with their inventory and filters them by model, OS build, memory and IP range', async () => {
    await page.click('.sidenav a[href="#/inventory"]');
    await page.waitForSelector('[data-testid=inventory-table] tbody tr[data-agent]');
    expect(await serials()).toEqual(['8K2LMX3', 'PF3ABCDE']);
    const text = await page.locator('[data-testid=inventory-table]').textContent();
    expect(text).toContain('OptiPlex 7010');
    expect(text).toContain('26100.2314');
    await page.screenshot({ path: join(SHOTS, 'inventory-01-list.png'), fullPage: true });
    await filter('model', 'optiplex', ['8K2LMX3']);
    await filter('model', '', ['8K2LMX3', 'PF3ABCDE']);
    await filter('osBuild', '19045', ['PF3ABCDE']);
    await filter('osBuild', '', ['8K2LMX3', 'PF3ABCDE']);
    // The desktop has 8 GB since its module was taken out; the notebook 16 GB.
    await filter('memoryMin', '16', ['PF3ABCDE']);
    await filter('memoryMin', '', ['8K2LMX3', 'PF3ABCDE']);
    await filter('ip', '192.168.10.0/24', ['8K2LMX3']);
    await page.screenshot({ path: join(SHOTS, 'inventory-02-filtered.png'), fullPage: true });
    await filter('ip', '999.1.1.1', []);
    expect(await page.getByTestId('inventory-error').textContent()).toContain('IPv4');
    await filter('ip', '10.20.30.0/24', ['8K2LMX3', 'PF3ABCDE']);
  });

  it('downloads the 資産管理台帳 of the filtered PCs as CSV: Japanese headers, JST times', async () => {
    await filter('model', 'lenovo', ['PF3ABCDE']);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=inventory-csv]')]);
    const path = join(dataDir, 'register.csv');
    await download.saveAs(path);
    expect(download.suggestedFilename()).toMatch(/^資産管理台帳_\d{4}-\d{2}-\d{2}\.csv$/);
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith('\uFEFFホスト名,課,グループ,メーカー,機種,製造番号')).toBe(true);
    const rows = text.trim().split('\r\n');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain('LENOVO,20XWCTO1WW,PF3ABCDE');
    expect(rows[1]).toContain('SMART 異常予測');
    // Windows 10 install date 2021-06-14T02:03:04Z is 11:03 JST.
    expect(rows[1]).toContain('2021/06/14 11:03');
    await filter('model', '', ['8K2LMX3', 'PF3ABCDE']);
  });

  it('端末一覧 shows the inventory columns and filters the PCs by them', async () => {
    await page.click('.sidenav a[href="#/pcs"]');
    await page.waitForSelector('[data-testid=pcs-table] tr.pcrow');
    const models = async () => (await page.locator('[data-testid=pcs-table] tr.pcrow').allTextContents()).map((r) => (r.includes('OptiPlex') ? 'OptiPlex' : r.includes('20XWCTO1WW') ? 'ThinkPad' : '?')).sort();
    expect(await models()).toEqual(['OptiPlex', 'ThinkPad']);
    const pcsFilter = async (name: string, value: string, expected: string[]) => {
      await page.fill(`[data-testid=pcs-filters] input[name=${name}]`, value);
      await waitUntil(`端末一覧 ${name}=${value}`, async () => JSON.stringify(await models()) === JSON.stringify(expected), 15_000);
    };
    await pcsFilter('model', 'lenovo', ['ThinkPad']);
    await pcsFilter('model', '', ['OptiPlex', 'ThinkPad']);
    await pcsFilter('ip', '192.168.10.0/24', ['OptiPlex']);
    await page.screenshot({ path: join(SHOTS, 'inventory-04-pcs-filtered.png'), fullPage: true });
    await pcsFilter('ip', '', ['OptiPlex', 'ThinkPad']);
    await pcsFilter('memoryMin', '16', ['ThinkPad']);
    await pcsFilter('memoryMin', '', ['OptiPlex', 'ThinkPad']);
    await page.click('.sidenav a[href="#/inventory"]');
    await page.waitForSelector('[data-testid=inventory-table] tbody tr[data-agent]');
  });

  it("shows a PC's inventory and its hardware changes on its page", async () => {
    await page.fill('[data-testid=inventory-filters] input[name=ip]', '');
    await page.locator('[data-testid=inventory-table] tbody tr[data-agent]', { hasText: '8K2LMX3' }).locator('a').click();
    const section = page.getByTestId('pc-inventory');
    await section.waitFor();
    const text = await section.textContent();
    expect(text).toContain('OptiPlex 7010');
    expect(text).toContain('Samsung SSD 980 500GB');
    expect(text).toContain('イーサネット 2');
    const changes = await page.getByTestId('inventory-changes').textContent();
    for (const label of ['ディスクの交換 (シリアル番号の変化)', 'メモリの取り外し', 'ネットワークアダプターの追加', 'MAC アドレスの変化']) expect(changes).toContain(label);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'inventory-03-pc-page.png'), fullPage: true });
  });
});
