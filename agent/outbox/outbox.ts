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
 * were dropped, so the loss is reported to the collector and never silent. A gap grows by
 * absorbing the next dropped segment only while it covers at most LIMITS.maxGapSpan sequence
 * numbers (the collector refuses a wider one); past that a new gap record starts.
 *
 * Full disk: an append that fails with ENOSPC (or EDQUOT) loses those events but not their
 * sequence numbers: they are counted, and the next append that finds space writes one `gap`
 * over them first. Until then nothing after them is written, so the journal never has a hole.
 * The count lives in memory: a restart while the disk is still full re-uses those numbers.
 */
import { open as openAsync, unlink as unlinkAsync, writeFile as writeFileAsync } from 'node:fs/promises';
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LIMITS } from '../../src/shared/protocol/messages.js';
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
  const throughSeq = gap ? Number(gap[1]) : seq;
  // A number past 2^53 is no longer exact: such a line was not written by this outbox.
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(throughSeq) || seq < 1 || throughSeq < seq) return undefined;
  return { seq, throughSeq, json: line };
}

/** Errors that mean the disk (or the account's quota) is full. */
function diskFull(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Sequence numbers given to events that could not be written (full disk), not yet covered by a gap on disk. */
interface Unwritten {
  from: number;
  through: number;
  dropped: number;
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
  private unwritten: Unwritten[] = [];
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
  /** Events dropped because of the size cap or a full disk since this outbox was opened. */
  get dropped(): number {
    return this.droppedTotal;
  }
  /** Events lost to a full disk whose gap is not written yet. */
  get unwrittenEvents(): number {
    return this.unwritten.reduce((n, u) => n + u.dropped, 0);
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

  /** The segment to append to; a new one is named after `firstSeq`, the first sequence number it will hold. */
  private currentSegment(firstSeq: number): Segment {
    const last = this.segments[this.segments.length - 1];
    if (last && last.bytes < this.segmentBytes) {
      if (this.writeFd === undefined) this.writeFd = openSync(last.path, 'a', 0o600);
      return last;
    }
    if (this.writeFd !== undefined) closeSync(this.writeFd);
    const seg: Segment = { firstSeq, path: join(this.dir, segName(firstSeq)), bytes: 0, lastSeq: firstSeq - 1 };
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
    const stored: AgentEvent[] = [];
    const lines: string[] = [];
    const first = this.nextSeq;
    for (const e of events) {
      const full = { seq: this.nextSeq, ...e } as AgentEvent;
      this.nextSeq += 1;
      stored.push(full);
      lines.push(serialise(full));
    }
    // Lost events first (as gaps), so the journal stays without holes.
    const gaps = this.unwritten.map((u) => serialise({ seq: u.from, at: this.now().toISOString(), kind: 'gap', throughSeq: u.through, dropped: u.dropped, reason: 'the disk of this PC was full (ENOSPC): events could not be written' } as AgentEvent));
    if (!this.writeLines([...gaps, ...lines], this.unwritten[0]?.from ?? first, this.nextSeq - 1)) {
      this.countUnwritten(first, this.nextSeq - 1, events.length);
      return [];
    }
    this.unwritten = [];
    this.enforceCap();
    return stored;
  }

  /** Append lines holding seq `from` … `through` durably; false when the disk is full (nothing of them stays). */
  private writeLines(lines: string[], from: number, through: number): boolean {
    let seg: Segment;
    try {
      seg = this.currentSegment(from);
    } catch (err) {
      if (diskFull(err)) return false;
      throw new OutboxError(`cannot open the outbox in ${this.dir}: ${(err as Error).message}`);
    }
    const buf = Buffer.from(`${lines.join('\n')}\n`);
    try {
      // A nearly full disk takes part of a write without an error: write the rest, which fails with ENOSPC.
      for (let done = 0; done < buf.length; ) done += writeSync(this.writeFd!, buf, done);
      fsyncSync(this.writeFd!);
    } catch (err) {
      if (!diskFull(err)) throw new OutboxError(`cannot write the outbox in ${this.dir}: ${(err as Error).message}`);
      // Cut what part of the write landed, so a later record starts on a line of its own.
      try {
        ftruncateSync(this.writeFd!, seg.bytes);
      } catch {
        // Recovery at the next start cuts a torn last line as well.
      }
      return false;
    }
    seg.bytes += buf.length;
    seg.lastSeq = through;
    return true;
  }

  private countUnwritten(from: number, through: number, dropped: number): void {
    const last = this.unwritten[this.unwritten.length - 1];
    if (last && last.through + 1 === from && through - last.from + 1 <= LIMITS.maxGapSpan) {
      last.through = through;
      last.dropped += dropped;
    } else this.unwritten.push({ from, through, dropped });
    this.droppedTotal += dropped;
  }

  /**
   * Drop the oldest unacknowledged segments while over the cap, leaving one gap record in
   * their place. A gap record absorbs the next dropped segment while the merged gap stays
   * within LIMITS.maxGapSpan. The segment being written to is never dropped.
   */
  private enforceCap(): void {
    while (this.bytes > this.capBytes) {
      const i = this.segments.findIndex((seg) => !this.isGapOnly(seg));
      if (i < 0 || i >= this.segments.length - 1) return;
      const seg = this.segments[i]!;
      const from = Math.max(seg.firstSeq, this.ackedSeq + 1);
      if (from > seg.lastSeq) {
        this.removeSegment(seg);
        continue;
      }
      const prev = i > 0 ? this.segments[i - 1] : undefined;
      const prevFrom = prev ? Math.max(prev.firstSeq, this.ackedSeq + 1) : 0;
      const merge = prev && seg.lastSeq - prevFrom + 1 <= LIMITS.maxGapSpan ? prev : undefined;
      const victims = merge ? [merge, seg] : [seg];
      const gapFrom = merge ? prevFrom : from;
      let dropped = 0;
      let fresh = 0;
      for (const victim of victims) {
        for (const r of this.load(victim).records) {
          if (r.throughSeq < gapFrom) continue;
          // Of a gap that an acknowledgement reaches into, only the part after it is still lost:
          // the collector refuses a gap that claims more dropped events than it spans.
          if (r.json.includes('"kind":"gap"')) dropped += Math.min(countDropped(r.json), r.throughSeq - Math.max(r.seq, gapFrom) + 1);
          else {
            dropped += 1;
            fresh += 1;
          }
        }
      }
      const through = seg.lastSeq;
      const gap = serialise({ seq: gapFrom, at: this.now().toISOString(), kind: 'gap', throughSeq: through, dropped, reason: `outbox reached its size cap of ${this.capBytes} bytes` } as AgentEvent);
      const target = join(this.dir, segName(gapFrom));
      const tmp = `${target}.tmp`;
      writeFileSync(tmp, `${gap}\n`, { mode: 0o600 });
      const fd = openSync(tmp, 'r+'); // r+: Windows refuses fsync on a read-only handle (EPERM)
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, target);
      for (const victim of victims) if (victim.path !== target && existsSync(victim.path)) unlinkSync(victim.path);
      const at = this.segments.indexOf(victims[0]!);
      this.segments.splice(at, victims.length, { firstSeq: gapFrom, path: target, bytes: Buffer.byteLength(gap) + 1, lastSeq: through });
      this.cache = undefined;
      this.droppedTotal += fresh;
    }
  }

  /** A segment that holds nothing but one gap record (what enforceCap leaves). */
  private isGapOnly(seg: Segment): boolean {
    if (seg.bytes > 1024) return false;
    const records = this.load(seg).records;
    return records.length === 1 && records[0]!.json.includes('"kind":"gap"');
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

  /** The collector stored everything up to `upTo`. Persisted within ackFlushMs; acknowledged segments are deleted. */
  ack(upTo: number): void {
    if (upTo <= this.ackedSeq) return;
    this.ackedSeq = Math.min(upTo, this.lastSeq);
    this.scheduleAckFlush();
  }

  private scheduleAckFlush(): void {
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      void this.flushAckInBackground();
    }, this.ackFlushMs);
    this.ackTimer.unref();
  }

  private ackFlushing = false;

  /**
   * flushAck with the write and the fsync on the I/O threads: an fsync can take tens of
   * milliseconds (more on a busy disk), and the main thread is where a USB event is handled.
   * Only the rename, which makes the new value the one on disk, runs here, and only when no
   * newer value was written meanwhile (by flushAck at stop).
   */
  private async flushAckInBackground(): Promise<void> {
    if (this.ackFlushing || this.persistedAck === this.ackedSeq) return;
    this.ackFlushing = true;
    const acked = this.ackedSeq;
    const path = join(this.dir, 'ack.json');
    const tmp = `${path}.bg.tmp`;
    try {
      await writeFileAsync(tmp, JSON.stringify({ acked }), { mode: 0o600 });
      const file = await openAsync(tmp, 'r+'); // r+: Windows refuses fsync on a read-only handle (EPERM)
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      if (acked > this.persistedAck) {
        renameSync(tmp, path);
        this.persistedAck = acked;
        this.deleteAckedSegments();
      } else await unlinkAsync(tmp);
    } catch {
      // Not written (a full disk, the outbox closed meanwhile): the next acknowledgement or the stop writes it; until then only re-sends.
    } finally {
      this.ackFlushing = false;
    }
    // Acknowledgements that came while this one was written.
    if (this.persistedAck < this.ackedSeq) this.scheduleAckFlush();
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
