/** Literal frames, valid and invalid, through the decoder both sides use. */
import { describe, expect, it } from 'vitest';
import { decodeAgentFrame, decodeCollectorFrame } from '../../../src/shared/protocol/codec.js';
import { CloseCode, ProtocolError } from '../../../src/shared/protocol/errors.js';
import { LIMITS } from '../../../src/shared/protocol/messages.js';
import { authProof, proofMatches } from '../../../src/shared/protocol/auth.js';

const AGENT = 'ag_0123456789abcdef0123456789';
const codeOf = (fn: () => unknown): number => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err.closeCode;
    throw err;
  }
  return 0;
};

describe('agent frames', () => {
  it('accepts a literal events frame with a violation', () => {
    const text = `{"type":"events","agentId":"${AGENT}","events":[{"seq":1,"at":"2026-11-23T09:00:00.000+09:00","kind":"violation.opened","policyVersion":3,"violation":{"checkId":"usb-media","ruleId":"USB-001","subject":"0781:5583:4C530001234567890123","result":"fail","severity":"high","title":{"ja":"未登録のUSB記録媒体","en":"Unregistered USB medium"},"message":{"ja":"…","en":"…"},"reason":"not in the ledger","clauses":[{"source":"003","ref":"第4章4(1)ア"}],"facts":{"vendorId":"0781"},"user":"山田太郎"}}]}`;
    const f = decodeAgentFrame(text);
    expect(f.type).toBe('events');
    if (f.type === 'events') expect(f.events[0]!.kind).toBe('violation.opened');
  });

  it.each([
    ['not JSON', '{"type":', CloseCode.MALFORMED_FRAME],
    ['a JSON array', '[{"type":"hello"}]', CloseCode.MALFORMED_FRAME],
    ['a JSON string', '"hello"', CloseCode.MALFORMED_FRAME],
    ['null', 'null', CloseCode.MALFORMED_FRAME],
    ['no type', '{"agentId":"x"}', CloseCode.UNKNOWN_TYPE],
    ['an unknown type', '{"type":"exec","command":"calc.exe"}', CloseCode.UNKNOWN_TYPE],
    ['a collector frame sent by an agent', '{"type":"ack","upTo":3}', CloseCode.UNKNOWN_TYPE],
    ['hello without signature or proof', `{"type":"hello","v":1,"agentId":"${AGENT}","os":{"platform":"linux","hostname":"h","release":"r"},"agentVersion":"1","policyVersion":0}`, CloseCode.SCHEMA_VIOLATION],
    ['a negative seq', `{"type":"events","agentId":"${AGENT}","events":[{"seq":-1,"at":"2026-11-23T00:00:00Z","kind":"agent.notice","notice":"x"}]}`, CloseCode.SCHEMA_VIOLATION],
    ['a fractional seq', `{"type":"events","agentId":"${AGENT}","events":[{"seq":1.5,"at":"2026-11-23T00:00:00Z","kind":"agent.notice","notice":"x"}]}`, CloseCode.SCHEMA_VIOLATION],
    ['an empty batch', `{"type":"events","agentId":"${AGENT}","events":[]}`, CloseCode.SCHEMA_VIOLATION],
    ['an unknown event kind', `{"type":"events","agentId":"${AGENT}","events":[{"seq":1,"at":"2026-11-23T00:00:00Z","kind":"file.upload"}]}`, CloseCode.SCHEMA_VIOLATION],
    ['a time without zone', `{"type":"events","agentId":"${AGENT}","events":[{"seq":1,"at":"2026-11-23 00:00:00","kind":"agent.notice","notice":"x"}]}`, CloseCode.SCHEMA_VIOLATION],
    ['a type-confused field', `{"type":"heartbeat","at":"2026-11-23T00:00:00Z","policyVersion":"0","outboxDepth":0}`, CloseCode.SCHEMA_VIOLATION],
  ])('refuses %s', (_name, text, code) => {
    expect(codeOf(() => decodeAgentFrame(text))).toBe(code);
  });

  // PostgreSQL keeps the policy version in an integer column: one number past it, sent by one PC,
  // would fail the group commit (or the heartbeat or presence batch) of every PC written with it.
  const withPolicyVersion = (n: number): [string, string][] => [
    ['hello', `{"type":"hello","v":1,"agentId":"${AGENT}","signature":"${'A'.repeat(86)}==","os":{"platform":"windows","hostname":"h","release":"10"},"agentVersion":"1","policyVersion":${n}}`],
    ['heartbeat', `{"type":"heartbeat","at":"2026-12-07T00:00:00Z","policyVersion":${n},"outboxDepth":0}`],
    ['policy.applied', `{"type":"events","agentId":"${AGENT}","events":[{"seq":1,"at":"2026-12-07T00:00:00Z","kind":"policy.applied","version":${n}}]}`],
    ['results', `{"type":"events","agentId":"${AGENT}","events":[{"seq":1,"at":"2026-12-07T00:00:00Z","kind":"results","checkId":"usb-media","policyVersion":${n},"results":[]}]}`],
    // The frame the collector checks by hand (violations-frame.ts).
    ['violation.opened', `{"type":"events","agentId":"${AGENT}","events":[{"seq":1,"at":"2026-12-07T00:00:00Z","kind":"violation.opened","policyVersion":${n},"violation":{"checkId":"usb-media","ruleId":"USB-001","subject":"s","result":"fail","severity":"high","title":{"ja":"t","en":"t"},"message":{"ja":"m","en":"m"},"reason":"r","clauses":[],"facts":{}}}]}`],
  ];
  it.each(withPolicyVersion(LIMITS.maxPolicyVersion))('accepts a %s with the largest policy version PostgreSQL keeps', (_name, text) => {
    expect(codeOf(() => decodeAgentFrame(text))).toBe(0);
  });
  it.each(withPolicyVersion(LIMITS.maxPolicyVersion + 1))('refuses a %s with a policy version past PostgreSQL\'s integer', (_name, text) => {
    expect(codeOf(() => decodeAgentFrame(text))).toBe(CloseCode.SCHEMA_VIOLATION);
  });
});

describe('collector frames', () => {
  it('accepts a literal welcome and refuses an agent frame', () => {
    expect(decodeCollectorFrame(`{"type":"welcome","agentId":"${AGENT}","lastSeq":0,"serverTime":"2026-11-23T00:00:00Z","heartbeatSeconds":30,"segment":"mynumber"}`).type).toBe('welcome');
    expect(codeOf(() => decodeCollectorFrame('{"type":"events","agentId":"x","events":[]}'))).toBe(CloseCode.UNKNOWN_TYPE);
  });
});

describe('HMAC challenge', () => {
  it('binds the proof to the secret, the nonce and the agent id', () => {
    const secret = 'a'.repeat(64);
    const nonce = 'b'.repeat(64);
    const proof = authProof(secret, nonce, AGENT);
    expect(proofMatches(secret, nonce, AGENT, proof)).toBe(true);
    expect(proofMatches('c'.repeat(64), nonce, AGENT, proof)).toBe(false);
    expect(proofMatches(secret, 'd'.repeat(64), AGENT, proof)).toBe(false);
    expect(proofMatches(secret, nonce, 'ag_ffffffffffffffffffffffffff', proof)).toBe(false);
  });
});
