/**
 * What the console tests at a city's size share: a data directory whose store holds a seeded
 * city before the collector starts (as after months of use), and Chromium signed in to that
 * collector's console as the first administrator, with the one-time password changed.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { seedCity } from '../../bench/lib/city.js';
import type { City } from '../../bench/lib/city.js';
import { openDefaultStore } from '../../src/collector/collector.js';

export const CHROMIUM = process.env.MAMORI_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

export async function seededCityDir(prefix: string, opts: Parameters<typeof seedCity>[1]): Promise<{ dataDir: string; city: City }> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const store = openDefaultStore(dataDir);
  await store.migrate();
  const city = await seedCity(store, opts);
  await store.close();
  return { dataDir, city };
}

export async function signedInConsole(consoleUrl: string, admin: { username: string; password: string }, newPassword: string, context: BrowserContextOptions): Promise<{ browser: Browser; page: Page }> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  const page = await (await browser.newContext(context)).newPage();
  await page.goto(consoleUrl);
  await page.fill('input[name=username]', admin.username);
  await page.fill('input[name=password]', admin.password);
  await page.click('button[type=submit]');
  await page.fill('input[name=current]', admin.password);
  await page.fill('input[name=next]', newPassword);
  await page.fill('input[name=confirm]', newPassword);
  await page.click('button[type=submit]');
  return { browser, page };
}
