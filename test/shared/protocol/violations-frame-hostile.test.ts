/**
 * The hand-written check of events frames of violations (violations-frame.ts) under frames a
 * hostile PC could send: root on one PC can put any bytes in its agent's frames. For every text
 * the check must either leave the frame to zod (messages.ts AgentFrame), or accept exactly what
 * zod returns; it must never throw anything but a ProtocolError; and an event text it hands to
 * the store must read, for every reader of the stored text, as the event zod validated:
 * JSON.parse (the writer thread, the console, forwarding), SQLite's JSON functions (which take
 * the first of two equal keys where JSON.parse takes the last), the report digest of the SQLite
 * writer (violation-batch.ts, which finds the violation by the text `"violation":`), and the
 * event size limit (LIMITS.maxEventBytes, which the gateway measures on the serialised event).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { usbViolation } from '../../../bench/lib/event-shape.js';
import { SqliteConnectionStore } from '../../../src/collector/store/sqlite/connection-store.js';
import { readAgentFrame } from '../../../src/shared/protocol/codec.js';
import { CloseCode, ProtocolError } from '../../../src/shared/protocol/errors.js';
import { AgentFrame, LIMITS } from '../../../src/shared/protocol/messages.js';
import { checkedViolationsFrame } from '../../../src/shared/protocol/violations-frame.js';

const AGENT = 'ag_0123456789abcdefghijklmnop';

/** Event `seq`: the usb-media violation the simulated agents send (bench/lib/event-shape.ts), written as JSON.stringify writes it. */
const violationEvent = (seq: number): Record<string, unknown> => ({ seq, ...usbViolation(seq, '2026-12-07T09:00:00.000Z') });

const frameText = (events: unknown[]): string => JSON.stringify({ type: 'events', agentId: AGENT, events });
/** A frame of two events, the first one's text edited by `edit` (a string replacement on the honest text). */
const edited = (edit: (eventText: string) => string): string => `{"type":"events","agentId":"${AGENT}","events":[${edit(JSON.stringify(violationEvent(1)))},${JSON.stringify(violationEvent(2))}]}`;

const sqlite = new Database(':memory:');
afterAll(() => sqlite.close());
const jsonExtract = sqlite.prepare('SELECT json_extract(?, ?) AS v');
/** What the console's fields read as through SQLite's JSON functions. */
const CONSOLE_PATHS = ['$.seq', '$.kind', '$.at', '$.violation.checkId', '$.violation.ruleId', '$.violation.subject', '$.violation.severity', '$.violation.result', '$.violation.user'];
const sqliteReads = (text: string): unknown[] => CONSOLE_PATHS.map((p) => (jsonExtract.get(text, p) as { v: unknown }).v);

/**
 * The numbers a JSON text writes, as written, sorted (outside strings; a string is read to its
 * closing quote character by character). PostgreSQL's jsonb keeps a number as written, so a text
 * stored for an event must write the numbers JSON.stringify writes for the validated event.
 */
function writtenNumbers(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (/[-0-9]/.test(text[i]!)) {
      const m = /^-?[0-9][0-9.eE+-]*/.exec(text.slice(i, i + 400))!;
      found.push(m[0]);
      i += m[0].length - 1;
    }
  }
  return found.sort();
}

/** zod alone, as the decoder was before the hand check (codec.ts decode): the data, or the close code. */
function byZod(text: string): { data: unknown } | { code: number } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { code: CloseCode.MALFORMED_FRAME };
  }
  const parsed = AgentFrame.safeParse(value);
  return parsed.success ? { data: parsed.data } : { code: CloseCode.SCHEMA_VIOLATION };
}

/** The gateway's decoder: the frame and texts, or the close code of the ProtocolError; anything else thrown fails the test. */
function byGateway(text: string): { frame: unknown; eventTexts?: string[] } | { code: number } {
  try {
    return readAgentFrame(text);
  } catch (err) {
    if (err instanceof ProtocolError) return { code: err.closeCode };
    throw err;
  }
}

/** What the check did with a text: gave the event texts, accepted without them, left the frame to zod, or JSON.parse refused it. */
type Outcome = 'texts' | 'no texts' | 'left to zod' | 'not JSON';

/**
 * The property every hostile frame is held to. When the hand check accepts the text, zod
 * accepts it with a strictly equal result; each event text it gives parses to zod's event,
 * reads through SQLite's JSON functions as the text the collector wrote before (JSON.stringify
 * of zod's event), writes its numbers as that text did (PostgreSQL's jsonb keeps them as
 * written), starts its violation where the report digest looks for it, and is within the event
 * size limit. A frame the check does not take is decoded by zod (same result or close code).
 * Returns what the check did.
 */
function holds(text: string): Outcome {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    expect(byGateway(text)).toEqual({ code: CloseCode.MALFORMED_FRAME });
    return 'not JSON';
  }
  const zod = byZod(text);
  const gateway = byGateway(text);
  const checked = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? checkedViolationsFrame(parsed, text) : undefined;
  if (!checked) {
    // zod decides: the same data, or a ProtocolError (depth, type or schema).
    if ('data' in zod && 'frame' in gateway) expect(gateway.frame).toStrictEqual(zod.data);
    else expect('code' in gateway, text.slice(0, 200)).toBe(true);
    return 'left to zod';
  }
  expect('data' in zod, `the check accepted what zod refuses: ${text.slice(0, 300)}`).toBe(true);
  const zodFrame = (zod as { data: { events: Record<string, unknown>[] } }).data;
  expect(checked.frame).toStrictEqual(zodFrame);
  expect('frame' in gateway && gateway.frame).toStrictEqual(zodFrame);
  if (!checked.eventTexts) return 'no texts';
  expect(checked.eventTexts).toHaveLength(zodFrame.events.length);
  checked.eventTexts.forEach((stored, i) => {
    const event = zodFrame.events[i]!;
    expect(JSON.parse(stored), stored.slice(0, 300)).toStrictEqual(event);
    expect(sqliteReads(stored), stored.slice(0, 300)).toEqual(sqliteReads(JSON.stringify(event)));
    expect(writtenNumbers(stored), stored.slice(0, 300)).toEqual(writtenNumbers(JSON.stringify(event)));
    // reportDigest hashes the text from its first `"violation":`: that must be the event's own violation.
    const start = stored.indexOf('"violation":');
    expect(start, stored.slice(0, 300)).toBeGreaterThan(0);
    let fromThere: unknown;
    try {
      fromThere = (JSON.parse(`{${stored.slice(start)}`) as { violation: unknown }).violation;
    } catch {
      fromThere = `the digest starts inside the violation: ${stored.slice(start, start + 80)}`;
    }
    expect(fromThere).toStrictEqual(event.violation);
    expect(stored.length, 'stored event text over LIMITS.maxEventBytes').toBeLessThanOrEqual(LIMITS.maxEventBytes);
  });
  return 'texts';
}

describe('the violations frame check under hostile frames', () => {
  it('takes the honest frame with its texts (the baseline the attacks below edit)', () => {
    expect(holds(frameText([violationEvent(1), violationEvent(2)]))).toBe('texts');
  });

  it.each<[string, Outcome, string]>([
    // Key spelling: JSON.parse decodes escapes in keys; SQLite 3.53 does too.
    ['an escaped key on the event ("\\u0073eq")', 'no texts', edited((t) => t.replace('"seq":', '"\\u0073eq":'))],
    ['an escaped key on the event ("s\\u0065q")', 'no texts', edited((t) => t.replace('"seq":', '"s\\u0065q":'))],
    ['an escaped key in the violation ("ruleI\\u0064")', 'no texts', edited((t) => t.replace('"ruleId":', '"ruleI\\u0064":'))],
    ['the violation key escaped, with a key "violation" in the facts (the digest would start in the facts)', 'no texts', edited((t) => t.replace('"violation":', '"violatio\\u006e":').replace('"facts":{', '"facts":{"violation":{"x":1},'))],
    ['the violation key escaped and nothing else named violation', 'no texts', edited((t) => t.replace('"violation":', '"violatio\\u006e":'))],
    // Duplicates: JSON.parse keeps the last, SQLite json_extract reads the first.
    ['seq twice, the second escaped', 'no texts', edited((t) => t.replace('"seq":1,', '"seq":7,"\\u0073eq":1,'))],
    ['ruleId twice: SQLite would read the first, JSON.parse the last', 'no texts', edited((t) => t.replace('"ruleId":', '"ruleId":"forged.rule","ruleId":'))],
    ['subject twice, the first escaped', 'no texts', edited((t) => t.replace('"subject":', '"subj\\u0065ct":"usb:forged","subject":'))],
    ['the violation twice (a forged one first)', 'no texts', edited((t) => t.replace('"kind":', `"violation":${JSON.stringify({ ...(violationEvent(9).violation as object), ruleId: 'forged' })},"kind":`))],
    ['a fact twice, the second escaped', 'no texts', edited((t) => t.replace('"serial":', '"serial":"forged","seri\\u0061l":'))],
    ['a key twice in a nested fact', 'no texts', edited((t) => t.replace('"facts":{', '"facts":{"n":{"a":1,"a":2},'))],
    ['a key twice and one key left out elsewhere, keeping the member count (user dropped, seq twice)', 'no texts', edited((t) => t.replace(',"user":"tanaka.hanako"', '').replace('"seq":1,', '"seq":5,"seq":1,'))],
    // __proto__ and constructor.
    ['__proto__ on the event', 'left to zod', edited((t) => t.replace('"seq":', '"__proto__":{"seq":9},"seq":'))],
    ['__proto__ on the violation', 'left to zod', edited((t) => t.replace('"ruleId":', '"__proto__":{"ruleId":"x"},"ruleId":'))],
    ['__proto__ escaped in the facts', 'left to zod', edited((t) => t.replace('"facts":{', '"facts":{"__pr\\u006fto__":{"polluted":true},'))],
    ['__proto__ nested in a fact', 'texts', edited((t) => t.replace('"facts":{', '"facts":{"n":{"__proto__":{"polluted":true}},'))],
    ['constructor on the event', 'left to zod', edited((t) => t.replace('"seq":', '"constructor":1,"seq":'))],
    ['constructor on the violation instead of user', 'left to zod', edited((t) => t.replace('"user":', '"constructor":'))],
    // Keys with NUL: zod names no such key outside the records.
    ['ruleId\\u0000 beside ruleId', 'left to zod', edited((t) => t.replace('"ruleId":', '"ruleId\\u0000":"forged","ruleId":'))],
    ['a fact key with NUL', 'no texts', edited((t) => t.replace('"facts":{', '"facts":{"serial\\u0000":"forged",'))],
    // Another agent's voice.
    ['agentId on the violation', 'left to zod', edited((t) => t.replace('"ruleId":', '"agentId":"ag_zzzzzzzzzzzzzzzzzzzzzz","ruleId":'))],
    ['agentId on the event', 'left to zod', edited((t) => t.replace('"seq":', '"agentId":"ag_zzzzzzzzzzzzzzzzzzzzzz","seq":'))],
    ['agentId twice on the frame', 'no texts', edited((t) => t).replace('"agentId":', '"agentId":"ag_zzzzzzzzzzzzzzzzzzzzzz","agentId":')],
    ['events twice on the frame, unchecked ones first (JSON.parse keeps the second)', 'no texts', edited((t) => t).replace('"events":[', `"events":[${JSON.stringify({ ...violationEvent(1), violation: { forged: true } })}],"events":[`)],
    ['type twice on the frame', 'no texts', edited((t) => t).replace('"type":"events"', '"type":"heartbeat","type":"events"')],
  ])('key spelling: %s → %s', (_name, outcome, text) => {
    expect(holds(text)).toBe(outcome);
  });

  it.each<[string, Outcome, string]>([
    ['seq 1e400 (Infinity)', 'left to zod', edited((t) => t.replace('"seq":1,', '"seq":1e400,'))],
    ['seq -0', 'left to zod', edited((t) => t.replace('"seq":1,', '"seq":-0,'))],
    ['policyVersion -0', 'no texts', edited((t) => t.replace('"policyVersion":3', '"policyVersion":-0'))],
    ['policyVersion past PostgreSQL\'s integer (agents.policy_version)', 'left to zod', edited((t) => t.replace('"policyVersion":3', `"policyVersion":${LIMITS.maxPolicyVersion + 1}`))],
    ['policyVersion at PostgreSQL\'s largest integer', 'texts', edited((t) => t.replace('"policyVersion":3', `"policyVersion":${LIMITS.maxPolicyVersion}`))],
    ['seq 1.0', 'no texts', edited((t) => t.replace('"seq":1,', '"seq":1.0,'))],
    ['seq 1e0', 'no texts', edited((t) => t.replace('"seq":1,', '"seq":1e0,'))],
    ['seq 0.1e1', 'no texts', edited((t) => t.replace('"seq":1,', '"seq":0.1e1,'))],
    ['seq 1.0000000000000001 (1 as a double)', 'no texts', edited((t) => t.replace('"seq":1,', '"seq":1.0000000000000001,'))],
    ['seq 0.99999999999999999 (1 as a double)', 'no texts', edited((t) => t.replace('"seq":1,', '"seq":0.99999999999999999,'))],
    ['seq 2^53 + 1 (rounds to 2^53)', 'left to zod', edited((t) => t.replace('"seq":1,', '"seq":9007199254740993,'))],
    ['seq 2^53 − 1 written 9007199254740991.4', 'no texts', edited((t) => t.replace('"seq":1,', '"seq":9007199254740991.4,'))],
    ['seq 0x1', 'not JSON', edited((t) => t.replace('"seq":1,', '"seq":0x1,'))],
    ['seq 01', 'not JSON', edited((t) => t.replace('"seq":1,', '"seq":01,'))],
    ['seq NaN', 'not JSON', edited((t) => t.replace('"seq":1,', '"seq":NaN,'))],
    ['seq Infinity', 'not JSON', edited((t) => t.replace('"seq":1,', '"seq":Infinity,'))],
    ['seq +1', 'not JSON', edited((t) => t.replace('"seq":1,', '"seq":+1,'))],
    ['seq 1.', 'not JSON', edited((t) => t.replace('"seq":1,', '"seq":1.,'))],
    ['facts as JSON.stringify writes them: 12.5, -12, 0.1, 1.5e-7, 1e+21, 2^53 − 1, 61530439680', 'texts', edited((t) => t.replace('"facts":{', '"facts":{"a":12.5,"b":-12,"c":0.1,"d":1.5e-7,"e":1e+21,"f":9007199254740991,"g":61530439680,"h":[0,-1],'))],
    ['a fact 1e21 (JSON.stringify writes 1e+21)', 'no texts', edited((t) => t.replace('"facts":{', '"facts":{"e":1e21,'))],
    ['a fact 1E+21', 'no texts', edited((t) => t.replace('"facts":{', '"facts":{"e":1E+21,'))],
    ['a fact 12.50', 'no texts', edited((t) => t.replace('"facts":{', '"facts":{"a":12.50,'))],
    ['a fact 1e400', 'no texts', edited((t) => t.replace('"facts":{', '"facts":{"big":1e400,'))],
    ['a fact -0', 'no texts', edited((t) => t.replace('"facts":{', '"facts":{"z":-0,'))],
  ])('numbers: %s → %s', (_name, outcome, text) => {
    expect(holds(text)).toBe(outcome);
  });

  it.each<[string, Outcome, string]>([
    ['a lone high surrogate in the subject', 'texts', edited((t) => t.replace('"subject":"', '"subject":"\\ud800'))],
    ['a lone low surrogate in ruleId', 'texts', edited((t) => t.replace('"ruleId":"', '"ruleId":"\\udc00'))],
    ['a NUL in the subject', 'texts', edited((t) => t.replace('"subject":"', '"subject":"\\u0000'))],
    ['an escaped quote and backslash run before a quote', 'texts', edited((t) => t.replace('"reason":"', '"reason":"\\\\\\\\\\"}],:{\\\\'))],
    ['ruleId of 64 escaped characters', 'texts', edited((t) => t.replace('"ruleId":"usb.unregistered-medium"', `"ruleId":"${'\\u0061'.repeat(64)}"`))],
    ['ruleId of 65 escaped characters', 'left to zod', edited((t) => t.replace('"ruleId":"usb.unregistered-medium"', `"ruleId":"${'\\u0061'.repeat(65)}"`))],
    ['subject of 256 units of astral characters', 'texts', edited((t) => t.replace(/"subject":"[^"]*"/, `"subject":"${'😀'.repeat(128)}"`))],
    ['subject of 129 astral characters (258 units)', 'left to zod', edited((t) => t.replace(/"subject":"[^"]*"/, `"subject":"${'😀'.repeat(129)}"`))],
    ['subject of 257 Japanese characters', 'left to zod', edited((t) => t.replace(/"subject":"[^"]*"/, `"subject":"${'あ'.repeat(257)}"`))],
    ['a raw U+2028 in the reason', 'texts', edited((t) => t.replace('"reason":"', '"reason":"\u2028'))],
    ['a raw control character in a string', 'not JSON', edited((t) => t.replace('"reason":"', '"reason":"\u0001'))],
  ])('strings: %s → %s', (_name, outcome, text) => {
    expect(holds(text)).toBe(outcome);
  });

  it.each<[string, Outcome, string]>([
    ['a BOM before the frame', 'not JSON', `\uFEFF${edited((t) => t)}`],
    ['whitespace around the frame', 'no texts', ` ${edited((t) => t)}\n`],
    ['whitespace inside an event', 'no texts', edited((t) => t.replace('"seq":1,', '"seq": 1,'))],
    ['a non-breaking space between tokens', 'not JSON', edited((t) => t.replace('"seq":1,', '"seq":1\u00a0,'))],
    ['garbage after the frame', 'not JSON', `${edited((t) => t)}x`],
    ['two frames in one text', 'not JSON', `${edited((t) => t)}${edited((t) => t)}`],
    ['a trailing comma in the events', 'not JSON', edited((t) => t).replace(/\]\}$/, ',]}')],
    ['a hole in the clauses', 'not JSON', edited((t) => t.replace('"clauses":[', '"clauses":[,'))],
    ['no events', 'left to zod', `{"type":"events","agentId":"${AGENT}","events":[]}`],
    ['more events than maxBatchEvents', 'left to zod', frameText(Array.from({ length: LIMITS.maxBatchEvents + 1 }, (_, i) => violationEvent(i + 1)))],
    ['events as an object', 'left to zod', `{"type":"events","agentId":"${AGENT}","events":{"0":${JSON.stringify(violationEvent(1))}}}`],
    ['an event that is an array', 'left to zod', `{"type":"events","agentId":"${AGENT}","events":[[${JSON.stringify(violationEvent(1))}]]}`],
    ['events nested in another array key before them', 'left to zod', `{"type":"events","x":[[1]],"agentId":"${AGENT}","events":[${JSON.stringify(violationEvent(1))}]}`],
    ['the frame as an array', 'left to zod', `[${edited((t) => t)}]`],
    ['the frame as a string', 'left to zod', JSON.stringify(edited((t) => t))],
    ['keys of the frame in another order', 'texts', `{"events":[${JSON.stringify(violationEvent(1))}],"agentId":"${AGENT}","type":"events"}`],
    ['keys of the event in another order (violation first)', 'texts', edited(() => { const e = violationEvent(1); return JSON.stringify({ violation: e.violation, seq: 1, kind: e.kind, at: e.at, policyVersion: 3 }); })],
    ['facts nested to the depth limit', 'texts', edited((t) => t.replace('"facts":{', `"facts":{"deep":${'['.repeat(LIMITS.maxJsonDepth - 5)}1${']'.repeat(LIMITS.maxJsonDepth - 5)},`))],
    ['facts nested one past the depth limit', 'left to zod', edited((t) => t.replace('"facts":{', `"facts":{"deep":${'['.repeat(LIMITS.maxJsonDepth - 4)}1${']'.repeat(LIMITS.maxJsonDepth - 4)},`))],
    ['facts nested 100,000 deep', 'left to zod', edited((t) => t.replace('"facts":{', `"facts":{"deep":${'['.repeat(100_000)}${']'.repeat(100_000)},`))],
  ])('structure: %s → %s', (_name, outcome, text) => {
    expect(holds(text)).toBe(outcome);
  });

  it('seq order, repeats and gaps: the texts stay with their events, so the gateway sees every seq in the frame', () => {
    for (const seqs of [[3, 1, 2], [1, 1], [5, 9, 100], [2, 1]]) {
      const text = frameText(seqs.map(violationEvent));
      expect(holds(text)).toBe('texts');
      const { frame, eventTexts } = readAgentFrame(text);
      expect((frame as { events: { seq: number }[] }).events.map((e) => e.seq)).toEqual(seqs);
      expect(eventTexts!.map((t) => (JSON.parse(t) as { seq: number }).seq)).toEqual(seqs);
    }
  });

  it('an event whose text is over the event size limit while its serialised form is not (escapes) is not stored as that text', () => {
    // 200,000 characters written as \u0061: 1.2 MB of text, 200 kB once serialised.
    const text = edited((t) => t.replace('"facts":{', `"facts":{"padding":"${'\\u0061'.repeat(200_000)}",`));
    expect(text.length).toBeLessThan(LIMITS.maxFrameBytes);
    expect(holds(text)).toBe('no texts');
  });

  it('an event whose text is over the event size limit while its serialised form is not (digits) is not stored as that text', () => {
    const text = edited((t) => t.replace('"facts":{', `"facts":{"n":1.${'0'.repeat(1_100_000)},`));
    expect(holds(text)).toBe('no texts');
  });

  it('random edits of the text with JSON’s own characters and escapes: never a throw, never a text that reads otherwise', () => {
    const honest = edited((t) => t);
    const pieces = ['"', '\\', ':', ',', '{', '}', '[', ']', '\\u0073', '\\u0000', '\\"', '"seq":', '"\\u0073eq":', '"violation":', '"violatio\\u006e":', '"ruleId":"x",', '"__proto__":', '1e400', '-0', ' ', '\uFEFF', '\ud800'];
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(honest.length), fc.nat(4), fc.constantFrom(...pieces)), { minLength: 1, maxLength: 4 }), (edits) => {
        let text = honest;
        for (const [at, cut, piece] of edits) {
          const i = Math.min(at, text.length);
          text = text.slice(0, i) + piece + text.slice(i + cut);
        }
        const outcome = holds(text);
        if (outcome === 'texts' || outcome === 'no texts') accepted++;
      }),
      { numRuns: 3000, seed: 20261207 },
    );
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('what the SQLite store keeps of a hostile frame', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-framecheck-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a report of new content whose violation key is escaped updates the violation (the digest does not start in the facts)', async () => {
    const store = new SqliteConnectionStore(join(dir, 'digest.db'));
    try {
      await store.migrate();
      await store.createAgent({ id: AGENT, secret: '', hostname: 'pc-01', os: { platform: 'windows', hostname: 'pc-01', release: '10' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-12-01T00:00:00.000Z', tokenId: 't' });
      // The same rule and subject reported twice; the second time with severity critical. The
      // event's own violation key is escaped and the facts end with a key named violation.
      const frame = (seq: number, severity: string): string =>
        `{"type":"events","agentId":"${AGENT}","events":[${JSON.stringify({ ...violationEvent(seq), violation: { ...(violationEvent(1).violation as object), severity, user: undefined, facts: { serial: 'AA1', violation: { same: true } } } })
          .replace('"violation":', '"violatio\\u006e":')}]}`;
      for (const [seq, severity] of [[1, 'high'], [2, 'critical']] as const) {
        const { eventTexts, frame: decoded } = readAgentFrame(frame(seq, severity));
        const texts = eventTexts ?? (decoded as { events: unknown[] }).events.map((e) => JSON.stringify(e));
        await store.ingestTexts([{ agentId: AGENT, events: texts }], `2026-12-07T10:0${seq}:00.000Z`);
      }
      const [row] = await store.listViolations({ agentId: AGENT });
      expect(row?.severity).toBe('critical');
    } finally {
      await store.close();
    }
  });
});
