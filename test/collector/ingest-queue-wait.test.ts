/**
 * How long the gateway's group commit waits for more batches: the store may ask for a longer wait
 * than the default 5 ms (PostgreSQL asks for 15: a commit there costs more than the wait, see
 * PostgresStore.groupCommitDelayMs); an explicit option wins over both. Time is vitest's fake
 * clock, so the test measures the queue's decisions, not the machine's speed. The store records
 * what it is asked to store (only `ingest` is called by the queue).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IngestQueue } from '../../src/collector/gateway/ingest-queue.js';
import type { QueuedBatch } from '../../src/collector/gateway/ingest-queue.js';
import type { IngestBatch, IngestOutcome, Store } from '../../src/collector/store/store.js';

const AGENT_A = 'ag_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const AGENT_B = 'ag_bbbbbbbbbbbbbbbbbbbbbbbbbb';

/** A store that records each flush and stores everything. */
function recordingStore(groupCommitDelayMs?: number): { store: Store; flushes: IngestBatch[][] } {
  const flushes: IngestBatch[][] = [];
  const ingest = async (batches: readonly IngestBatch[]): Promise<IngestOutcome> => {
    flushes.push([...batches]);
    return { stored: new Map(batches.map((b) => [b.agentId, b.events.at(-1)!.seq])), rejected: new Map() };
  };
  return { store: { ingest, ...(groupCommitDelayMs === undefined ? {} : { groupCommitDelayMs }) } as unknown as Store, flushes };
}

const batch = (seq: number, acks: number[], agentId = AGENT_A): QueuedBatch => ({
  agentId,
  events: [{ seq, at: '2026-12-07T10:00:00.000Z', kind: 'agent.notice', notice: 'test', detail: { seq } }],
  bytes: 100,
  done: (r) => {
    if ('lastSeq' in r) acks.push(r.lastSeq);
  },
});

describe('ingest queue: how long a group commit waits', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('waits the default 5 ms when the store asks for nothing', async () => {
    const { store, flushes } = recordingStore();
    const acks: number[] = [];
    const q = new IngestQueue(store);
    q.push(batch(1, acks));
    await vi.advanceTimersByTimeAsync(4);
    expect(flushes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushes).toHaveLength(1);
    expect(acks).toEqual([1]);
  });

  it("waits the store's longer time, and batches that come meanwhile go in the same commit", async () => {
    const { store, flushes } = recordingStore(15);
    const acks: number[] = [];
    const q = new IngestQueue(store);
    q.push(batch(1, acks));
    await vi.advanceTimersByTimeAsync(10);
    q.push(batch(1, acks, AGENT_B));
    await vi.advanceTimersByTimeAsync(4);
    expect(flushes).toHaveLength(0);
    expect(acks).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushes).toHaveLength(1);
    expect(flushes[0]!.map((b) => b.agentId)).toEqual([AGENT_A, AGENT_B]);
    expect(acks).toEqual([1, 1]);
  });

  it("an explicit wait wins over the store's", async () => {
    const { store, flushes } = recordingStore(15);
    const q = new IngestQueue(store, { maxDelayMs: 2 });
    q.push(batch(1, []));
    await vi.advanceTimersByTimeAsync(2);
    expect(flushes).toHaveLength(1);
  });

  it('a full queue is written at once whatever the wait', async () => {
    const { store, flushes } = recordingStore(15);
    const q = new IngestQueue(store, { maxEvents: 2 });
    q.push(batch(1, []));
    q.push(batch(2, []));
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(1);
  });
});
