/** From local evaluations to violation events: open once, close when fixed, stay open while unknown. */
import { describe, expect, it } from 'vitest';
import { emptyFindingsState, findingsToEvents } from '../../agent/findings.js';
import type { LocalReport } from '../../agent/local-check.js';
import { productCatalogue } from '../../agent/local-check.js';
import { evaluateRule } from '../../src/shared/catalogue/evaluate.js';
import type { RuleEvaluation } from '../../src/shared/catalogue/evaluate.js';
import { render } from '../../src/shared/i18n/index.js';

const rules = productCatalogue().rules;

function report(evals: RuleEvaluation[], facts: Record<string, unknown> = { devices: [] }): LocalReport {
  return {
    platform: 'linux',
    mode: 'replay',
    at: '2026-11-23T00:00:00.000Z',
    segment: 'lgwan',
    policyVersion: 7,
    checks: [{ id: 'usb-media', status: 'ok', facts, unknownFacts: {}, rules: evals, durationMs: 1 }],
  };
}
const stick = { fingerprint: '0781:5583:4C530001234567890123', vendorId: '0781', productId: '5583', serial: '4C530001234567890123' };
const fail: RuleEvaluation = { ruleId: 'USB-001', result: 'fail', reason: '1 of 1 devices fail', subjects: [{ subject: stick.fingerprint, result: 'fail', reason: 'not in the list', excerpt: stick }] };
const pass: RuleEvaluation = { ruleId: 'USB-001', result: 'pass', reason: 'no devices', subjects: [] };
const unknown: RuleEvaluation = { ruleId: 'USB-001', result: 'unknown', reason: 'devices could not be read: ACCESS_DENIED', subjects: [{ subject: '', result: 'unknown', reason: 'ACCESS_DENIED', excerpt: {} }] };

describe('findingsToEvents', () => {
  it('opens a violation once per rule and subject, with the rule title, severity and clauses', () => {
    const first = findingsToEvents(report([fail]), rules, emptyFindingsState());
    const opened = first.events.filter((e) => e.kind === 'violation.opened');
    expect(opened).toHaveLength(1);
    const v = opened[0]!.kind === 'violation.opened' ? opened[0]!.violation : undefined;
    const rule = rules.find((r) => r.id === 'USB-001')!;
    expect(v).toMatchObject({ ruleId: 'USB-001', subject: stick.fingerprint, severity: rule.severity, title: rule.name, clauses: rule.clauses });
    expect(v!.facts).toMatchObject({ serial: stick.serial });
    const again = findingsToEvents(report([fail]), rules, first.state);
    expect(again.events.filter((e) => e.kind === 'violation.opened')).toHaveLength(0);
    // Nothing changed: no facts or results are re-sent either.
    expect(again.events).toHaveLength(0);
  });

  it('keeps a violation open while the rule is unknown, and closes it when the rule passes', () => {
    const opened = findingsToEvents(report([fail]), rules, emptyFindingsState());
    const stillUnknown = findingsToEvents(report([unknown], { }), rules, opened.state);
    expect(stillUnknown.events.some((e) => e.kind === 'violation.closed')).toBe(false);
    const fixed = findingsToEvents(report([pass]), rules, stillUnknown.state);
    const closed = fixed.events.filter((e) => e.kind === 'violation.closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ ruleId: 'USB-001', subject: stick.fingerprint });
    expect(fixed.state.open).toEqual({});
  });

  it('reports a failing rule covered by an active 例外措置 as excepted, and an expired one as fail', () => {
    const active = findingsToEvents(report([fail]), rules, emptyFindingsState(), { exceptions: [{ id: 'EX-1', ruleId: 'USB-001', subject: '*', until: '2999-01-01T00:00:00Z' }] });
    const results = active.events.find((e) => e.kind === 'results');
    expect(results?.kind === 'results' && results.results[0]).toMatchObject({ ruleId: 'USB-001', result: 'excepted' });
    // The violation itself stays visible.
    expect(active.events.some((e) => e.kind === 'violation.opened')).toBe(true);
    const expired = findingsToEvents(report([fail]), rules, emptyFindingsState(), { exceptions: [{ id: 'EX-2', ruleId: 'USB-001', subject: '*', until: '2000-01-01T00:00:00Z' }] });
    const r2 = expired.events.find((e) => e.kind === 'results');
    expect(r2?.kind === 'results' && r2.results[0]!.result).toBe('fail');
  });

  it('a violation names the stick in its message and reason, in Japanese, and carries the reason as a message for English', () => {
    const rule = rules.find((r) => r.id === 'USB-001')!;
    const named = { ...stick, manufacturer: 'SanDisk', product: 'Ultra Fit' };
    const judged = evaluateRule(rule, { status: 'ok', facts: { devices: [named] }, unknownFacts: {} }, { platform: 'linux', segment: 'lgwan', policy: { params: {}, lists: {}, disabledRules: [] }, now: new Date('2026-11-23T00:00:00Z') });
    const { events } = findingsToEvents(report([judged], { devices: [named] }), rules, emptyFindingsState());
    const v = events.find((e) => e.kind === 'violation.opened');
    if (v?.kind !== 'violation.opened') throw new Error('no violation opened');
    const name = 'USB媒体 SanDisk Ultra Fit (ベンダーID 0781、製品ID 5583、シリアル 4C530001234567890123)';
    expect(v.violation.message.ja).toBe(`媒体管理台帳に登録されていないUSB記憶媒体 ${name} が接続されています。`);
    expect(v.violation.message.en).toContain('USB device SanDisk Ultra Fit (vendor 0781, product 5583, serial 4C530001234567890123)');
    expect(v.violation.reason).toBe(`${name}: 識別子 「${stick.fingerprint}」 は 媒体管理台帳 にありません`);
    expect(render(v.violation.reasonMsg!, 'en')).toBe(`USB device SanDisk Ultra Fit (vendor 0781, product 5583, serial 4C530001234567890123): fingerprint "${stick.fingerprint}" is not in the media ledger`);
    const results = events.find((e) => e.kind === 'results');
    expect(results?.kind === 'results' && results.results[0]!.reason).toBe(`USB媒体 1 件中 1 件が不適合: ${name}`);
    // Unplugged: the closing reason is Japanese and says the stick is gone.
    const gone = evaluateRule(rule, { status: 'ok', facts: { devices: [] }, unknownFacts: {} }, { platform: 'linux', segment: 'lgwan', policy: { params: {}, lists: {}, disabledRules: [] }, now: new Date('2026-11-23T01:00:00Z') });
    const closed = findingsToEvents(report([gone]), rules, findingsToEvents(report([judged], { devices: [named] }), rules, emptyFindingsState()).state).events.find((e) => e.kind === 'violation.closed');
    expect(closed?.kind === 'violation.closed' && closed.reason).toBe(`${stick.fingerprint}: 対象が見つからなくなりました (適合: USB媒体はありません)`);
  });
});
