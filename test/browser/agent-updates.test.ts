/**
 * The console's エージェント更新 screen in real Chromium: two signed packages uploaded to a
 * running collector, three PCs that said which installer they have (agent.notice update.ready,
 * stored and published as the gateway does). The administrator's rollout to a 課 is refused
 * until a canary group (a named PC) has installed the package; the PCs' reports then show as
 * 適用済, or 失敗 with their reason, per PC. Screenshot in test-results/screenshots/.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { consoleOf } from '../../src/collector/console/plugin.js';
import { AgentUpdates } from '../../src/collector/updates/rollouts.js';
import { createLogger } from '../../src/shared/log.js';
import type { AgentEvent, NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { statementBytes } from '../../src/shared/updates/statement.js';

const CHROMIUM = process.env.MAMORI_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(resolve(import.meta.dirname, '..', '..'), 'test-results', 'screenshots');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') throw new Error(`browser tests: Chromium not found at ${CHROMIUM} (apt-get install chromium fonts-noto-cjk)`);

let browser: Browser;
let collector: RunningCollector;
let dataDir: string;
let updates: AgentUpdates;
const release = generateKeyPairSync('ed25519');
const PCS = { a: 'PC-ZEIMU-001', b: 'PC-ZEIMU-002', c: 'PC-FUKUSHI-001' } as const;
const ids: Record<keyof typeof PCS, string> = { a: '', b: '', c: '' };
const seqs = new Map<string, number>();

/** Store a PC's events through the store's ingest and publish them on the bus, as the gateway does. */
async function report(agentId: string, events: NewAgentEvent[]): Promise<void> {
  let seq = seqs.get(agentId) ?? 0;
  const full = events.map((e) => ({ ...e, seq: ++seq }) as AgentEvent);
  seqs.set(agentId, seq);
  const receivedAt = new Date().toISOString();
  await collector.store.ingest([{ agentId, events: full }], receivedAt);
  const hostname = Object.values(PCS)[Object.values(ids).indexOf(agentId)]!;
  for (const event of full) collector.bus.emit('event', { agentId, hostname, event, receivedAt });
}
const notice = (name: string, detail: Record<string, string>): NewAgentEvent => ({ kind: 'agent.notice', at: new Date().toISOString(), notice: name, detail });

async function upload(version: string): Promise<void> {
  const file = join(dataDir, `mamori-agent_${version}_amd64.deb`);
  const bytes = Buffer.from(`a .deb of mamori-agent ${version}`);
  writeFileSync(file, bytes);
  const s = { product: 'mamori-agent' as const, platform: 'deb' as const, version, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  await updates.upload(file, JSON.stringify({ ...s, signature: sign(null, statementBytes(s), release.privateKey).toString('base64') }), 'release-admin');
}

/** Poll until `probe` gives a value (the collector handles bus events asynchronously). */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const stateOf = (host: string) => updates.status().then((rows) => rows.find((r) => r.hostname === host));

async function rollOut(page: Page, version: string, kind: string, fill: () => Promise<void>): Promise<string> {
  const form = page.locator('[data-testid=rollout-form]');
  await form.locator('select[name=packageId]').selectOption({ label: `${version} (deb)` });
  await form.locator('select[name=kind]').selectOption(kind);
  await fill();
  await form.locator('button[type=submit]').click();
  const box = page.locator('#flash .flash');
  await box.waitFor({ timeout: 30_000 });
  const text = await box.innerText();
  await box.evaluate((el) => el.remove());
  return text;
}

describe.skipIf(!haveChromium)('エージェント更新 screen', () => {
  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    dataDir = mkdtempSync(join(tmpdir(), 'mamori-browser-updates-'));
    collector = await startCollector({ dataDir, log: createLogger({ component: 'collector', console: false }) });
    updates = new AgentUpdates(collector.store.sql, dataDir);
    for (const [key, hostname] of Object.entries(PCS) as [keyof typeof PCS, string][]) {
      ids[key] = `ag_upd${key}${'0'.repeat(20)}`;
      await collector.store.createAgent({ id: ids[key], secret: '', hostname, os: { platform: 'linux', hostname, release: '6.1.0' }, agentVersion: '1.0.0', segment: 'lgwan', enrolledAt: new Date().toISOString(), tokenId: 'tok' });
    }
    await collector.store.setDepartments([ids.a, ids.b], '税務課');
    await collector.store.setDepartments([ids.c], '福祉課');
    await upload('1.0.0');
    await upload('1.0.1');
    // Each PC says, at its start, that dpkg installed it and which version it runs.
    for (const id of Object.values(ids)) await report(id, [notice('update.ready', { installer: 'deb', version: '1.0.0' })]);
    await until('the installers recorded', async () => ((await collector.store.sql.all('SELECT agent_id FROM agent_update_installers')).length === 3 ? true : undefined));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await collector?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('rolls a package out to a canary PC, then to a 課, and shows 適用済 and 失敗 with the reason per PC', async () => {
    const page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
    await page.goto(collector.consoleUrl);
    await page.fill('input[name=username]', consoleOf(collector.app).initialAdmin!.username);
    await page.fill('input[name=password]', consoleOf(collector.app).initialAdmin!.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('input[name=next]', { timeout: 30_000 });
    const next = 'Updates-Screen-2026!';
    await page.fill('input[name=current]', consoleOf(collector.app).initialAdmin!.password);
    await page.fill('input[name=next]', next);
    await page.fill('input[name=confirm]', next);
    await page.click('button[type=submit]');
    await page.waitForSelector('nav.sidenav', { timeout: 30_000 });
    await page.click('nav.sidenav a[href="#/updates"]');
    await page.locator('[data-testid=update-packages] tr[data-package]').nth(1).waitFor({ timeout: 30_000 });
    expect(await page.locator('h1').innerText()).toBe('エージェント更新');
    const versions = await page.locator('[data-testid=update-packages] tr[data-package] td:first-child').allInnerTexts();
    expect(versions.sort()).toEqual(['1.0.0', '1.0.1']);

    // A 課 before any canary: refused, nothing rolled out.
    const refused = await rollOut(page, '1.0.1', 'department', () => page.fill('[data-testid=rollout-form] input[name=department]', '税務課'));
    expect(refused).toContain('先にカナリアグループ (端末を指定) へ配信し');
    expect(await updates.status()).toEqual([]);

    // The canary group: one named PC.
    expect(await rollOut(page, '1.0.1', 'agents', () => page.fill('[data-testid=rollout-form] input[name=hostnames]', PCS.a))).toBe('1 台の端末への配信を登録しました。接続中の端末から順に更新します。');
    const canary = (await stateOf(PCS.a))!;
    const row = (host: string) => page.locator(`[data-testid=rollout-pcs] tr[data-rollout-pc$=" ${host}"]`);
    await row(PCS.a).waitFor({ timeout: 30_000 });
    expect((await row(PCS.a).locator('td').allInnerTexts()).slice(0, 6)).toEqual([PCS.a, '税務課', canary.rolloutId, '1.0.1', '1.0.0', '配信待ち']);

    // The PC reports the new version installed (as the agent does once it came back).
    await report(ids.a, [notice('update.installed', { rolloutId: canary.rolloutId, fromVersion: '1.0.0', toVersion: '1.0.1' })]);
    await until('the canary installed', async () => ((await stateOf(PCS.a))?.state === 'installed' ? true : undefined));
    await page.click('[data-testid=updates-reload]');
    await page.locator(`[data-testid=rollout-pcs] tr[data-rollout-pc$=" ${PCS.a}"] td:nth-child(6)`, { hasText: '適用済' }).waitFor({ timeout: 30_000 });

    // Now the 課: the other PC of 税務課 (the canary already has it; 福祉課 is not in it).
    expect(await rollOut(page, '1.0.1', 'department', () => page.fill('[data-testid=rollout-form] input[name=department]', '税務課'))).toContain('1 台の端末への配信を登録しました');
    const wave = (await stateOf(PCS.b))!;
    expect(wave.rolloutId).not.toBe(canary.rolloutId);
    expect(await stateOf(PCS.c)).toBeUndefined();
    const reason = 'パッケージ 1.0.1 の署名が、この端末に固定したリリース鍵のものではありません';
    await report(ids.b, [notice('update.failed', { rolloutId: wave.rolloutId, version: '1.0.1', reason })]);
    await until('the wave failed', async () => ((await stateOf(PCS.b))?.state === 'failed' ? true : undefined));
    await page.click('[data-testid=updates-reload]');
    const failed = page.locator(`[data-testid=rollout-pcs] tr[data-rollout-pc="${wave.rolloutId} ${PCS.b}"]`);
    await failed.locator('td:nth-child(6)', { hasText: '失敗' }).waitFor({ timeout: 30_000 });
    expect((await failed.locator('td').allInnerTexts())[6]).toBe(reason);

    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'agent-updates.png'), fullPage: true });
  }, 180_000);
});
