import { describe, expect, it } from 'vitest';
import { evaluateRule } from '../../../src/shared/catalogue/evaluate.js';
import type { EvalContext, FactsInput } from '../../../src/shared/catalogue/evaluate.js';
import type { Rule } from '../../../src/shared/catalogue/schema.js';
import { testRule as rule } from '../../helpers/rule.js';
import { render } from '../../../src/shared/i18n/index.js';

const NOW = new Date('2026-11-23T01:00:00.000Z');


function ctx(over: Partial<EvalContext> = {}, policy: Partial<EvalContext['policy']> = {}): EvalContext {
  return { platform: 'linux', segment: undefined, now: NOW, ...over, policy: { params: {}, lists: {}, disabledRules: [], ...policy } };
}

function facts(f: Record<string, unknown>, unknownFacts: Record<string, string> = {}): FactsInput {
  return { status: 'ok', facts: f, unknownFacts };
}

/** Three expectations on facts p, q, r: each is pass (true), fail (false) or unknown (not read). */
type T = 'pass' | 'fail' | 'unknown';
function input(...parts: T[]): FactsInput {
  const f: Record<string, unknown> = {};
  const u: Record<string, string> = {};
  parts.forEach((p, i) => {
    const name = `f${i}`;
    if (p === 'unknown') u[name] = `ACCESS_DENIED: probe ${i}`;
    else f[name] = p === 'pass';
  });
  return facts(f, u);
}
function tableRule(condition: 'all' | 'any' | 'none', n: number): Rule {
  return rule({ condition, expect: Array.from({ length: n }, (_, i) => ({ fact: `f${i}`, op: 'eq', value: true })) });
}

describe('truth table (condition × outcomes of the expectations)', () => {
  const rows: [condition: 'all' | 'any' | 'none', parts: T[], expected: T][] = [
    ['all', ['pass', 'pass'], 'pass'],
    ['all', ['pass', 'fail'], 'fail'],
    ['all', ['fail', 'unknown'], 'fail'],
    ['all', ['pass', 'unknown'], 'unknown'],
    ['all', ['unknown', 'unknown'], 'unknown'],
    ['all', ['fail', 'fail'], 'fail'],
    ['any', ['pass', 'fail'], 'pass'],
    ['any', ['pass', 'unknown'], 'pass'],
    ['any', ['fail', 'unknown'], 'unknown'],
    ['any', ['fail', 'fail'], 'fail'],
    ['any', ['unknown', 'unknown'], 'unknown'],
    ['none', ['fail', 'fail'], 'pass'],
    ['none', ['pass', 'fail'], 'fail'],
    ['none', ['pass', 'unknown'], 'fail'],
    ['none', ['fail', 'unknown'], 'unknown'],
    ['none', ['unknown', 'unknown'], 'unknown'],
  ];
  it.each(rows)('%s of %j → %s', (condition, parts, expected) => {
    const r = evaluateRule(tableRule(condition, parts.length), input(...parts), ctx());
    expect(r.result).toBe(expected);
    expect(r.subjects).toHaveLength(1);
    expect(r.subjects[0]!.result).toBe(expected);
  });

  it('an unknown result carries the probe reason and is never pass', () => {
    const r = evaluateRule(tableRule('all', 2), input('pass', 'unknown'), ctx());
    expect(r.reason).toBe('f1 を読み取れませんでした: アクセスが拒否されました (ACCESS_DENIED): probe 1');
    expect(render(r.reasonMsg!, 'en')).toBe('f1 could not be read: access denied (ACCESS_DENIED): probe 1');
  });

  it('a fact neither read nor named unknown is unknown FACT_MISSING', () => {
    const r = evaluateRule(rule({}), facts({}), ctx());
    expect(r).toMatchObject({ result: 'unknown', reason: 'a を読み取れませんでした: 検査結果にこの項目がありません (FACT_MISSING)' });
  });

  it('a check that is unknown as a whole makes every rule unknown with its reason', () => {
    const r = evaluateRule(rule({}), { status: 'unknown', facts: {}, unknownFacts: {}, reason: 'NOT_IMPLEMENTED: windows collector' }, ctx());
    expect(r).toMatchObject({ result: 'unknown', reason: 'NOT_IMPLEMENTED: windows collector' });
  });
});

describe('operators', () => {
  const one = (exp: Record<string, unknown>, value: unknown, params: Record<string, unknown> = {}) =>
    evaluateRule(rule({ expect: [{ fact: 'a', ...exp }], params }), facts({ a: value }), ctx()).result;

  it('eq / ne', () => {
    expect(one({ op: 'eq', value: 'x' }, 'x')).toBe('pass');
    expect(one({ op: 'eq', value: 'x' }, 'y')).toBe('fail');
    expect(one({ op: 'ne', value: 'x' }, 'y')).toBe('pass');
    expect(one({ op: 'ne', value: 'x' }, 'x')).toBe('fail');
  });

  it('gt / gte / lt / lte, and a non-number fails', () => {
    expect(one({ op: 'gt', value: 5 }, 6)).toBe('pass');
    expect(one({ op: 'gt', value: 5 }, 5)).toBe('fail');
    expect(one({ op: 'gte', value: 5 }, 5)).toBe('pass');
    expect(one({ op: 'gte', value: 5 }, 4)).toBe('fail');
    expect(one({ op: 'lt', value: 5 }, 4)).toBe('pass');
    expect(one({ op: 'lt', value: 5 }, 5)).toBe('fail');
    expect(one({ op: 'lte', value: 5 }, 5)).toBe('pass');
    expect(one({ op: 'lte', value: 5 }, 6)).toBe('fail');
    expect(one({ op: 'lte', value: 5 }, '3')).toBe('fail');
  });

  it('in / not_in', () => {
    expect(one({ op: 'in', value: ['a', 'b'] }, 'b')).toBe('pass');
    expect(one({ op: 'in', value: ['a', 'b'] }, 'c')).toBe('fail');
    expect(one({ op: 'not_in', value: ['a', 'b'] }, 'c')).toBe('pass');
    expect(one({ op: 'not_in', value: ['a', 'b'] }, 'a')).toBe('fail');
  });

  it('matches (regular expression)', () => {
    expect(one({ op: 'matches', value: '^luks[12]$' }, 'luks2')).toBe('pass');
    expect(one({ op: 'matches', value: '^luks[12]$' }, 'XtsAes256')).toBe('fail');
  });

  it('matches_any / matches_none (glob, case-insensitive)', () => {
    expect(one({ op: 'matches_any', value: ['teamviewer*', 'anydesk?exe'] }, 'TeamViewer 15')).toBe('pass');
    expect(one({ op: 'matches_any', value: ['teamviewer*', 'anydesk?exe'] }, 'AnyDesk.exe')).toBe('pass');
    expect(one({ op: 'matches_any', value: ['teamviewer*'] }, 'Zoom')).toBe('fail');
    expect(one({ op: 'matches_none', value: ['teamviewer*'] }, 'Zoom')).toBe('pass');
    expect(one({ op: 'matches_none', value: ['teamviewer*'] }, 'TEAMVIEWER')).toBe('fail');
    // glob metacharacters of regular expressions are literal
    expect(one({ op: 'matches_any', value: ['a.b'] }, 'axb')).toBe('fail');
  });

  it('age_lte in hours and days', () => {
    expect(one({ op: 'age_lte', value: 72, unit: 'hours' }, '2026-11-20T02:00:00Z')).toBe('pass'); // 71 h
    expect(one({ op: 'age_lte', value: 72, unit: 'hours' }, '2026-11-20T00:00:00Z')).toBe('fail'); // 73 h
    expect(one({ op: 'age_lte', value: 30, unit: 'days' }, '2026-10-25T01:00:00Z')).toBe('pass');
    expect(one({ op: 'age_lte', value: 30, unit: 'days' }, '2026-10-23T01:00:00Z')).toBe('fail');
    expect(one({ op: 'age_lte', value: 30 }, 'yesterday')).toBe('fail');
  });

  it('age_lt: strictly younger; 0 never holds (fails at once, even for a time of now)', () => {
    expect(one({ op: 'age_lt', value: 3, unit: 'days' }, '2026-11-20T02:00:00Z')).toBe('pass'); // 2.96 days
    expect(one({ op: 'age_lt', value: 3, unit: 'days' }, '2026-11-20T01:00:00Z')).toBe('fail'); // exactly 3
    expect(one({ op: 'age_lte', value: 0, unit: 'days' }, NOW.toISOString())).toBe('pass');
    expect(one({ op: 'age_lt', value: 0, unit: 'days' }, NOW.toISOString())).toBe('fail');
  });

  it('until_gte / until_lt', () => {
    expect(one({ op: 'until_gte', value: 0 }, '2026-11-24')).toBe('pass');
    expect(one({ op: 'until_gte', value: 0 }, '2026-11-22')).toBe('fail');
    expect(one({ op: 'until_gte', value: 180 }, '2027-04-30')).toBe('fail'); // 158 days
    expect(one({ op: 'until_gte', value: 180 }, '2027-06-30')).toBe('pass');
    expect(one({ op: 'until_lt', value: 0 }, '2025-10-14')).toBe('pass');
    expect(one({ op: 'until_lt', value: 0 }, '2027-10-14')).toBe('fail');
  });
});

describe('nullIs', () => {
  const r = (nullIs?: string) => rule({ expect: [{ fact: 'a', op: 'age_lte', value: 30, ...(nullIs ? { nullIs } : {}) }] });
  it('a null fact fails by default (e.g. never scanned)', () => {
    expect(evaluateRule(r(), facts({ a: null }), ctx())).toMatchObject({ result: 'fail', reason: 'a: なし' });
  });
  it('nullIs pass (e.g. no update pending)', () => {
    expect(evaluateRule(r('pass'), facts({ a: null }), ctx()).result).toBe('pass');
  });
  it('nullIs not_applicable makes the rule not applicable when nothing else applies', () => {
    expect(evaluateRule(r('not_applicable'), facts({ a: null }), ctx()).result).toBe('not_applicable');
    const two = rule({ expect: [{ fact: 'a', op: 'eq', value: true, nullIs: 'not_applicable' }, { fact: 'b', op: 'eq', value: true }] });
    expect(evaluateRule(two, facts({ a: null, b: false }), ctx()).result).toBe('fail');
    expect(evaluateRule(two, facts({ a: null, b: true }), ctx()).result).toBe('pass');
  });
  it('null is not unknown: unknown stays unknown whatever nullIs says', () => {
    expect(evaluateRule(r('pass'), facts({}, { a: 'TIMEOUT: 30 s' }), ctx())).toMatchObject({ result: 'unknown', reason: 'a を読み取れませんでした: 時間内に応答がありません (TIMEOUT): 30 s' });
  });
});

describe('each, subject and whenEmpty', () => {
  const devices = rule({ each: 'devices', subject: 'fingerprint', expect: [{ fact: 'fingerprint', op: 'in', param: 'registeredMedia' }], params: { registeredMedia: { type: 'list', default: [], description: { ja: 'x', en: 'x' } } } });
  const c = ctx({}, { lists: { registeredMedia: ['0781:5581:AA'] } });

  it('one subject per item; the rule fails when any item fails', () => {
    const r = evaluateRule(devices, facts({ devices: [{ fingerprint: '0781:5581:AA' }, { fingerprint: '0930:6545:BB' }] }), c);
    expect(r.result).toBe('fail');
    expect(r.reason).toBe('devices 2 件中 1 件が不適合: 0930:6545:BB');
    expect(render(r.reasonMsg!, 'en')).toBe('1 of 2 devices fail: 0930:6545:BB');
    expect(r.subjects[1]!.reason).toBe('0930:6545:BB: fingerprint 「0930:6545:BB」 は registeredMedia にありません');
    expect(r.subjects.map((s) => [s.subject, s.result])).toEqual([
      ['0781:5581:AA', 'pass'],
      ['0930:6545:BB', 'fail'],
    ]);
    expect(r.subjects[1]!.excerpt).toEqual({ fingerprint: '0930:6545:BB' });
  });

  it('passes when every item passes', () => {
    expect(evaluateRule(devices, facts({ devices: [{ fingerprint: '0781:5581:AA' }] }), c).result).toBe('pass');
  });

  it('an item with a missing field is unknown, and the rule is unknown when nothing fails', () => {
    const r = evaluateRule(devices, facts({ devices: [{ fingerprint: '0781:5581:AA' }, {}] }), c);
    expect(r.result).toBe('unknown');
    expect(r.subjects[1]).toMatchObject({ subject: '1', result: 'unknown' });
  });

  it('an unreadable list is unknown with the probe reason', () => {
    expect(evaluateRule(devices, facts({}, { devices: 'ACCESS_DENIED: /sys/bus/usb' }), c)).toMatchObject({ result: 'unknown', reason: 'devicesを読み取れませんでした: アクセスが拒否されました (ACCESS_DENIED): /sys/bus/usb' });
  });

  it('an empty list passes by default and is not applicable with whenEmpty: not_applicable', () => {
    expect(evaluateRule(devices, facts({ devices: [] }), c).result).toBe('pass');
    const sessions = rule({ each: 'sessions', subject: 'user', whenEmpty: 'not_applicable', expect: [{ fact: 'lockEnabled', op: 'eq', value: true }] });
    expect(evaluateRule(sessions, facts({ sessions: [] }), c)).toMatchObject({ result: 'not_applicable', reason: 'sessionsはありません' });
  });

  it('items whose expectations do not apply are left out', () => {
    const products = rule({ each: 'products', subject: 'name', expect: [{ fact: 'tamperProtected', op: 'eq', value: true, nullIs: 'not_applicable' }] });
    const r = evaluateRule(products, facts({ products: [{ name: 'ClamAV', tamperProtected: null }, { name: 'Defender', tamperProtected: false }] }), c);
    expect(r.result).toBe('fail');
    expect(r.subjects.map((s) => s.subject)).toEqual(['Defender']);
    expect(evaluateRule(products, facts({ products: [{ name: 'ClamAV', tamperProtected: null }] }), c).result).toBe('not_applicable');
  });
});

describe('a list read only in part (in facts and in unknownFacts)', () => {
  const denied = rule({ each: 'packages', subject: 'name', expect: [{ fact: 'name', op: 'matches_none', param: 'deniedSoftware' }], params: { deniedSoftware: { type: 'list', default: [], description: { ja: 'x', en: 'x' } } } });
  const c = ctx({}, { lists: { deniedSoftware: ['Dropbox*'] } });
  const appxDenied = { packages: 'SCRIPT_ERROR: appx: アクセスが拒否されました。' };

  it('a failing item read is a fail whatever else could not be read', () => {
    const r = evaluateRule(denied, facts({ packages: [{ name: 'Dropbox' }, { name: 'Zoom' }] }, appxDenied), c);
    expect(r.result).toBe('fail');
    expect(r.reason).toBe('packages 2 件中 1 件が不適合: Dropbox (packagesは一部しか読み取れませんでした: 調査スクリプトがエラーを返しました (SCRIPT_ERROR): appx: アクセスが拒否されました。)');
    expect(r.subjects.filter((s) => s.result === 'fail').map((s) => s.subject)).toEqual(['Dropbox']);
  });

  it('only the whole list can pass: every item read passing is unknown', () => {
    const r = evaluateRule(denied, facts({ packages: [{ name: 'Zoom' }] }, appxDenied), c);
    expect(r).toMatchObject({ result: 'unknown', reason: 'packagesは一部しか読み取れませんでした: 調査スクリプトがエラーを返しました (SCRIPT_ERROR): appx: アクセスが拒否されました。' });
    expect(r.subjects.map((s) => [s.subject, s.result])).toEqual([['Zoom', 'pass'], ['', 'unknown']]);
  });

  it('an empty part is unknown, not the whenEmpty result', () => {
    expect(evaluateRule(denied, facts({ packages: [] }, appxDenied), c).result).toBe('unknown');
    const products = rule({ each: 'products', subject: 'name', expect: [{ fact: 'tamperProtected', op: 'eq', value: true, nullIs: 'not_applicable' }] });
    expect(evaluateRule(products, facts({ products: [{ name: 'ClamAV', tamperProtected: null }] }, { products: 'EXEC_FAILED: x' }), c).result).toBe('unknown');
  });
});

describe('applicability: platform, segment, policy switches', () => {
  it('a rule for another platform is not applicable', () => {
    expect(evaluateRule(rule({ platforms: ['windows'] }), facts({ a: false }), ctx({ platform: 'linux' }))).toMatchObject({ result: 'not_applicable', reason: 'Linux の規則ではありません' });
  });

  it('a segment rule applies only to that segment, and not to a PC without a segment', () => {
    const r = rule({ segments: ['mynumber'] });
    expect(evaluateRule(r, facts({ a: false }), ctx({ segment: 'mynumber' })).result).toBe('fail');
    expect(evaluateRule(r, facts({ a: false }), ctx({ segment: 'lgwan' })).result).toBe('not_applicable');
    expect(evaluateRule(r, facts({ a: false }), ctx({ segment: undefined })).result).toBe('not_applicable');
  });

  it('disabledRules switches a rule off', () => {
    expect(evaluateRule(rule({}), facts({ a: false }), ctx({}, { disabledRules: ['TST-001'] }))).toMatchObject({ result: 'not_applicable', reason: 'ポリシーで無効にされています' });
  });

  it('a rule with defaultEnabled false is off until the policy lists it in enabledRules', () => {
    const r = rule({ defaultEnabled: false });
    expect(evaluateRule(r, facts({ a: false }), ctx())).toMatchObject({ result: 'not_applicable', reason: 'ポリシーで有効にされていません' });
    expect(evaluateRule(r, facts({ a: false }), ctx({}, { enabledRules: ['OTHER-001'] })).result).toBe('not_applicable');
    expect(evaluateRule(r, facts({ a: false }), ctx({}, { enabledRules: ['TST-001'] })).result).toBe('fail');
    expect(evaluateRule(rule({}), facts({ a: false }), ctx()).result).toBe('fail');
  });
});

describe('parameters', () => {
  const r = rule({ expect: [{ fact: 'idle', op: 'lte', param: 'maxIdleSeconds' }], params: { maxIdleSeconds: { type: 'integer', default: 600, description: { ja: 'x', en: 'x' } } } });

  it('the product default applies without a site value', () => {
    expect(evaluateRule(r, facts({ idle: 600 }), ctx()).result).toBe('pass');
    expect(evaluateRule(r, facts({ idle: 900 }), ctx()).result).toBe('fail');
  });

  it('a site value in the policy overrides the product default, per rule id', () => {
    expect(evaluateRule(r, facts({ idle: 900 }), ctx({}, { params: { 'TST-001': { maxIdleSeconds: 900 } } })).result).toBe('pass');
    expect(evaluateRule(r, facts({ idle: 600 }), ctx({}, { params: { 'TST-001': { maxIdleSeconds: 300 } } })).result).toBe('fail');
    expect(evaluateRule(r, facts({ idle: 900 }), ctx({}, { params: { 'OTHER-001': { maxIdleSeconds: 900 } } })).result).toBe('fail');
  });

  it('a list comes from the policy lists, else from the default', () => {
    const l = rule({ expect: [{ fact: 'name', op: 'matches_none', param: 'deny' }], params: { deny: { type: 'list', default: ['dropbox*'], description: { ja: 'x', en: 'x' } } } });
    expect(evaluateRule(l, facts({ name: 'Dropbox' }), ctx()).result).toBe('fail');
    expect(evaluateRule(l, facts({ name: 'Dropbox' }), ctx({}, { lists: { deny: ['box*'] } })).result).toBe('pass');
  });

  it('an undeclared parameter is a catalogue error', () => {
    const bad = rule({ expect: [{ fact: 'a', op: 'lte', param: 'nope' }] });
    expect(() => evaluateRule(bad, facts({ a: 1 }), ctx())).toThrow(/TST-001: parameter nope is not declared/);
  });
});
