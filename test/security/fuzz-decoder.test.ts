/**
 * Property-based tests of the protocol decoders: whatever text arrives — random strings,
 * random JSON, known frame types with type-confused fields, deep nesting — decoding ends in a
 * frame that satisfies the schema or in a ProtocolError carrying one of the documented close
 * codes. Never another exception. Bounded runs (fast-check, fixed seed for reproducibility).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAgentFrame, decodeCollectorFrame } from '../../src/shared/protocol/codec.js';
import { CloseCode, ProtocolError } from '../../src/shared/protocol/errors.js';
import { AgentFrame, CollectorFrame, LIMITS } from '../../src/shared/protocol/messages.js';

const DECODER_CODES = new Set<number>([CloseCode.MALFORMED_FRAME, CloseCode.UNKNOWN_TYPE, CloseCode.SCHEMA_VIOLATION]);
const RUNS = { numRuns: 3000, seed: 20260401 };

/** Decode and classify: "ok" (and the result re-validates) or the close code; anything else fails the property. */
function outcome(decode: (t: string) => unknown, schema: { safeParse(v: unknown): { success: boolean } }, text: string): string {
  try {
    const frame = decode(text);
    expect(schema.safeParse(frame).success).toBe(true);
    return 'ok';
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw new Error(`decoder threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message} for ${text.slice(0, 200)}`);
    expect(DECODER_CODES.has(err.closeCode)).toBe(true);
    return String(err.closeCode);
  }
}

const AGENT_FIELDS = ['type', 'v', 'token', 'os', 'agentVersion', 'agentId', 'proof', 'policyVersion', 'events', 'at', 'outboxDepth', 'rssBytes', 'cpuPercent', '__proto__', 'constructor'];
const EVENT_FIELDS = ['seq', 'at', 'kind', 'violation', 'policyVersion', 'checkId', 'ruleId', 'subject', 'reason', 'results', 'facts', 'status', 'throughSeq', 'dropped', 'requestId', 'checks', 'version', 'notice', 'detail'];
const confused = fc.oneof(fc.anything({ maxDepth: 3 }), fc.constantFrom(null, -1, 0, 1e308, Number.MAX_SAFE_INTEGER + 2, '', 'ag_x', '2026-01-01T00:00:00Z', [], {}, true));

const agentLike = fc.record({
  type: fc.constantFrom('enroll', 'hello', 'events', 'heartbeat', 'shell', 'events '),
  fields: fc.dictionary(fc.constantFrom(...AGENT_FIELDS), confused, { maxKeys: 8 }),
  events: fc.array(fc.dictionary(fc.constantFrom(...EVENT_FIELDS), confused, { maxKeys: 8 }), { maxLength: 5 }),
});

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

describe('decodeAgentFrame under hostile input', () => {
  it('random strings → a frame or a typed ProtocolError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => void outcome(decodeAgentFrame, AgentFrame, s)), RUNS);
  });

  it('random JSON values → a frame or a typed ProtocolError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => void outcome(decodeAgentFrame, AgentFrame, JSON.stringify(v))), RUNS);
  });

  it('known frame types with type-confused fields and events → a frame or 4415/4422, never a crash', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(agentLike, ({ type, fields, events }) => {
        const frame: Record<string, unknown> = { ...fields, type };
        if (type === 'events') frame.events = events;
        let text: string;
        try {
          text = JSON.stringify(frame);
        } catch {
          return; // e.g. BigInt from fc.anything: cannot be on the wire
        }
        seen.add(outcome(decodeAgentFrame, AgentFrame, text));
      }),
      RUNS,
    );
    expect(seen.has(String(CloseCode.SCHEMA_VIOLATION))).toBe(true);
    expect(seen.has(String(CloseCode.UNKNOWN_TYPE))).toBe(true);
  });

  it('valid frames with one byte changed → a frame or a typed ProtocolError', () => {
    const valid = JSON.stringify({ type: 'events', agentId: 'ag_0123456789abcdefghijklmnop', events: [{ seq: 1, at: '2026-04-01T09:00:00+09:00', kind: 'agent.notice', notice: 'x', detail: { a: [1, 2, { b: 'c' }] } }] });
    expect(outcome(decodeAgentFrame, AgentFrame, valid)).toBe('ok');
    fc.assert(
      fc.property(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, byte) => void outcome(decodeAgentFrame, AgentFrame, valid.slice(0, i) + String.fromCharCode(byte) + valid.slice(i + 1))),
      RUNS,
    );
  });

  it('deep nesting (up to a frame-filling 1,000,000 levels) → 4422, without overflowing the stack', () => {
    for (const depth of [LIMITS.maxJsonDepth + 1, 1000, 100_000, 1_000_000]) {
      const text = `{"type":"events","agentId":"ag_0123456789abcdefghijklmnop","events":[{"seq":1,"at":"2026-04-01T09:00:00Z","kind":"agent.notice","notice":"x","detail":{"d":${nested(depth)}}}]}`;
      expect(outcome(decodeAgentFrame, AgentFrame, text), `depth ${depth}`).toBe(String(CloseCode.SCHEMA_VIOLATION));
    }
    // Shallow enough is fine.
    const ok = `{"type":"events","agentId":"ag_0123456789abcdefghijklmnop","events":[{"seq":1,"at":"2026-04-01T09:00:00Z","kind":"agent.notice","notice":"x","detail":{"d":${nested(10)}}}]}`;
    expect(outcome(decodeAgentFrame, AgentFrame, ok)).toBe('ok');
  });
});

describe('decodeCollectorFrame under hostile input (the agent side)', () => {
  it('random JSON and type-confused collector frames → a frame or a typed ProtocolError', () => {
    const collectorLike = fc.record({
      type: fc.constantFrom('challenge', 'enrolled', 'welcome', 'ack', 'scan.request', 'policy.push', 'exec'),
      fields: fc.dictionary(fc.constantFrom('v', 'nonce', 'serverTime', 'agentId', 'secret', 'segment', 'policyKey', 'lastSeq', 'heartbeatSeconds', 'upTo', 'requestId', 'checks', 'policy', 'signature'), confused, { maxKeys: 8 }),
    });
    fc.assert(
      fc.property(fc.oneof(collectorLike.map(({ type, fields }) => ({ ...fields, type })), fc.jsonValue({ maxDepth: 5 })), (v) => {
        let text: string;
        try {
          text = JSON.stringify(v);
        } catch {
          return;
        }
        outcome(decodeCollectorFrame, CollectorFrame, text);
      }),
      RUNS,
    );
  });
});
