/**
 * The console in real Chromium (playwright-core) against a real collector and a real agent
 * process replaying a Linux recording: login with the one-time password, a violation that
 * arrives live when the recording "plugs in" a USB stick, scan now, registering the stick from
 * its violation (the agent gets the new ledger and closes the violation), an exception
 * approved by a second person, and the self-inspection report download.
 * Screenshots go to test-results/screenshots/.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { consoleOf } from '../../src/collector/console/plugin.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { createLogger } from '../../src/shared/log.js';

const CHROMIUM = process.env.MAMORI_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..', '..');
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'linux-usb-stick');
const STICK = '0781:5567:4C530001230411115432';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`browser tests: Chromium not found at ${CHROMIUM}. Install the Debian packages "chromium" and "fonts-noto-cjk" (or set MAMORI_CHROMIUM).`);
  process.stderr.write(`browser tests skipped: Chromium not found at ${CHROMIUM} (apt-get install chromium fonts-noto-cjk)\n`);
}

let browser: Browser;
let collector: RunningCollector;
let agent: ChildProcess;
const agentOutput: string[] = [];
let recording: string;
let adminPassword = '';
const NEW_PASSWORD = 'Mamori-Console-2026!';
const SECOND_PASSWORD = 'Second-Approver-2026!';

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function login(page: Page, user: string, password: string): Promise<void> {
  await page.goto(collector.consoleUrl);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

describe.skipIf(!haveChromium)('console in Chromium', () => {
  let ctxA: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    const dataDir = mkdtempSync(join(tmpdir(), 'mamori-browser-'));
    collector = await startCollector({ dataDir, log: createLogger({ component: 'collector', console: false }), gateway: { heartbeatSeconds: 5 } });
    adminPassword = consoleOf(collector.app).initialAdmin!.password;
    // The recording starts with nothing attached; the test plugs the stick in later.
    recording = join(dataDir, 'recording');
    cpSync(FIXTURE, recording, { recursive: true });
    writeFileSync(join(recording, 'usb.devices.out'), '["1-0:1.0","usb1"]');
    const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 600_000, singleUse: true });
    agent = spawn(process.execPath, [join(ROOT, 'bin', 'mamori.js'), 'agent', 'run', '--collector', collector.agentUrl, '--enroll', token, '--state', join(dataDir, 'agent'), '--replay', recording, '--insecure-plain'], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.on('data', (b: Buffer) => agentOutput.push(b.toString()));
    agent.stderr!.on('data', (b: Buffer) => agentOutput.push(b.toString()));
    const deadline = Date.now() + 30_000;
    while (!(await collector.store.listAgents()).some((a) => a.online)) {
      if (Date.now() > deadline) throw new Error(`agent did not connect:\n${agentOutput.join('')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    ctxA = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    page = await ctxA.newPage();
  }, 120_000);

  afterAll(async () => {
    agent?.kill('SIGTERM');
    await browser?.close();
    await collector?.close();
    if (recording) rmSync(recording, { recursive: true, force: true });
  });

  it('logs in with the one-time password, forces a new one, and shows the logging notice', async () => {
    await page.goto(collector.consoleUrl);
    await expect(page.getByTestId('login-notice').textContent()).resolves.toContain('記録');
    await shot(page, '01-login');
    await login(page, 'admin', adminPassword);
    await page.waitForSelector('input[name=next]');
    await page.fill('input[name=current]', adminPassword);
    await page.fill('input[name=next]', NEW_PASSWORD);
    await page.fill('input[name=confirm]', NEW_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=live-table]');
    await expect(page.getByTestId('footer-notice').textContent()).resolves.toContain('記録されます');
    expect(await page.getByTestId('whoami').textContent()).toContain('管理者');
  });

  it('shows a new violation from the agent without a reload', async () => {
    await page.waitForSelector('.live-status.up');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    // Plug the stick in: the agent's replay watcher sees the recording change.
    writeFileSync(join(recording, 'usb.devices.out'), '["1-0:1.0","1-1","1-1:1.0","usb1"]');
    const row = page.locator(`tr[data-rule="USB-001"][data-state="open"]`);
    await row.waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    const text = await row.textContent();
    // The message names the stick by its ids and serial, in Japanese.
    expect(text).toContain(`ベンダーID 0781、製品ID 5567、シリアル ${STICK.split(':')[2]}`);
    expect(text).toContain('第4章4(1)ア');
    expect(text).toContain('川崎市情報セキュリティ基準');
    await shot(page, '02-live-violation');
  });

  it('scans a PC now and shows the result', async () => {
    await page.goto(`${collector.consoleUrl}#/scan`);
    await page.waitForSelector('[data-testid=scan-table] tr.pcrow');
    await page.locator('input[data-testid=scan-pick]').first().check();
    await page.click('[data-testid=scan-selected-start]');
    await page.locator('[data-testid=scan-table] tr[data-state="done"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid=scan-table]').textContent()).toContain('完了');
    // The stick is still attached: the USB check says how many violations it found, not a bare "ok".
    expect(await page.locator('[data-testid=scan-table] li[data-check="usb-media"]').textContent()).toBe('USB媒体: 違反 1 件');
    expect(await page.locator('[data-testid=scan-table]').textContent()).not.toMatch(/\bok\b/);
    await shot(page, '03-scan-now');
  });

  it("shows the PC page's notices to its user (none: a replayed PC has nobody at it)", async () => {
    const agentId = collector.gateway.connectedAgents[0]!;
    await page.goto(`${collector.consoleUrl}#/pc/${encodeURIComponent(agentId)}`);
    await page.getByTestId('pc-notices-none').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('pc-notices-none').textContent()).toBe('この端末の利用者への通知はまだありません');
  });

  it('registers the stick from its violation and sees the violation close', async () => {
    await page.goto(`${collector.consoleUrl}#/live`);
    const row = page.locator(`tr[data-rule="USB-001"][data-state="open"]`);
    await row.waitFor();
    await row.getByTestId('register-medium').click();
    await page.fill('dialog input[name=stickerNo]', 'K-USB-0042');
    await page.fill('dialog input[name=owner]', '情報政策課 山田');
    await page.fill('dialog input[name=department]', '情報政策課');
    await page.selectOption('dialog select[name=encryption]', 'hardware');
    await shot(page, '04-register-dialog');
    await page.click('[data-testid=media-save]');
    // The row shown turns closed in place when the agent reports the close (no reload).
    await page.locator(`tr[data-rule="USB-001"][data-state="closed"]`).waitFor({ timeout: 20_000 });
    await shot(page, '05-violation-closed');
    await page.goto(`${collector.consoleUrl}#/media`);
    await page.locator('tr[data-sticker="K-USB-0042"]').waitFor();
    expect(await page.locator('tr[data-sticker="K-USB-0042"]').textContent()).toContain(STICK);
    await shot(page, '06-media-ledger');
  });

  it('needs a second person to approve an exception', async () => {
    // A second stick (same sysfs shape as the recorded one, its own serial) is plugged into port 1-2.
    for (const f of ['bcddevice', 'idproduct', 'idvendor', 'manufacturer', 'product']) cpSync(join(recording, `usb.1-1.${f}.out`), join(recording, `usb.1-2.${f}.out`));
    for (const f of ['class', 'hosts', 'protocol', 'subclass']) cpSync(join(recording, `usb.1-1_1.0.${f}.out`), join(recording, `usb.1-2_1.0.${f}.out`));
    writeFileSync(join(recording, 'usb.1-2.serial.out'), '4C530001230411119999');
    writeFileSync(join(recording, 'usb.devices.out'), '["1-0:1.0","1-1","1-1:1.0","1-2","1-2:1.0","usb1"]');
    // Admin 1 requests an exception for it.
    await page.goto(`${collector.consoleUrl}#/live`);
    const target = page.locator('tr[data-state="open"]').filter({ has: page.getByTestId('request-exception') }).first();
    await target.waitFor({ timeout: 20_000 });
    const ruleId = await target.getAttribute('data-rule');
    await target.getByTestId('request-exception').click();
    await page.fill('dialog textarea[name=reason]', '更新用サーバの移行期間中のため (移行完了まで)');
    await page.click('[data-testid=exception-save]');
    await page.goto(`${collector.consoleUrl}#/exceptions`);
    const req = page.locator('tr[data-state="requested"]').first();
    await req.waitFor();
    expect(await req.textContent()).toContain('自分の申請は承認できません');
    expect(await req.getByTestId('approve').count()).toBe(0);

    // Admin 2 approves it in a separate browser session.
    const created = await page.evaluate(async () => {
      const me = await (await fetch('/api/v1/session')).json();
      const res = await fetch('/api/v1/users', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken }, body: JSON.stringify({ username: 'shonin', displayName: '承認者 佐藤', role: 'admin' }) });
      return res.json();
    });
    const ctxB = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1440, height: 900 } });
    const pageB = await ctxB.newPage();
    await login(pageB, 'shonin', created.oneTimePassword);
    await pageB.waitForSelector('input[name=next]');
    await pageB.fill('input[name=current]', created.oneTimePassword);
    await pageB.fill('input[name=next]', SECOND_PASSWORD);
    await pageB.fill('input[name=confirm]', SECOND_PASSWORD);
    await pageB.click('button[type=submit]');
    await pageB.waitForSelector('[data-testid=live-table]');
    await pageB.goto(`${collector.consoleUrl}#/exceptions`);
    const reqB = pageB.locator('tr[data-state="requested"]').first();
    await reqB.getByTestId('approve').click();
    await pageB.locator('tr[data-state="approved"]').first().waitFor();
    await shot(pageB, '07-exception-approved');
    await ctxB.close();

    // The finding now shows as 例外 (excepted) on the live screen, not hidden.
    await page.goto(`${collector.consoleUrl}#/live`);
    const excepted = page.locator(`tr[data-rule="${ruleId}"][data-state="open"]`).first();
    await excepted.waitFor();
    expect(await excepted.textContent()).toContain('例外');
  });

  it('lists every rule on the policy screen under its area', async () => {
    await page.goto(`${collector.consoleUrl}#/policy`);
    await page.waitForSelector('tr[data-area=wireless]');
    expect(await page.locator('tr[data-area=wireless]').first().textContent()).toContain('無線LAN');
    for (const [area, rule] of [['autorun', 'MEDIA-001'], ['services', 'SVC-001'], ['logging', 'LOG-001'], ['mfa', 'MFA-001'], ['cloud-accounts', 'CLOUD-001'], ['local-accounts', 'ACCT-001']] as const) {
      expect(await page.locator(`tr[data-area=${area}]`).allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining(rule)]));
    }
    await shot(page, '07-policy-areas');
  });

  it('downloads the self-inspection report as CSV and prints the page', async () => {
    await page.goto(`${collector.consoleUrl}#/reports`);
    await page.waitForSelector('[data-testid=report-rules]');
    expect(await page.locator('[data-testid=report-rules]').textContent()).toContain('USB-001');
    // Every area the agent checks has its row by name, the newer ones included (unknown on this recording).
    const areas = await page.locator('[data-testid=report-areas]').textContent();
    for (const name of ['USB媒体', '自動再生・外部媒体', 'サービス・機能', 'ログ', '無線LAN', '多要素認証', '個人向けクラウドストレージ', 'ローカルアカウント']) expect(areas).toContain(name);
    expect(areas).not.toMatch(/cloud-accounts|local-accounts|wireless/);
    await shot(page, '08-report');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=report-csv]')]);
    const path = join(SHOTS, 'self-inspection.csv');
    await download.saveAs(path);
    const csv = readFileSync(path, 'utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    expect(csv).toContain('範囲,作成日時,ルール,ルール名');
    // The PC's one USB-001 finding (the second stick) is covered by the approved exception: 例外 1.
    expect(csv).toMatch(/USB-001,媒体管理台帳に登録された媒体だけが接続されていること,高,川崎市情報セキュリティ基準,第4章4\(1\)ア,0,0,1,0,0,1/);
    await page.emulateMedia({ media: 'print' });
    await shot(page, '09-report-print');
    await page.emulateMedia({ media: 'screen' });
  });

  it('switches to English and keeps the audit trail verifiable', async () => {
    await page.goto(`${collector.consoleUrl}#/audit`);
    await page.getByTestId('lang').click();
    await page.waitForSelector('text=Audit log');
    await page.click('text=Verify integrity');
    await page.getByTestId('audit-verify-result').getByText('No tampering').waitFor();
    await shot(page, '10-audit-en');
    await page.goto(`${collector.consoleUrl}#/overview`);
    await page.waitForSelector('.tiles');
    await shot(page, '11-overview-en');
    // ルール判定結果 on the PC page: the reason in English when switched, in Japanese by default.
    await page.goto(`${collector.consoleUrl}#/pcs`);
    const pcHref = await page.locator('[data-testid=pcs-table] a[href^="#/pc/"]').first().getAttribute('href');
    await page.goto(`${collector.consoleUrl}${pcHref}`);
    const usbResult = page.locator('[data-testid=pc-rule-results] tr', { hasText: 'USB-001' });
    await usbResult.waitFor();
    expect(await usbResult.textContent()).toContain('1 of 2 USB storage devices fail: USB device');
    await page.getByTestId('lang').click();
    await page.locator('[data-testid=pc-rule-results] tr', { hasText: 'USB媒体 2 件中 1 件が不適合' }).waitFor();
    await page.goto(`${collector.consoleUrl}#/pcs`);
    await page.waitForSelector('[data-testid=pcs-table]');
    await shot(page, '12-pcs');
  });
});
