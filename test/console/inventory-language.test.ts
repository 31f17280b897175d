/**
 * A PC's 資産管理台帳 lines in the console's two languages: GET /api/v1/pcs/:id/inventory answers
 * `lines` in Japanese and `linesEn` in English (labels, the words inside values, and why a fact
 * is unknown), from the inventory the check reads on recorded Windows PCs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCheck } from '../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../agent/memory.js';
import { startCollector } from '../../src/collector/collector.js';
import { consoleOf, consolePlugin } from '../../src/collector/console/plugin.js';
import { silentLogger } from '../../src/shared/log.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { adminClient, seedAgent, seedEvents } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '../../agent/checks/inventory/fixtures/windows');

async function inventoryEvent(recording: string): Promise<NewAgentEvent> {
  const report = await localCheck({ replayDir: join(FIXTURES, recording), checks: ['inventory'], memory: new InMemoryCheckMemory() });
  const c = report.checks[0]!;
  return { kind: 'facts', at: report.at, checkId: 'inventory', status: c.status, facts: { ...c.facts, _unknown: c.unknownFacts, ...(c.unknownMsgs ? { _unknownMsg: c.unknownMsgs } : {}) } } as NewAgentEvent;
}

type Lines = [string, string][];
const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff]/;

describe('資産管理台帳 lines in Japanese and English', () => {
  let t: TestCollector;
  let admin: Client;
  let desktop: string;
  let notebook: string;

  beforeAll(async () => {
    const collector = await startCollector({ dataDir: mkdtempSync(join(tmpdir(), 'mamori-inventory-lang-')), log: silentLogger(), plugins: [consolePlugin({})] });
    t = { collector, base: collector.consoleUrl.replace(/\/$/, ''), admin: consoleOf(collector.app).initialAdmin!, close: () => collector.close() };
    admin = await adminClient(t);
    desktop = await seedAgent(t, 'SOUMU-PC012');
    notebook = await seedAgent(t, 'KOSODATE-NB07');
    await seedEvents(t, desktop, 'SOUMU-PC012', [await inventoryEvent('w11-24h2-pro-ja-desktop')]);
    await seedEvents(t, notebook, 'KOSODATE-NB07', [await inventoryEvent('w10-22h2-pro-ja-notebook-wmi-broken')]);
    await consoleOf(t.collector.app).inventory.idle();
  });
  afterAll(async () => {
    await t?.close();
  });

  const inventoryOf = async (id: string) => (await admin.request('GET', `/api/v1/pcs/${id}/inventory`)).json as { lines: Lines; linesEn: Lines };

  it('labels the same lines in both languages, in the same order', async () => {
    const { lines, linesEn } = await inventoryOf(desktop);
    expect(lines.map(([k]) => k)).toEqual(['メーカー', '機種', '製造番号', 'UUID', '筐体', 'BIOS/UEFI', 'CPU', 'メモリ', 'ディスク', 'ネットワーク', 'ディスプレイ', 'OS', 'OS ビルド', 'OS インストール日', '最終起動', 'ログオン中のユーザー', 'ドメイン/ワークグループ', 'エージェント']);
    expect(linesEn.map(([k]) => k)).toEqual(['Manufacturer', 'Model', 'Serial number', 'UUID', 'Chassis', 'BIOS/UEFI', 'CPU', 'Memory', 'Disks', 'Network', 'Displays', 'OS', 'OS build', 'OS installed', 'Last boot', 'Signed-in users', 'Domain/workgroup', 'Agent']);
    const ja = Object.fromEntries(lines);
    const en = Object.fromEntries(linesEn);
    expect(ja.CPU).toMatch(/\d+コア \d+スレッド/);
    expect(en.CPU).toMatch(/\d+ cores \d+ threads/);
    expect(ja['ネットワーク']).toMatch(/\((有線|無線)\)/);
    expect(en.Network).toMatch(/\((wired|wireless)\)/);
    expect(en['Domain/workgroup']).toMatch(/\((domain|workgroup|none)\)$/);
    // Only the PC's own data may be Japanese in English (an OS name, a user); the words around it are not.
    for (const [label, value] of linesEn) expect(`${label} ${value.replace(/Windows.*|\S*\\\S*/g, '')}`, label).not.toMatch(/コア|スレッド|有線|無線|固定|ドメイン|ワークグループ|不明|資産番号/);
  });

  it('says why a fact is unknown in the language of the lines', async () => {
    const { lines, linesEn } = await inventoryOf(notebook);
    const unknownJa = lines.filter(([, v]) => v.startsWith('不明 ('));
    const unknownEn = linesEn.filter(([, v]) => v.startsWith('unknown ('));
    expect(unknownJa.length).toBeGreaterThan(0);
    expect(unknownEn.length).toBe(unknownJa.length);
    for (const [, v] of unknownEn) expect(v).not.toMatch(JAPANESE);
  });
});
