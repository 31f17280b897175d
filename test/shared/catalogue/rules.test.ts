import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateRule } from '../../../src/shared/catalogue/evaluate.js';
import { RuleFixture } from '../../../src/shared/catalogue/lint.js';
import { loadCatalogue } from '../../../src/shared/catalogue/load.js';
import { loadEolCatalogue, matchSoftware } from '../../../src/shared/eol/index.js';
import { configDir } from '../../../src/shared/paths.js';

const rules = new Map(loadCatalogue(configDir()).rules.map((r) => [r.id, r]));
const fixture = (name: string) => RuleFixture.parse(JSON.parse(readFileSync(join(configDir(), '..', 'test', 'fixtures', 'rules', `${name}.json`), 'utf8')));
function run(ruleId: string, name: string, over: { segment?: 'mynumber' | 'lgwan' | 'internet' } = {}) {
  const f = fixture(name);
  return evaluateRule(rules.get(ruleId)!, f.output, { platform: f.platform, segment: over.segment ?? f.segment, policy: f.policy, now: new Date(f.now) });
}

describe('shipped rules: the not-applicable cases', () => {
  it('LOCK-001/002 do not apply when nobody is logged on', () => {
    expect(run('LOCK-001', 'lock/nobody-logged-on').result).toBe('not_applicable');
    expect(run('LOCK-002', 'lock/nobody-logged-on').result).toBe('not_applicable');
  });
  it('AV-007 does not apply to a product without tamper protection, nor on Linux', () => {
    expect(run('AV-007', 'antivirus/thirdparty-expired').result).toBe('not_applicable');
    expect(run('AV-007', 'antivirus/clamav-healthy')).toMatchObject({ result: 'not_applicable', reason: 'Linux の規則ではありません' });
  });
  it('SW-005 (allow-list mode) is off unless the policy enables it', () => {
    expect(run('SW-005', 'software/clean-linux')).toMatchObject({ result: 'not_applicable', reason: 'ポリシーで有効にされていません' });
  });
  it('USB-005 applies only in the マイナンバー利用事務系', () => {
    expect(run('USB-005', 'usb/mynumber-open', { segment: 'lgwan' }).result).toBe('not_applicable');
    expect(run('USB-005', 'usb/mynumber-open').result).toBe('fail');
  });
  it('USB-001 names each unregistered device as its own subject', () => {
    const r = run('USB-001', 'usb/unregistered-stick');
    expect(r.subjects.filter((s) => s.result === 'fail').map((s) => s.subject)).toEqual(['0930:6545:C03FD5F7713EE0A1B0000123']);
  });
});

describe('end-of-support catalogue → software facts → SW-003/SW-004', () => {
  const cat = loadEolCatalogue();
  const now = new Date(`${cat.date}T01:00:00Z`);
  const ctx = { platform: 'windows' as const, segment: undefined, policy: { params: {}, lists: {}, disabledRules: [] }, now };
  const endOfSupport = matchSoftware(
    cat,
    [
      { name: 'Microsoft Office Professional Plus 2016 - ja-jp', version: '16.0.4266.1001', source: 'uninstall-hklm' },
      { name: 'Microsoft Office Professional Plus 2024 - ja-jp', version: '16.0.17932.20162', source: 'uninstall-hklm' },
      { name: 'Node.js', version: '22.11.0', source: 'uninstall-hklm' },
    ],
    'windows',
  );
  const input = { status: 'ok' as const, facts: { endOfSupport }, unknownFacts: {} };

  it('SW-003 fails on Office 2016 only', () => {
    const r = evaluateRule(rules.get('SW-003')!, input, ctx);
    expect(r.result).toBe('fail');
    expect(r.subjects.filter((s) => s.result === 'fail').map((s) => s.subject)).toEqual(['Microsoft Office 2016']);
  });
  it('SW-004 warns on Node.js 22 (ends 2027-04-30) but not on Office 2016 (already ended) or Office 2024', () => {
    const r = evaluateRule(rules.get('SW-004')!, input, ctx);
    expect(r.subjects.filter((s) => s.result === 'fail').map((s) => s.subject)).toEqual(['Node.js 22']);
  });
  it('a site that plans 90 days ahead is not warned about Node.js 22 yet', () => {
    const r = evaluateRule(rules.get('SW-004')!, input, { ...ctx, policy: { ...ctx.policy, params: { 'SW-004': { warnDays: 90 } } } });
    expect(r.result).toBe('pass');
  });
});
