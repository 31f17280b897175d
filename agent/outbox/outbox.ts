/**
 * The agent's durable outbox: every event gets the next per-agent sequence number and is
 * appended to an on-disk journal (JSON lines in segment files, fsync per batch) before
 * `append` resolves. An event leaves the journal only after the collector acknowledged it.
 * It survives kill -9: a torn last line is cut off at start-up (it was never acknowledged
 * as durable to the caller, because append had not resolved).
 *
 * Layout of DIR:
 *   seg-<first seq, 16 digits>.jsonl   events in seq order, one JSON object per line, "seq" first
 *   ack.json                           {"acked": N}: highest seq the collector has stored
 *
 * Size cap: when the segments exceed `capBytes`, the oldest unacknowledged segment is
 * replaced by one `gap` event that covers its sequence numbers and says how many events
 * were dropped, so the loss is reported to the collector and never silent.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent, NewAgentEvent } from '../../src/shared/protocol/messages.js';

export interface OutboxOptions {
  /** Largest total size of the journal before the oldest events are dropped (default 256 MiB). */
  capBytes?: number;
  /** Size at which a new segment file is started (default 4 MiB). */
  segmentBytes?: number;
  /** How long an acknowledgement may wait before it is written to disk (default 200 ms); losing it only re-sends events. */
  ackFlushMs?: number;
  now?: () => Date;
}

interface Segment {
  firstSeq: number;
  path: string;
  bytes: number;
  lastSeq: number;
}

/** A stored event as it will go on the wire: its seq and its exact JSON text. */
export interface StoredEvent {
  seq: number;
  /** Last sequence number this record covers (differs from seq only for gap records). */
  throughSeq: number;
  json: string;
}

const SEQ_PREFIX = /^\{"seq":(\d+),/;
const GAP_THROUGH = /"kind":"gap","throughSeq":(\d+)/;

function segName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, '0')}.jsonl`;
}

function parseLine(line: string): StoredEvent | undefined {
  const m = SEQ_PREFIX.exec(line);
  if (!m) return undefined;
  const seq = Number(m[1]);
  const gap = GAP_THROUGH.exec(line);
  return { seq, throughSeq: gap ? Number(gap[1]) : seq, json: line };
}

/** Serialise with "seq" first so records can be located without parsing the whole line. */
function serialise(event: AgentEvent): string {
  const { seq, ...rest } = event;
  const body = JSON.stringify(rest);
  return `{"seq":${seq},${body.slice(1)}`;
}

export class OutboxError extends Error {
  readonly code = 'OUTBOX_IO';
}

export class Outbox {
  private segments: Segment[] = [];
  private ackedSeq = 0;
  private persistedAck = 0;
  private nextSeq = 1;
  private writeFd: number | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private droppedTotal = 0;
  private readonly capBytes: number;
  private readonly segmentBytes: number;
  private readonly ackFlushMs: number;
  private readonly now: () => Date;
  /** Parsed records of one segment, kept while the sender walks through it. */
  private cache: { path: string; bytes: number; records: StoredEvent[] } | undefined;

  private constructor(
    readonly dir: string,
    opts: OutboxOptions,
  ) {
    this.capBytes = opts.capBytes ?? 256 * 1024 * 1024;
    this.segmentBytes = opts.segmentBytes ?? 4 * 1024 * 1024;
    this.ackFlushMs = opts.ackFlushMs ?? 200;
    this.now = opts.now ?? (() => new Date());
  }

  static open(dir: string, opts: OutboxOptions = {}): Outbox {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const box = new Outbox(dir, opts);
    box.recover();
    return box;
  }

  /** Highest sequence number the collector acknowledged. */
  get acked(): number {
    return this.ackedSeq;
  }
  /** Highest sequence number given out. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }
  /** Sequence numbers not yet acknowledged (gaps count for what they cover). */
  get depth(): number {
    return this.lastSeq - this.ackedSeq;
  }
  get bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.bytes, 0);
  }
  /** Events dropped because of the size cap since this outbox was opened. */
  get dropped(): number {
    return this.droppedTotal;
  }

  private recover(): void {
    const ackPath = join(this.dir, 'ack.json');
    if (existsSync(ackPath)) {
      try {
        this.ackedSeq = Number((JSON.parse(readFileSync(ackPath, 'utf8')) as { acked: number }).acked) || 0;
      } catch {
        // A damaged ack file only means events are sent again; the collector stores each seq once.
        this.ackedSeq = 0;
      }
    }
    this.persistedAck = this.ackedSeq;
    const names = readdirSync(this.dir).filter((n) => /^seg-\d{16}\.jsonl$/.test(n)).sort();
    for (const name of names) {
      const path = join(this.dir, name);
      const text = readFileSync(path, 'utf8');
      // Cut a torn last line (kill -9 in the middle of a write): its append never resolved.
      let end = text.length;
      if (!text.endsWith('\n')) end = text.lastIndexOf('\n') + 1;
      let lines = text.slice(0, end).split('\n').filter(Boolean);
      const bad = lines.findIndex((l) => parseLine(l) === undefined || !isJson(l));
      if (bad >= 0) {
        lines = lines.slice(0, bad);
        end = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
      } else {
        end = Buffer.byteLength(text.slice(0, end));
      }
      if (end !== Buffer.byteLength(text)) truncateSync(path, end);
      if (lines.length === 0) {
        unlinkSync(path);
        continue;
      }
      const first = parseLine(lines[0]!)!;
      const last = parseLine(lines[lines.length - 1]!)!;
      this.segments.push({ firstSeq: first.seq, path, bytes: end, lastSeq: last.throughSeq });
    }
    const maxSeq = Math.max(this.ackedSeq, ...this.segments.map((s) => s.lastSeq));
    this.nextSeq = maxSeq + 1;
    this.deleteAckedSegments();
  }

  private currentSegment(): Segment {
    const last = this.segments[this.segments.length - 1];
    if (last && last.bytes < this.segmentBytes) {
      if (this.writeFd === undefined) this.writeFd = openSync(last.path, 'a', 0o600);
      return last;
    }
    if (this.writeFd !== undefined) closeSync(this.writeFd);
    const seg: Segment = { firstSeq: this.nextSeq, path: join(this.dir, segName(this.nextSeq)), bytes: 0, lastSeq: this.nextSeq - 1 };
    this.writeFd = openSync(seg.path, 'a', 0o600);
    this.segments.push(seg);
    return seg;
  }

  /**
   * Give the events their sequence numbers and make them durable (one write + one fsync).
   * Returns the events as stored.
   */
  append(events: readonly NewAgentEvent[]): AgentEvent[] {
    if (events.length === 0) return [];
    const seg = this.currentSegment();
    const stored: AgentEvent[] = [];
    const lines: string[] = [];
    for (const e of events) {
      const full = { seq: this.nextSeq, ...e } as AgentEvent;
      this.nextSeq += 1;
      stored.push(full);
      lines.push(serialise(full));
    }
    const buf = Buffer.from(`${lines.join('\n')}\n`);
    try {
      writeSync(this.writeFd!, buf);
      fsyncSync(this.writeFd!);
    } catch (err) {
      throw new OutboxError(`cannot write the outbox in ${this.dir}: ${(err as Error).message}`);
    }
    seg.bytes += buf.length;
    seg.lastSeq = this.nextSeq - 1;
    this.enforceCap();
    return stored;
  }

  /**
   * Drop the oldest unacknowledged segments while over the cap, leaving one gap record in
   * their place. A leading gap segment absorbs the next segment, so repeated drops keep
   * one gap record. The segment being written to is never dropped.
   */
  private enforceCap(): void {
    while (this.bytes > this.capBytes && this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const from = Math.max(oldest.firstSeq, this.ackedSeq + 1);
      if (from > oldest.lastSeq) {
        this.removeSegment(oldest);
        continue;
      }
      const oldestRecords = this.load(oldest).records.filter((r) => r.throughSeq >= from);
      const isGapOnly = oldestRecords.length === 1 && oldestRecords[0]!.json.includes('"kind":"gap"');
      const victims = isGapOnly ? [oldest, this.segments[1]!] : [oldest];
      if (isGapOnly && this.segments.length <= 2) return;
      let dropped = 0;
      for (const seg of victims) {
        for (const r of this.load(seg).records) {
          if (r.throughSeq < from) continue;
          dropped += r.json.includes('"kind":"gap"') ? countDropped(r.json) : 1;
        }
      }
      const through = victims[victims.length - 1]!.lastSeq;
      const gap = serialise({ seq: from, at: this.now().toISOString(), kind: 'gap', throughSeq: through, dropped, reason: `outbox reached its size cap of ${this.capBytes} bytes` } as AgentEvent);
      const target = join(this.dir, segName(from));
      const tmp = `${target}.tmp`;
      writeFileSync(tmp, `${gap}\n`, { mode: 0o600 });
      const fd = openSync(tmp, 'r+'); // r+: Windows refuses fsync on a read-only handle (EPERM)
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, target);
      for (const seg of victims) if (seg.path !== target) this.removeSegment(seg);
      this.segments = this.segments.filter((s) => !victims.includes(s));
      this.segments.unshift({ firstSeq: from, path: target, bytes: Buffer.byteLength(gap) + 1, lastSeq: through });
      this.cache = undefined;
      this.droppedTotal += dropped - (isGapOnly ? countDropped(oldestRecords[0]!.json) : 0);
    }
  }

  private removeSegment(seg: Segment): void {
    if (this.writeFd !== undefined && seg === this.segments[this.segments.length - 1]) {
      closeSync(this.writeFd);
      this.writeFd = undefined;
    }
    if (existsSync(seg.path)) unlinkSync(seg.path);
    this.segments = this.segments.filter((s) => s !== seg);
    if (this.cache?.path === seg.path) this.cache = undefined;
  }

  private load(seg: Segment): { path: string; bytes: number; records: StoredEvent[] } {
    if (this.cache && this.cache.path === seg.path && this.cache.bytes === seg.bytes) return this.cache;
    const text = readFileSync(seg.path, 'utf8');
    const records: StoredEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      const rec = parseLine(line);
      if (rec) records.push(rec);
    }
    this.cache = { path: seg.path, bytes: seg.bytes, records };
    return this.cache;
  }

  /**
   * Records with seq > afterSeq, in order, up to maxEvents and maxBytes (at least one record).
   * Records wholly covered by an earlier gap are skipped.
   */
  readAfter(afterSeq: number, maxEvents: number, maxBytes: number): StoredEvent[] {
    const out: StoredEvent[] = [];
    let bytes = 0;
    let next = afterSeq + 1;
    for (const seg of this.segments) {
      if (seg.lastSeq < next) continue;
      for (const rec of this.load(seg).records) {
        if (rec.throughSeq < next) continue;
        if (rec.seq > next) throw new OutboxError(`outbox ${this.dir} is missing seq ${next}..${rec.seq - 1}`);
        if (out.length >= maxEvents || (out.length > 0 && bytes + rec.json.length > maxBytes)) return out;
        out.push(rec);
        bytes += rec.json.length + 1;
        next = rec.throughSeq + 1;
      }
    }
    return out;
  }

  /**
   * The collector already holds events up to `seq` (its welcome says so) but this journal
   * ends earlier, e.g. after the state directory was restored from a backup: continue after
   * it, so no new event reuses a sequence number the collector would take for a duplicate.
   */
  fastForward(seq: number): void {
    if (seq < this.nextSeq) return;
    this.nextSeq = seq + 1;
    this.ackedSeq = seq;
    this.flushAck();
  }

  /** The collector stored everything up to `upTo`. Persisted within ackFlushMs; acknowledged segments are deleted. */
  ack(upTo: number): void {
    if (upTo <= this.ackedSeq) return;
    this.ackedSeq = Math.min(upTo, this.lastSeq);
    if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        this.flushAck();
      }, this.ackFlushMs);
      this.ackTimer.unref();
    }
  }

  /** Write the acknowledgement to disk now and delete acknowledged segments. */
  flushAck(): void {
    if (this.ackTimer) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
    if (this.persistedAck === this.ackedSeq) return;
    const path = join(this.dir, 'ack.json');
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ acked: this.ackedSeq }), { mode: 0o600 });
    const fd = openSync(tmp, 'r+'); // r+: Windows refuses fsync on a read-only handle (EPERM)
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    this.persistedAck = this.ackedSeq;
    this.deleteAckedSegments();
  }

  private deleteAckedSegments(): void {
    // Never delete the segment being written to while it can still grow.
    while (this.segments.length > 0 && this.segments[0]!.lastSeq <= this.persistedAck) {
      const seg = this.segments[0]!;
      if (seg === this.segments[this.segments.length - 1] && seg.bytes < this.segmentBytes && this.writeFd !== undefined) {
        // The active segment: start a fresh one at the next append instead.
        closeSync(this.writeFd);
        this.writeFd = undefined;
      }
      this.removeSegment(seg);
    }
  }

  close(): void {
    this.flushAck();
    if (this.writeFd !== undefined) closeSync(this.writeFd);
    this.writeFd = undefined;
  }

  /** For tests and the bench: sizes as on disk. */
  diskBytes(): number {
    return this.segments.reduce((sum, s) => sum + (existsSync(s.path) ? statSync(s.path).size : 0), 0);
  }
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

function countDropped(json: string): number {
  const m = /"dropped":(\d+)/.exec(json);
  return m ? Number(m[1]) : 1;
}
