/**
 * Group commit for agent events: batches from all connections are collected for a few
 * milliseconds and stored in one transaction; each connection is acknowledged only after
 * that transaction committed ("acks only after the batch is durable").
 */
import type { IngestBatch, Store } from '../store/store.js';
import type { SequenceGapError } from '../store/store.js';

export interface QueuedBatch extends IngestBatch {
  /** Bytes of the frame text this batch came in, counted in bytesWaiting until its commit ends. */
  bytes: number;
  /** Called after commit with the highest stored seq, or with the rejection. */
  done: (result: { lastSeq: number } | { gap: SequenceGapError } | { error: Error }) => void;
}

export interface IngestQueueOptions {
  /** Longest wait before a flush (default: the store's groupCommitDelayMs, else 5 ms). */
  maxDelayMs?: number;
  /** Flush at once when this many events are waiting (default 5,000). */
  maxEvents?: number;
}

export class IngestQueue {
  private pending: QueuedBatch[] = [];
  private pendingEvents = 0;
  /** Frame bytes of the batches queued or being committed. */
  private waitingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly maxDelayMs: number;
  private readonly maxEvents: number;
  /** Called after each commit with what was stored (for the live bus). */
  onCommitted: (batches: readonly QueuedBatch[], receivedAt: string) => void = () => {};
  /** Called after each commit ended (stored or not), once its batches no longer count in bytesWaiting. */
  onSettled: () => void = () => {};

  constructor(
    private readonly store: Store,
    opts: IngestQueueOptions = {},
  ) {
    this.maxDelayMs = opts.maxDelayMs ?? store.groupCommitDelayMs ?? 5;
    this.maxEvents = opts.maxEvents ?? 5000;
  }

  get depth(): number {
    return this.pendingEvents;
  }

  /** Frame bytes received and not yet through their commit: what the collector holds in memory for the store. */
  get bytesWaiting(): number {
    return this.waitingBytes;
  }

  push(batch: QueuedBatch): void {
    this.pending.push(batch);
    this.pendingEvents += batch.events.length;
    this.waitingBytes += batch.bytes;
    if (this.pendingEvents >= this.maxEvents) this.kick(0);
    else this.kick(this.maxDelayMs);
  }

  private kick(delay: number): void {
    if (this.flushing) return;
    if (this.timer && delay > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), delay);
  }

  /** Store everything waiting now; resolves when committed. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing) return this.flushing;
    if (this.pending.length === 0) return;
    // At most maxEvents per transaction: a backlog is written in several commits with the
    // event loop free in between (frames read, acks, pings and scans sent), not in one long one.
    let take = 0;
    let events = 0;
    while (take < this.pending.length && (take === 0 || events + this.pending[take]!.events.length <= this.maxEvents)) {
      events += this.pending[take]!.events.length;
      take += 1;
    }
    const batches = this.pending.slice(0, take);
    this.pending = this.pending.slice(take);
    this.pendingEvents -= events;
    this.flushing = (async () => {
      const receivedAt = new Date().toISOString();
      try {
        const { stored, rejected } = await this.store.ingest(batches, receivedAt);
        const ok: QueuedBatch[] = [];
        for (const b of batches) {
          const gap = rejected.get(b.agentId);
          if (gap) b.done({ gap });
          else {
            b.done({ lastSeq: stored.get(b.agentId) ?? 0 });
            ok.push(b);
          }
        }
        this.onCommitted(ok, receivedAt);
      } catch (err) {
        for (const b of batches) b.done({ error: err as Error });
      }
      for (const b of batches) this.waitingBytes -= b.bytes;
      this.onSettled();
    })();
    await this.flushing;
    this.flushing = undefined;
    if (this.pending.length > 0) {
      if (this.pendingEvents >= this.maxEvents) setImmediate(() => void this.flush());
      else this.kick(this.maxDelayMs);
    }
  }
}
