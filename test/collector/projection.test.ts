import { describe, expect, it } from 'vitest';
import { newEventsOf } from '../../src/collector/store/projection.js';
import type { AgentEvent } from '../../src/shared/protocol/messages.js';

const n = (seq: number): AgentEvent => ({ seq, at: '2026-11-23T00:00:00Z', kind: 'agent.notice', notice: 'x' });
const gap = (seq: number, throughSeq: number): AgentEvent => ({ seq, at: '2026-11-23T00:00:00Z', kind: 'gap', throughSeq, dropped: throughSeq - seq + 1, reason: 'cap' });

describe('newEventsOf (exactly-once rule of both stores)', () => {
  it('skips what is stored and continues after it', () => {
    expect(newEventsOf([n(1), n(2), n(3), n(4)], 2)).toEqual({ fresh: [n(3), n(4)], last: 4 });
  });
  it('reports a hole instead of storing past it', () => {
    expect(newEventsOf([n(3), n(5)], 2).hole).toEqual({ expected: 4, got: 5 });
    expect(newEventsOf([n(5)], 2)).toMatchObject({ fresh: [], hole: { expected: 3, got: 5 } });
  });
  it('accepts a gap that overlaps stored events (dropped after they were sent) and moves to its end', () => {
    const { fresh, last } = newEventsOf([gap(3, 10), n(11)], 5);
    expect(last).toBe(11);
    expect(fresh[0]).toMatchObject({ kind: 'gap', seq: 6, throughSeq: 10 });
    expect(fresh[1]).toEqual(n(11));
  });
  it('skips a gap wholly stored before', () => {
    expect(newEventsOf([gap(3, 10)], 10)).toEqual({ fresh: [], last: 10 });
  });
});
