/**
 * The language switch for reasons: what the agent's checks give as the reason of a violation, of
 * its closing and of a rule result reaches the console as a message and is answered in Japanese
 * and English (the screens and CSV files show the chosen one, Japanese by default). A Windows recording is
 * judged by the agent's own localCheck and its events are stored through the store's ingest.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyFindingsState, findingsToEvents } from '../../agent/findings.js';
import { localCheck, productCatalogue } from '../../agent/local-check.js';
import { adminClient, seedAgent, seedEvents, startTestCollector } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

const RECORDING = join(import.meta.dirname, '../fixtures/replay/windows/w10-22h2-pro-ja-eset');
const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

let t: TestCollector;
let admin: Client;
let agentId = '';

beforeAll(async () => {
  t = await startTestCollector();
  admin = await adminClient(t);
  agentId = await seedAgent(t, 'ZEIMU-PC-07', 'mynumber');
  const report = await localCheck({ replayDir: RECORDING, segment: 'mynumber', policy: {}, checks: ['usb-media', 'antivirus'] });
  const { events, state } = findingsToEvents(report, productCatalogue().rules, emptyFindingsState());
  await seedEvents(t, agentId, 'ZEIMU-PC-07', events);
  // The ledger gains the stick: the next evaluation closes its violation, with the reason in both languages.
  const registered = report.checks.find((c) => c.id === 'usb-media')!.facts.devices as { fingerprint: string }[];
  const again = await localCheck({ replayDir: RECORDING, segment: 'mynumber', policy: { lists: { registeredMedia: registered.map((d) => d.fingerprint) } }, checks: ['usb-media'] });
  await seedEvents(t, agentId, 'ZEIMU-PC-07', findingsToEvents(again, productCatalogue().rules, state).events);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('reasons in the chosen language', () => {
  it('a rule result the check could not decide names what it could not read, in Japanese and in English', async () => {
    const pc = await admin.request('GET', `/api/v1/pcs/${agentId}`);
    expect(pc.status).toBe(200);
    const av = (pc.json.ruleResults as { ruleId: string; result: string; reasonText: { ja: string; en: string } }[]).find((r) => r.ruleId === 'AV-004')!;
    expect(av.result).toBe('unknown');
    // ESET seen only through SecurityCenter2: the product is named, and why its signature date is not known.
    expect(av.reasonText.ja).toMatch(/ESET.*SecurityCenter2 経由でしか見えず/);
    expect(av.reasonText.en).toMatch(/ESET.*is seen through SecurityCenter2, which reports only on\/off/);
    expect(av.reasonText.en).not.toMatch(JAPANESE);
  });

  it('a violation and its closing carry their reasons in both languages, and the CSV has the Japanese ones', async () => {
    const all = await admin.request('GET', '/api/v1/violations?state=all&limit=100');
    expect(all.status).toBe(200);
    const usb = (all.json.violations as { ruleId: string; state: string; reason: string; reasonText: { ja: string; en: string }; closedReasonText: { ja: string; en: string } | null }[]).filter((v) => v.ruleId === 'USB-001');
    expect(usb.length).toBeGreaterThan(0);
    for (const v of usb) {
      expect(v.reasonText.ja).toBe(v.reason);
      expect(v.reasonText.ja).toMatch(/媒体管理台帳 にありません$/);
      expect(v.reasonText.en).toMatch(/is not in the media ledger$/);
      expect(v.state).toBe('closed');
      expect(v.closedReasonText!.ja).toMatch(/^適合: /);
      expect(v.closedReasonText!.en).toMatch(/^pass: /);
    }
    const csv = await admin.request('GET', '/api/v1/violations.csv?state=all');
    const [header, ...rows] = csv.text.replace(/^\uFEFF/, '').trim().split('\r\n');
    const cols = header!.split(',');
    expect(cols).toContain('理由');
    expect(cols).toContain('解決の理由');
    const usbRow = rows.find((r) => r.includes('USB-001'))!;
    expect(usbRow).toContain(usb[0]!.reasonText.ja.split(':')[0]!);
    expect(usbRow).toMatch(/適合: /);
    // With the language switch: English headings and values, times still in JST.
    const en = await admin.request('GET', '/api/v1/violations.csv?state=all&lang=en');
    const [enHeader, ...enRows] = en.text.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(enHeader!.split(',').slice(0, 3)).toEqual(['State', 'Severity', 'PC']);
    const enUsb = enRows.find((r) => r.includes('USB-001'))!;
    expect(enUsb).toMatch(/^(open|closed|excepted|unknown),(critical|high|medium|low|info),/);
    expect(enUsb).toMatch(/pass: /);
    expect(enUsb).not.toMatch(/適合|未解決|解決済/);
    expect(enUsb).toMatch(/\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}/);
  });
});
