/**
 * Why a check could not read a fact is in the catalogue, in Japanese and English: every reason id
 * a check uses (agent/checks/why.ts `because(code, id, params)`) exists, has both languages with
 * the same placeholders, and is called with exactly those params; and the reasons the checks give
 * on the recorded PCs render completely in both languages.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localCheck } from '../../../agent/local-check.js';
import { CHECK_REASONS } from '../../../src/shared/i18n/check-reasons.js';
import { MESSAGES, render } from '../../../src/shared/i18n/index.js';

const AGENT = join(import.meta.dirname, '../../../agent');
const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
const placeholders = (s: string): string[] => [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!))].sort();
const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

/** The top-level keys of the object literal that starts at `text[open]` ('{'), shorthand included. */
function literalKeys(text: string, open: number): string[] {
  let depth = 0;
  let quote: string | null = null;
  let part = '';
  const parts: string[] = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      if (depth === 1) part += c === quote ? '' : 'x';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      continue;
    }
    if ('{(['.includes(c)) depth++;
    if ('})]'.includes(c)) depth--;
    if (depth === 0) break;
    if (depth === 1 && c === ',') {
      parts.push(part);
      part = '';
    } else if (depth >= 1 && !(depth === 1 && c === '{' && i === open)) part += depth === 1 ? c : '';
  }
  parts.push(part);
  return parts.map((p) => /^\s*(\w+)/.exec(p)?.[1]).filter((k): k is string => !!k).sort();
}

interface Use {
  file: string;
  code: string;
  id: string;
  keys: string[] | null;
}
const uses: Use[] = [];
for (const file of files(AGENT)) {
  // Comments blanked out (an example in a comment is no use of a reason), positions kept.
  const text = readFileSync(file, 'utf8').replace(/^\s*(\/\/|\*|\/\*\*).*$/gm, (line) => ' '.repeat(line.length));
  for (const m of text.matchAll(/because\('([A-Z][A-Z0-9_]*)', (?:[^,'(]*(?:'[^']*'[^,'(]*)? \? )?'([\w.]+)'(?: : '([\w.]+)')?, \{/g)) {
    const open = m.index! + m[0].length - 1;
    for (const id of [m[2]!, m[3]].filter((x): x is string => !!x)) uses.push({ file: file.slice(AGENT.length + 1), code: m[1]!, id, keys: literalKeys(text, open) });
  }
  // A probe's own detail (agent/probes): its failure code, then the reason.
  for (const m of text.matchAll(/probeFailed\('([A-Z][A-Z0-9_]*)', '([\w.]+)', \{/g)) uses.push({ file: file.slice(AGENT.length + 1), code: m[1]!, id: m[2]!, keys: literalKeys(text, m.index! + m[0].length - 1) });
  // A failed probe named in words (failedTo): its code is the probe's own failure.
  for (const m of text.matchAll(/failedTo\([\w.]+(?: as [^,]+)?, '([\w.]+)', \{/g)) uses.push({ file: file.slice(AGENT.length + 1), code: 'EXEC_FAILED', id: m[1]!, keys: literalKeys(text, m.index! + m[0].length - 1) });
}

describe('the catalogue of why a check could not read a fact', () => {
  it('every entry has Japanese and English with the same placeholders', () => {
    for (const [id, m] of Object.entries(CHECK_REASONS) as [string, { ja: string; en: string }][]) {
      expect(m.ja.trim(), id).not.toBe('');
      expect(m.en.trim(), id).not.toBe('');
      expect(placeholders(m.ja), id).toEqual(placeholders(m.en));
      // Words, not only placeholders: then the Japanese text is Japanese and the English one is not.
      if (/[a-z]{3,}/.test(m.en.replace(/\{\w+\}/g, '').replace(/\b[\w.+-]*[A-Z0-9_.+/%-][\w.+/%-]*\b/g, ''))) expect(m.ja, id).toMatch(JAPANESE);
      expect(m.en, id).not.toMatch(JAPANESE);
      expect(MESSAGES, id).toHaveProperty([id]);
    }
  });

  it('finds the reasons of the checks', () => {
    // The scan below must see the checks' calls, or it proves nothing.
    expect(uses.length).toBeGreaterThan(60);
    expect(new Set(uses.map((u) => u.file.split('/')[1])).size).toBeGreaterThanOrEqual(5);
    expect(uses.filter((u) => u.file.startsWith('probes/')).length).toBeGreaterThan(15);
  });

  it('every reason a check gives is in the catalogue, with a code explained in words and exactly its params', () => {
    for (const u of uses) {
      const where = `${u.file}: because('${u.code}', '${u.id}')`;
      expect(CHECK_REASONS, where).toHaveProperty([u.id]);
      expect(MESSAGES, where).toHaveProperty([`code.${u.code}`]);
      expect(u.keys, where).toEqual(placeholders((CHECK_REASONS as Record<string, { ja: string }>)[u.id]!.ja));
    }
  });

  it('every entry is used by a check (no reason without a place that gives it)', () => {
    const source = files(AGENT).map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const id of Object.keys(CHECK_REASONS)) expect(source.includes(`'${id}'`), id).toBe(true);
  });
});

describe('the reasons given on recorded PCs', () => {
  const ROOT = join(import.meta.dirname, '../../fixtures/replay');
  // Every recorded PC (a directory with its meta.json).
  const machines = ['linux', 'windows'].flatMap((os) => readdirSync(join(ROOT, os)).filter((n) => existsSync(join(ROOT, os, n, 'meta.json'))).map((n) => join(ROOT, os, n)));
  it.each(machines)('%s: every reason renders in both languages with nothing left unfilled', async (dir) => {
    const report = await localCheck({ replayDir: dir, segment: 'lgwan', policy: {} });
    for (const c of report.checks) {
      const msgs = [...Object.entries(c.unknownMsgs ?? {}), ...(c.reasonMsg ? [['(check)', c.reasonMsg] as const] : []), ...c.rules.map((r) => [r.ruleId, r.reasonMsg] as const)];
      for (const [what, m] of msgs) {
        if (!m) continue;
        for (const lang of ['ja', 'en'] as const) {
          const text = render(m, lang);
          expect(text, `${c.id} ${what} (${lang})`).not.toBe('');
          expect(text, `${c.id} ${what} (${lang})`).not.toMatch(/\{\w+\}|\bwhy\.\w+\.\w+/);
        }
      }
      // A reason given with a message says the same in its text: the code, then the Japanese detail.
      for (const [fact, m] of Object.entries(c.unknownMsgs ?? {})) {
        if (m.id !== 'cause.coded' || typeof m.params?.detail !== 'object') continue;
        expect(c.unknownFacts[fact], `${c.id} ${fact}`).toBe(`${String(m.params.code)}: ${render(m.params.detail as never)}`);
      }
    }
  });
});
