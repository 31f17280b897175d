/**
 * The cut of agent/outbox/validate.ts at its exact limits: which side of a cut is looked at for
 * a surrogate pair, an event that needed a cut and then lands exactly on the event limit, and
 * the summary of facts that are not an object.
 */
import { describe, expect, it } from 'vitest';
import { fitEvent, truncateText, truncationMarker } from '../../agent/outbox/validate.js';
import { AgentEvent, LIMITS } from '../../src/shared/protocol/messages.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';

const at = '2026-12-06T01:00:00.000Z';
type Opened = Extract<NewAgentEvent, { kind: 'violation.opened' }>;
type Facts = Extract<NewAgentEvent, { kind: 'facts' }>;

const opened = (subject: string, pad: string): Opened =>
  ({
    at,
    kind: 'violation.opened',
    policyVersion: 3,
    violation: { checkId: 'usb-media', ruleId: 'USB-001', subject, result: 'fail', severity: 'high', title: { ja: '未登録媒体', en: 'Unregistered medium' }, message: { ja: 'm', en: 'm' }, reason: 'r', clauses: [], facts: { pad } },
  }) as Opened;

describe('truncateText looks at the unit before the cut only', () => {
  it('keeps a character before the cut when only the one after it starts a surrogate pair', () => {
    const s = `abcd𠮷${'x'.repeat(10)}`; // the 5th unit (index 4) is the high half of 𠮷
    const marker = truncationMarker([...s].length);
    // Keeping 3 units ends on "c": nothing to step back over.
    expect(truncateText(s, marker.length + 3)).toBe(`abc${marker}`);
  });
});

describe('fitEvent at exactly the event limit after a cut', () => {
  it('keeps the facts of an event that is exactly LIMITS.maxEventBytes once its subject is cut', () => {
    // The subject (300 > 256) is cut first; the facts are padded so that the cut event is exactly at the limit.
    const probe = fitEvent(opened('s'.repeat(300), '')).event;
    const pad = 'p'.repeat(LIMITS.maxEventBytes - JSON.stringify(probe).length);
    const r = fitEvent(opened('s'.repeat(300), pad));
    expect(JSON.stringify(r.event).length).toBe(LIMITS.maxEventBytes);
    expect(r.cut).toEqual(['violation.subject']);
    expect(r.invalid).toBeUndefined();
    expect((r.event as Opened).violation.facts).toEqual({ pad });
    expect(AgentEvent.safeParse({ ...r.event, seq: 1 }).success).toBe(true);
  });
});

describe('fitEvent summarises facts that are not an object', () => {
  it('reports no keys for facts that are one long string', () => {
    // Not the schema's shape (an agent defect), but the summary must not list the string's indices.
    const facts = 'f'.repeat(LIMITS.maxEventBytes);
    const r = fitEvent({ at, kind: 'facts', checkId: 'software', status: 'ok', facts } as unknown as Facts);
    expect(r.cut).toEqual(['facts']);
    expect((r.event as Facts).facts).toEqual({ truncated: true, bytes: LIMITS.maxEventBytes + 2, keys: [] });
  });
});
