/**
 * Events the collector refuses however often they are sent are set aside, so that the rest
 * keeps flowing. Without this, one event the collector rejects (close 4422 SCHEMA_VIOLATION,
 * or 1009 for a frame over its size) is re-sent after every reconnect for ever and nothing
 * after it in the outbox ever arrives.
 *
 * How a refused event is found: after such a close while batches were in flight, the link
 * sends the events of those batches one per frame ("isolation"); a single event refused twice
 * in a row on its own is the culprit. It is written with the collector's reason to
 * `deadletter.jsonl` in the agent's state directory (kept; an administrator can read it), and
 * on the wire its sequence number is covered by a `gap` record that names the reason — the
 * collector's sequence stays without holes and the loss is visible there. The agent then
 * reports a violation of its own (AGENT-007).
 */
import { appendFileSync, existsSync, fsyncSync, openSync, closeSync, readFileSync } from 'node:fs';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';

/** Close codes that mean "this frame's content is refused", as opposed to a network or server failure. */
export const REFUSED_CODES: ReadonlySet<number> = new Set([CloseCode.SCHEMA_VIOLATION, CloseCode.MESSAGE_TOO_BIG]);

/** How many times a single event must be refused on its own before it is set aside. */
const STRIKES = 2;

export interface DeadLetter {
  seq: number;
  kind: string;
  setAsideAt: string;
  closeCode: number;
  reason: string;
  /** The event exactly as it was in the outbox. */
  event: string;
}

const KIND = /"kind":"([^"]{1,64})"/;

export class DeadLetters {
  private readonly replaced = new Map<number, string>();
  /** Events sent one per frame up to this seq after a refusal (0 = not isolating). */
  private isolateThrough = 0;
  private suspect: { seq: number; strikes: number } | undefined;

  constructor(readonly path: string) {
    if (!existsSync(path)) return;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const d = JSON.parse(line) as DeadLetter;
        this.replaced.set(d.seq, gapFor(d));
      } catch {
        // A torn last line (power loss while writing): that event was not set aside yet and is simply sent again.
      }
    }
  }

  /** Whether events are sent one per frame now. */
  isolating(sentThrough: number): boolean {
    return sentThrough < this.isolateThrough;
  }

  /** The JSON to send for a stored event: its gap record if it was set aside. */
  wire(seq: number, json: string): string {
    return this.replaced.get(seq) ?? json;
  }

  /**
   * The connection closed. Returns the dead letter when a lone in-flight event has now been
   * refused often enough; it is then replaced on the wire from the next connection on.
   */
  closed(code: number, reason: string, inflight: readonly { seq: number; through: number; json: string }[], sentThrough: number): DeadLetter | undefined {
    if (!REFUSED_CODES.has(code) || inflight.length === 0) {
      return undefined;
    }
    this.isolateThrough = Math.max(this.isolateThrough, sentThrough);
    const lone = inflight.length === 1 && inflight[0]!.seq === inflight[0]!.through ? inflight[0]! : undefined;
    if (!lone) {
      this.suspect = undefined;
      return undefined;
    }
    this.suspect = this.suspect?.seq === lone.seq ? { seq: lone.seq, strikes: this.suspect.strikes + 1 } : { seq: lone.seq, strikes: 1 };
    if (this.suspect.strikes < STRIKES) return undefined;
    this.suspect = undefined;
    const d: DeadLetter = { seq: lone.seq, kind: KIND.exec(lone.json)?.[1] ?? 'unknown', setAsideAt: new Date().toISOString(), closeCode: code, reason: reason || `close ${code}`, event: lone.json };
    const fd = openSync(this.path, 'a', 0o600);
    try {
      appendFileSync(fd, `${JSON.stringify(d)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.replaced.set(d.seq, gapFor(d));
    return d;
  }
}

function gapFor(d: DeadLetter): string {
  const reason = `収集サーバーが受け付けないイベント (${d.kind}) を隔離しました: ${d.reason}`.slice(0, 256);
  return JSON.stringify({ seq: d.seq, at: d.setAsideAt, kind: 'gap', throughSeq: d.seq, dropped: 1, reason });
}

/**
 * The violation the agent reports for an event set aside: part of its record could not reach
 * the collector (R-LOG-5, 「ログが取得できなくなった場合の対処」: 003 第8章3(2)ウ, 004 §8.1(6)イ).
 * It stays open: the set-aside event is kept in the dead-letter file for an administrator.
 */
export function deadLetterViolation(d: DeadLetter, path: string): NewAgentEvent {
  return {
    at: d.setAsideAt,
    kind: 'violation.opened',
    policyVersion: 0,
    violation: {
      checkId: 'beyond',
      ruleId: 'AGENT-007',
      subject: `deadletter:${d.seq}`,
      result: 'fail',
      severity: 'high',
      title: { ja: '収集サーバーが受け付けない記録を隔離した', en: 'A record the collector refuses was set aside' },
      message: {
        ja: `この端末の記録 (${d.kind}, 番号 ${d.seq}) を収集サーバーが受け付けないため隔離し、以後の記録の送信を続けています。隔離した記録は端末の ${path} にあります。`,
        en: `The collector refuses this PC's record ${d.seq} (${d.kind}); it was set aside in ${path} and the records after it keep flowing.`,
      },
      reason: `収集サーバーの応答 (${d.closeCode}): ${d.reason}`.slice(0, 1000),
      clauses: [
        { source: '003', ref: '第8章3(2)ウ' },
        { source: '004', ref: '§8.1(6)イ' },
      ],
      facts: { seq: d.seq, kind: d.kind, closeCode: d.closeCode, reason: d.reason, file: path, bytes: Buffer.byteLength(d.event, 'utf8') },
    },
  };
}
