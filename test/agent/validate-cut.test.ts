/**
 * The cut of agent/outbox/validate.ts in detail: where a string is cut next to a surrogate
 * pair, a limit shorter than the marker, a second pass for what the first pass revealed,
 * which holder of an over-large event loses its facts, what the summary says, what an event
 * that cannot be mended reports, and what is logged.
 */
import { describe, expect, it } from 'vitest';
import { fitEvent, fitEvents, truncateText, truncationMarker } from '../../agent/outbox/validate.js';
import { AgentEvent, LIMITS } from '../../src/shared/protocol/messages.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';

const at = '2026-12-06T01:00:00.000Z';
type Opened = Extract<NewAgentEvent, { kind: 'violation.opened' }>;

function opened(extra: Record<string, unknown> = {}): Opened {
  return {
    at,
    kind: 'violation.opened',
    policyVersion: 3,
    violation: { checkId: 'usb-media', ruleId: 'USB-001', subject: 's', result: 'fail', severity: 'high', title: { ja: '未登録媒体', en: 'Unregistered medium' }, message: { ja: 'm', en: 'm' }, reason: 'r', clauses: [], facts: {}, ...extra },
  } as Opened;
}

const valid = (e: NewAgentEvent) => AgentEvent.safeParse({ ...e, seq: 1 }).success;
type Facts = Extract<NewAgentEvent, { kind: 'facts' }>;
const factsEvent = (pad: string): Facts => ({ at, kind: 'facts', checkId: 'software', status: 'ok', facts: { pad } });
/** Facts whose JSON text is over the event limit. */
const hugeFacts = () => ({ blob: 'b'.repeat(LIMITS.maxEventBytes) });

describe('truncateText', () => {
  const marker = truncationMarker(8);

  it('steps back over a high surrogate at the cut rather than split its pair', () => {
    const s = `ab${'𠮷'.repeat(5)}x`; // 8 characters, 2 + 10 + 1 UTF-16 units
    // Keeping 3 units would end on the first half of 𠮷: only "ab" is kept.
    expect(truncateText(s, marker.length + 3)).toBe(`ab${marker}`);
    // Keeping 4 units ends after a whole 𠮷.
    expect(truncateText(s, marker.length + 4)).toBe(`ab𠮷${marker}`);
  });

  it('keeps plain text up to the limit, marker included', () => {
    expect(truncateText('01234567', marker.length + 5)).toBe(`01234${marker}`);
  });

  it('under a limit shorter than the marker gives the start of the marker alone', () => {
    expect(truncateText('x'.repeat(100), 5)).toBe('…(切り詰');
    expect(truncateText('x'.repeat(100), 0)).toBe('');
  });
});

describe('fitEvent', () => {
  it('returns the very event it was given when it fits, also at exactly the event limit', () => {
    const e = factsEvent('p'.repeat(LIMITS.maxEventBytes - JSON.stringify(factsEvent('')).length));
    expect(JSON.stringify(e).length).toBe(LIMITS.maxEventBytes);
    const r = fitEvent(e);
    expect(r.event).toBe(e);
    expect(r.cut).toEqual([]);
    expect(r.invalid).toBeUndefined();
  });

  it('one character over the event limit loses its facts to a summary', () => {
    const e = factsEvent('p'.repeat(LIMITS.maxEventBytes + 1 - JSON.stringify(factsEvent('')).length));
    const r = fitEvent(e);
    expect(r.cut).toEqual(['facts']);
    expect((r.event as Facts).facts).toEqual({ truncated: true, bytes: JSON.stringify(e.facts).length, keys: ['pad'] });
  });

  it('leaves the event it was given unchanged', () => {
    const e = opened({ subject: 's'.repeat(300), facts: hugeFacts() });
    const copy = structuredClone(e);
    const r = fitEvent(e);
    expect(r.cut).toEqual(['violation.subject', 'violation.facts']);
    expect(e).toEqual(copy);
  });

  it('takes a second pass for limits inside items the first pass kept', () => {
    // The schema reports the array over its 32 items first; the over-long refs of the items
    // kept show only once the array is cut.
    const clauses = Array.from({ length: 40 }, (_, i) => ({ source: '003', ref: `${i}-${'r'.repeat(99)}` }));
    const r = fitEvent(opened({ clauses }));
    const kept = (r.event as Opened).violation.clauses;
    expect(kept).toHaveLength(32);
    expect(kept.map((c) => c.ref)).toEqual(clauses.slice(0, 32).map((c) => truncateText(c.ref, 64)));
    expect(r.cut).toEqual(['violation.clauses', ...Array.from({ length: 32 }, (_, i) => `violation.clauses.${i}.ref`)]);
    expect(r.invalid).toBeUndefined();
    expect(valid(r.event)).toBe(true);
  });

  it('cuts the results of one evaluation to 5,000 and each reason to its limit', () => {
    const results = Array.from({ length: 5003 }, (_, i) => ({ ruleId: `R-${i}`, subject: '', result: 'pass', reason: i === 0 ? 'q'.repeat(2000) : 'ok' }));
    const r = fitEvent({ at, kind: 'results', checkId: 'software', policyVersion: 1, results } as NewAgentEvent);
    const out = (r.event as Extract<NewAgentEvent, { kind: 'results' }>).results;
    expect(out).toHaveLength(5000);
    expect(out[0]!.reason).toBe(truncateText('q'.repeat(2000), 1024));
    expect(out[4999]!.ruleId).toBe('R-4999');
    expect(r.cut).toEqual(['results', 'results.0.reason']);
    expect(r.invalid).toBeUndefined();
  });

  it('replaces the facts of an over-large violation inside the violation, with its size in UTF-8 bytes and its first 50 keys', () => {
    const facts: Record<string, string> = {};
    for (let i = 0; i < 60; i++) facts[`k${String(i).padStart(2, '0')}`] = '字'.repeat(20_000);
    const r = fitEvent(opened({ facts }));
    expect(r.cut).toEqual(['violation.facts']);
    const v = (r.event as Opened).violation;
    expect(v.facts).toEqual({ truncated: true, bytes: Buffer.byteLength(JSON.stringify(facts), 'utf8'), keys: Object.keys(facts).slice(0, 50) });
    expect((v.facts as { bytes: number }).bytes).toBeGreaterThan(JSON.stringify(facts).length);
    expect((r.event as unknown as { facts?: unknown }).facts).toBeUndefined();
    expect(v.subject).toBe('s');
    expect(r.invalid).toBeUndefined();
    expect(valid(r.event)).toBe(true);
  });

  it('replaces the detail of an over-large notice', () => {
    const r = fitEvent({ at, kind: 'agent.notice', notice: 'started', detail: hugeFacts() });
    expect(r.cut).toEqual(['detail']);
    expect(r.event).toEqual({ at, kind: 'agent.notice', notice: 'started', detail: { truncated: true, bytes: JSON.stringify(hugeFacts()).length, keys: ['blob'] } });
    expect(r.invalid).toBeUndefined();
  });

  it('says so when an event is over the limit and has nothing that may be summarised', () => {
    // 5,000 results of 1,024-character reasons: within every field limit, over the event limit.
    const results = Array.from({ length: 5000 }, (_, i) => ({ ruleId: `R-${i}`, subject: '', result: 'fail', reason: 'f'.repeat(1024) }));
    const e = { at, kind: 'results', checkId: 'software', policyVersion: 1, results } as NewAgentEvent;
    const r = fitEvent(e);
    expect(r.cut).toEqual([]);
    expect(r.invalid).toBe(`larger than ${LIMITS.maxEventBytes} bytes`);
    expect(r.event).toEqual(e);
  });

  it('names every field that breaks the schema in another way than its length, and cuts nothing', () => {
    const e = { ...opened({ severity: 'urgent' }), at: 'yesterday' } as NewAgentEvent;
    const r = fitEvent(e);
    expect(r.cut).toEqual([]);
    expect(r.invalid).toMatch(/^at: [^;]+; violation\.severity: [^;]+$/);
    expect(r.event).toEqual(e);
  });

  it('reports an event still invalid after its cut, with what was cut', () => {
    const r = fitEvent(opened({ subject: 's'.repeat(300), severity: 'urgent' }));
    expect(r.cut).toEqual(['violation.subject']);
    expect((r.event as Opened).violation.subject).toHaveLength(256);
    expect(r.invalid).toMatch(/^violation\.severity: /);
  });
});

describe('fitEvents', () => {
  it('cuts each event, logs what was cut and what is still invalid, and keeps the order', () => {
    const logged: { msg: string; meta?: Record<string, unknown> }[] = [];
    const log = { warn: (msg: string, meta?: Record<string, unknown>) => logged.push({ msg, meta }) };
    const fits = opened();
    const out = fitEvents([opened({ subject: 'x'.repeat(300) }), fits, opened({ severity: 'urgent' })], log);
    expect(out).toHaveLength(3);
    expect((out[0] as Opened).violation.subject).toHaveLength(256);
    expect(out[1]).toBe(fits);
    expect((out[2] as Opened).violation.severity).toBe('urgent');
    expect(logged).toHaveLength(2);
    expect(logged[0]).toEqual({ msg: 'event violation.opened cut to the protocol limits', meta: { cut: ['violation.subject'] } });
    expect(logged[1]!.msg).toBe('event violation.opened does not match the protocol schema');
    expect(logged[1]!.meta!.why).toMatch(/^violation\.severity: /);
  });
});
