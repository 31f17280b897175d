/**
 * Which signed policies an agent may use. A valid signature says the collector made a policy,
 * not that it was made for this PC now: a policy names the PC (agent id) and the segment it is
 * for, under the signature, and its version only moves forward on a PC. A replayed older
 * policy or another PC's policy (say, one carrying that PC's 例外措置) is refused.
 */
import type { PolicyDocument, Segment } from '../src/shared/protocol/messages.js';

export interface PolicySelf {
  agentId: string;
  segment: Segment;
}

/** Why this (signature-checked) policy must not be used here, or undefined when it may. */
export function policyRefusal(policy: PolicyDocument, inForce: PolicyDocument, self: PolicySelf): string | undefined {
  if (policy.agentId === undefined) return 'the policy names no PC';
  if (policy.agentId !== self.agentId) return `the policy is for another PC (${policy.agentId})`;
  if (policy.segment !== undefined && policy.segment !== self.segment) return `the policy is for another segment (${policy.segment}, this PC: ${self.segment})`;
  if (policy.version < inForce.version) return `older than the policy in force (${policy.version} < ${inForce.version})`;
  return undefined;
}
