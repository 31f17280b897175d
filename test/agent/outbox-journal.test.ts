/**
 * The outbox journal in detail, on a real file system: segment files and their names, what the
 * sender reads back, when acknowledged events leave the disk, what a restart recovers from a
 * damaged journal, and how the size cap drops only unacknowledged events and says so.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Outbox, OutboxError } from '../../agent/outbox/outbox.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { tempDir } from '../helpers/processes.js';

const notice = (i: number, pad = 0): NewAgentEvent => ({ at: '2026-12-06T00:00:00.000Z', kind: 'agent.notice', notice: 'n', detail: { i, pad: 'x'.repeat(pad) } });
const range = (a: number, n: number) => Array.from({ length: n }, (_, k) => notice(a + k));
const segments = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('seg-')).sort();
const seqs = (box: Outbox, after = 0) => box.readAfter(after, 10_000, 1 << 24).map((r) => r.seq);
const records = (box: Outbox, after = 0) => box.readAfter(after, 10_000, 1 << 24).map((r) => JSON.parse(r.json) as { seq: number; kind: string; throughSeq?: number; dropped?: number; reason?: string; at: string });
const segName = (seq: number) => `seg-${String(seq).padStart(16, '0')}.jsonl`;
const ackOnDisk = (dir: string): number | null => (existsSync(join(dir, 'ack.json')) ? (JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8')) as { acked: number }).acked : null);
/** The timer's flush writes on the I/O threads: wait (real time, setTimeout is faked) until it landed. */
async function ackWritten(dir: string, acked: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (ackOnDisk(dir) !== acked && Date.now() < until) await new Promise((r) => setImmediate(r));
  expect(ackOnDisk(dir)).toBe(acked);
}

afterEach(() => vi.useRealTimers());

describe('segments', () => {
  it('writes "seq" first, names each segment after its first sequence number, and starts a new one past segmentBytes', () => {
    const dir = tempDir('obj-seg');
    const box = Outbox.open(dir, { segmentBytes: 1 });
    for (let i = 0; i < 3; i++) box.append([notice(i)]);
    // A batch is one write: it stays in one segment whatever its size.
    box.append(range(3, 4));
    expect(segments(dir)).toEqual([segName(1), segName(2), segName(3), segName(4)]);
    const lines = readFileSync(join(dir, segName(4)), 'utf8').split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('');
    expect(lines[0]).toBe('{"seq":4,"at":"2026-12-06T00:00:00.000Z","kind":"agent.notice","notice":"n","detail":{"i":3,"pad":""}}');
    expect(lines.slice(0, 4).map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([4, 5, 6, 7]);
    expect(box.bytes).toBe(box.diskBytes());
    expect(box.lastSeq).toBe(7);
    expect(box.depth).toBe(7);
  });

  it('keeps appending to the last segment while it is under segmentBytes, also after a restart', () => {
    const dir = tempDir('obj-same');
    const box = Outbox.open(dir, { segmentBytes: 1 << 20 });
    box.append([notice(0)]);
    box.append([notice(1)]);
    box.close();
    const again = Outbox.open(dir, { segmentBytes: 1 << 20 });
    again.append([notice(2)]);
    expect(segments(dir)).toEqual([segName(1)]);
    expect(seqs(again)).toEqual([1, 2, 3]);
    expect(again.bytes).toBe(statSync(join(dir, segName(1))).size);
  });

  it('keeps the journal private to the agent', () => {
    const dir = tempDir('obj-mode');
    const box = Outbox.open(join(dir, 'box'));
    box.append([notice(0)]);
    box.ack(1);
    box.flushAck();
    box.append([notice(1)]);
    expect(statSync(join(dir, 'box')).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(join(dir, 'box'))) expect(statSync(join(dir, 'box', name)).mode & 0o777, name).toBe(0o600);
  });

  it('an empty append gives out no number and writes nothing', () => {
    const dir = tempDir('obj-empty');
    const box = Outbox.open(dir);
    expect(box.append([])).toEqual([]);
    expect(box.lastSeq).toBe(0);
    expect(segments(dir)).toEqual([]);
    expect(box.append([notice(0)]).map((e) => e.seq)).toEqual([1]);
  });

  it('returns the events as stored, with their numbers', () => {
    const box = Outbox.open(tempDir('obj-ret'));
    expect(box.append(range(0, 2))).toEqual([
      { seq: 1, ...notice(0) },
      { seq: 2, ...notice(1) },
    ]);
  });
});

describe('readAfter', () => {
  const box = () => {
    const b = Outbox.open(tempDir('obj-read'), { segmentBytes: 250 });
    for (let i = 0; i < 10; i++) b.append([notice(i)]);
    return b;
  };

  it('reads from after the given number, across segments, up to maxEvents', () => {
    const b = box();
    expect(seqs(b, 3)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(b.readAfter(0, 3, 1 << 20).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(b.readAfter(8, 5, 1 << 20).map((r) => r.seq)).toEqual([9, 10]);
    expect(b.readAfter(10, 5, 1 << 20)).toEqual([]);
    expect(b.readAfter(0, 1, 1 << 20)[0]).toEqual({ seq: 1, throughSeq: 1, json: JSON.stringify({ seq: 1, ...notice(0) }) });
  });

  it('stops before maxBytes (each record counted with its newline), but always gives at least one', () => {
    const b = box();
    const len = b.readAfter(0, 1, 1 << 20)[0]!.json.length;
    expect(b.readAfter(0, 100, 2 * len + 1).map((r) => r.seq)).toEqual([1, 2]);
    expect(b.readAfter(0, 100, 2 * len).map((r) => r.seq)).toEqual([1]);
    expect(b.readAfter(0, 100, 3 * len + 2).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(b.readAfter(0, 100, 1).map((r) => r.seq)).toEqual([1]);
  });

  it('refuses to read over a hole in the journal rather than skip events', () => {
    const dir = tempDir('obj-hole');
    const b = Outbox.open(dir, { segmentBytes: 1 });
    for (let i = 0; i < 3; i++) b.append([notice(i)]);
    b.close();
    writeFileSync(join(dir, segName(2)), '');
    const again = Outbox.open(dir, { segmentBytes: 1 });
    expect(() => again.readAfter(0, 100, 1 << 20)).toThrow(OutboxError);
    expect(() => again.readAfter(0, 100, 1 << 20)).toThrow(/missing seq 2\.\.2/);
    expect(again.readAfter(2, 100, 1 << 20).map((r) => r.seq)).toEqual([3]);
  });
});

describe('acknowledgements', () => {
  it('are written to disk within ackFlushMs, not at once, and never go back', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const dir = tempDir('obj-ackt');
    const box = Outbox.open(dir, { ackFlushMs: 5000 });
    box.append(range(0, 5));
    box.ack(3);
    expect(box.acked).toBe(3);
    expect(box.depth).toBe(2);
    expect(existsSync(join(dir, 'ack.json'))).toBe(false);
    vi.advanceTimersByTime(4999);
    expect(existsSync(join(dir, 'ack.json'))).toBe(false);
    vi.advanceTimersByTime(1);
    await ackWritten(dir, 3);
    box.ack(2);
    expect(box.acked).toBe(3);
    // Beyond what was given out: only what exists is acknowledged.
    box.ack(99);
    expect(box.acked).toBe(5);
    box.flushAck();
    expect(JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8'))).toEqual({ acked: 5 });
    expect(existsSync(join(dir, 'ack.json.tmp'))).toBe(false);
  });

  it('one timer per burst: a second acknowledgement before the flush is written with it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const dir = tempDir('obj-ackb');
    const box = Outbox.open(dir, { ackFlushMs: 1000 });
    box.append(range(0, 5));
    box.ack(1);
    vi.advanceTimersByTime(500);
    box.ack(4);
    vi.advanceTimersByTime(500);
    await ackWritten(dir, 4);
    box.ack(5);
    vi.advanceTimersByTime(999);
    // Given time to land, nothing is written before the timer.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(ackOnDisk(dir)).toBe(4);
    vi.advanceTimersByTime(1);
    await ackWritten(dir, 5);
  });

  it('delete fully acknowledged segments only once the acknowledgement is on disk', () => {
    const dir = tempDir('obj-del');
    const box = Outbox.open(dir, { segmentBytes: 1, ackFlushMs: 60_000 });
    for (let i = 0; i < 5; i++) box.append([notice(i)]);
    box.ack(3);
    expect(segments(dir)).toHaveLength(5);
    box.flushAck();
    expect(segments(dir)).toEqual([segName(4), segName(5)]);
    expect(seqs(box, box.acked)).toEqual([4, 5]);
    box.close();
    expect(JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8'))).toEqual({ acked: 3 });
  });

  it('delete the segment being written once all of it is acknowledged; the next event starts a new one', () => {
    const dir = tempDir('obj-active');
    const box = Outbox.open(dir, { segmentBytes: 1 << 20 });
    box.append(range(0, 3));
    box.ack(2);
    box.flushAck();
    expect(segments(dir)).toEqual([segName(1)]);
    box.ack(3);
    box.flushAck();
    expect(segments(dir)).toEqual([]);
    expect(box.bytes).toBe(0);
    expect(box.append([notice(3)]).map((e) => e.seq)).toEqual([4]);
    expect(segments(dir)).toEqual([segName(4)]);
    expect(seqs(box, 3)).toEqual([4]);
  });

  it('close writes the last acknowledgement', () => {
    const dir = tempDir('obj-close');
    const box = Outbox.open(dir, { ackFlushMs: 60_000 });
    box.append(range(0, 4));
    box.ack(2);
    box.close();
    expect(JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8'))).toEqual({ acked: 2 });
    const again = Outbox.open(dir);
    expect(again.acked).toBe(2);
    expect(seqs(again, again.acked)).toEqual([3, 4]);
  });
});

describe('recovery at start', () => {
  it('an unreadable acknowledgement only means events are sent again', () => {
    for (const text of ['{"acked":', '{"acked":"many"}', 'null']) {
      const dir = tempDir('obj-badack');
      const box = Outbox.open(dir);
      box.append(range(0, 3));
      box.close();
      writeFileSync(join(dir, 'ack.json'), text);
      const again = Outbox.open(dir);
      expect(again.acked, text).toBe(0);
      expect(seqs(again), text).toEqual([1, 2, 3]);
      expect(again.append([notice(3)])[0]!.seq, text).toBe(4);
    }
  });

  it('numbers on after the acknowledged number when every segment is gone', () => {
    const dir = tempDir('obj-acked');
    writeFileSync(join(dir, 'ack.json'), '{"acked":41}');
    const box = Outbox.open(dir);
    expect(box.acked).toBe(41);
    expect(box.depth).toBe(0);
    expect(box.append([notice(0)])[0]!.seq).toBe(42);
  });

  it('deletes segments all of whose events were acknowledged before the restart', () => {
    const dir = tempDir('obj-rdel');
    const box = Outbox.open(dir, { segmentBytes: 1 });
    for (let i = 0; i < 4; i++) box.append([notice(i)]);
    box.close();
    writeFileSync(join(dir, 'ack.json'), '{"acked":2}');
    const again = Outbox.open(dir, { segmentBytes: 1 });
    expect(segments(dir)).toEqual([segName(3), segName(4)]);
    expect(seqs(again, again.acked)).toEqual([3, 4]);
  });

  it('cuts a segment at its first damaged line and numbers on from the last good one', () => {
    const dir = tempDir('obj-damaged');
    const box = Outbox.open(dir);
    box.append(range(0, 2));
    box.close();
    const path = join(dir, segName(1));
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, `${good}{"seq":3,"at":"2026-12-06T00:00:00.000Z",broken}\n${JSON.stringify({ seq: 4, ...notice(3) })}\n`);
    const again = Outbox.open(dir);
    expect(again.lastSeq).toBe(2);
    expect(readFileSync(path, 'utf8')).toBe(good);
    expect(again.bytes).toBe(Buffer.byteLength(good));
    expect(again.append([notice(9)])[0]!.seq).toBe(3);
    expect(seqs(again)).toEqual([1, 2, 3]);
  });

  it('cuts a line that does not start with its number, and a gap that ends before it starts', () => {
    for (const bad of ['{"at":"2026-12-06T00:00:00.000Z","seq":3,"kind":"agent.notice","notice":"n"}', '{"seq":3,"at":"2026-12-06T00:00:00.000Z","kind":"gap","throughSeq":2,"dropped":1,"reason":"x"}', '{"seq":0,"at":"2026-12-06T00:00:00.000Z","kind":"agent.notice","notice":"n"}']) {
      const dir = tempDir('obj-badline');
      const box = Outbox.open(dir);
      box.append(range(0, 2));
      box.close();
      writeFileSync(join(dir, segName(1)), `${readFileSync(join(dir, segName(1)), 'utf8')}${bad}\n`);
      const again = Outbox.open(dir);
      expect(again.lastSeq, bad).toBe(2);
      expect(seqs(again), bad).toEqual([1, 2]);
    }
  });

  it('removes a segment with nothing good in it and leaves files that are not segments alone', () => {
    const dir = tempDir('obj-junk');
    const box = Outbox.open(dir, { segmentBytes: 1 });
    box.append(range(0, 2));
    box.append([notice(2)]);
    box.close();
    writeFileSync(join(dir, segName(3)), 'garbage\n');
    writeFileSync(join(dir, 'seg-1.jsonl'), 'not ours');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    const again = Outbox.open(dir, { segmentBytes: 1 });
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', segName(1), 'seg-1.jsonl']);
    expect(again.lastSeq).toBe(2);
  });

  it('reads a gap record back with the numbers it covers', () => {
    const dir = tempDir('obj-gapread');
    writeFileSync(join(dir, segName(1)), `{"seq":1,"at":"2026-12-06T00:00:00.000Z","kind":"gap","throughSeq":7,"dropped":7,"reason":"x"}\n${JSON.stringify({ seq: 8, ...notice(0) })}\n`);
    const box = Outbox.open(dir);
    expect(box.lastSeq).toBe(8);
    expect(box.readAfter(0, 10, 1 << 20).map((r) => [r.seq, r.throughSeq])).toEqual([
      [1, 7],
      [8, 8],
    ]);
    // A reader inside the gap gets the gap again; one past it does not.
    expect(box.readAfter(3, 10, 1 << 20).map((r) => r.seq)).toEqual([1, 8]);
    expect(box.readAfter(7, 10, 1 << 20).map((r) => r.seq)).toEqual([8]);
    expect(box.append([notice(1)])[0]!.seq).toBe(9);
  });
});

describe('size cap', () => {
  it('drops nothing that was acknowledged: acknowledged segments go without a gap', () => {
    const box = Outbox.open(tempDir('obj-capack'), { capBytes: 1200, segmentBytes: 300, ackFlushMs: 60_000 });
    for (let i = 0; i < 10; i++) box.append([notice(i)]);
    box.ack(10);
    for (let i = 10; i < 20; i++) box.append([notice(i)]);
    expect(box.dropped).toBe(0);
    expect(records(box, 10).map((r) => r.kind)).not.toContain('gap');
    expect(seqs(box, 10)).toEqual(Array.from({ length: 10 }, (_, k) => 11 + k));
  });

  it('a gap starts after the acknowledged number and counts only unacknowledged events', () => {
    const box = Outbox.open(tempDir('obj-capmid'), { capBytes: 1000, segmentBytes: 400, ackFlushMs: 60_000, now: () => new Date('2026-12-06T09:00:00.000Z') });
    const first = box.append(range(0, 3));
    expect(first.map((e) => e.seq)).toEqual([1, 2, 3]);
    box.ack(2);
    for (let i = 3; i < 30; i++) box.append([notice(i)]);
    const [gap, next] = records(box, 2);
    expect(gap).toMatchObject({ kind: 'gap', seq: 3, at: '2026-12-06T09:00:00.000Z', reason: 'outbox reached its size cap of 1000 bytes' });
    expect(gap!.dropped).toBe(gap!.throughSeq! - 2);
    expect(next!.seq).toBe(gap!.throughSeq! + 1);
    expect(box.dropped).toBe(gap!.dropped);
    expect(seqs(box, 2).at(-1)).toBe(30);
    expect(box.bytes).toBeLessThanOrEqual(1000 + 400);
  });

  it('never drops the segment being written, even over the cap', () => {
    const box = Outbox.open(tempDir('obj-capone'), { capBytes: 10, segmentBytes: 1 << 20 });
    box.append(range(0, 5));
    box.append(range(5, 5));
    expect(box.dropped).toBe(0);
    expect(seqs(box)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('one gap grows over every segment dropped after it, and survives a restart', () => {
    const dir = tempDir('obj-grow');
    const box = Outbox.open(dir, { capBytes: 1500, segmentBytes: 300 });
    for (let i = 0; i < 60; i++) box.append([notice(i)]);
    const all = records(box);
    expect(all.filter((r) => r.kind === 'gap')).toHaveLength(1);
    expect(all[0]).toMatchObject({ kind: 'gap', seq: 1 });
    expect(all[0]!.dropped).toBe(all[0]!.throughSeq);
    expect(box.dropped).toBe(all[0]!.dropped);
    expect(all.slice(1).map((r) => r.seq)).toEqual(Array.from({ length: 60 - all[0]!.throughSeq! }, (_, k) => all[0]!.throughSeq! + 1 + k));
    // Only the gap's file and segments of real events are on disk.
    expect(segments(dir)[0]).toBe(segName(1));
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    box.close();
    const again = Outbox.open(dir, { capBytes: 1500, segmentBytes: 300 });
    expect(records(again)).toEqual(all);
    expect(again.lastSeq).toBe(60);
  });

  it('counts the events inside an older gap when a new gap absorbs it', () => {
    const dir = tempDir('obj-absorb');
    // A journal that starts with a gap over 1…5 written before (e.g. by an earlier run).
    writeFileSync(join(dir, segName(1)), `{"seq":1,"at":"2026-12-06T00:00:00.000Z","kind":"gap","throughSeq":5,"dropped":4,"reason":"x"}\n`);
    const box = Outbox.open(dir, { capBytes: 1200, segmentBytes: 300 });
    for (let i = 0; i < 30; i++) box.append([notice(i)]);
    const [gap, next] = records(box);
    expect(gap).toMatchObject({ kind: 'gap', seq: 1 });
    // 4 from the old gap, and one for every event 6 … throughSeq.
    expect(gap!.dropped).toBe(4 + gap!.throughSeq! - 5);
    expect(next!.seq).toBe(gap!.throughSeq! + 1);
    expect(box.dropped).toBe(gap!.throughSeq! - 5);
  });
});
