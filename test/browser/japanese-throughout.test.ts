/**
 * A Japanese user reads Japanese on every screen: Chromium walks the console's screens on a
 * seeded collector (PCs with violations and rule results, media, an exception, an account) and
 * flags each word of Latin letters in the visible text that is not a name, an id, a version or a
 * term a Japanese administrator reads as is (the allow-list below). What the console shows as
 * code (<pre>, <code> and monospace: the raw facts of the PC page, action codes, addresses) is
 * evidence and identifiers and is not read here, nor an action family's code in the 操作記録 filter.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { City } from '../../bench/lib/city.js';
import { Client, startTestCollector } from '../console/helpers.js';
import type { TestCollector } from '../console/helpers.js';
import { haveChromium, seededCityDir, signedInConsole } from '../helpers/city-console.js';
import { seedWalkData, visibleText, walkedScreens } from './console-walk.js';

const PASSWORD = 'Japanese-Walk-2026!';

/** Words of Latin letters a Japanese administrator reads as they are (product, protocol and standard names, units). */
const ALLOWED = new Set([
  'mamori', 'PC', 'PCs', 'OS', 'ID', 'IDs', 'USB', 'CSV', 'LGWAN', 'Windows', 'Linux', 'Debian', 'Ubuntu', 'BitLocker', 'GPO', 'Microsoft', 'Defender', 'Entra',
  'TLS', 'HTTPS', 'HTTP', 'URL', 'IP', 'IPv4', 'IPv6', 'MAC', 'DHCP', 'CPU', 'MB', 'GB', 'TB', 'KB', 'MHz', 'GHz', 'BIOS', 'UEFI', 'SMART', 'SSD', 'HDD', 'NIC',
  'JST', 'FW', 'AV', 'MFA', 'Wi-Fi', 'SIEM', 'syslog', 'Syslog', 'JSON', 'CEF', 'LEEF', 'TCP', 'UDP', 'SHA-256', 'SHA256', 'CA', 'QR',
  // The switch to English is written in English; 無線LAN.
  'English', 'LAN',
  // The collector's own account in 操作記録.
  'system',
  'MUST', 'SHOULD', 'MAY', 'OK', 'admin', 'linux', 'windows', 'x64', 'arm64', 'amd64', 'deb', 'rpm', 'msi', 'MSI', 'ISMAP', 'NISC', 'FY', 'API', 'macOS',
  // Names of settings and standards in the rule texts, and of protocols on the forwarders screen.
  'UAC', 'AutoPlay', 'AutoRun', 'CIS', 'AutoBackup', 'apt', 'SMB1', 'login.defs', 'PASS_MAX_DAYS', 'HID', 'WPA2/WPA3-Enterprise', 'VID:PID', 'RFC', 'Webhook', 'POST',
]);

/** What the seeded data names in Latin letters: host names, agent and rule ids, versions, account names. */
function dataWord(w: string, city: City): boolean {
  return (
    /^[A-Z]+-PC\d+$/.test(w) ||
    /^user\d+$/.test(w) ||
    /^ag_[0-9a-z]+$/.test(w) ||
    /^[A-Z]+-\d{3}$/.test(w) ||
    /^v?\d+(\.\d+)*$/.test(w) ||
    /^(ex|exc|tok|loan|med|note|fw|acct)_[0-9a-z]+$/.test(w) ||
    /^(WALK01|tanaka)$/.test(w) ||
    // The seeded city's subjects and the closing reason its events give.
    /^(unapproved-tool|pattern|lock)-\d+$/.test(w) ||
    w === 'resolved' ||
    // A request path, the target of an audit entry that names no object.
    /^api\/v1\//.test(w) ||
    city.pcs.some((p) => p.hostname === w)
  );
}

describe.skipIf(!haveChromium)('Japanese throughout the console (Chromium)', () => {
  let browser: Browser;
  let t: TestCollector;
  let city: City;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    ({ dataDir, city } = await seededCityDir('mamori-japanese-', { pcs: 40, perPc: 3, closeEvery: 3, results: [{ ruleId: 'USB-001', checkId: 'usb-media' }, { ruleId: 'LOCK-001', checkId: 'screen-lock' }] }));
    t = await startTestCollector({ dataDir });
    ({ browser, page } = await signedInConsole(t.collector.consoleUrl, t.admin, PASSWORD, { locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1440, height: 900 } }));
    await page.waitForSelector('[data-testid=live-table] tr.vrow');
    const api = new Client(t.base);
    expect((await api.login(t.admin.username, PASSWORD)).status).toBe(200);
    await seedWalkData(api, city);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('every main screen reads Japanese by default: no English word outside names, ids and the allow-list', async () => {
    const flagged: Record<string, string[]> = {};
    for (const [hash, ready] of walkedScreens(city)) {
      const text = (await visibleText(page, t.collector.consoleUrl, hash, ready)).replace(/\([a-z_]+\.\*\)/g, '');
      const words = text.match(/[A-Za-z][A-Za-z0-9_.\-/:]*[A-Za-z0-9]|[A-Za-z]/g) ?? [];
      const odd = [...new Set(words.filter((w) => w.length > 1 && !ALLOWED.has(w) && !dataWord(w, city)))];
      if (odd.length) flagged[hash] = odd;
    }
    if (Object.keys(flagged).length) console.log(JSON.stringify(flagged));
    expect(flagged).toEqual({});
  }, 300_000);

  it('with the English switch, the CSV links of 端末一覧, 操作記録 and 媒体管理台帳 give English files; back in Japanese, Japanese ones', async () => {
    const header = async (hash: string, ready: string, testid: string) => {
      await page.goto('about:blank');
      await page.goto(`${t.collector.consoleUrl}#/${hash}`);
      await page.waitForSelector(ready);
      await page.waitForLoadState('networkidle');
      const href = (await page.getByTestId(testid).getAttribute('href'))!;
      const body = await page.evaluate(async (url) => (await fetch(url)).text(), href);
      return { href, header: body.replace(/^\uFEFF/, '').split('\r\n')[0]! };
    };
    const files = async () => ({
      pcs: await header('pcs', '[data-testid=pcs-table] tr.pcrow', 'pcs-csv'),
      audit: await header('audit', '.content table tbody tr', 'audit-csv'),
      media: await header('media', '.content table tbody tr', 'media-csv'),
    });
    const ja = await files();
    expect(ja.pcs.header.startsWith('端末名,接続,')).toBe(true);
    expect(ja.audit.header.startsWith('番号,日時,')).toBe(true);
    expect(ja.media.header.startsWith('登録番号,')).toBe(true);
    for (const f of Object.values(ja)) expect(f.href).not.toContain('lang=');

    await page.getByTestId('lang').click();
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    const en = await files();
    expect(en.pcs.header.startsWith('PC,Connection,Last contact (JST),')).toBe(true);
    expect(en.audit.header.startsWith('No.,Time (JST),Account,')).toBe(true);
    expect(en.media.header.startsWith('sticker_no,fingerprint,')).toBe(true);
    for (const f of Object.values(en)) expect(f.href).toContain('lang=en');

    await page.getByTestId('lang').click();
    await page.waitForFunction(() => document.documentElement.lang === 'ja');
    expect((await files()).pcs.header.startsWith('端末名,')).toBe(true);
  }, 300_000);
});
