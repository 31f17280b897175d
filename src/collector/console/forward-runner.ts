/**
 * Delivery of one forwarder from its durable cursor (store/forwarding.ts), at least once:
 *
 *   1. take or renew the forwarder's lease (in a cluster exactly one node forwards it);
 *   2. read the next violation events after the cursor;
 *   3. send them; move the cursor over what the receiver took;
 *   4. on a failure, record the error and wait (exponential backoff with jitter, 1 s → 5 min),
 *      then retry from the cursor. An event still undelivered once it is older than the retry
 *      horizon is given up: counted as abandoned, logged, and the forwarder moves on.
 *
 * The runner is woken when this node stores a violation and otherwise polls, so events that
 * other nodes stored are forwarded too.
 */
import type { Logger } from '../../shared/log.js';
import type { Severity } from '../../shared/protocol/messages.js';
import type { ForwardItem } from '../store/forwarding.js';
import type { Store } from '../store/store.js';
import type { ForwardedViolation } from './forward-format.js';
import type { Sink } from './forward-sinks.js';
import { DeliveryError } from './forward-sinks.js';

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

export interface RunnerTimings {
  /** How long a lease lasts without renewal (default 60 s). */
  leaseMs: number;
  /** How often an idle runner looks for events stored by other nodes (default 2 s). */
  pollMs: number;
  /** First and longest wait after a failure (default 1 s and 5 min). */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Events older than this that still fail are given up (default 7 days). */
  retryHorizonMs: number;
}

export const RUNNER_DEFAULTS: RunnerTimings = { leaseMs: 60_000, pollMs: 2_000, backoffMinMs: 1_000, backoffMaxMs: 300_000, retryHorizonMs: 7 * 86_400_000 };

export interface RunnerConfig {
  id: string;
  minSeverity: Severity;
  /** Forward events received at or after this time; "" = the whole history. */
  since: string;
  /** Events per delivery round. */
  batch: number;
}

export class ForwarderRunner {
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private failures = 0;

  constructor(
    readonly config: RunnerConfig,
    private readonly sink: Sink,
    private readonly deps: { store: Store; nodeId: string; log: Logger; render: (item: ForwardItem) => Promise<ForwardedViolation>; timings: RunnerTimings },
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** New events may be waiting. */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Closing the sink ends a delivery in progress (it fails and is retried from the cursor later).
    this.sink.close();
    this.wake();
    await this.loop;
    await this.deps.store.forwardRelease(this.config.id, this.deps.nodeId).catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let wait: number;
      try {
        wait = await this.round();
      } catch (err) {
        // The store itself failed (database down): retry like a delivery failure.
        this.deps.log.warn('forwarder round failed', { forwarder: this.config.id, error: (err as Error).message });
        wait = this.backoff();
      }
      if (wait > 0 && !this.stopped) await this.sleep(wait);
    }
  }

  private backoff(): number {
    const t = this.deps.timings;
    const base = Math.min(t.backoffMaxMs, t.backoffMinMs * 2 ** Math.min(this.failures++, 20));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  /** One round; returns how long to wait before the next (0 = at once). */
  private async round(): Promise<number> {
    const { store, nodeId, timings } = this.deps;
    const id = this.config.id;
    const now = new Date();
    if (!(await store.forwardClaim(id, nodeId, now.toISOString(), timings.leaseMs))) return timings.pollMs;
    const items = await store.forwardPending(id, this.config.since, this.config.batch);
    if (items.length === 0) return timings.pollMs;

    const rendered: { item: ForwardItem; v: ForwardedViolation | undefined }[] = [];
    for (const item of items) {
      const v = await this.deps.render(item);
      // Audit checkpoints go to every forwarder: the chain's head must exist outside the collector.
      rendered.push({ item, v: v.type === 'audit.checkpoint' || SEVERITY_RANK[v.severity] <= SEVERITY_RANK[this.config.minSeverity] ? v : undefined });
    }
    const toSend = rendered.filter((r) => r.v).map((r) => r.v!);
    try {
      await this.sink.send(toSend);
    } catch (err) {
      const delivered = err instanceof DeliveryError ? err.delivered : 0;
      const message = err instanceof DeliveryError ? err.message : `送信に失敗しました: ${(err as Error).message}`;
      // Everything before the first event not delivered is done (filtered ones included).
      let cut = rendered.length;
      let seen = 0;
      for (let i = 0; i < rendered.length; i++) {
        if (!rendered[i]!.v) continue;
        if (seen++ === delivered) {
          cut = i;
          break;
        }
      }
      const horizon = new Date(now.getTime() - timings.retryHorizonMs).toISOString();
      const rest = rendered.slice(cut);
      // Past the retry horizon: give these up rather than block everything after them for ever.
      let abandon = 0;
      while (abandon < rest.length && rest[abandon]!.item.receivedAt < horizon) abandon++;
      const done = rendered.slice(0, cut + abandon).map((r) => r.item);
      // The error first: whoever reads the counters of these events also finds why they failed.
      await store.forwardError(id, message, now.toISOString());
      if (done.length) await store.forwardAdvance(id, nodeId, done, { delivered, abandoned: abandon, at: now.toISOString() });
      if (abandon) {
        this.deps.log.error(`forwarder ${id}: gave up ${abandon} event(s) older than the retry horizon`, { forwarder: id, error: message, eventIds: rest.slice(0, abandon).map((r) => r.item.eventId) });
        return 0;
      }
      this.deps.log.warn(`forwarder ${id}: ${message}`, { forwarder: id, delivered });
      return this.backoff();
    }
    await store.forwardAdvance(id, nodeId, items, { delivered: toSend.length, abandoned: 0, at: now.toISOString() });
    if (this.failures > 0) {
      // The last error stays visible (with its time) next to the time of the last delivery.
      this.failures = 0;
      this.deps.log.info(`forwarder ${id}: delivering again`, { forwarder: id });
    }
    return 0;
  }
}
