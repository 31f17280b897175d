/** Which signature-checked policies an agent may use: made for this PC and segment, never older. */
import { describe, expect, it } from 'vitest';
import { policyRefusal } from '../../agent/policy-guard.js';
import { PolicyDocument } from '../../src/shared/protocol/messages.js';

const self = { agentId: 'ag_0000000000000000000001', segment: 'lgwan' as const };
const policy = (fields: Record<string, unknown>): PolicyDocument => PolicyDocument.parse(fields);
const inForce = policy({ version: 5, agentId: 'ag_0000000000000000000001', segment: 'lgwan' });

describe('policyRefusal', () => {
  it('accepts a newer policy, and the same version again, made for this PC and its segment', () => {
    expect(policyRefusal(policy({ version: 6, agentId: 'ag_0000000000000000000001', segment: 'lgwan' }), inForce, self)).toBeUndefined();
    expect(policyRefusal(policy({ version: 5, agentId: 'ag_0000000000000000000001', segment: 'lgwan' }), inForce, self)).toBeUndefined();
  });

  it('accepts a policy for this PC that names no segment', () => {
    expect(policyRefusal(policy({ version: 6, agentId: 'ag_0000000000000000000001' }), inForce, self)).toBeUndefined();
  });

  it('refuses a policy that names no PC', () => {
    expect(policyRefusal(policy({ version: 6, segment: 'lgwan' }), inForce, self)).toBe('the policy names no PC');
  });

  it("refuses another PC's policy, naming that PC", () => {
    expect(policyRefusal(policy({ version: 6, agentId: 'ag_0000000000000000000002', segment: 'lgwan' }), inForce, self)).toBe('the policy is for another PC (ag_0000000000000000000002)');
  });

  it("refuses a policy for another segment, naming both", () => {
    expect(policyRefusal(policy({ version: 6, agentId: 'ag_0000000000000000000001', segment: 'internet' }), inForce, self)).toBe('the policy is for another segment (internet, this PC: lgwan)');
  });

  it('refuses an older policy (a replayed one), one version back as well', () => {
    expect(policyRefusal(policy({ version: 4, agentId: 'ag_0000000000000000000001', segment: 'lgwan' }), inForce, self)).toBe('older than the policy in force (4 < 5)');
    expect(policyRefusal(policy({ version: 0, agentId: 'ag_0000000000000000000001', segment: 'lgwan' }), inForce, self)).toBe('older than the policy in force (0 < 5)');
  });
});
