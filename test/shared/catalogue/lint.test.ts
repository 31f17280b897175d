import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyCatalogue } from '../../../src/shared/catalogue/lint.js';
import { loadCatalogue } from '../../../src/shared/catalogue/load.js';
import { configDir } from '../../../src/shared/paths.js';

const FIXTURES = join(configDir(), '..', 'test', 'fixtures', 'rules');

/** A copy of the real config/ and fixtures in a temporary directory, for breaking on purpose. */
function copy(): { config: string; fixtures: string } {
  const root = mkdtempSync(join(tmpdir(), 'mamori-lint-'));
  cpSync(configDir(), join(root, 'config'), { recursive: true });
  cpSync(FIXTURES, join(root, 'fixtures'), { recursive: true });
  return { config: join(root, 'config'), fixtures: join(root, 'fixtures') };
}
function edit(path: string, from: string | RegExp, to: string): void {
  const text = readFileSync(path, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`test setup: ${String(from)} not found in ${path}`);
  writeFileSync(path, next);
}

describe('verifyCatalogue on the shipped catalogue', () => {
  it('finds no problem', async () => {
    const r = await verifyCatalogue();
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.rules).toBeGreaterThanOrEqual(29);
  });

  it('has the rules the product promises, each citing at least one seed', () => {
    const ids = loadCatalogue(configDir()).rules.map((r) => r.id);
    for (const id of ['USB-001', 'USB-002', 'USB-003', 'USB-004', 'USB-005', 'SW-001', 'SW-002', 'SW-003', 'SW-004', 'SW-005', 'AV-001', 'AV-002', 'AV-003', 'AV-004', 'AV-005', 'AV-006', 'AV-007', 'LOCK-001', 'LOCK-002', 'PATCH-001', 'PATCH-002', 'PATCH-003', 'PATCH-004', 'PATCH-005', 'NET-001', 'ENC-001', 'TIME-001']) {
      expect(ids).toContain(id);
    }
  });

  it('labels every numeric default as mamori\'s suggestion, not a requirement of a standard', () => {
    for (const rule of loadCatalogue(configDir()).rules) {
      for (const [name, p] of Object.entries(rule.params)) {
        if (p.type === 'integer' || p.type === 'number') {
          expect(p.description.ja, `${rule.id}.${name}`).toMatch(/mamori の提案値/);
          expect(p.description.en, `${rule.id}.${name}`).toMatch(/mamori's suggestion/);
          expect(p.description.en, `${rule.id}.${name}`).toMatch(/[Nn]o standard gives|give no number|give(s)? no number|say only/);
        }
      }
    }
  });
});

describe('verifyCatalogue reports broken catalogues', () => {
  it('a duplicate rule id', async () => {
    const { config, fixtures } = copy();
    edit(join(config, 'rules', 'beyond.yml'), 'id: TIME-001', 'id: NET-001');
    const r = await verifyCatalogue(config, fixtures);
    expect(r.ok).toBe(false);
    expect(r.problems).toContain('NET-001: duplicate rule id (beyond.yml and beyond.yml)');
  });

  it('a fact the check does not produce, in expect, each and subject', async () => {
    const { config, fixtures } = copy();
    edit(join(config, 'rules', 'beyond.yml'), '{ fact: clockSynchronized, op: eq, value: true }', '{ fact: clockSynced, op: eq, value: true }');
    edit(join(config, 'rules', 'screen-lock.yml'), /subject: user\n    # Nobody/, 'subject: username\n    # Nobody');
    edit(join(config, 'rules', 'usb-media.yml'), /each: devices\n    subject: fingerprint\n    whenEmpty: pass\n/, 'each: disks\n    subject: fingerprint\n    whenEmpty: pass\n');
    const r = await verifyCatalogue(config, fixtures);
    expect(r.problems).toEqual(
      expect.arrayContaining([
        'TIME-001: expect[0]: check beyond does not produce fact clockSynced',
        'LOCK-001: subject: sessions items have no field username',
        'USB-001: each: fact disks is not produced by check usb-media',
      ]),
    );
  });

  it('an operator that cannot compare the fact, and an undeclared parameter', async () => {
    const { config, fixtures } = copy();
    edit(join(config, 'rules', 'beyond.yml'), '{ fact: firewallEnabled, op: eq, value: true }', '{ fact: firewallEnabled, op: age_lte, param: maxAge }');
    const r = await verifyCatalogue(config, fixtures);
    expect(r.problems).toEqual(expect.arrayContaining(['NET-001: expect[0]: age_lte cannot compare firewallEnabled, a boolean', 'NET-001: expect[0]: parameter maxAge is not declared']));
  });

  it('a clause citing an unknown source, or a ref outside the source\'s numbering', async () => {
    const { config, fixtures } = copy();
    edit(join(config, 'rules', 'beyond.yml'), '{ source: "004", ref: "§9.1イ" }', '{ source: "005", ref: "§9.1イ" }');
    edit(join(config, 'rules', 'beyond.yml'), '{ source: "003", ref: "第8章3(3)" }', '{ source: "003", ref: "§8.3(3)" }');
    const r = await verifyCatalogue(config, fixtures);
    expect(r.problems).toContain('TIME-001: clause 005 §9.1イ: source 005 is not in sources.yml');
    expect(r.problems.some((p) => p.startsWith('TIME-001: clause 003 §8.3(3): not in the numbering of 003'))).toBe(true);
  });

  it('a fixture that does not evaluate as claimed, and a missing fixture', async () => {
    const { config, fixtures } = copy();
    edit(join(config, 'rules', 'beyond.yml'), /fixtures:\n      pass: \[beyond\/debian-protected\]\n      fail: \[beyond\/windows-unprotected\]\n\n  - id: ENC-001/, 'fixtures:\n      pass: [beyond/windows-unprotected]\n      fail: [beyond/no-such-pc]\n\n  - id: ENC-001');
    const r = await verifyCatalogue(config, fixtures);
    expect(r.problems).toContain('NET-001: fixture beyond/windows-unprotected should pass but is fail: ファイアウォール: いいえ (基準: はい)');
    expect(r.problems.some((p) => p.startsWith('NET-001: fixture beyond/no-such-pc (fail) does not exist'))).toBe(true);
  });

  it('a fixture whose facts are not in the shape of the check', async () => {
    const { config, fixtures } = copy();
    edit(join(fixtures, 'beyond', 'debian-protected.json'), '"firewallEnabled": true', '"firewallEnabled": "yes"');
    const r = await verifyCatalogue(config, fixtures);
    expect(r.problems.some((p) => /^NET-001: fixture beyond\/debian-protected: facts\.firewallEnabled: .*not the shape of beyond facts/.test(p))).toBe(true);
  });

  it('a rules file that does not load names file, line and key', async () => {
    const { config, fixtures } = copy();
    edit(join(config, 'rules', 'beyond.yml'), 'severity: medium\n    condition: all\n    factNames:\n      clockSynchronized', 'severity: urgent\n    condition: all\n    factNames:\n      clockSynchronized');
    const r = await verifyCatalogue(config, fixtures);
    expect(r.ok).toBe(false);
    expect(r.problems.some((p) => /beyond\.yml:\d+: rules\.2\.severity: /.test(p))).toBe(true);
  });
});
