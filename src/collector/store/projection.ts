/**
 * What each stored event changes in the derived tables, as dialect-neutral operations that
 * both stores execute inside their ingest transaction.
 */
import type { AgentEvent } from '../../shared/protocol/messages.js';

export type ProjectionOp =
  | { op: 'violation.open'; agentId: string; event: Extract<AgentEvent, { kind: 'violation.opened' }> }
  | { op: 'violation.close'; agentId: string; event: Extract<AgentEvent, { kind: 'violation.closed' }> }
  | { op: 'results'; agentId: string; event: Extract<AgentEvent, { kind: 'results' }> }
  | { op: 'facts'; agentId: string; event: Extract<AgentEvent, { kind: 'facts' }> }
  | { op: 'scan.done'; agentId: string; event: Extract<AgentEvent, { kind: 'scan.result' }> }
  | { op: 'policy.applied'; agentId: string; event: Extract<AgentEvent, { kind: 'policy.applied' }> };

export function projectionOf(agentId: string, event: AgentEvent): ProjectionOp | undefined {
  switch (event.kind) {
    case 'violation.opened':
      return { op: 'violation.open', agentId, event };
    case 'violation.closed':
      return { op: 'violation.close', agentId, event };
    case 'results':
      return { op: 'results', agentId, event };
    case 'facts':
      return { op: 'facts', agentId, event };
    case 'scan.result':
      return { op: 'scan.done', agentId, event };
    case 'policy.applied':
      return { op: 'policy.applied', agentId, event };
    case 'gap':
    case 'agent.notice':
      return undefined;
  }
}

/**
 * Which events of a batch are new, given the highest seq already stored. A gap record may
 * overlap what is stored (events the agent dropped after sending them); it is accepted and
 * moves the sequence to its end. Throws the expected/got pair on a hole.
 */
export function newEventsOf(events: readonly AgentEvent[], lastSeq: number): { fresh: AgentEvent[]; last: number; hole?: { expected: number; got: number } } {
  const fresh: AgentEvent[] = [];
  let last = lastSeq;
  for (const e of events) {
    const through = e.kind === 'gap' ? e.throughSeq : e.seq;
    if (through <= last) continue;
    if (e.seq > last + 1) return { fresh, last, hole: { expected: last + 1, got: e.seq } };
    fresh.push(e.seq <= last ? ({ ...e, seq: last + 1 } as AgentEvent) : e);
    last = through;
  }
  return { fresh, last };
}

export type ViolationOp = Extract<ProjectionOp, { op: 'violation.open' | 'violation.close' }>;

/** The violation a change is to: its PC, rule and subject. */
export function violationKey(op: ViolationOp): string {
  return op.op === 'violation.open' ? `${op.agentId}\u0000${op.event.violation.ruleId}\u0000${op.event.violation.subject}` : `${op.agentId}\u0000${op.event.ruleId}\u0000${op.event.subject}`;
}

/**
 * Of several changes to one violation within one write, only those that decide the outcome
 * are written (a stick plugged in and out, a setting that flaps): repeated openings merge
 * into one that keeps the first opening time, a closing of an already closed violation is
 * dropped, and of an alternating run only the tail from the last closing before the final
 * opening is kept — a closing leaves the violation closed whatever came before, so applying
 * that tail gives the same row as applying everything. The event rows keep every change.
 */
export function coalesceViolationOps(ops: readonly ViolationOp[]): ViolationOp[] {
  const byKey = new Map<string, ViolationOp[]>();
  for (const op of ops) {
    const key = violationKey(op);
    const list = byKey.get(key) ?? [];
    byKey.delete(key); // re-insert: the order of keys follows their last change
    byKey.set(key, list);
    const last = list[list.length - 1];
    if (op.op === 'violation.open' && last?.op === 'violation.open') list[list.length - 1] = { ...op, event: { ...op.event, at: last.event.at } };
    else if (!(op.op === 'violation.close' && last?.op === 'violation.close')) list.push(op);
  }
  return [...byKey.values()].flatMap((list) => list.slice(list[list.length - 1]?.op === 'violation.close' ? -3 : -2));
}
