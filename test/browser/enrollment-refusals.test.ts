/**
 * The console's 登録失敗 screen in real Chromium: a PC whose enrollment the collector refused
 * (a real WebSocket enrollment with an unknown token) is listed with its name, address, the
 * reason in Japanese and the number of attempts. Screenshot in test-results/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { enroll } from '../../agent/link/enroll.js';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { consoleOf } from '../../src/collector/console/plugin.js';
import { createLogger } from '../../src/shared/log.js';
import { REFUSAL_TEXT } from '../../src/shared/protocol/enrollment-refusal.js';

const CHROMIUM = process.env.MAMORI_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(resolve(import.meta.dirname, '..', '..'), 'test-results', 'screenshots');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') throw new Error(`browser tests: Chromium not found at ${CHROMIUM} (apt-get install chromium fonts-noto-cjk)`);

let browser: Browser;
let collector: RunningCollector;
let dataDir: string;

describe.skipIf(!haveChromium)('登録失敗 screen', () => {
  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    dataDir = mkdtempSync(join(tmpdir(), 'mamori-browser-enroll-'));
    collector = await startCollector({ dataDir, log: createLogger({ component: 'collector', console: false }) });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await collector?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists a PC whose token was refused, with its address, the reason in Japanese and the attempts', async () => {
    const os = { platform: 'windows' as const, hostname: 'PC-KAIKEI-007', release: '10.0.26100' };
    for (let i = 0; i < 2; i++) await expect(enroll(collector.agentUrl, `mmr1.${'5'.repeat(16)}.${'ab'.repeat(32)}`, os, '0.1.0')).rejects.toMatchObject({ code: 'ENROLLMENT_REFUSED' });
    const page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
    await page.goto(collector.consoleUrl);
    await page.fill('input[name=username]', consoleOf(collector.app).initialAdmin!.username);
    await page.fill('input[name=password]', consoleOf(collector.app).initialAdmin!.password);
    await page.click('button[type=submit]');
    // The one-time password is changed first, as on every first login.
    await page.waitForSelector('input[name=next]', { timeout: 30_000 });
    const next = 'Enrollment-Screen-2026!';
    await page.fill('input[name=current]', consoleOf(collector.app).initialAdmin!.password);
    await page.fill('input[name=next]', next);
    await page.fill('input[name=confirm]', next);
    await page.click('button[type=submit]');
    await page.waitForSelector('nav.sidenav', { timeout: 30_000 });
    await page.click('nav.sidenav a[href="#/enrollment"]');
    const row = page.locator('[data-testid=enrollment-refusals] tr[data-refusal="127.0.0.1 PC-KAIKEI-007"]');
    await row.waitFor({ timeout: 30_000 });
    const cells = await row.locator('td').allInnerTexts();
    expect(cells[0]).toBe('PC-KAIKEI-007');
    expect(cells[1]).toBe('127.0.0.1');
    expect(cells[2]).toContain(REFUSAL_TEXT.unknown);
    expect(cells[3]).toBe('登録');
    expect(cells[4]).toBe('2');
    expect(await page.locator('h1').innerText()).toBe('登録できなかった端末');
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'enrollment-refusals.png'), fullPage: true });
  }, 120_000);
});
