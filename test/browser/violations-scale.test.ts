/**
 * 違反 (リアルタイム) in real Chromium against a collector holding a city's fleet (3,000 PCs,
 * written straight into the store): the exact total of open violations, filters and search
 * answered by the server (nothing hidden behind a client-side cut), paging, and live rows
 * merged into the page shown without rebuilding the table.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { City } from '../../bench/lib/city.js';
import { cityViolation } from '../../bench/lib/city.js';
import type { AgentEvent } from '../../src/shared/protocol/messages.js';
import { startTestCollector } from '../console/helpers.js';
import type { TestCollector } from '../console/helpers.js';
import { haveChromium, seededCityDir, signedInConsole } from '../helpers/city-console.js';

const PASSWORD = 'Scale-Console-2026!';

const num = (n: number) => n.toLocaleString('ja-JP');

describe.skipIf(!haveChromium)('violation list at city size in Chromium', () => {
  let browser: Browser;
  let t: TestCollector;
  let city: City;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    // The city is in the store before the collector starts, as after months of use.
    ({ dataDir, city } = await seededCityDir('mamori-scale-', { pcs: 3000, perPc: 3, closeEvery: 3 }));
    t = await startTestCollector({ dataDir });
    ({ browser, page } = await signedInConsole(t.collector.consoleUrl, t.admin, PASSWORD, { locale: 'ja-JP', viewport: { width: 1280, height: 720 } }));
    await page.waitForSelector('[data-testid=live-table] tr.vrow');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const summary = () => page.getByTestId('live-table-summary');

  it('shows the exact number of open violations and pages through them', async () => {
    // Three events per PC: two opened, the second closed again.
    expect(city.totalOpen).toBe(3000);
    await expect.poll(() => summary().textContent()).toBe(`${num(city.totalOpen)} 件中 1–50 件`);
    expect(await page.locator('[data-testid=live-table] tr.vrow').count()).toBe(50);
    await page.getByTestId('page-next').click();
    await expect.poll(() => summary().textContent()).toBe(`${num(city.totalOpen)} 件中 51–100 件`);
  });

  it('filters by 課 and finds every violation of one PC by its name', async () => {
    await page.selectOption('[data-testid=live-filters] select[name=department]', '税務課');
    const zeimu = city.pcs.filter((p) => p.department === '税務課').reduce((n, p) => n + city.open.get(p.id)!, 0);
    await expect.poll(() => summary().textContent()).toBe(`${num(zeimu)} 件中 1–50 件`);
    const rows = await page.locator('[data-testid=live-table] tr.vrow').allTextContents();
    expect(rows.every((r) => r.includes('税務課'))).toBe(true);

    await page.selectOption('[data-testid=live-filters] select[name=department]', '');
    const pc = city.pcs[1234]!;
    await page.getByTestId('live-search').fill(pc.hostname.toLowerCase());
    await expect.poll(() => summary().textContent()).toBe(`${city.open.get(pc.id)} 件中 1–${city.open.get(pc.id)} 件`);
    expect((await page.locator('[data-testid=live-table] tr.vrow').allTextContents()).every((r) => r.includes(pc.hostname))).toBe(true);
    // The filters are in the address, so the list can be linked to.
    expect(page.url()).toContain(`q=${pc.hostname.toLowerCase()}`);
    await page.getByTestId('live-search').fill('');
    await expect.poll(() => summary().textContent()).toBe(`${num(city.totalOpen)} 件中 1–50 件`);
  });

  it('merges a new violation into 1,000 rows shown without rebuilding them', async () => {
    await page.selectOption('[data-testid=page-size]', '1000');
    await expect.poll(() => summary().textContent()).toBe(`${num(city.totalOpen)} 件中 1–1,000 件`);
    // Mark the rows now shown: a rebuild would replace them with unmarked ones.
    await page.evaluate(() => document.querySelectorAll('[data-testid=live-table] tr.vrow').forEach((tr) => tr.setAttribute('data-mark', '1')));
    const pc = city.pcs[7]!;
    const v = { ...cityViolation(0, pc.hostname), subject: `0781:5567:LIVE-${Date.now()}`, severity: 'critical' as const };
    const event: AgentEvent = { seq: 4, at: new Date().toISOString(), kind: 'violation.opened', violation: v, policyVersion: 1 };
    const receivedAt = new Date().toISOString();
    await t.collector.store.ingest([{ agentId: pc.id, events: [event] }], receivedAt);
    t.collector.bus.emit('event', { agentId: pc.id, hostname: pc.hostname, event, receivedAt });
    const row = page.locator(`[data-testid=live-table] tr.vrow[data-key="${pc.id}|USB-001|${v.subject}"]`);
    await row.waitFor({ timeout: 20_000 });
    expect(await row.getAttribute('class')).toContain('fresh');
    // Critical, newest: first row; the 999 others are the same elements as before.
    expect(await page.locator('[data-testid=live-table] tr.vrow').first().getAttribute('data-key')).toBe(`${pc.id}|USB-001|${v.subject}`);
    expect(await page.locator('[data-testid=live-table] tr.vrow[data-mark="1"]').count()).toBe(999);
    await expect.poll(() => summary().textContent()).toBe(`${num(city.totalOpen + 1)} 件中 1–1,000 件`);

    // Its close turns the same row closed in place.
    const close: AgentEvent = { seq: 5, at: new Date().toISOString(), kind: 'violation.closed', checkId: 'usb-media', ruleId: 'USB-001', subject: v.subject, reason: 'removed' };
    await t.collector.store.ingest([{ agentId: pc.id, events: [close] }], receivedAt);
    t.collector.bus.emit('event', { agentId: pc.id, hostname: pc.hostname, event: close, receivedAt });
    await row.and(page.locator('[data-state="closed"]')).waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid=live-table] tr.vrow[data-mark="1"]').count()).toBe(999);
    await expect.poll(() => summary().textContent(), { timeout: 20_000 }).toBe(`${num(city.totalOpen)} 件中 1–1,000 件`);
  });

  it('lays out only the rows of 1,000 near the screen and shows the others when scrolled to', async () => {
    const rows = '[data-testid=live-table] tr.vrow';
    expect(await page.locator(rows).count()).toBe(1000);
    expect(await page.locator(`${rows}:not([hidden])`).count()).toBeLessThan(1000);
    // Which of the 1,000 rows are on the screen after scrolling to the end, and back to the start.
    const onScreen = (): Promise<[number, number]> =>
      page.evaluate((sel) => {
        const all = [...document.querySelectorAll<HTMLElement>(sel)];
        const seen = all.flatMap((r, i) => {
          const b = r.getBoundingClientRect();
          return !r.hidden && b.bottom > 0 && b.top < innerHeight ? [i] : [];
        });
        return [seen[0] ?? -1, seen[seen.length - 1] ?? -1];
      }, rows);
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await expect.poll(async () => (await onScreen())[1]).toBe(999);
    await page.evaluate(() => window.scrollTo(0, 0));
    await expect.poll(async () => (await onScreen())[0]).toBe(0);
  });
});
