/**
 * What the evaluator says about a result: the reason of every operator in both languages, how
 * several reasons are joined, how items of an `each` rule are named and counted, which facts a
 * result rests on, and the edges of parameters, dotted facts and time limits.
 */
import { describe, expect, it } from 'vitest';
import { CatalogueError, evaluateRule, getPath } from '../../../src/shared/catalogue/evaluate.js';
import type { EvalContext, FactsInput } from '../../../src/shared/catalogue/evaluate.js';
import { testRule as rule } from '../../helpers/rule.js';
import { render } from '../../../src/shared/i18n/index.js';

const NOW = new Date('2026-11-23T01:00:00.000Z');

function ctx(policy: Partial<EvalContext['policy']> = {}, over: Partial<EvalContext> = {}): EvalContext {
  return { platform: 'linux', segment: undefined, now: NOW, ...over, policy: { params: {}, lists: {}, disabledRules: [], ...policy } };
}
function facts(f: Record<string, unknown>, unknownFacts: Record<string, string> = {}): FactsInput {
  return { status: 'ok', facts: f, unknownFacts };
}
const named = { factNames: { a: { ja: '値A', en: 'value A' } } };
/** Reason of a one-expectation rule on fact `a`, in Japanese and English. */
function why(exp: Record<string, unknown>, value: unknown, over: Record<string, unknown> = {}, c: EvalContext = ctx()): [string, string, string] {
  const r = evaluateRule(rule({ ...named, expect: [{ fact: 'a', ...exp }], ...over }), facts({ a: value }), c);
  return [r.result, r.reason, render(r.reasonMsg!, 'en')];
}

describe('the reason of each operator', () => {
  it('eq / ne name the fact, the value and the standard', () => {
    expect(why({ op: 'eq', value: true }, false)).toEqual(['fail', '値A: いいえ (基準: はい)', 'value A is no, expected yes']);
    expect(why({ op: 'eq', value: 'on' }, 'off')).toEqual(['fail', '値A: 「off」 (基準: 「on」)', 'value A is "off", expected "on"']);
    expect(why({ op: 'ne', value: 3 }, 3)).toEqual(['fail', '値A: 3 (基準: 3 以外)', 'value A is 3, must not be 3']);
    expect(why({ op: 'eq', value: 1 }, { x: 1 })).toEqual(['fail', '値A: {"x":1} (基準: 1)', 'value A is {"x":1}, expected 1']);
  });

  it('comparisons say which comparison, and a value that is not a number', () => {
    expect(why({ op: 'gt', value: 5 }, 5)).toEqual(['fail', '値A: 5 (基準: 5 より大きい)', 'value A is 5, expected > 5']);
    expect(why({ op: 'gte', value: 5 }, 4)).toEqual(['fail', '値A: 4 (基準: 5 以上)', 'value A is 4, expected ≥ 5']);
    expect(why({ op: 'lt', value: 5 }, 6)).toEqual(['fail', '値A: 6 (基準: 5 未満)', 'value A is 6, expected < 5']);
    expect(why({ op: 'lte', value: 1200 }, 1800)).toEqual(['fail', '値A: 1,800 (基準: 1,200 以下)', 'value A is 1,800, expected ≤ 1,200']);
    expect(why({ op: 'gte', value: 5 }, '9')).toEqual(['fail', '値A の値 「9」 は数値ではありません', 'value A is "9", not a number']);
    // A limit that is not a number cannot pass either.
    expect(why({ op: 'gte', value: '5' }, 9)[0]).toBe('fail');
    expect(why({ op: 'gt', value: 5 }, 6)[0]).toBe('pass');
    expect(why({ op: 'lt', value: 5 }, 4)[0]).toBe('pass');
    expect(why({ op: 'lte', value: 5 }, 5)[0]).toBe('pass');
  });

  it('in / not_in name the list by its label, or "the list" for a literal one', () => {
    const ledger = { params: { ledger: { type: 'list', default: [], label: { ja: '媒体管理台帳', en: 'media ledger' }, description: { ja: 'x', en: 'x' } } } };
    const c = ctx({ lists: { ledger: ['A1'] } });
    expect(why({ op: 'in', param: 'ledger' }, 'B2', ledger, c)).toEqual(['fail', '値A 「B2」 は 媒体管理台帳 にありません', 'value A "B2" is not in media ledger']);
    expect(why({ op: 'in', param: 'ledger' }, 'A1', ledger, c)).toEqual(['pass', '値A 「A1」 は 媒体管理台帳 にあります', 'value A "A1" is in media ledger']);
    expect(why({ op: 'not_in', value: ['x'] }, 'x')).toEqual(['fail', '値A 「x」 は 一覧 にあります', 'value A "x" is in the list']);
    // A list that is not a list holds nothing.
    expect(why({ op: 'in', value: 'abc' }, 'a')[0]).toBe('fail');
    expect(why({ op: 'not_in', value: 'abc' }, 'a')[0]).toBe('pass');
  });

  it('matches names the pattern; a value that is not text does not match', () => {
    expect(why({ op: 'matches', value: '^luks' }, 'luks2')).toEqual(['pass', '値A 「luks2」 はパターン 「^luks」 に一致します', 'value A "luks2" matches "^luks"']);
    expect(why({ op: 'matches', value: '^luks' }, 'bitlocker')).toEqual(['fail', '値A 「bitlocker」 はパターン 「^luks」 に一致しません', 'value A "bitlocker" does not match "^luks"']);
    expect(why({ op: 'matches', value: '1' }, 1)[0]).toBe('fail');
  });

  it('matches_any / matches_none name the pattern hit and the list', () => {
    const deny = { params: { deny: { type: 'list', default: ['team*', 'any?esk'], description: { ja: 'x', en: 'x' } } } };
    expect(why({ op: 'matches_none', param: 'deny' }, 'AnyDesk', deny)).toEqual(['fail', '値A 「AnyDesk」 は deny のパターン 「any?esk」 に一致します', 'value A "AnyDesk" matches "any?esk" of deny']);
    expect(why({ op: 'matches_none', param: 'deny' }, 'Zoom', deny)).toEqual(['pass', '値A 「Zoom」 は deny のどのパターンにも一致しません', 'value A "Zoom" matches no pattern of deny']);
    expect(why({ op: 'matches_any', param: 'deny' }, 'Zoom', deny)).toEqual(['fail', '値A 「Zoom」 は deny のどのパターンにも一致しません', 'value A "Zoom" matches no pattern of deny']);
    expect(why({ op: 'matches_any', param: 'deny' }, 'Teams', deny)[0]).toBe('pass');
    // The whole name must match, and characters of regular expressions are literal.
    expect(why({ op: 'matches_any', value: ['team'] }, 'Teams')[0]).toBe('fail');
    expect(why({ op: 'matches_any', value: ['team'] }, 'my team')[0]).toBe('fail');
    expect(why({ op: 'matches_any', value: ['(a|b)+'] }, 'ab')[0]).toBe('fail');
    expect(why({ op: 'matches_any', value: ['(a|b)+'] }, '(a|b)+')[0]).toBe('pass');
    expect(why({ op: 'matches_any', value: ['c:\\tools\\*'] }, 'C:\\Tools\\x.exe')[0]).toBe('pass');
    expect(why({ op: 'matches_any', value: ['x^y$z'] }, 'x^y$z')[0]).toBe('pass');
    expect(why({ op: 'matches_any', value: ['a{2}'] }, 'aa')[0]).toBe('fail');
    expect(why({ op: 'matches_any', value: ['a{2}'] }, 'a{2}')[0]).toBe('pass');
    expect(why({ op: 'matches_any', value: ['a[b]'] }, 'ab')[0]).toBe('fail');
    expect(why({ op: 'matches_any', value: ['a+b'] }, 'aab')[0]).toBe('fail');
    expect(why({ op: 'matches_any', value: ['?'] }, '')[0]).toBe('fail');
    // Not a list, or not text: nothing matches.
    expect(why({ op: 'matches_any', value: 'team*' }, 'teams')[0]).toBe('fail');
    expect(why({ op: 'matches_none', value: ['1*'] }, 12)[0]).toBe('pass');
  });

  it('age limits give the time in JST, the age rounded to a tenth and the limit', () => {
    expect(why({ op: 'age_lte', value: 72, unit: 'hours' }, '2026-11-19T00:00:00Z')).toEqual(['fail', '値A: 2026年11月19日 9:00 (97 時間前、基準: 72 時間以内)', 'value A: 19 November 2026 9:00 JST (97 hours ago, expected ≤ 72 hours)']);
    expect(why({ op: 'age_lt', value: 2, unit: 'days' }, '2026-11-20T13:00:00Z')).toEqual(['fail', '値A: 2026年11月20日 22:00 (2.5 日前、基準: 2 日未満)', 'value A: 20 November 2026 22:00 JST (2.5 days ago, expected < 2 days)']);
    expect(why({ op: 'age_lte', value: 30 }, '2026-11-22T20:33:00Z')[1]).toBe('値A: 2026年11月23日 5:33 (0.2 日前、基準: 30 日以内)');
    expect(why({ op: 'age_lte', value: 30 }, 'yesterday')).toEqual(['fail', '値A の値 「yesterday」 は日時ではありません', 'value A is "yesterday", not a time']);
    expect(why({ op: 'age_lte', value: 30 }, 1_700_000_000)[1]).toBe('値A の値 1,700,000,000 は日時ではありません');
    // Exactly at the limit: within (≤) holds, under (<) does not.
    expect(why({ op: 'age_lte', value: 24, unit: 'hours' }, '2026-11-22T01:00:00Z')[0]).toBe('pass');
    expect(why({ op: 'age_lt', value: 24, unit: 'hours' }, '2026-11-22T01:00:00Z')[0]).toBe('fail');
    expect(why({ op: 'age_lt', value: 24, unit: 'hours' }, '2026-11-22T01:00:01Z')[0]).toBe('pass');
  });

  it('days-left limits say how long ago a date passed or how many days are left', () => {
    expect(why({ op: 'until_gte', value: 30 }, '2026-11-20T01:00:00Z')).toEqual(['fail', '値A 2026年11月20日 を 3 日過ぎています (基準: 残り 30 日以上)', 'value A 2026-11-20 passed 3 days ago, needs ≥ 30 days']);
    // 2.5 days ago is counted as 3 days past; 10.5 days ahead as 10 days left.
    expect(why({ op: 'until_gte', value: 30 }, '2026-11-20T13:00:00Z')[1]).toBe('値A 2026年11月20日 を 3 日過ぎています (基準: 残り 30 日以上)');
    expect(why({ op: 'until_gte', value: 30 }, '2026-12-03T13:00:00Z')).toEqual(['fail', '値A 2026年12月3日 まであと 10 日です (基準: 残り 30 日以上)', 'value A 2026-12-03 is 10 days away, needs ≥ 30 days']);
    expect(why({ op: 'until_lt', value: 30 }, '2026-12-03T13:00:00Z')).toEqual(['pass', '値A 2026年12月3日 まであと 10 日です (基準: 残り 30 日未満)', 'value A 2026-12-03 is 10 days away, expected < 30 days']);
    expect(why({ op: 'until_gte', value: 30 }, 'never')[1]).toBe('値A の値 「never」 は日時ではありません');
    expect(why({ op: 'until_lt', value: 30 }, 5)[0]).toBe('fail');
    // Exactly at the limit.
    expect(why({ op: 'until_gte', value: 10 }, '2026-12-03T01:00:00Z')[0]).toBe('pass');
    expect(why({ op: 'until_lt', value: 10 }, '2026-12-03T01:00:00Z')[0]).toBe('fail');
    // Due exactly now: 0 days left, not passed.
    expect(why({ op: 'until_gte', value: 0 }, NOW.toISOString())[1]).toBe('値A 2026年11月23日 まであと 0 日です (基準: 残り 0 日以上)');
  });

  it('a fact without a name in words is shown by its id; a null fact says so', () => {
    const r = evaluateRule(rule({ expect: [{ fact: 'a', op: 'eq', value: true }] }), facts({ a: null }), ctx());
    expect([r.result, r.reason, render(r.reasonMsg!, 'en')]).toEqual(['fail', 'a: なし', 'a is none']);
  });
});

describe('reasons of several expectations', () => {
  const three = (condition: string) => rule({ condition, factNames: { p: { ja: 'P', en: 'P' }, q: { ja: 'Q', en: 'Q' }, r: { ja: 'R', en: 'R' } }, expect: ['p', 'q', 'r'].map((fact) => ({ fact, op: 'eq', value: true })) });

  it('all: the failing ones, joined; only them', () => {
    const r = evaluateRule(three('all'), facts({ p: false, q: true, r: false }), ctx());
    expect([r.result, r.reason, render(r.reasonMsg!, 'en')]).toEqual(['fail', 'P: いいえ (基準: はい)、R: いいえ (基準: はい)', 'P is no, expected yes; R is no, expected yes']);
    expect(evaluateRule(three('all'), facts({ p: true, q: true, r: true }), ctx()).reason).toBe('P: はい (基準: はい)、Q: はい (基準: はい)、R: はい (基準: はい)');
    expect(evaluateRule(three('all'), facts({ p: true, q: true }), ctx()).reason).toBe('R を読み取れませんでした: 検査結果にこの項目がありません (FACT_MISSING)');
  });

  it('any: the passing ones; when none holds, the first alternative says what is wanted', () => {
    expect(evaluateRule(three('any'), facts({ p: false, q: true, r: true }), ctx()).reason).toBe('Q: はい (基準: はい)、R: はい (基準: はい)');
    expect(evaluateRule(three('any'), facts({ p: false, q: false, r: false }), ctx())).toMatchObject({ result: 'fail', reason: 'P: いいえ (基準: はい)' });
    expect(evaluateRule(three('any'), facts({ p: false, q: false }), ctx())).toMatchObject({ result: 'unknown', reason: 'R を読み取れませんでした: 検査結果にこの項目がありません (FACT_MISSING)' });
  });

  it('none: the ones that hold make it fail; when none holds, all of them say why it passes', () => {
    expect(evaluateRule(three('none'), facts({ p: false, q: true, r: false }), ctx())).toMatchObject({ result: 'fail', reason: 'Q: はい (基準: はい)' });
    expect(evaluateRule(three('none'), facts({ p: false, q: false, r: false }), ctx())).toMatchObject({ result: 'pass', reason: 'P: いいえ (基準: はい)、Q: いいえ (基準: はい)、R: いいえ (基準: はい)' });
    expect(evaluateRule(three('none'), facts({ p: false, q: false }), ctx()).result).toBe('unknown');
  });

  it('says the same reason once: two limits on one null fact', () => {
    const r = rule({ expect: [{ fact: 'a', op: 'gte', value: 1 }, { fact: 'a', op: 'lte', value: 9 }, { fact: 'b', op: 'eq', value: true }] });
    expect(evaluateRule(r, facts({ a: null, b: true }), ctx()).reason).toBe('a: なし');
    expect(evaluateRule(r, facts({ a: null, b: false }), ctx()).reason).toBe('a: なし、b: いいえ (基準: はい)');
  });

  it('a rule none of whose expectations applies is not applicable, with their reason', () => {
    const r = rule({ expect: [{ fact: 'a', op: 'eq', value: true, nullIs: 'not_applicable' }] });
    expect(evaluateRule(r, facts({ a: null }), ctx())).toMatchObject({ result: 'not_applicable', reason: 'a: なし', subjects: [] });
  });

  it('the result rests on the tested facts only, by their top-level name', () => {
    const r = rule({ expect: [{ fact: 'av.enabled', op: 'eq', value: true }, { fact: 'fw', op: 'eq', value: true }, { fact: 'gone', op: 'eq', value: true, nullIs: 'pass' }] });
    const judged = evaluateRule(r, facts({ av: { enabled: true, name: 'Defender' }, fw: true, gone: null, other: 'secret' }), ctx());
    expect(judged.result).toBe('pass');
    expect(judged.subjects).toEqual([{ subject: '', result: 'pass', reason: judged.reason, reasonMsg: judged.reasonMsg, excerpt: { av: { enabled: true, name: 'Defender' }, fw: true, gone: null } }]);
    const missing = evaluateRule(r, facts({ fw: true }), ctx());
    expect(missing.subjects[0]!.excerpt).toStrictEqual({ fw: true });
  });
});

describe('facts by path', () => {
  it('reads nested facts and says a missing part is missing', () => {
    expect(getPath({ a: { b: { c: 3 } } }, 'a.b.c')).toBe(3);
    expect(getPath({ a: { b: null } }, 'a.b.c')).toBeUndefined();
    expect(getPath({ a: 'text' }, 'a.length')).toBeUndefined();
    expect(getPath(null, 'a')).toBeUndefined();
    expect(getPath({ a: [10, 20] }, 'a.1')).toBe(20);
  });

  it('a nested fact not read takes the reason of its top-level fact', () => {
    const r = rule({ expect: [{ fact: 'av.enabled', op: 'eq', value: true }] });
    expect(evaluateRule(r, facts({}, { av: 'TIMEOUT: wmi' }), ctx()).reason).toBe('av.enabled を読み取れませんでした: 時間内に応答がありません (TIMEOUT): wmi');
    expect(evaluateRule(r, facts({}, { 'av.enabled': 'ACCESS_DENIED: x', av: 'TIMEOUT: wmi' }), ctx()).reason).toBe('av.enabled を読み取れませんでした: アクセスが拒否されました (ACCESS_DENIED): x');
  });
});

describe('parameters and lists', () => {
  it('a site value of 0 or false is a value, not "no site value"', () => {
    const r = rule({ expect: [{ fact: 'a', op: 'gte', param: 'min' }], params: { min: { type: 'integer', default: 5, description: { ja: 'x', en: 'x' } } } });
    expect(evaluateRule(r, facts({ a: 0 }), ctx({ params: { 'TST-001': { min: 0 } } })).result).toBe('pass');
    expect(evaluateRule(r, facts({ a: 0 }), ctx()).result).toBe('fail');
    const b = rule({ expect: [{ fact: 'a', op: 'eq', param: 'want' }], params: { want: { type: 'boolean', default: true, description: { ja: 'x', en: 'x' } } } });
    expect(evaluateRule(b, facts({ a: false }), ctx({ params: { 'TST-001': { want: false } } })).result).toBe('pass');
  });

  it('a list in the policy that the rule does not declare is still read; an empty policy list replaces the default', () => {
    const r = rule({ expect: [{ fact: 'a', op: 'in', param: 'siteList' }] });
    expect(evaluateRule(r, facts({ a: 'x' }), ctx({ lists: { siteList: ['x'] } })).result).toBe('pass');
    const d = rule({ expect: [{ fact: 'a', op: 'in', param: 'allowed' }], params: { allowed: { type: 'list', default: ['x'], description: { ja: 'x', en: 'x' } } } });
    expect(evaluateRule(d, facts({ a: 'x' }), ctx()).result).toBe('pass');
    expect(evaluateRule(d, facts({ a: 'x' }), ctx({ lists: { allowed: [] } })).result).toBe('fail');
    const none = rule({ expect: [{ fact: 'a', op: 'not_in', param: 'blocked' }], params: { blocked: { type: 'list', description: { ja: 'x', en: 'x' } } } });
    expect(evaluateRule(none, facts({ a: 'x' }), ctx()).result).toBe('pass');
  });

  it('an each fact that is not a list is a catalogue error', () => {
    const r = rule({ each: 'devices', expect: [{ fact: 'id', op: 'eq', value: 1 }] });
    expect(() => evaluateRule(r, facts({ devices: { id: 1 } }), ctx())).toThrow(CatalogueError);
    expect(() => evaluateRule(r, facts({ devices: 'none' }), ctx())).toThrow('TST-001: devices is not a list');
  });
});

describe('whole-check and applicability reasons', () => {
  it('a check unknown without a reason says it could not observe the PC; a coded reason is explained', () => {
    const r = evaluateRule(rule({}), { status: 'unknown', facts: {}, unknownFacts: {} }, ctx());
    expect([r.result, r.reason, render(r.reasonMsg!, 'en')]).toEqual(['unknown', 'この PC を検査できませんでした', 'check could not observe this PC']);
    expect(r.subjects).toEqual([{ subject: '', result: 'unknown', reason: r.reason, reasonMsg: r.reasonMsg, excerpt: {} }]);
    expect(evaluateRule(rule({}), { status: 'unknown', facts: {}, unknownFacts: {}, reason: 'TIMEOUT: 30 s' }, ctx()).reason).toBe('時間内に応答がありません (TIMEOUT): 30 s');
  });

  it('a segment rule names the segments it is for; not applicable rules have no subjects', () => {
    const r = evaluateRule(rule({ segments: ['mynumber', 'lgwan'] }), facts({ a: false }), ctx({}, { segment: 'internet' }));
    expect([r.result, r.reason, render(r.reasonMsg!, 'en'), r.subjects]).toEqual(['not_applicable', 'マイナンバー利用事務系、LGWAN接続系 だけに適用する規則です', 'applies only to segment My Number segment; LGWAN segment', []]);
    expect(evaluateRule(rule({ platforms: ['linux'] }), facts({ a: false }), ctx({}, { platform: 'windows' })).reason).toBe('Windows の規則ではありません');
    expect(evaluateRule(rule({ segments: ['lgwan'] }), facts({ a: false }), ctx({}, { segment: 'lgwan' })).result).toBe('fail');
  });
});

describe('each: naming and counting items', () => {
  const media = rule({
    each: 'devices',
    subject: 'fingerprint',
    subjectKind: { ja: 'USB媒体', en: 'USB devices' },
    subjectName: { ja: 'USB媒体 [{product} ](シリアル {serial})', en: 'USB device [{product} ](serial {serial})' },
    expect: [{ fact: 'fingerprint', op: 'in', param: 'ledger' }],
    params: { ledger: { type: 'list', default: [], label: { ja: '媒体管理台帳', en: 'media ledger' }, description: { ja: 'x', en: 'x' } } },
  });
  const stick = (n: number, product?: string) => ({ fingerprint: `0781:5581:S${n}`, serial: `S${n}`, ...(product ? { product } : {}) });

  it('names each failing item from its fields, and counts them against all', () => {
    const r = evaluateRule(media, facts({ devices: [stick(1, 'Cruzer'), stick(2)] }), ctx({ lists: { ledger: ['0781:5581:S2'] } }));
    expect([r.result, r.reason, render(r.reasonMsg!, 'en')]).toEqual(['fail', 'USB媒体 2 件中 1 件が不適合: USB媒体 Cruzer (シリアル S1)', '1 of 2 USB devices fail: USB device Cruzer (serial S1)']);
    const [one, two] = r.subjects;
    expect(one!.subject).toBe('0781:5581:S1');
    expect(one!.subjectName).toEqual({ ja: 'USB媒体 Cruzer (シリアル S1)', en: 'USB device Cruzer (serial S1)' });
    expect(one!.reason).toBe('USB媒体 Cruzer (シリアル S1): fingerprint 「0781:5581:S1」 は 媒体管理台帳 にありません');
    expect(render(one!.reasonMsg!, 'en')).toBe('USB device Cruzer (serial S1): fingerprint "0781:5581:S1" is not in media ledger');
    expect(two!.reason).toBe('USB媒体 (シリアル S2): fingerprint 「0781:5581:S2」 は 媒体管理台帳 にあります');
    expect(JSON.parse(JSON.stringify(one))).toEqual({ subject: '0781:5581:S1', result: 'fail', reason: one!.reason, reasonMsg: JSON.parse(JSON.stringify(one!.reasonMsg)), subjectName: one!.subjectName, excerpt: stick(1, 'Cruzer') });
  });

  it('names at most five items and counts the rest', () => {
    const r = evaluateRule(media, facts({ devices: [1, 2, 3, 4, 5, 6, 7].map((n) => stick(n)) }), ctx());
    expect(r.reason).toBe('USB媒体 7 件中 7 件が不適合: USB媒体 (シリアル S1)、USB媒体 (シリアル S2)、USB媒体 (シリアル S3)、USB媒体 (シリアル S4)、USB媒体 (シリアル S5)、ほか 2 件');
    expect(render(r.reasonMsg!, 'en')).toContain('USB device (serial S5); and 2 more');
    const five = evaluateRule(media, facts({ devices: [1, 2, 3, 4, 5].map((n) => stick(n)) }), ctx());
    expect(five.reason).toBe('USB媒体 5 件中 5 件が不適合: USB媒体 (シリアル S1)、USB媒体 (シリアル S2)、USB媒体 (シリアル S3)、USB媒体 (シリアル S4)、USB媒体 (シリアル S5)');
  });

  it('counts and names unknown items, and says all pass', () => {
    const unknown = evaluateRule(media, facts({ devices: [stick(1), { serial: 'S9' }] }), ctx({ lists: { ledger: ['0781:5581:S1'] } }));
    expect([unknown.result, unknown.reason]).toEqual(['unknown', 'USB媒体 2 件中 1 件が不明: USB媒体 (シリアル S9)']);
    // An item without its subject field is named by its place in the list.
    expect(unknown.subjects[1]!.subject).toBe('1');
    const pass = evaluateRule(media, facts({ devices: [stick(1)] }), ctx({ lists: { ledger: ['0781:5581:S1'] } }));
    expect([pass.result, pass.reason, render(pass.reasonMsg!, 'en')]).toEqual(['pass', 'USB媒体 1 件すべて適合', 'all 1 USB devices pass']);
  });

  it('an item that is not an object, or lacks the fields of its name, is named by its subject', () => {
    const plain = rule({ each: 'ids', expect: [{ fact: 'x', op: 'eq', value: 1 }], subjectName: { ja: '{serial}', en: '{serial}' } });
    const r = evaluateRule(plain, facts({ ids: ['a', { x: 2 }] }), ctx());
    expect(r.subjects.map((s) => [s.subject, s.subjectName, s.result])).toEqual([
      ['0', '0', 'unknown'],
      ['1', '1', 'fail'],
    ]);
    expect(r.reason).toBe('ids 2 件中 1 件が不適合: 1');
  });

  it('no items: whenEmpty pass says there are none; all items not applicable says none applies', () => {
    const empty = evaluateRule(media, facts({ devices: [] }), ctx());
    expect([empty.result, empty.reason, empty.subjects]).toEqual(['pass', 'USB媒体はありません', []]);
    const products = rule({ each: 'products', subjectKind: { ja: '製品', en: 'products' }, expect: [{ fact: 't', op: 'eq', value: true, nullIs: 'not_applicable' }] });
    const none = evaluateRule(products, facts({ products: [{ t: null }] }), ctx());
    expect([none.result, none.reason, render(none.reasonMsg!, 'en'), none.subjects]).toEqual(['not_applicable', 'この規則が適用される製品はありません', 'no products to which the rule applies', []]);
  });

  it('an each list that was not reported at all is unknown FACT_MISSING, named by its kind', () => {
    const r = evaluateRule(media, facts({}), ctx());
    expect([r.result, r.reason]).toEqual(['unknown', 'USB媒体を読み取れませんでした: 検査結果にこの項目がありません (FACT_MISSING)']);
    expect(r.subjects).toHaveLength(1);
  });

  it('a list read in part: an empty part and a failing item both say what could not be read', () => {
    const partial = { devices: 'ACCESS_DENIED: hub 2' };
    const empty = evaluateRule(media, facts({ devices: [] }, partial), ctx());
    expect([empty.result, empty.reason, render(empty.reasonMsg!, 'en')]).toEqual(['unknown', 'USB媒体は一部しか読み取れませんでした: アクセスが拒否されました (ACCESS_DENIED): hub 2', 'USB devices could only be read in part: access denied (ACCESS_DENIED): hub 2']);
    const fail = evaluateRule(media, facts({ devices: [stick(1)] }, partial), ctx());
    expect(fail.subjects.map((s) => s.result)).toEqual(['fail']);
    const ok = evaluateRule(media, facts({ devices: [stick(1)] }, partial), ctx({ lists: { ledger: ['0781:5581:S1'] } }));
    expect(ok.subjects.at(-1)).toEqual({ subject: '', result: 'unknown', reason: ok.reason, reasonMsg: ok.reasonMsg, excerpt: {} });
  });
});
