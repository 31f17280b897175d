/**
 * findingsToEvents in detail: which events leave the agent after one evaluation, which violations
 * open and close and with what text, and what state is kept for the next evaluation.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { emptyFindingsState, findingsToEvents } from '../../agent/findings.js';
import type { FindingsState } from '../../agent/findings.js';
import type { CheckReport, LocalReport } from '../../agent/local-check.js';
import type { RuleEvaluation, SubjectResult } from '../../src/shared/catalogue/evaluate.js';
import type { Rule } from '../../src/shared/catalogue/schema.js';
import { testRule } from '../helpers/rule.js';
import { msg, render } from '../../src/shared/i18n/index.js';
import type { NewAgentEvent, PolicyDocument } from '../../src/shared/protocol/messages.js';

const NOW = '2026-11-23T03:00:00.000Z';
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(NOW));
});
afterEach(() => vi.useRealTimers());

const rule = (id: string, over: Record<string, unknown> = {}): Rule =>
  testRule({ id, check: 'usb-media', name: { ja: `規則 ${id}`, en: `rule ${id}` }, message: { ja: '{subject} は不適合です: {reason} {unknown}', en: '{subject} fails: {reason}' }, severity: 'high', ...over });
const RULES = [rule('TST-001'), rule('TST-002', { severity: 'low' })];

function subject(name: string, result: SubjectResult['result'], extra: Partial<SubjectResult> = {}): SubjectResult {
  return { subject: name, result, reason: `${name} は ${result}`, excerpt: { id: name }, ...extra };
}
function evaluation(ruleId: string, result: RuleEvaluation['result'], subjects: SubjectResult[], extra: Partial<RuleEvaluation> = {}): RuleEvaluation {
  return { ruleId, result, reason: `${ruleId} は ${result}`, subjects, ...extra };
}
function check(rules: RuleEvaluation[], over: Partial<CheckReport> = {}): CheckReport {
  return { id: 'usb-media', status: 'ok', facts: { devices: [] }, unknownFacts: {}, rules, durationMs: 1, ...over };
}
function report(...checks: CheckReport[]): LocalReport {
  return { platform: 'linux', mode: 'replay', at: NOW, segment: 'lgwan', policyVersion: 9, checks };
}
const ofKind = <K extends NewAgentEvent['kind']>(events: NewAgentEvent[], kind: K) => events.filter((e): e is Extract<NewAgentEvent, { kind: K }> => e.kind === kind);

describe('facts and results events', () => {
  it('sends facts and results the first time, not again while unchanged, and again when they change', () => {
    const first = findingsToEvents(report(check([evaluation('TST-001', 'pass', [])])), RULES, emptyFindingsState());
    expect(first.events.map((e) => e.kind)).toEqual(['facts', 'results']);
    expect(first.events[0]).toEqual({ at: NOW, kind: 'facts', checkId: 'usb-media', status: 'ok', facts: { devices: [], _unknown: {} } });
    expect(first.events[1]).toEqual({ at: NOW, kind: 'results', checkId: 'usb-media', policyVersion: 9, results: [{ ruleId: 'TST-001', subject: '', result: 'pass', reason: 'TST-001 は pass' }] });

    const same = findingsToEvents(report(check([evaluation('TST-001', 'pass', [])])), RULES, first.state);
    expect(same.events).toEqual([]);

    const newFacts = findingsToEvents(report(check([evaluation('TST-001', 'pass', [])], { facts: { devices: [{ id: 'x' }] } })), RULES, same.state);
    expect(newFacts.events.map((e) => e.kind)).toEqual(['facts']);
    const newResult = findingsToEvents(report(check([evaluation('TST-001', 'pass', [], { reason: '別の理由' })], { facts: { devices: [{ id: 'x' }] } })), RULES, newFacts.state);
    expect(newResult.events.map((e) => e.kind)).toEqual(['results']);
  });

  it('a helpdesk scan (force) sends unchanged facts and results again', () => {
    const first = findingsToEvents(report(check([evaluation('TST-001', 'pass', [])])), RULES, emptyFindingsState());
    const forced = findingsToEvents(report(check([evaluation('TST-001', 'pass', [])])), RULES, first.state, { force: true });
    expect(forced.events.map((e) => e.kind)).toEqual(['facts', 'results']);
    expect(forced.state).toEqual(first.state);
  });

  it('facts carry what could not be read and the check\'s reason; the status changes the facts', () => {
    const unknownCheck = check([evaluation('TST-001', 'unknown', [])], { status: 'unknown', facts: {}, unknownFacts: { devices: 'ACCESS_DENIED: sysfs' }, reason: 'PROBE_FAILED: lsusb' });
    const { events, state } = findingsToEvents(report(unknownCheck), RULES, emptyFindingsState());
    expect(ofKind(events, 'facts')[0]).toEqual({ at: NOW, kind: 'facts', checkId: 'usb-media', status: 'unknown', facts: { _unknown: { devices: 'ACCESS_DENIED: sysfs' }, _reason: 'PROBE_FAILED: lsusb' } });
    // The same facts with another status are new facts.
    const again = findingsToEvents(report({ ...unknownCheck, status: 'ok' }), RULES, state);
    expect(ofKind(again.events, 'facts')).toHaveLength(1);
    expect(ofKind(again.events, 'results')).toHaveLength(0);
  });

  it('keeps the hashes per check: one check changing does not resend the other', () => {
    const av = (reason: string): CheckReport => ({ ...check([evaluation('TST-002', 'pass', [], { reason })]), id: 'antivirus' });
    const first = findingsToEvents(report(check([evaluation('TST-001', 'pass', [])]), av('定義は最新')), RULES, emptyFindingsState());
    expect(first.events.map((e) => `${e.kind}:${'checkId' in e ? e.checkId : ''}`)).toEqual(['facts:usb-media', 'results:usb-media', 'facts:antivirus', 'results:antivirus']);
    const next = findingsToEvents(report(check([evaluation('TST-001', 'pass', [])]), av('定義は 1 日前')), RULES, first.state);
    expect(next.events.map((e) => `${e.kind}:${'checkId' in e ? e.checkId : ''}`)).toEqual(['results:antivirus']);
  });

  it('clips a result reason to 1,000 characters and carries its structured form when there is one', () => {
    const long = 'あ'.repeat(1500);
    const why = msg('text', { text: 'structured' });
    const { events } = findingsToEvents(report(check([evaluation('TST-001', 'pass', [], { reason: long }), evaluation('TST-002', 'pass', [], { reasonMsg: why })])), RULES, emptyFindingsState());
    const [first, second] = ofKind(events, 'results')[0]!.results;
    expect(first!.reason).toBe('あ'.repeat(1000));
    expect(first).not.toHaveProperty('reasonMsg');
    expect(second!.reasonMsg).toEqual(why);
  });
});

describe('例外措置 in the results', () => {
  const failing = (...subjects: SubjectResult[]) => check([evaluation('TST-001', 'fail', subjects)]);
  const exc = (over: Partial<PolicyDocument['exceptions'][number]>): PolicyDocument['exceptions'][number] => ({ id: 'EX-1', ruleId: 'TST-001', subject: '*', until: '2026-12-01T00:00:00Z', ...over });
  const resultOf = (c: CheckReport, exceptions: PolicyDocument['exceptions']) => ofKind(findingsToEvents(report(c), RULES, emptyFindingsState(), { exceptions }).events, 'results')[0]!.results[0]!;

  it('a failing rule whose every failing subject is covered is excepted, naming the 例外措置 and the reason', () => {
    const r = resultOf(failing(subject('stick-a', 'fail'), subject('stick-b', 'fail'), subject('stick-c', 'pass')), [exc({ id: 'EX-7', subject: 'stick-a' }), exc({ id: 'EX-8', subject: 'stick-b' })]);
    expect(r.result).toBe('excepted');
    expect(r.subject).toBe('');
    expect(r.reason).toBe('例外措置 EX-7, EX-8: TST-001 は fail');
    expect(render(r.reasonMsg!, 'en')).toBe('excepted by EX-7, EX-8: TST-001 は fail');
    expect(resultOf(failing(subject('stick-a', 'fail')), [exc({ id: 'EX-9' })]).reason).toBe('例外措置 EX-9: TST-001 は fail');
  });

  it('stays fail when one failing subject is not covered, the 例外措置 is for another rule or subject, or has expired', () => {
    const two = failing(subject('stick-a', 'fail'), subject('stick-b', 'fail'));
    expect(resultOf(two, [exc({ subject: 'stick-a' })]).result).toBe('fail');
    expect(resultOf(failing(subject('stick-a', 'fail')), [exc({ ruleId: 'TST-002' })]).result).toBe('fail');
    expect(resultOf(failing(subject('stick-a', 'fail')), [exc({ subject: 'stick-b' })]).result).toBe('fail');
    expect(resultOf(failing(subject('stick-a', 'fail')), [exc({ until: '2026-11-23T02:59:59.999Z' })]).result).toBe('fail');
    // Ending exactly now is over.
    expect(resultOf(failing(subject('stick-a', 'fail')), [exc({ until: NOW })]).result).toBe('fail');
    expect(resultOf(failing(subject('stick-a', 'fail')), [exc({ until: '2026-11-23T03:00:00.001Z' })]).result).toBe('excepted');
  });

  it('does not turn a rule that fails without a failing subject, or one that passes or is unknown, into excepted', () => {
    expect(resultOf(check([evaluation('TST-001', 'fail', [])]), [exc({})]).result).toBe('fail');
    expect(resultOf(check([evaluation('TST-001', 'unknown', [subject('stick-a', 'unknown')])]), [exc({})]).result).toBe('unknown');
    expect(resultOf(check([evaluation('TST-001', 'pass', [subject('stick-a', 'pass')])]), [exc({})]).result).toBe('pass');
  });

  it('the violation of an excepted rule still opens', () => {
    const { events } = findingsToEvents(report(failing(subject('stick-a', 'fail'))), RULES, emptyFindingsState(), { exceptions: [exc({})] });
    expect(ofKind(events, 'violation.opened').map((e) => e.violation.subject)).toEqual(['stick-a']);
  });
});

describe('violations opened', () => {
  it('one per failing subject and rule, with the rule\'s title, severity, clauses and the policy version', () => {
    const c = check([
      evaluation('TST-001', 'fail', [subject('stick-a', 'fail'), subject('stick-b', 'pass'), subject('stick-c', 'unknown'), subject('stick-d', 'fail')]),
      evaluation('TST-002', 'fail', [subject('stick-a', 'fail')]),
    ]);
    const { events, state } = findingsToEvents(report(c), RULES, emptyFindingsState());
    const opened = ofKind(events, 'violation.opened');
    expect(opened.map((e) => `${e.violation.ruleId} ${e.violation.subject}`)).toEqual(['TST-001 stick-a', 'TST-001 stick-d', 'TST-002 stick-a']);
    expect(opened[2]).toMatchObject({ at: NOW, policyVersion: 9, violation: { checkId: 'usb-media', result: 'fail', severity: 'low', title: { ja: '規則 TST-002', en: 'rule TST-002' }, clauses: [{ source: '000', ref: '§7(5)①ア' }], facts: { id: 'stick-a' } } });
    expect(state.open).toEqual({
      'TST-001\u0000stick-a': { checkId: 'usb-media', openedAt: NOW },
      'TST-001\u0000stick-d': { checkId: 'usb-media', openedAt: NOW },
      'TST-002\u0000stick-a': { checkId: 'usb-media', openedAt: NOW },
    });
  });

  it('fills the rule\'s message with the subject\'s name and reason, in Japanese and English', () => {
    const named = subject('0781:5583:AA01', 'fail', { subjectName: { ja: 'USB媒体 AA01', en: 'USB device AA01' }, reasonMsg: msg('text', { text: { ja: '台帳にありません', en: 'not in the ledger' } }) });
    const v = ofKind(findingsToEvents(report(check([evaluation('TST-001', 'fail', [named])])), RULES, emptyFindingsState()).events, 'violation.opened')[0]!.violation;
    // {unknown} is no field of the message: it stays as written.
    expect(v.message).toEqual({ ja: 'USB媒体 AA01 は不適合です: 0781:5583:AA01 は fail {unknown}', en: 'USB device AA01 fails: not in the ledger' });
    expect(v.reasonMsg).toEqual(named.reasonMsg);
    // Without a name or a structured reason: the subject key and the Japanese reason.
    const plain = ofKind(findingsToEvents(report(check([evaluation('TST-001', 'fail', [subject('k1', 'fail')])])), RULES, emptyFindingsState()).events, 'violation.opened')[0]!.violation;
    expect(plain.message).toEqual({ ja: 'k1 は不適合です: k1 は fail {unknown}', en: 'k1 fails: k1 は fail' });
    expect(plain).not.toHaveProperty('reasonMsg');
  });

  it('names the logged-on user when the subject has one, clips the reason, and bounds large facts', () => {
    const big = { user: 'tanaka', blob: 'x'.repeat(20_000) };
    const edge = { id: 'e', pad: '' };
    edge.pad = 'y'.repeat(16 * 1024 - JSON.stringify(edge).length);
    const c = check([evaluation('TST-001', 'fail', [subject('u1', 'fail', { excerpt: big, reason: 'い'.repeat(1200) }), subject('u2', 'fail', { excerpt: { user: 42 } }), subject('u3', 'fail', { excerpt: edge })])]);
    const [v1, v2, v3] = ofKind(findingsToEvents(report(c), RULES, emptyFindingsState()).events, 'violation.opened').map((e) => e.violation);
    expect(v1!.user).toBe('tanaka');
    expect(v1!.reason).toBe('い'.repeat(1000));
    expect(v1!.facts).toEqual({ truncated: true, bytes: JSON.stringify(big).length, keys: ['user', 'blob'] });
    expect(v2).not.toHaveProperty('user');
    expect(v2!.facts).toEqual({ user: 42 });
    // Exactly at the limit: kept as it is.
    expect(JSON.stringify(edge).length).toBe(16 * 1024);
    expect(v3!.facts).toEqual(edge);
  });

  it('names at most 50 keys of facts too large to send', () => {
    const wide = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`k${i}`, 'z'.repeat(300)]));
    const v = ofKind(findingsToEvents(report(check([evaluation('TST-001', 'fail', [subject('w', 'fail', { excerpt: wide })])])), RULES, emptyFindingsState()).events, 'violation.opened')[0]!.violation;
    expect(v.facts).toEqual({ truncated: true, bytes: JSON.stringify(wide).length, keys: Object.keys(wide).slice(0, 50) });
  });

  it('ignores the evaluation of a rule the catalogue does not have', () => {
    const { events, state } = findingsToEvents(report(check([evaluation('GONE-001', 'fail', [subject('s', 'fail')])])), RULES, emptyFindingsState());
    expect(ofKind(events, 'violation.opened')).toEqual([]);
    expect(state.open).toEqual({});
  });

  it('does not open again what is open, and does not change the state it was given', () => {
    const c = check([evaluation('TST-001', 'fail', [subject('stick-a', 'fail')])]);
    const first = findingsToEvents(report(c), RULES, emptyFindingsState());
    const before: FindingsState = structuredClone(first.state);
    const second = findingsToEvents(report(check([evaluation('TST-001', 'fail', [subject('stick-a', 'fail'), subject('stick-b', 'fail')])])), RULES, first.state);
    expect(ofKind(second.events, 'violation.opened').map((e) => e.violation.subject)).toEqual(['stick-b']);
    expect(first.state).toEqual(before);
    expect(Object.keys(second.state.open)).toEqual(['TST-001\u0000stick-a', 'TST-001\u0000stick-b']);
  });
});

describe('violations closed', () => {
  const open = (...subjects: string[]) => findingsToEvents(report(check([evaluation('TST-001', 'fail', subjects.map((s) => subject(s, 'fail')))])), RULES, emptyFindingsState()).state;

  it('closes a subject judged again that no longer fails, with its own result and reason', () => {
    const state = open('stick-a', 'stick-b');
    // stick-a is judged after stick-b: its own result is found, not the first one of the rule.
    const now = check([evaluation('TST-001', 'fail', [subject('stick-b', 'fail'), subject('stick-a', 'pass', { reason: '登録済みの媒体です' })])]);
    const { events, state: after } = findingsToEvents(report(now), RULES, state);
    const closed = ofKind(events, 'violation.closed');
    expect(closed).toEqual([{ at: NOW, kind: 'violation.closed', checkId: 'usb-media', ruleId: 'TST-001', subject: 'stick-a', reason: '適合: 登録済みの媒体です', reasonMsg: expect.anything() }]);
    expect(render(closed[0]!.reasonMsg!, 'en')).toBe('pass: 登録済みの媒体です');
    expect(Object.keys(after.open)).toEqual(['TST-001\u0000stick-b']);
  });

  it('closes a subject that is gone, saying so with the rule\'s result', () => {
    const { events, state } = findingsToEvents(report(check([evaluation('TST-001', 'pass', [], { reason: 'USB媒体はありません' })])), RULES, open('stick-a'));
    expect(ofKind(events, 'violation.closed').map((e) => e.reason)).toEqual(['stick-a: 対象が見つからなくなりました (適合: USB媒体はありません)']);
    expect(state.open).toEqual({});
  });

  it('closes the violations of a rule no longer evaluated', () => {
    const { events } = findingsToEvents(report(check([evaluation('TST-002', 'pass', [])])), RULES, open('stick-a'));
    expect(ofKind(events, 'violation.closed').map((e) => [e.ruleId, e.subject, e.reason])).toEqual([['TST-001', 'stick-a', '規則がカタログから外されました']]);
  });

  it('keeps open what is now unknown: nobody can tell it was fixed', () => {
    const state = open('stick-a');
    const unknown = findingsToEvents(report(check([evaluation('TST-001', 'unknown', [subject('stick-a', 'unknown')])])), RULES, state);
    expect(ofKind(unknown.events, 'violation.closed')).toEqual([]);
    expect(unknown.state.open).toEqual(state.open);
    // Another rule being unknown does not keep it open.
    const other = findingsToEvents(report(check([evaluation('TST-001', 'pass', []), evaluation('TST-002', 'unknown', [])])), RULES, state);
    expect(ofKind(other.events, 'violation.closed').map((e) => e.subject)).toEqual(['stick-a']);
  });

  it('closes an open violation kept without a subject part (a state written by an older agent) as about the PC', () => {
    const state: FindingsState = { open: { 'TST-001': { checkId: 'usb-media', openedAt: NOW } }, factsHash: {}, resultsHash: {} };
    const { events } = findingsToEvents(report(check([evaluation('TST-001', 'pass', [])])), RULES, state);
    expect(ofKind(events, 'violation.closed').map((e) => [e.ruleId, e.subject])).toEqual([['TST-001', '']]);
  });

  it('leaves the violations of other checks alone', () => {
    const usb = open('stick-a');
    const av: CheckReport = { ...check([evaluation('TST-002', 'pass', [])]), id: 'antivirus' };
    const { events, state } = findingsToEvents(report(av), RULES, usb);
    expect(ofKind(events, 'violation.closed')).toEqual([]);
    expect(state.open).toEqual(usb.open);
  });

  it('opens the same subject again after it was closed', () => {
    const closed = findingsToEvents(report(check([evaluation('TST-001', 'pass', [])])), RULES, open('stick-a')).state;
    const again = findingsToEvents(report(check([evaluation('TST-001', 'fail', [subject('stick-a', 'fail')])])), RULES, closed);
    expect(ofKind(again.events, 'violation.opened').map((e) => e.violation.subject)).toEqual(['stick-a']);
  });

  it('clips a long closing reason to 1,000 characters', () => {
    const { events } = findingsToEvents(report(check([evaluation('TST-001', 'pass', [subject('stick-a', 'pass', { reason: 'う'.repeat(1200) })])])), RULES, open('stick-a'));
    const reason = ofKind(events, 'violation.closed')[0]!.reason;
    expect(reason).toHaveLength(1000);
    expect(reason.startsWith('適合: う')).toBe(true);
  });
});
