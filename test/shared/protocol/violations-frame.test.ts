/**
 * The hand-written check of events frames of violations (violations-frame.ts) against the zod
 * schema it stands in for: over a corpus of good and bad frames, and random changes of a good
 * one, whatever the check accepts the schema accepts with an equal result, each event text it
 * finds parses to that event, and what it leaves goes to zod, which gives the typed error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usbViolation } from '../../../bench/lib/event-shape.js';
import { decodeAgentFrame, readAgentFrame } from '../../../src/shared/protocol/codec.js';
import { CloseCode, ProtocolError } from '../../../src/shared/protocol/errors.js';
import { AgentFrame, LIMITS } from '../../../src/shared/protocol/messages.js';
import { checkedViolationsFrame } from '../../../src/shared/protocol/violations-frame.js';

const AGENT = 'ag_0123456789abcdefghijklmnop';

/** Event `seq`: the usb-media violation the simulated agents send (bench/lib/event-shape.ts), with a nested fact for the changes below to reach into. */
function violationEvent(seq: number): Record<string, unknown> {
  const e = usbViolation(seq, '2026-12-07T09:00:00.000Z');
  return { seq, ...e, violation: { ...e.violation, facts: { ...e.violation.facts, nested: { a: [1, { b: null }] } } } };
}

function frameOf(events: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'events', agentId: AGENT, events, ...extra };
}

const base = (): Record<string, unknown> => frameOf([1, 2, 3, 4, 5].map(violationEvent));

/** Set `value` at `path` of a deep copy of `frame` (undefined deletes the key). */
function changed(frame: Record<string, unknown>, path: (string | number)[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(frame);
  let at: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

function nest(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

function depthOf(v: unknown, d = 1): number {
  if (typeof v !== 'object' || v === null) return 0;
  return Math.max(d, ...Object.values(v).map((c) => depthOf(c, d + 1)));
}

/**
 * The property: when the check accepts a text, the schema accepts it too (within the depth
 * limit) with a strictly equal result, and each event text found parses to the schema's event.
 * Returns whether the check accepted it, and whether it found the texts.
 */
function agrees(text: string): { accepted: boolean; texts: boolean } {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  const checked = checkedViolationsFrame(parsed, text);
  if (!checked) return { accepted: false, texts: false };
  // The same parsed object to both (zod does not change its input): values zod keeps as they are are the same objects.
  const byZod = AgentFrame.safeParse(parsed);
  expect(byZod.success, text.slice(0, 300)).toBe(true);
  expect(depthOf(parsed)).toBeLessThanOrEqual(LIMITS.maxJsonDepth);
  expect(checked.frame).toStrictEqual(byZod.data);
  const events = (byZod.data as { events: unknown[] }).events;
  if (checked.eventTexts) {
    expect(checked.eventTexts).toHaveLength(events.length);
    checked.eventTexts.forEach((t, i) => expect(JSON.parse(t)).toEqual(events[i]));
  }
  // The decoder the gateway uses returns the same.
  expect(readAgentFrame(text).frame).toEqual(byZod.data);
  return { accepted: true, texts: checked.eventTexts !== undefined };
}

function codeOf(text: string): number {
  try {
    decodeAgentFrame(text);
  } catch (err) {
    if (err instanceof ProtocolError) return err.closeCode;
    throw err;
  }
  return 0;
}

const V = ['events', 0, 'violation'];
const astral = '😀'.repeat(40); // 80 UTF-16 units, 40 code points: over ruleId's 64 units, within its 64 code points

describe('the violations frame check agrees with the schema', () => {
  it('accepts the frames agents send and finds each event text, which parses to the event', () => {
    const text = JSON.stringify(base());
    expect(agrees(text)).toEqual({ accepted: true, texts: true });
    const withMsg = changed(base(), [...V, 'reasonMsg'], { id: 'cause.coded', params: { what: { id: 'code.X' }, code: 'X', detail: 'a"b\\c{[:]}' } });
    expect(agrees(JSON.stringify(withMsg))).toEqual({ accepted: true, texts: true });
    expect(agrees(JSON.stringify(changed(base(), [...V, 'user'], undefined)))).toEqual({ accepted: true, texts: true });
    // Strings full of JSON's own characters and escapes: the texts are still cut where the events are.
    const tricky = changed(base(), [...V, 'subject'], 'a"}],{"seq":9:[\\"\\\\\u0000\u2028');
    expect(agrees(JSON.stringify(tricky))).toEqual({ accepted: true, texts: true });
    expect(agrees(JSON.stringify(tricky).replace('\\u0000', '\\u0000\\/'))).toEqual({ accepted: true, texts: true });
    expect(agrees(JSON.stringify(frameOf(Array.from({ length: LIMITS.maxBatchEvents }, (_, i) => violationEvent(i + 1)))))).toEqual({ accepted: true, texts: true });
  });

  it.each<[string, (string | number)[], unknown]>([
    ['the most clauses', [...V, 'clauses'], Array.from({ length: 32 }, () => ({ source: 'S1', ref: 'x' }))],
    ['no clauses', [...V, 'clauses'], []],
    ['strings at their limit', [...V, 'ruleId'], 'r'.repeat(64)],
    ['Japanese at the limit', [...V, 'title', 'ja'], 'あ'.repeat(512)],
    ['the largest seq', ['events', 4, 'seq'], Number.MAX_SAFE_INTEGER],
    ['policy version 0', ['events', 0, 'policyVersion'], 0],
    ['a time with an offset and fraction', ['events', 0, 'at'], '2028-02-29T23:59:59.123456+09:00'],
    ['facts nested to the limit', [...V, 'facts', 'deep'], nest(LIMITS.maxJsonDepth - 5)],
    ['a fact named constructor', [...V, 'facts', 'constructor'], { a: 1 }],
    ['an unknown result', [...V, 'result'], 'unknown'],
  ])('accepts %s', (_name, path, value) => {
    expect(agrees(JSON.stringify(changed(base(), path, value)))).toEqual({ accepted: true, texts: true });
  });

  it.each<[string, string]>([
    ['whitespace between tokens', JSON.stringify(base(), null, 1)],
    ['a key given twice', JSON.stringify(base()).replace('{"seq":1,', '{"seq":7,"seq":1,')],
    ['a key given twice in the facts', JSON.stringify(base()).replace('"facts":{', '"facts":{"serial":"forged",')],
  ])('accepts %s but leaves the texts out', (_name, text) => {
    expect(agrees(text)).toEqual({ accepted: true, texts: false });
  });

  it.each<[string, string]>([
    ['an unknown key on the frame', JSON.stringify(frameOf([violationEvent(1)], { extra: 1 }))],
    ['an unknown key on an event', JSON.stringify(changed(base(), ['events', 1, 'extra'], 'x'))],
    ['an unknown key on the violation', JSON.stringify(changed(base(), [...V, 'extra'], 'x'))],
    ['an unknown key in the title', JSON.stringify(changed(base(), [...V, 'title', 'fr'], 'x'))],
    ['an unknown key in the message', JSON.stringify(changed(base(), [...V, 'message', 'fr'], 'x'))],
    ['an unknown key in a clause', JSON.stringify(changed(base(), [...V, 'clauses', 0, 'note'], 'x'))],
    ['an unknown key in the reason message', JSON.stringify(changed(base(), [...V, 'reasonMsg'], { id: 'x', extra: 1 }))],
    ['__proto__ in the facts', JSON.stringify(base()).replace('"facts":{', '"facts":{"__proto__":{"polluted":true},')],
    ['__proto__ in the reason message', JSON.stringify(changed(base(), [...V, 'reasonMsg'], { id: 'x', params: {} })).replace('"params":{', '"params":{"__proto__":1')],
    ['a string over its limit in units but not in code points', JSON.stringify(changed(base(), [...V, 'ruleId'], astral))],
    ['another kind beside the violations', JSON.stringify(frameOf([violationEvent(1), { seq: 2, at: '2026-12-07T09:00:00Z', kind: 'agent.notice', notice: 'started' }]))],
  ])('leaves %s to the schema, which decodes it', (_name, text) => {
    expect(agrees(text).accepted).toBe(false);
    expect(codeOf(text)).toBe(0);
    expect(AgentFrame.safeParse(JSON.parse(text)).success).toBe(true);
  });

  it.each<[string, (string | number)[], unknown, number]>([
    ['another frame type', ['type'], 'heartbeat', CloseCode.SCHEMA_VIOLATION],
    ['a malformed agent id', ['agentId'], 'ag_X', CloseCode.SCHEMA_VIOLATION],
    ['no events', ['events'], [], CloseCode.SCHEMA_VIOLATION],
    ['too many events', ['events'], Array.from({ length: LIMITS.maxBatchEvents + 1 }, (_, i) => violationEvent(i + 1)), CloseCode.SCHEMA_VIOLATION],
    ['events not an array', ['events'], { 0: violationEvent(1) }, CloseCode.SCHEMA_VIOLATION],
    ['seq 0', ['events', 0, 'seq'], 0, CloseCode.SCHEMA_VIOLATION],
    ['a fractional seq', ['events', 0, 'seq'], 1.5, CloseCode.SCHEMA_VIOLATION],
    ['a seq past the safe integers', ['events', 0, 'seq'], Number.MAX_SAFE_INTEGER + 2, CloseCode.SCHEMA_VIOLATION],
    ['a seq as text', ['events', 0, 'seq'], '1', CloseCode.SCHEMA_VIOLATION],
    ['a negative policy version', ['events', 0, 'policyVersion'], -1, CloseCode.SCHEMA_VIOLATION],
    ['a time without zone', ['events', 0, 'at'], '2026-12-07T09:00:00', CloseCode.SCHEMA_VIOLATION],
    ['a day that does not exist', ['events', 0, 'at'], '2027-02-29T09:00:00Z', CloseCode.SCHEMA_VIOLATION],
    ['an unknown kind', ['events', 0, 'kind'], 'violation.forged', CloseCode.SCHEMA_VIOLATION],
    ['an unknown check', [...V, 'checkId'], 'rootkit', CloseCode.SCHEMA_VIOLATION],
    ['a result of pass', [...V, 'result'], 'pass', CloseCode.SCHEMA_VIOLATION],
    ['an unknown severity', [...V, 'severity'], 'urgent', CloseCode.SCHEMA_VIOLATION],
    ['a title without English', [...V, 'title'], { ja: 'x' }, CloseCode.SCHEMA_VIOLATION],
    ['a message over its limit', [...V, 'message', 'ja'], 'あ'.repeat(2049), CloseCode.SCHEMA_VIOLATION],
    ['a missing reason', [...V, 'reason'], undefined, CloseCode.SCHEMA_VIOLATION],
    ['too many clauses', [...V, 'clauses'], Array.from({ length: 33 }, () => ({ source: 'S1', ref: 'x' })), CloseCode.SCHEMA_VIOLATION],
    ['a clause without ref', [...V, 'clauses', 0], { source: 'S1' }, CloseCode.SCHEMA_VIOLATION],
    ['facts as an array', [...V, 'facts'], [1], CloseCode.SCHEMA_VIOLATION],
    ['facts null', [...V, 'facts'], null, CloseCode.SCHEMA_VIOLATION],
    ['a user null', [...V, 'user'], null, CloseCode.SCHEMA_VIOLATION],
    ['a reason message without id', [...V, 'reasonMsg'], { params: {} }, CloseCode.SCHEMA_VIOLATION],
    ['reason message params as an array', [...V, 'reasonMsg'], { id: 'x', params: [] }, CloseCode.SCHEMA_VIOLATION],
    ['facts nested past the limit', [...V, 'facts', 'deep'], nest(LIMITS.maxJsonDepth - 4), CloseCode.SCHEMA_VIOLATION],
    ['a violation missing', [...V], undefined, CloseCode.SCHEMA_VIOLATION],
  ])('refuses %s with the schema’s error', (_name, path, value, code) => {
    const text = JSON.stringify(changed(base(), path, value));
    expect(agrees(text).accepted).toBe(false);
    expect(codeOf(text)).toBe(code);
  });

  it('refuses what is nested past the limit with the depth error', () => {
    const text = JSON.stringify(changed(base(), [...V, 'facts', 'deep'], nest(LIMITS.maxJsonDepth - 4)));
    expect(() => decodeAgentFrame(text)).toThrow(`nested deeper than ${LIMITS.maxJsonDepth} levels`);
  });

  it('random changes of a good frame: the check accepts nothing the schema refuses, and returns what the schema returns', () => {
    const paths: (string | number)[][] = [
      ['type'], ['agentId'], ['events'], ['extra'],
      ['events', 0], ['events', 0, 'seq'], ['events', 1, 'seq'], ['events', 0, 'at'], ['events', 0, 'kind'], ['events', 0, 'policyVersion'], ['events', 0, 'extra'],
      [...V], [...V, 'checkId'], [...V, 'ruleId'], [...V, 'subject'], [...V, 'result'], [...V, 'severity'], [...V, 'title'], [...V, 'title', 'ja'],
      [...V, 'message', 'en'], [...V, 'reason'], [...V, 'reasonMsg'], [...V, 'clauses'], [...V, 'clauses', 1], [...V, 'clauses', 0, 'ref'],
      [...V, 'facts'], [...V, 'facts', 'serial'], [...V, 'user'], [...V, 'extra'],
    ];
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom(undefined, null, -1, 0, 1, 1.5, Number.MAX_SAFE_INTEGER + 1, '', 'x'.repeat(2049), astral, 'fail', 'high', 'usb-media', 'violation.opened', 'events', AGENT, '2026-12-07T09:00:00Z', [], {}, { ja: 'a', en: 'b' }, { id: 'x' }, { source: 'S', ref: 'r' }),
    );
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...paths), value), { minLength: 1, maxLength: 3 }), (changes) => {
        let frame = base();
        for (const [path, v] of changes) {
          try {
            frame = changed(frame, path, v);
          } catch {
            // the path no longer exists after an earlier change
          }
        }
        if (agrees(JSON.stringify(frame)).accepted) accepted++;
      }),
      { numRuns: 2000, seed: 20261207 },
    );
    // Some changes leave a frame the check accepts (a string, a fact): the property was tested on both sides.
    expect(accepted).toBeGreaterThan(0);
  });
});
