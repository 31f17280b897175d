/**
 * A full disk on the PC: the outbox appends to a real, tiny tmpfs filled to the last byte.
 * The append loses the events but not their count: nothing throws, and as soon as space
 * returns one `gap` covering exactly the lost sequence numbers is written before the next
 * events. Mounting needs root (the agent's own account on a PC); elsewhere this is skipped.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../agent/outbox/outbox.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { tempDir } from '../helpers/processes.js';

const root = process.getuid?.() === 0;
const mnt = join(tempDir('full-disk'), 'mnt');
const notice = (i: number): NewAgentEvent => ({ at: '2026-12-06T00:00:00.000Z', kind: 'agent.notice', notice: 'n', detail: { i, pad: 'x'.repeat(6000) } });

beforeAll(() => {
  if (!root) return;
  mkdirSync(mnt, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
});
afterAll(() => {
  if (root) execFileSync('umount', ['-l', mnt]);
});

/** Fill the file system with one file until ENOSPC; returns its path. */
function fill(): string {
  const path = join(mnt, 'filler');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeFileSync(path, chunk, { flag: 'a' });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  }
  return path;
}

describe.skipIf(!root)('outbox on a full disk (real tmpfs)', () => {
  it('counts the events it could not write and writes one gap over them when space returns', () => {
    const box = Outbox.open(join(mnt, 'outbox'), { segmentBytes: 64 * 1024 });
    expect(box.append([notice(0), notice(1)]).map((e) => e.seq)).toEqual([1, 2]);
    const filler = fill();
    // Full: nothing throws, nothing is written, the numbers are used up and counted.
    for (let i = 2; i < 7; i++) expect(box.append([notice(i)])).toEqual([]);
    expect(box.unwrittenEvents).toBe(5);
    expect(box.dropped).toBe(5);
    expect(box.lastSeq).toBe(7);
    expect(box.readAfter(0, 100, 1 << 20).map((r) => r.seq)).toEqual([1, 2]);
    rmSync(filler);
    expect(box.append([notice(7)]).map((e) => e.seq)).toEqual([8]);
    expect(box.unwrittenEvents).toBe(0);
    const records = box.readAfter(0, 100, 1 << 20).map((r) => JSON.parse(r.json) as { seq: number; kind: string; throughSeq?: number; dropped?: number; reason?: string });
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 8]);
    expect(records[2]).toMatchObject({ kind: 'gap', seq: 3, throughSeq: 7, dropped: 5 });
    expect(records[2]!.reason).toMatch(/ENOSPC/);
    box.close();
    // What was written survives a restart in order.
    const again = Outbox.open(join(mnt, 'outbox'));
    expect(again.readAfter(0, 100, 1 << 20).map((r) => r.seq)).toEqual([1, 2, 3, 8]);
    again.close();
  });
});
