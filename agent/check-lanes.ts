/**
 * One lane per check: a check runs alone at a time, but checks never wait for one another. A
 * USB event runs usb-media at once even while a full run is busy with a slow check (software
 * inventory, patches); a full run takes a check's result from a run that started after the full
 * run was asked for (a USB event's fresh result is reused, not repeated).
 *
 * "Fresh" is counted in run numbers, not clock time: `mark()` is the number the next run will
 * get, and `result(id, since)` gives a run numbered `since` or later.
 */
import type { CheckId } from '../src/shared/protocol/messages.js';

interface Lane<R> {
  current?: { n: number; done: Promise<R> };
  /** The run queued behind the current one (shared by every request that came meanwhile). */
  next?: Promise<R>;
  last?: { n: number; result: R };
}

export class CheckLanes<R> {
  private readonly lanes = new Map<CheckId, Lane<R>>();
  private counter = 0;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly run: (id: CheckId) => Promise<R>) {}

  /** The number the next run to start will get: a run numbered this or higher started after this call. */
  mark(): number {
    return this.counter + 1;
  }

  /** A result of `id` from a run that started at or after `since` (see mark): the one in progress or just done, else a new one (behind the one in progress). */
  result(id: CheckId, since: number): Promise<R> {
    const lane = this.lanes.get(id) ?? this.lanes.set(id, {}).get(id)!;
    if (lane.current && lane.current.n >= since) return lane.current.done;
    if (!lane.current && lane.last && lane.last.n >= since) return Promise.resolve(lane.last.result);
    if (!lane.current) return this.start(id, lane);
    if (!lane.next) {
      // The run in progress may have read the facts before the change: one more run after it.
      lane.next = lane.current.done
        .catch(() => undefined)
        .then(() => {
          lane.next = undefined;
          return this.start(id, lane);
        });
      this.track(lane.next);
    }
    return lane.next;
  }

  private start(id: CheckId, lane: Lane<R>): Promise<R> {
    const n = ++this.counter;
    const done = this.run(id).then((result) => {
      lane.last = { n, result };
      return result;
    });
    lane.current = { n, done };
    void done.catch(() => undefined).finally(() => {
      if (lane.current?.n === n) lane.current = undefined;
    });
    this.track(done);
    return done;
  }

  /** Keep a promise counted until it settles (idle waits for all of them). */
  track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.catch(() => undefined).finally(() => {
      this.inflight.delete(p);
      // Nothing runs or waits any more, so every later request is marked after every run so
      // far and no kept result can be claimed again: drop them (a check's facts can be large,
      // e.g. the software list; the idle daemon kept ~0.5 MB of them).
      if (this.inflight.size === 0) for (const lane of this.lanes.values()) lane.last = undefined;
    });
    return p;
  }

  /** Whether a check is running now. */
  running(id: CheckId): boolean {
    return Boolean(this.lanes.get(id)?.current);
  }

  /** Wait until nothing runs or is queued. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }
}
