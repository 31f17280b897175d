/**
 * The agent's pre-outbox check (agent/outbox/validate.ts) against the wire schema the
 * collector applies: what a local user can make too long is cut with a marker, never dropped.
 */
import { describe, expect, it } from 'vitest';
import { fitEvent, truncateText } from '../../agent/outbox/validate.js';
import { AgentEvent, LIMITS } from '../../src/shared/protocol/messages.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';

const at = '2026-12-06T01:00:00.000Z';

function usbViolation(subject: string, extra: Record<string, unknown> = {}): NewAgentEvent {
  return {
    at,
    kind: 'violation.opened',
    policyVersion: 3,
    violation: { checkId: 'usb-media', ruleId: 'USB-001', subject, result: 'fail', severity: 'high', title: { ja: '未登録媒体', en: 'Unregistered medium' }, message: { ja: 'm', en: 'm' }, reason: 'r', clauses: [], facts: {}, ...extra },
  } as NewAgentEvent;
}

const valid = (e: NewAgentEvent) => AgentEvent.safeParse({ ...e, seq: 1 }).success;

describe('fitEvent', () => {
  it('leaves an event that fits untouched', () => {
    const e = usbViolation('0951:1666:E0D55EA573DCF450E97C0F9A');
    expect(fitEvent(e)).toEqual({ event: e, cut: [] });
  });

  it('cuts a 9,030-character subject to 256 with the original length in the marker, the same way every time', () => {
    const subject = `0951:1666:${'S'.repeat(9020)}`;
    const r = fitEvent(usbViolation(subject));
    const cutSubject = (r.event as Extract<NewAgentEvent, { kind: 'violation.opened' }>).violation.subject;
    expect(r.cut).toEqual(['violation.subject']);
    expect(cutSubject).toHaveLength(256);
    expect(cutSubject).toBe(`0951:1666:${'S'.repeat(256 - 10 - '…(切り詰め: 9030文字)'.length)}…(切り詰め: 9030文字)`);
    expect(valid(r.event)).toBe(true);
    // A close of the same subject is cut to the same key.
    const close = fitEvent({ at, kind: 'violation.closed', checkId: 'usb-media', ruleId: 'USB-001', subject, reason: 'removed' });
    expect((close.event as { subject: string }).subject).toBe(cutSubject);
  });

  it('cuts every field over its limit in one event, and arrays to their item limit', () => {
    const r = fitEvent(usbViolation('x'.repeat(300), { user: 'u'.repeat(1000), reason: 'r'.repeat(5000), clauses: Array.from({ length: 40 }, () => ({ source: '003', ref: '第4章' })) }));
    expect(r.cut.sort()).toEqual(['violation.clauses', 'violation.reason', 'violation.subject', 'violation.user']);
    expect(valid(r.event)).toBe(true);
    const v = (r.event as Extract<NewAgentEvent, { kind: 'violation.opened' }>).violation;
    expect(v.reason.endsWith('…(切り詰め: 5000文字)')).toBe(true);
    expect(v.clauses).toHaveLength(32);
  });

  it('never splits a surrogate pair and counts characters, not UTF-16 units, in the marker', () => {
    const s = '𠮷'.repeat(300); // 600 UTF-16 units
    const cut = truncateText(s, 256);
    expect(cut.length).toBeLessThanOrEqual(256);
    expect(cut.endsWith('…(切り詰め: 300文字)')).toBe(true);
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(cut)).toBe(false);
  });

  it('replaces facts that make an event larger than the event limit by a summary', () => {
    const big = { packages: Array.from({ length: 30_000 }, (_, i) => ({ name: `pkg-${i}-${'n'.repeat(40)}` })) };
    const r = fitEvent({ at, kind: 'facts', checkId: 'software', status: 'ok', facts: big });
    expect(r.cut).toEqual(['facts']);
    expect(JSON.stringify(r.event).length).toBeLessThanOrEqual(LIMITS.maxEventBytes);
    expect((r.event as { facts: Record<string, unknown> }).facts).toMatchObject({ truncated: true, keys: ['packages'] });
    expect(r.invalid).toBeUndefined();
  });
});
