/**
 * Was the agent stopped cleanly? While it runs, running.json in the state directory says so
 * and is refreshed every `intervalMs`; a clean stop marks it stopped. A start that finds it
 * still "running" follows a kill -9, a crash or a power cut: the agent reports
 * 'stopped.unclean' with how long it was down (from the last refresh to this start), which the
 * collector turns into AGENT-002.
 *
 * A stop by the watchdog whose notice the collector had not acknowledged is kept here as well
 * (`unreportedStopSeq`): the next start reports it before its heavy work (agent.ts).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { NewAgentEvent } from '../src/shared/protocol/messages.js';

const Marker = z.object({
  state: z.enum(['running', 'stopped']),
  pid: z.number().int(),
  startedAt: z.string(),
  /** Last refresh while running, or the time of the clean stop. */
  at: z.string(),
  /** A watchdog stop the collector had not acknowledged: the outbox seq of its notice. */
  unreportedStopSeq: z.number().int().positive().optional(),
});
type Marker = z.infer<typeof Marker>;

export class RunMarker {
  private readonly path: string;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = '';
  #unreportedStop: number | undefined;

  constructor(
    stateDir: string,
    private readonly intervalMs = 5000,
  ) {
    this.path = join(stateDir, 'running.json');
  }

  /** Mark the agent running; returns the notice about an unclean previous stop, if there was one. */
  start(now = new Date()): NewAgentEvent[] {
    const previous = this.read();
    this.#unreportedStop = previous?.state === 'stopped' ? previous.unreportedStopSeq : undefined;
    this.startedAt = now.toISOString();
    this.write('running', now);
    this.timer = setInterval(() => this.write('running', new Date()), this.intervalMs);
    this.timer.unref();
    if (previous?.state !== 'running') return [];
    const lastAlive = Date.parse(previous.at);
    const downSeconds = Number.isNaN(lastAlive) ? null : Math.max(0, Math.round((now.getTime() - lastAlive) / 1000));
    return [{ at: now.toISOString(), kind: 'agent.notice', notice: 'stopped.unclean', detail: { downSeconds, lastAliveAt: previous.at, previousStartedAt: previous.startedAt, previousPid: previous.pid } }];
  }

  /** The outbox seq of the previous run's watchdog-stop notice if the collector had not acknowledged it (read by start()). */
  get unreportedStop(): number | undefined {
    return this.#unreportedStop;
  }

  /** A clean stop: the next start reports nothing (but the seq of a watchdog-stop notice not yet acknowledged). */
  stop(now = new Date(), unreportedStopSeq?: number): void {
    clearInterval(this.timer);
    this.write('stopped', now, unreportedStopSeq);
  }

  private read(): Marker | undefined {
    if (!existsSync(this.path)) return undefined;
    try {
      const parsed = Marker.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      // Torn by a power cut in the middle of a write: the stop was not clean.
      return { state: 'running', pid: 0, startedAt: '', at: '' };
    }
  }

  private write(state: Marker['state'], at: Date, unreportedStopSeq?: number): void {
    try {
      const marker: Marker = { state, pid: process.pid, startedAt: this.startedAt, at: at.toISOString(), ...(unreportedStopSeq ? { unreportedStopSeq } : {}) };
      writeFileSync(`${this.path}.tmp`, JSON.stringify(marker), { mode: 0o600 });
      renameSync(`${this.path}.tmp`, this.path);
    } catch {
      // A full disk must not stop the agent; the next refresh tries again.
    }
  }
}
