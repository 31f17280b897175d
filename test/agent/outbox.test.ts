/** The agent's durable outbox on a real file system. */
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../../agent/outbox/outbox.js';
import { LIMITS } from '../../src/shared/protocol/messages.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { tempDir } from '../helpers/processes.js';

const notice = (i: number, pad = 0): NewAgentEvent => ({ at: '2026-11-23T00:00:00.000Z', kind: 'agent.notice', notice: 'n', detail: { i, pad: 'x'.repeat(pad) } });
const range = (a: number, n: number) => Array.from({ length: n }, (_, k) => notice(a + k));

describe('Outbox', () => {
  it('numbers events from 1, reads them back in order, and keeps the numbering across reopen', () => {
    const dir = tempDir('ob');
    const box = Outbox.open(dir);
    expect(box.append(range(0, 3)).map((e) => e.seq)).toEqual([1, 2, 3]);
    box.close();
    const again = Outbox.open(dir);
    expect(again.lastSeq).toBe(3);
    expect(again.append(range(3, 2)).map((e) => e.seq)).toEqual([4, 5]);
    const read = again.readAfter(0, 100, 1 << 20);
    expect(read.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(JSON.parse(read[4]!.json)).toMatchObject({ seq: 5, kind: 'agent.notice', detail: { i: 4 } });
  });

  it('drops events only after the acknowledgement, and never reuses a sequence number', () => {
    const dir = tempDir('ob-ack');
    const box = Outbox.open(dir, { segmentBytes: 300 });
    box.append(range(0, 20));
    box.ack(12);
    box.flushAck();
    expect(box.readAfter(box.acked, 100, 1 << 20).map((r) => r.seq)).toEqual([13, 14, 15, 16, 17, 18, 19, 20]);
    box.ack(20);
    box.close();
    const again = Outbox.open(dir, { segmentBytes: 300 });
    expect(again.depth).toBe(0);
    expect(again.append([notice(99)])[0]!.seq).toBe(21);
    // Fully acknowledged segments are gone from disk.
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).length).toBe(1);
  });

  it('writes an acknowledgement in the background within ackFlushMs, then deletes the acknowledged segments', async () => {
    const dir = tempDir('ob-ack-bg');
    const box = Outbox.open(dir, { segmentBytes: 300, ackFlushMs: 10 });
    for (let i = 0; i < 20; i++) box.append([notice(i)]);
    const segments = () => readdirSync(dir).filter((f) => f.startsWith('seg-')).length;
    const before = segments();
    box.ack(12);
    box.ack(15);
    await expect.poll(() => existsSync(join(dir, 'ack.json')) && JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8')).acked, { timeout: 10_000 }).toBe(15);
    await expect.poll(segments, { timeout: 10_000 }).toBeLessThan(before);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // What comes after is still there, and a reopen resumes after the acknowledged point.
    box.close();
    expect(Outbox.open(dir, { segmentBytes: 300 }).readAfter(15, 100, 1 << 20).map((r) => r.seq)).toEqual([16, 17, 18, 19, 20]);
  });

  it('cuts a torn last line left by kill -9 in the middle of a write', () => {
    const dir = tempDir('ob-torn');
    const box = Outbox.open(dir);
    box.append(range(0, 3));
    box.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.startsWith('seg-'))!);
    appendFileSync(seg, '{"seq":4,"at":"2026-11-23T00:00:00.000Z","kind":"agent.no');
    const again = Outbox.open(dir);
    expect(again.lastSeq).toBe(3);
    expect(again.append([notice(3)])[0]!.seq).toBe(4);
    expect(readFileSync(seg, 'utf8').split('\n').filter(Boolean).every((l) => JSON.parse(l))).toBe(true);
  });

  it('at its size cap replaces the oldest unacknowledged events with one gap event that says how many were dropped', () => {
    const dir = tempDir('ob-cap');
    const box = Outbox.open(dir, { capBytes: 4000, segmentBytes: 1000 });
    for (let i = 0; i < 100; i++) box.append([notice(i, 60)]);
    expect(box.bytes).toBeLessThanOrEqual(4000 + 1000);
    const all = box.readAfter(0, 1000, 1 << 22);
    const first = JSON.parse(all[0]!.json) as { kind: string; seq: number; throughSeq: number; dropped: number };
    expect(first.kind).toBe('gap');
    expect(first.seq).toBe(1);
    // The gap covers exactly the numbers that are missing after it, and counts them.
    expect(all[1]!.seq).toBe(first.throughSeq + 1);
    expect(first.dropped).toBe(first.throughSeq);
    expect(box.dropped).toBe(first.dropped);
    // Everything after the gap is intact and contiguous up to the last event.
    const seqs = all.slice(1).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => first.throughSeq + 1 + k));
    expect(seqs[seqs.length - 1]).toBe(100);
  });

  it('never lets one gap record cover more than the protocol allows (LIMITS.maxGapSpan)', () => {
    const box = Outbox.open(tempDir('ob-span'), { capBytes: 4096, segmentBytes: 1024 });
    for (let k = 0; k < 400; k++) box.append([notice(k)]);
    const records = box.readAfter(0, 1000, 1 << 22).map((r) => JSON.parse(r.json) as { kind: string; seq: number; throughSeq?: number });
    for (const r of records.filter((x) => x.kind === 'gap')) expect(r.throughSeq! - r.seq + 1).toBeLessThanOrEqual(LIMITS.maxGapSpan);
    // Still one gap for all that was dropped: 400 events are far below the span.
    expect(records.filter((x) => x.kind === 'gap')).toHaveLength(1);
  });

  it('ignores a journal line whose sequence number is not an exact integer', () => {
    const dir = tempDir('ob-unsafe');
    const box = Outbox.open(dir);
    box.append(range(0, 2));
    box.close();
    appendFileSync(join(dir, readdirSync(dir).find((n) => n.startsWith('seg-'))!), '{"seq":9007199254740993,"at":"2026-12-06T00:00:00.000Z","kind":"agent.notice","notice":"x"}\n');
    const again = Outbox.open(dir);
    expect(again.lastSeq).toBe(2);
  });
});
