/**
 * Every error the console API answers comes in Japanese (`message`) and English (`messageEn`):
 * the routes throw messages of the catalogue (src/shared/i18n/console-errors.ts), never a text
 * of their own; the answers of a real collector carry both languages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_ERRORS } from '../../src/shared/i18n/console-errors.js';
import { adminClient, startTestCollector } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

const CONSOLE_DIR = join(import.meta.dirname, '../../src/collector/console');

describe('console errors through the message catalogue', () => {
  it('has no error text of its own in any route file', () => {
    const files = readdirSync(CONSOLE_DIR).filter((f) => f.endsWith('-routes.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const src = readFileSync(join(CONSOLE_DIR, f), 'utf8');
      // An error helper called with anything but a catalogue message (msg(…)) or nothing (its default).
      const own = [...src.matchAll(/\b(badRequest|notFound|conflict|forbidden|unauthenticated)\((?!msg\(|\))/g)].map((m) => `${f}: ${src.slice(m.index, m.index + 60)}`);
      expect(own).toEqual([]);
      expect(src).not.toMatch(/new ConsoleError\([^)]*\{ ja:/);
    }
  });

  describe('answers of a collector', () => {
    let t: TestCollector;
    let admin: Client;
    beforeAll(async () => {
      t = await startTestCollector();
      admin = await adminClient(t);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('gives the report errors, the scan and assignment errors in Japanese and English', async () => {
      const cases: [string, string, unknown, string, { ja: string; en: string }][] = [
        ['GET', '/api/v1/reports/self-inspection?year=26', undefined, 'error.report.year', { ja: '年度は西暦 4 桁で指定してください (26)', en: 'the fiscal year must be 4 digits (26)' }],
        ['GET', '/api/v1/reports/self-inspection?from=2026-12-06&to=2026-05-01', undefined, 'error.report.period', { ja: '期間の開始日 (2026年12月6日) が終了日 (2026年5月1日) より後です', en: 'the period starts (2026-12-06) after it ends (2026-05-01)' }],
        ['GET', '/api/v1/reports/trends?days=3', undefined, 'error.report.days', CONSOLE_ERRORS['error.report.days']],
        ['POST', '/api/v1/scans', { hosts: ['NO-SUCH-PC'] }, 'error.scan.noPc', CONSOLE_ERRORS['error.scan.noPc']],
        ['POST', '/api/v1/pcs/assignment', { department: '税務課' }, 'error.pcs.noTarget', CONSOLE_ERRORS['error.pcs.noTarget']],
      ];
      for (const [method, path, body, id, text] of cases) {
        const r = await admin.request(method, path, body);
        expect(r.status, id).toBeGreaterThanOrEqual(400);
        expect({ message: r.json.message, messageEn: r.json.messageEn }, id).toEqual({ message: text.ja, messageEn: text.en });
      }
    });
  });
});
