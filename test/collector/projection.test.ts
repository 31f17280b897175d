import { describe, expect, it } from 'vitest';
import { coalesceViolationOps, newEventsOf, projectionOf } from '../../src/collector/store/projection.js';
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
  it('renumbers a gap that starts at the last stored seq to follow it, so no stored seq is written twice', () => {
    const { fresh, last } = newEventsOf([gap(5, 10)], 5);
    expect(fresh).toEqual([{ ...gap(5, 10), seq: 6 }]);
    expect(last).toBe(10);
  });
  it('skips a gap wholly stored before', () => {
    expect(newEventsOf([gap(3, 10)], 10)).toEqual({ fresh: [], last: 10 });
  });
});

describe('coalesceViolationOps', () => {
  const open = (at: string, subject = 's1') => ({ op: 'violation.open' as const, agentId: 'a', event: { seq: 1, at, kind: 'violation.opened' as const, policyVersion: 0, violation: { ruleId: 'USB-001', subject } } as never });
  const close = (at: string, subject = 's1') => ({ op: 'violation.close' as const, agentId: 'a', event: { seq: 2, at, kind: 'violation.closed' as const, checkId: 'usb-media', ruleId: 'USB-001', subject, reason: 'x' } as never });
  const atOf = (op: { event: { at: string } }) => op.event.at;

  it('keeps the outcome per violation: the last change, and the first opening of an unbroken run', () => {
    const out = coalesceViolationOps([open('t1'), open('t2'), close('t3', 's2'), open('t4', 's2')]);
    expect(out.map((o) => [o.op, atOf(o as never)])).toEqual([
      ['violation.open', 't1'],
      ['violation.close', 't3'],
      ['violation.open', 't4'],
    ]);
  });
  it('keeps the tail that decides the row: open+close, close+reopen, and the closing before a closed run', () => {
    expect(coalesceViolationOps([open('t1'), close('t2')]).map((o) => o.op)).toEqual(['violation.open', 'violation.close']);
    expect(coalesceViolationOps([open('t1'), close('t2'), open('t3')]).map((o) => atOf(o as never))).toEqual(['t2', 't3']);
    expect(coalesceViolationOps([open('t1'), close('t2'), open('t3'), close('t4')]).map((o) => atOf(o as never))).toEqual(['t2', 't3', 't4']);
    expect(coalesceViolationOps([close('t1'), close('t2')]).map((o) => atOf(o as never))).toEqual(['t1']);
  });
  it('keeps a closing before a reopening that repeats: the row is closed, then open since the first reopening', () => {
    expect(coalesceViolationOps([close('t1'), open('t2'), open('t3')]).map((o) => [o.op, atOf(o as never)])).toEqual([
      ['violation.close', 't1'],
      ['violation.open', 't2'],
    ]);
  });
});

describe('projectionOf', () => {
  const ev = (kind: string) => ({ seq: 1, at: '2026-11-23T00:00:00Z', kind }) as never as AgentEvent;
  it('maps each stored kind to the table change it makes, for that agent', () => {
    const cases = [
      ['violation.opened', 'violation.open'],
      ['violation.closed', 'violation.close'],
      ['results', 'results'],
      ['facts', 'facts'],
      ['scan.result', 'scan.done'],
      ['policy.applied', 'policy.applied'],
    ] as const;
    for (const [kind, op] of cases) expect(projectionOf('a', ev(kind))).toEqual({ op, agentId: 'a', event: ev(kind) });
  });
  it('changes no table for a gap record or a notice', () => {
    expect(projectionOf('a', ev('gap'))).toBeUndefined();
    expect(projectionOf('a', ev('agent.notice'))).toBeUndefined();
  });
});
