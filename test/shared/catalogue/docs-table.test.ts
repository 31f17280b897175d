/** docs/catalogue.md lists every shipped rule with its requirement id, check, obligation and every clause it cites. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../../src/shared/catalogue/load.js';
import { configDir } from '../../../src/shared/paths.js';

const doc = readFileSync(join(configDir(), '..', 'docs', 'catalogue.md'), 'utf8');
const rows = new Map(doc.split('\n').filter((l) => /^\| [A-Z]+-\d{3} \|/.test(l)).map((l) => [l.split('|')[1]!.trim(), l.split('|').map((c) => c.trim())]));

describe('docs/catalogue.md rule table', () => {
  for (const rule of loadCatalogue(configDir()).rules) {
    it(`${rule.id} has a row with its requirement and clauses`, () => {
      const row = rows.get(rule.id);
      expect(row, `no row for ${rule.id}`).toBeDefined();
      expect(row![2]).toBe(rule.requirement);
      expect(row![4]).toMatch(new RegExp(`^${rule.check}\\b`));
      expect(row![5]).toBe(rule.obligation);
      expect(row![8]!.split('; ')).toEqual(rule.clauses.map((c) => `${c.source} ${c.ref}`));
      if (!rule.defaultEnabled) expect(row![6]).toContain('off by default');
    });
  }
});
