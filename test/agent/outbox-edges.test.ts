/**
 * The outbox journal at its edges, on a real file system: sizes on disk to the byte (text that
 * is not ASCII, torn and damaged lines), a segment exactly at its size, file handles that are
 * not left open, a gap that reaches the widest span the collector accepts, and acknowledgements
 * written in the background while newer ones arrive.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Outbox, OutboxError } from '../../agent/outbox/outbox.js';
import { LIMITS } from '../../src/shared/protocol/messages.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { tempDir } from '../helpers/processes.js';

/** A notice whose text is not ASCII, so characters and bytes differ. */
const notice = (i: number): NewAgentEvent => ({ at: '2026-12-06T00:00:00.000Z', kind: 'agent.notice', notice: '起動', detail: { i, 課: '税務課' } });
const segName = (seq: number) => `seg-${String(seq).padStart(16, '0')}.jsonl`;
const segments = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('seg-')).sort();
const records = (box: Outbox, after = 0) => box.readAfter(after, 100_000, 1 << 26).map((r) => JSON.parse(r.json) as { seq: number; kind: string; throughSeq?: number; dropped?: number });
const line = (seq: number, i = seq - 1) => JSON.stringify({ seq, ...notice(i) });
const openFds = () => readdirSync('/proc/self/fd').length;
const ackOnDisk = (dir: string): number | null => (existsSync(join(dir, 'ack.json')) ? (JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8')) as { acked: number }).acked : null);
/** Yield to the event loop (real time: setTimeout may be faked) until `cond` holds, for at most 10 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not reached within 10 s: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

afterEach(() => vi.useRealTimers());

describe('recovery counts bytes, not characters', () => {
  it('cuts a torn last line to the byte and keeps the size it found', () => {
    const dir = tempDir('obe-torn');
    const good = `${line(1)}\n${line(2)}\n`;
    writeFileSync(join(dir, segName(1)), `${good}${line(3).slice(0, 40)}`);
    const box = Outbox.open(dir);
    expect(readFileSync(join(dir, segName(1)), 'utf8')).toBe(good);
    expect(box.bytes).toBe(Buffer.byteLength(good));
    expect(box.bytes).toBe(box.diskBytes());
    expect(box.lastSeq).toBe(2);
    box.append([notice(2)]);
    expect(readFileSync(join(dir, segName(1)), 'utf8')).toBe(`${good}${line(3, 2)}\n`);
    expect(box.bytes).toBe(box.diskBytes());
  });

  it('cuts at a damaged line to the byte', () => {
    const dir = tempDir('obe-damaged');
    const good = `${line(1)}\n${line(2)}\n`;
    writeFileSync(join(dir, segName(1)), `${good}{"seq":3,"at":"課",broken}\n${line(4)}\n`);
    const box = Outbox.open(dir);
    expect(readFileSync(join(dir, segName(1)), 'utf8')).toBe(good);
    expect(box.bytes).toBe(Buffer.byteLength(good));
  });

  it('leaves an intact segment as it is', () => {
    const dir = tempDir('obe-intact');
    const good = `${line(1)}\n${line(2)}\n`;
    writeFileSync(join(dir, segName(1)), good);
    const box = Outbox.open(dir);
    expect(readFileSync(join(dir, segName(1)), 'utf8')).toBe(good);
    expect(box.bytes).toBe(Buffer.byteLength(good));
    expect(box.lastSeq).toBe(2);
  });

  it('removes a segment holding only a torn first line, and numbers on after the acknowledgement', () => {
    const dir = tempDir('obe-tornonly');
    writeFileSync(join(dir, 'ack.json'), '{"acked":6}');
    writeFileSync(join(dir, segName(7)), line(7).slice(0, 30));
    const box = Outbox.open(dir);
    expect(segments(dir)).toEqual([]);
    expect(box.bytes).toBe(0);
    expect(box.append([notice(0)])[0]!.seq).toBe(7);
  });

  it('cuts a gap record whose end is past 2^53', () => {
    const dir = tempDir('obe-bigthrough');
    writeFileSync(join(dir, segName(1)), `${line(1)}\n{"seq":2,"at":"2026-12-06T00:00:00.000Z","kind":"gap","throughSeq":9007199254740993,"dropped":1,"reason":"x"}\n`);
    const box = Outbox.open(dir);
    expect(box.lastSeq).toBe(1);
    expect(readFileSync(join(dir, segName(1)), 'utf8')).toBe(`${line(1)}\n`);
  });
});

describe('segments and file handles', () => {
  it('starts a new segment when the last one has exactly segmentBytes', () => {
    const dir = tempDir('obe-exact');
    const box = Outbox.open(dir, { segmentBytes: Buffer.byteLength(`${line(1)}\n`) });
    box.append([notice(0)]);
    box.append([notice(1)]);
    expect(segments(dir)).toEqual([segName(1), segName(2)]);
    const roomy = Outbox.open(tempDir('obe-roomy'), { segmentBytes: Buffer.byteLength(`${line(1)}\n`) + 1 });
    roomy.append([notice(0)]);
    roomy.append([notice(1)]);
    expect(segments(roomy.dir)).toEqual([segName(1)]);
  });

  it('keeps one file open for writing, whatever the number of segments, and none after close', () => {
    const dir = tempDir('obe-fds');
    const before = openFds();
    const box = Outbox.open(dir, { segmentBytes: 1 });
    for (let i = 0; i < 40; i++) box.append([notice(i)]);
    expect(segments(dir)).toHaveLength(40);
    expect(openFds()).toBe(before + 1);
    box.ack(40);
    box.flushAck();
    expect(segments(dir)).toEqual([]);
    expect(openFds()).toBe(before);
    box.append([notice(40)]);
    expect(openFds()).toBe(before + 1);
    box.close();
    expect(openFds()).toBe(before);
  });

  it('keeps its size in memory equal to the size on disk through the cap', () => {
    const box = Outbox.open(tempDir('obe-capsize'), { capBytes: 1500, segmentBytes: 300 });
    for (let i = 0; i < 60; i++) {
      box.append([notice(i)]);
      expect(box.bytes).toBe(box.diskBytes());
    }
    expect(box.dropped).toBeGreaterThan(0);
  });
});

describe('a gap at the widest span the collector accepts', () => {
  it('grows up to LIMITS.maxGapSpan sequence numbers exactly, then a new gap starts', () => {
    const span = LIMITS.maxGapSpan;
    const dir = tempDir('obe-span');
    // A journal that already holds a gap over 1 … span - 3, and the event after it.
    writeFileSync(join(dir, segName(1)), `{"seq":1,"at":"2026-12-06T00:00:00.000Z","kind":"gap","throughSeq":${span - 3},"dropped":${span - 3},"reason":"x"}\n`);
    writeFileSync(join(dir, segName(span - 2)), `${line(span - 2)}\n`);
    const box = Outbox.open(dir, { capBytes: 1200, segmentBytes: 1 });
    for (let i = 0; i < 20; i++) box.append([notice(i)]);
    const gaps = records(box).filter((r) => r.kind === 'gap');
    expect(gaps.slice(0, 2).map((g) => [g.seq, g.throughSeq])).toEqual([
      [1, span],
      [span + 1, gaps[1]!.throughSeq],
    ]);
    expect(gaps[0]!.dropped).toBe(span);
    expect(gaps[1]!.dropped).toBe(gaps[1]!.throughSeq! - span);
    // Everything after the last gap is there, in order, up to the last event.
    const seqs = records(box).map((r) => r.seq);
    expect(seqs.at(-1)).toBe(span - 2 + 20);
    expect(box.dropped).toBe(gaps.at(-1)!.throughSeq! - (span - 3));
  });
});

describe('acknowledgements written in the background', () => {
  it('a flush at stop that wrote a newer acknowledgement is not overwritten by an older one still being written', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const dir = tempDir('obe-race');
    const box = Outbox.open(dir, { ackFlushMs: 1000, segmentBytes: 1 });
    box.append([notice(0), notice(1), notice(2)]);
    box.append([notice(3), notice(4)]);
    box.ack(3);
    vi.advanceTimersByTime(1000); // the background write of 3 starts
    box.ack(5);
    box.flushAck(); // 5 written at once (as at stop)
    expect(ackOnDisk(dir)).toBe(5);
    const tmp = join(dir, 'ack.json.bg.tmp');
    await until(() => existsSync(tmp), 'the background write of 3 reaches the disk');
    await until(() => !existsSync(tmp), 'the background write of 3 ends');
    expect(ackOnDisk(dir)).toBe(5);
    expect(segments(dir)).toEqual([]);
  });

  it('an acknowledgement that arrives while one is being written is written after it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const dir = tempDir('obe-later');
    const box = Outbox.open(dir, { ackFlushMs: 1000, segmentBytes: 1 });
    for (let i = 0; i < 5; i++) box.append([notice(i)]);
    box.ack(3);
    vi.advanceTimersByTime(1000); // the background write of 3 starts
    box.ack(5);
    vi.advanceTimersByTime(1000); // its timer fires while 3 is still being written: nothing more now
    await until(() => ackOnDisk(dir) === 3, 'the acknowledgement of 3 on disk');
    expect(segments(dir)).toEqual([segName(4), segName(5)]);
    // The write of 5 follows ackFlushMs after the write of 3, not at once.
    await until(() => vi.getTimerCount() > 0, 'the next flush is scheduled');
    expect(ackOnDisk(dir)).toBe(3);
    vi.advanceTimersByTime(1000);
    await until(() => ackOnDisk(dir) === 5, 'the acknowledgement of 5 on disk');
    await until(() => segments(dir).length === 0, 'the acknowledged segments deleted');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('defaults and failures', () => {
  it('by default starts a new segment past 4 MiB and drops nothing at that size', () => {
    const dir = tempDir('obe-default');
    const box = Outbox.open(dir);
    const big = (i: number): NewAgentEvent => ({ at: '2026-12-06T00:00:00.000Z', kind: 'agent.notice', notice: 'n', detail: { i, pad: 'x'.repeat(1024 * 1024) } });
    for (let i = 0; i < 5; i++) box.append([big(i)]);
    expect(segments(dir)).toEqual([segName(1), segName(5)]);
    expect(box.dropped).toBe(0);
    expect(records(box).map((r) => r.kind)).toEqual(Array(5).fill('agent.notice'));
    box.close();
  });

  it('by default writes an acknowledgement 200 ms after it came', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const dir = tempDir('obe-ackdefault');
    const box = Outbox.open(dir);
    box.append([notice(0), notice(1)]);
    box.ack(1);
    vi.advanceTimersByTime(199);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(vi.getTimerCount()).toBe(0);
    await until(() => ackOnDisk(dir) === 1, 'the acknowledgement on disk');
  });

  it('an outbox whose folder was removed fails with its typed error, naming the folder', () => {
    const dir = tempDir('obe-gone');
    const box = Outbox.open(dir);
    rmSync(dir, { recursive: true, force: true });
    expect(() => box.append([notice(0)])).toThrow(OutboxError);
    expect(() => box.append([notice(0)])).toThrow(`cannot open the outbox in ${dir}: `);
  });
});
