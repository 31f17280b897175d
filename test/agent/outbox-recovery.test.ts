/**
 * The outbox journal after a crash and under its cap, on a real file system: what a start
 * keeps of lines that are whole JSON but not records, of files that are not segments and of
 * segments an acknowledgement already covers; which files stay open; the mode of every file it
 * writes; the cap at exactly its size; and where a gap starts after an acknowledgement.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox, OutboxError } from '../../agent/outbox/outbox.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { tempDir } from '../helpers/processes.js';

const notice = (i: number): NewAgentEvent => ({ at: '2026-12-06T00:00:00.000Z', kind: 'agent.notice', notice: '起動', detail: { i, 課: '税務課' } });
const segName = (seq: number) => `seg-${String(seq).padStart(16, '0')}.jsonl`;
const segments = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('seg-')).sort();
const line = (seq: number, i = seq - 1) => JSON.stringify({ seq, ...notice(i) });
const seqs = (box: Outbox, after = 0) => box.readAfter(after, 100_000, 1 << 26).map((r) => r.seq);
const records = (box: Outbox, after = 0) => box.readAfter(after, 100_000, 1 << 26).map((r) => JSON.parse(r.json) as { seq: number; kind: string; throughSeq?: number; dropped?: number });
const openFds = () => readdirSync('/proc/self/fd').length;
const mode = (path: string) => statSync(path).mode & 0o777;
/** Yield to the event loop until `cond` holds, for at most 10 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not reached within 10 s: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('what a start keeps of a segment', () => {
  it('cuts a last line that is whole JSON but has no newline: its append never returned', () => {
    const dir = tempDir('obr-nonl');
    const good = `${line(1)}\n${line(2)}\n`;
    writeFileSync(join(dir, segName(1)), `${good}${line(3)}`);
    const box = Outbox.open(dir);
    expect(readFileSync(join(dir, segName(1)), 'utf8')).toBe(good);
    expect(seqs(box)).toEqual([1, 2]);
    expect(box.lastSeq).toBe(2);
    box.close();
  });

  it('cuts at a line that is JSON but not a record of the outbox ("seq" not first, or 0)', () => {
    const dir = tempDir('obr-notrec');
    const good = `${line(1)}\n${line(2)}\n`;
    writeFileSync(join(dir, segName(1)), `${good}{"copy":{"seq":3,"kind":"agent.notice"}}\n${line(4)}\n`);
    writeFileSync(join(dir, segName(5)), `${line(5)}\n{"seq":0,"kind":"agent.notice"}\n`);
    const box = Outbox.open(dir);
    expect(readFileSync(join(dir, segName(1)), 'utf8')).toBe(good);
    expect(readFileSync(join(dir, segName(5)), 'utf8')).toBe(`${line(5)}\n`);
    box.close();
  });

  it('reads on past blank lines, and still cuts a last line without its newline', () => {
    const dir = tempDir('obr-blank');
    const text = `\n${line(1)}\n\n${line(2)}\n`;
    writeFileSync(join(dir, segName(1)), `${text}${line(3)}`);
    const box = Outbox.open(dir);
    expect(seqs(box)).toEqual([1, 2]);
    expect(readFileSync(join(dir, segName(1)), 'utf8')).toBe(text);
    box.close();
  });

  it('ignores files that only look like segments: a gap left as .tmp by a crash before its rename, a copy', () => {
    const dir = tempDir('obr-stray');
    writeFileSync(join(dir, segName(1)), `${line(1)}\n${line(2)}\n`);
    const strayGap = `{"seq":1,"at":"2026-12-06T00:00:00.000Z","kind":"gap","throughSeq":9,"dropped":9,"reason":"r"}\n`;
    writeFileSync(join(dir, `${segName(1)}.tmp`), strayGap);
    writeFileSync(join(dir, `copy-${segName(3)}`), `${line(3)}\n`);
    const box = Outbox.open(dir);
    expect(seqs(box)).toEqual([1, 2]);
    expect(box.lastSeq).toBe(2);
    expect(box.append([notice(2)]).map((e) => e.seq)).toEqual([3]);
    box.close();
  });

  it('deletes the segments an acknowledgement on disk covers (a stop between writing ack.json and deleting them)', () => {
    const dir = tempDir('obr-acked');
    writeFileSync(join(dir, segName(1)), `${line(1)}\n${line(2)}\n`);
    writeFileSync(join(dir, segName(3)), `${line(3)}\n`);
    writeFileSync(join(dir, 'ack.json'), JSON.stringify({ acked: 2 }));
    const box = Outbox.open(dir);
    expect(segments(dir)).toEqual([segName(3)]);
    expect(seqs(box, 2)).toEqual([3]);
    expect(box.acked).toBe(2);
    box.close();
  });
});

describe('open files', () => {
  it('appends to the segment it found at start through one handle', () => {
    const dir = tempDir('obr-fd-reopen');
    writeFileSync(join(dir, segName(1)), `${line(1)}\n`);
    const box = Outbox.open(dir);
    const before = openFds();
    for (let i = 1; i < 6; i++) box.append([notice(i)]);
    expect(segments(dir)).toEqual([segName(1)]);
    expect(openFds()).toBe(before + 1);
    box.close();
    expect(openFds()).toBe(before);
  });

  it('closes the handle of a full segment when an acknowledgement deletes it', () => {
    const dir = tempDir('obr-fd-full');
    const box = Outbox.open(dir, { segmentBytes: 1 });
    const before = openFds();
    box.append([notice(0)]);
    expect(openFds()).toBe(before + 1);
    box.ack(1);
    box.flushAck();
    expect(segments(dir)).toEqual([]);
    expect(openFds()).toBe(before);
    box.close();
  });

  it('closes the file of an acknowledgement written in the background', async () => {
    const dir = tempDir('obr-fd-bg');
    const box = Outbox.open(dir, { ackFlushMs: 1 });
    box.append([notice(0), notice(1), notice(2)]);
    const before = openFds();
    box.ack(2); // the segment also holds 3: it stays, and so does its handle
    await until(() => existsSync(join(dir, 'ack.json')), 'ack.json written');
    // The rename runs after the file was closed (in a finally that awaits the close).
    expect(openFds()).toBe(before);
    box.close();
  });
});

describe('file modes', () => {
  it('writes segments, gaps and the acknowledgement readable by the agent only (0600)', async () => {
    const dir = tempDir('obr-mode');
    const box = Outbox.open(dir, { capBytes: 600, segmentBytes: 1, ackFlushMs: 1 });
    for (let i = 0; i < 8; i++) box.append([notice(i)]);
    const gaps = records(box).filter((r) => r.kind === 'gap');
    expect(gaps.length).toBeGreaterThan(0);
    for (const name of segments(dir)) expect(mode(join(dir, name))).toBe(0o600);
    box.ack(1);
    await until(() => existsSync(join(dir, 'ack.json')), 'ack.json written');
    expect(mode(join(dir, 'ack.json'))).toBe(0o600);
    box.close();
  });
});

describe('the cap', () => {
  it('drops nothing at exactly capBytes', () => {
    const sizer = Outbox.open(tempDir('obr-cap-size'), { segmentBytes: 1 });
    for (let i = 0; i < 5; i++) sizer.append([notice(i)]);
    const cap = sizer.bytes;
    sizer.close();
    const box = Outbox.open(tempDir('obr-cap-exact'), { capBytes: cap, segmentBytes: 1 });
    for (let i = 0; i < 5; i++) box.append([notice(i)]);
    expect(box.dropped).toBe(0);
    expect(seqs(box)).toEqual([1, 2, 3, 4, 5]);
    box.close();
  });

  it('removes the files of the segments it dropped, so a restart does not bring them back', () => {
    const dir = tempDir('obr-cap-files');
    const box = Outbox.open(dir, { capBytes: 600, segmentBytes: 1 });
    for (let i = 0; i < 8; i++) box.append([notice(i)]);
    const kept = records(box);
    expect(kept[0]).toMatchObject({ kind: 'gap', seq: 1 });
    const names = kept.map((r) => segName(r.seq));
    expect(segments(dir)).toEqual(names);
    box.close();
    const again = Outbox.open(dir);
    expect(records(again)).toEqual(kept);
    again.close();
  });

  it('a gap that grows after an acknowledgement starts after it and counts only what is still lost', () => {
    // Events 1…3 were sent and stored before the cap dropped 1…5; their acknowledgement comes after the drop.
    const dir = tempDir('obr-cap-ack');
    const box = Outbox.open(dir, { capBytes: 600, segmentBytes: 1 });
    for (let i = 0; i < 8; i++) box.append([notice(i)]);
    expect(records(box)[0]).toMatchObject({ kind: 'gap', seq: 1, throughSeq: 5, dropped: 5 });
    box.ack(3);
    for (let i = 8; i < 12; i++) {
      box.append([notice(i)]);
      // What the sender would read now: the collector refuses a gap claiming more than its span.
      for (const g of records(box, 3).filter((r) => r.kind === 'gap')) expect(g.dropped).toBeLessThanOrEqual(g.throughSeq! - g.seq + 1);
    }
    const gap = records(box, 3)[0]!;
    // 4 and 5 of the old gap, 6…9 dropped now; the collector refuses a gap claiming more than its span.
    expect(gap).toMatchObject({ kind: 'gap', seq: 4, throughSeq: 9, dropped: 6 });
    expect(gap.dropped).toBeLessThanOrEqual(gap.throughSeq! - gap.seq + 1);
    expect(seqs(box, 3)).toEqual([4, 10, 11, 12]);
    box.close();
  });
});

describe('the cap and gaps written after a full disk', () => {
  it('drops a segment that starts with a gap and holds events after it like any other', () => {
    // Written after a full disk: the gap over the lost 1…3, then 4 and 5 in the same segment.
    const dir = tempDir('obr-cap-diskgap');
    const at = '2026-12-06T00:00:00.000Z';
    const diskGap = `{"seq":1,"at":"${at}","kind":"gap","throughSeq":3,"dropped":3,"reason":"the disk of this PC was full (ENOSPC): events could not be written"}`;
    writeFileSync(join(dir, segName(1)), `${diskGap}\n${line(4)}\n${line(5)}\n`);
    writeFileSync(join(dir, segName(6)), `${line(6)}\n`);
    // The cap is exactly what is left once 1…5 became one gap: that gap, 6 and the appended 7.
    const capGap = (cap: number) => `{"seq":1,"at":"${at}","kind":"gap","throughSeq":5,"dropped":5,"reason":"outbox reached its size cap of ${cap} bytes"}\n`;
    const rest = Buffer.byteLength(`${line(6)}\n${line(7)}\n`);
    const cap = Buffer.byteLength(capGap(100)) + rest;
    expect(Buffer.byteLength(capGap(cap)) + rest).toBe(cap);
    const box = Outbox.open(dir, { capBytes: cap, segmentBytes: 1, now: () => new Date(at) });
    box.append([notice(6)]);
    expect(records(box).map((r) => [r.seq, r.kind])).toEqual([
      [1, 'gap'],
      [6, 'agent.notice'],
      [7, 'agent.notice'],
    ]);
    expect(records(box)[0]).toMatchObject({ throughSeq: 5, dropped: 5 });
    expect(box.bytes).toBe(cap);
    box.close();
  });
});

describe('errors', () => {
  it('a journal with a hole fails with the outbox error code', () => {
    const dir = tempDir('obr-hole');
    writeFileSync(join(dir, segName(1)), `${line(1)}\n`);
    writeFileSync(join(dir, segName(3)), `${line(3)}\n`);
    const box = Outbox.open(dir);
    let err: unknown;
    try {
      box.readAfter(0, 10, 1 << 20);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutboxError);
    expect((err as OutboxError).code).toBe('OUTBOX_IO');
    box.close();
  });
});
