/**
 * The checks an agent runs again after a new policy, judged on the product catalogue's rules
 * (config/rules/*.yml): only those whose rules' switches, parameters, lists or 例外措置 changed.
 */
import { describe, expect, it } from 'vitest';
import { checksToRerun } from '../../agent/policy-diff.js';
import { CHECKS } from '../../agent/checks/registry.js';
import { productCatalogue } from '../../agent/local-check.js';
import type { PolicyDocument } from '../../src/shared/protocol/messages.js';

const rules = productCatalogue().rules;
const all = CHECKS.map((c) => c.id);
const base: PolicyDocument = { version: 7, segment: 'lgwan', disabledRules: [], enabledRules: [], params: {}, lists: { registeredMedia: ['0781:5567:AA'] }, exceptions: [] };
const rerun = (after: Partial<PolicyDocument>) => checksToRerun(base, { ...base, ...after }, rules, all);
const checkOf = (ruleId: string) => rules.find((r) => r.id === ruleId)!.check;

describe('checks run again after a new policy', () => {
  it('runs nothing when only the version moved', () => {
    expect(rerun({ version: 8 })).toEqual([]);
  });

  it('runs the check of a rule whose parameter changed, and no other', () => {
    const rule = rules.find((r) => Object.values(r.params).some((p) => p.type === 'integer'))!;
    const name = Object.entries(rule.params).find(([, p]) => p.type === 'integer')![0];
    expect(rerun({ params: { [rule.id]: { [name]: 99 } } })).toEqual([rule.check]);
    // The same value set again: nothing.
    const set: PolicyDocument = { ...base, params: { [rule.id]: { [name]: 99 } } };
    const again: PolicyDocument = { ...set, version: 9 };
    expect(checksToRerun(set, again, rules, all)).toEqual([]);
  });

  it('runs the check of a rule switched off or on', () => {
    expect(rerun({ disabledRules: ['LOCK-001'] })).toEqual([checkOf('LOCK-001')]);
    expect(rerun({ enabledRules: ['USB-001'] })).toEqual([checkOf('USB-001')]);
  });

  it('runs the USB check when the 媒体管理台帳 changed', () => {
    expect(rerun({ lists: { registeredMedia: ['0781:5567:AA', '0781:5567:BB'] } })).toEqual(['usb-media']);
  });

  it('runs the check of a rule given or losing a 例外措置', () => {
    const exc = { id: 'exc_1', ruleId: 'AV-002', subject: '*', until: '2027-01-01T00:00:00.000Z' };
    expect(rerun({ exceptions: [exc] })).toEqual([checkOf('AV-002')]);
    expect(checksToRerun({ ...base, exceptions: [exc] }, base, rules, all)).toEqual([checkOf('AV-002')]);
  });

  it('runs every check when the segment changed', () => {
    expect(rerun({ segment: 'mynumber' })).toEqual(all);
  });
});
