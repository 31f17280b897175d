/**
 * With the language switch on English, an English-reading user reads English on every screen:
 * Chromium walks the 16 screens of test/browser/japanese-throughout.test.ts (and the page of a PC with a 資産管理台帳) on a seeded
 * collector and flags each run of Japanese characters in the visible text that is not data — the
 * names of 課, PCs, people, media and the texts people typed (an exception's reason), the names of
 * the standards a site follows — nor the switch back to 日本語. What the console shows as code
 * (<pre>, <code>, monospace) is evidence and identifiers and is not read here.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CITY_DEPARTMENTS } from '../../bench/lib/city.js';
import type { City } from '../../bench/lib/city.js';
import { localCheck } from '../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../agent/memory.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { consoleOf } from '../../src/collector/console/plugin.js';
import { Client, seedAgent, seedEvents, startTestCollector } from '../console/helpers.js';
import type { TestCollector } from '../console/helpers.js';
import { haveChromium, seededCityDir, signedInConsole } from '../helpers/city-console.js';
import { seedWalkData, visibleText, walkedScreens } from './console-walk.js';
import { ROOT } from '../helpers/processes.js';

const PASSWORD = 'English-Walk-2026!';

/**
 * Japanese that is data or a name on these screens: what the test entered, the seeded 課, the
 * display name of the account the collector creates first, the product's mark (守), the
 * switch back to 日本語 and what a recorded PC names in Japanese.
 */
const DATA = ['総務課 佐藤', '総務課', '佐藤', '暗号化USBメモリ', '窓口端末のため', '管理者 (admin)', '守', '日本語', ...CITY_DEPARTMENTS,
  // The network adapter's name a Japanese Windows gives it, in the recorded PC's inventory.
  'イーサネット'];

/**
 * The reasons of the seeded events, which carry only their Japanese text (as the events of
 * agents before reason messages did): the console shows such a text as given in both languages.
 */
const TEXT_ONLY_REASONS = [/USB記憶媒体 \S+ は媒体管理台帳にありません/g, /\S+ は許可リストにありません/g];

/**
 * Names the standards give, which the rules' English texts (config/rules) use as they are or
 * quote after their English words: the segment and the officers the standards name, their
 * procedures and registers, and the wording they are quoted for ("always up to date" (常に最新)).
 */
const STANDARD_TERMS = ['マイナンバー利用事務系', '情報セキュリティ管理者', '情報システム管理者', '例外措置', '媒体管理台帳', '常に最新', '定期的', '常駐', '推奨事項'];


/** A run of Japanese characters (kana, kanji, full-width forms and the long-vowel mark). */
const JAPANESE_RUN = /[\u3040-\u30ff\u3400-\u9fff\uff01-\uff60\u3000-\u303f]+/g;

describe.skipIf(!haveChromium)('English throughout the console with the switch (Chromium)', () => {
  let browser: Browser;
  let t: TestCollector;
  let city: City;
  let page: Page;
  let dataDir: string;
  /** A PC with a 資産管理台帳 (the inventory a recorded Windows PC gives), for its page in English. */
  let inventoried: string;
  /** The standards the rules cite (config/sources.yml): their names, and their clause numbers as each numbers them ("第4章4(1)ア"). */
  const sources = (parse(readFileSync(join(ROOT, 'config', 'sources.yml'), 'utf8')) as { sources: { title: string; organisation: string; refPattern: string }[] }).sources;
  const sourceNames = sources.flatMap((s) => [s.title, s.organisation]);
  const clauseRefs = sources.map((s) => new RegExp(s.refPattern.replace(/^\^/, '').replace(/\$$/, ''), 'gu'));

  beforeAll(async () => {
    ({ dataDir, city } = await seededCityDir('mamori-english-', { pcs: 40, perPc: 3, closeEvery: 3, results: [{ ruleId: 'USB-001', checkId: 'usb-media' }, { ruleId: 'LOCK-001', checkId: 'screen-lock' }] }));
    t = await startTestCollector({ dataDir });
    ({ browser, page } = await signedInConsole(t.collector.consoleUrl, t.admin, PASSWORD, { locale: 'en-GB', timezoneId: 'Asia/Tokyo', viewport: { width: 1440, height: 900 } }));
    await page.waitForSelector('[data-testid=live-table] tr.vrow');
    const api = new Client(t.base);
    expect((await api.login(t.admin.username, PASSWORD)).status).toBe(200);
    await seedWalkData(api, city);
    inventoried = await seedAgent(t, 'SOUMU-PC012');
    const report = await localCheck({ replayDir: join(ROOT, 'agent/checks/inventory/fixtures/windows/w11-24h2-pro-ja-desktop'), checks: ['inventory'], memory: new InMemoryCheckMemory() });
    const c = report.checks[0]!;
    await seedEvents(t, inventoried, 'SOUMU-PC012', [{ kind: 'facts', at: report.at, checkId: 'inventory', status: c.status, facts: { ...c.facts, _unknown: c.unknownFacts } } as NewAgentEvent]);
    await consoleOf(t.collector.app).inventory.idle();
    // The switch, as a user clicks it.
    await page.getByTestId('lang').click();
    await page.waitForFunction(() => document.documentElement.lang === 'en');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('every main screen reads English with the switch: no Japanese outside data and names', async () => {
    expect(await page.evaluate(() => localStorage.getItem('mamori.lang'))).toBe('en');
    const data = [...DATA, ...STANDARD_TERMS, ...sourceNames, ...city.pcs.map((p) => p.hostname)];
    const flagged: Record<string, string[]> = {};
    for (const [hash, ready] of walkedScreens(city, [[`pc/${inventoried}`, '[data-testid=pc-inventory] dl']])) {
      const text = await visibleText(page, t.collector.consoleUrl, hash, ready);
      // Lines made of data only (a 課 name, a standard's title) are taken out first, then each run of Japanese is looked at.
      let rest = text;
      for (const reason of TEXT_ONLY_REASONS) rest = rest.replace(reason, ' ');
      for (const d of [...data].sort((a, b) => b.length - a.length)) rest = rest.split(d).join(' ');
      // A clause number may match several sources' patterns in part ("§8" of 000 in "§8.4(2)エ" of 004): every match is blanked.
      const blank = new Array<boolean>(rest.length).fill(false);
      for (const ref of clauseRefs) for (const m of rest.matchAll(ref)) blank.fill(true, m.index, m.index + m[0].length);
      rest = rest.split('').map((c, i) => (blank[i] ? ' ' : c)).join('');
      const odd = [...new Set(rest.match(JAPANESE_RUN) ?? [])].map((run) => run.replace(/[\u3000-\u303f\uff01-\uff60]/g, '')).filter((run) => run !== '');
      if (odd.length) flagged[hash] = odd;
    }
    if (Object.keys(flagged).length) console.log(JSON.stringify(flagged, null, 1));
    // The 資産管理台帳 on the PC page is the English one, not only free of Japanese.
    const inventoryPage = await visibleText(page, t.collector.consoleUrl, `pc/${inventoried}`, '[data-testid=pc-inventory] dl');
    for (const label of ['Manufacturer', 'Serial number', 'Memory', 'Signed-in users', 'Domain/workgroup']) expect(inventoryPage).toContain(label);
    expect(flagged).toEqual({});
  }, 300_000);
});
