/**
 * A full disk on the PC, through the real agent process: its state directory (outbox, logs,
 * findings, run marker) is on a small tmpfs that the test fills to the last byte while the
 * agent runs. Scans requested meanwhile produce events that cannot be written: the agent keeps
 * running, and as soon as space returns the collector receives one counted `gap` over exactly
 * the sequence numbers it lost, then the next events. Mounting needs root (the agent's own
 * account on a PC); elsewhere the suite is skipped with the reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDb, waitUntil } from '../helpers/db.js';
import { createToken, startCollectorProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';
import { adminOf } from '../security/console-client.js';
import type { ConsoleClient } from '../security/console-client.js';
import { RealAgent } from '../security/helpers-procs.js';

const mnt = join(tempDir('agent-full-disk'), 'mnt');

/** Mount a 4 MiB tmpfs, or say why not (not root, no mount permission in this container). */
function mountTmpfs(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    mkdirSync(mnt, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
  }
}
const cannotMount = mountTmpfs();
if (cannotMount) process.stderr.write(`full disk through the real agent skipped: ${cannotMount}\n`);

let collector: CollectorProc;
let agent: RealAgent;
let admin: ConsoleClient;

beforeAll(async () => {
  if (cannotMount) return;
  collector = await startCollectorProc(tempDir('full-disk-collector'));
  agent = new RealAgent(collector, join(mnt, 'state'));
  await agent.start(await createToken(collector.dataDir));
  admin = await adminOf(collector);
}, 240_000);
afterAll(async () => {
  await agent?.stop();
  await collector?.stop();
  if (!cannotMount) execFileSync('umount', ['-l', mnt]);
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
  // The last partial block too.
  try {
    for (;;) writeFileSync(path, Buffer.alloc(1, 1), { flag: 'a' });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  }
  return path;
}

interface Stored {
  seq: number;
  kind: string;
  payload: { throughSeq?: number; dropped?: number; reason?: string; requestId?: string };
}

function stored(): Stored[] {
  return withDb(collector.dataDir, (db) => (db.prepare('SELECT seq, kind, payload FROM events WHERE agent_id = ? ORDER BY seq').all(agent.agentId) as { seq: number; kind: string; payload: string }[]).map((r) => ({ seq: r.seq, kind: r.kind, payload: JSON.parse(r.payload) as Stored['payload'] })));
}

async function scan(): Promise<string> {
  const r = await admin.request('POST', '/api/v1/scans', { agentIds: [agent.agentId], checks: ['screen-lock', 'antivirus'] });
  expect(r.status, r.text).toBe(200);
  return String(r.json.requests[0].id);
}

function scanState(id: string): string {
  return withDb(collector.dataDir, (db) => (db.prepare('SELECT state FROM scan_requests WHERE id = ?').get(id) as { state: string }).state);
}

describe.skipIf(Boolean(cannotMount))('a full disk on the PC (real agent process, real tmpfs)', () => {
  it('keeps the agent running and delivers a counted gap over what it could not write once space returns', async () => {
    const before = stored();
    const lastBefore = before.at(-1)!.seq;
    const filler = fill();
    // Events made while the disk is full: the scan runs, its results cannot be written.
    const lost = await scan();
    // The agent says so when the scan's answer itself could not be written: the scan is over.
    await waitUntil(() => agent.proc!.lines.some((l) => l.includes('ディスクが一杯のため') && l.includes('scan.result')), 90_000, 'the agent to fail to write the scan result');
    expect(scanState(lost)).toBe('sent');
    expect(agent.proc!.child.exitCode).toBeNull();
    expect(stored().at(-1)!.seq).toBe(lastBefore);

    rmSync(filler);
    const answered = await scan();
    await waitUntil(() => scanState(answered) === 'done', 90_000, 'the scan after space returned to be answered');
    expect(agent.proc!.child.exitCode).toBeNull();
    expect(agent.proc!.child.signalCode).toBeNull();
    const after = stored().filter((e) => e.seq > lastBefore);
    const gap = after[0]!;
    expect(gap).toMatchObject({ seq: lastBefore + 1, kind: 'gap' });
    expect(gap.payload.reason).toMatch(/ENOSPC/);
    // The gap covers exactly the numbers the agent gave out and could not write: the next stored
    // event follows it without a hole, and it counted each lost event.
    expect(after[1]!.seq).toBe(gap.payload.throughSeq! + 1);
    expect(gap.payload.dropped).toBe(gap.payload.throughSeq! - gap.seq + 1);
    expect(gap.payload.dropped).toBeGreaterThan(0);
    // The lost scan's answer is among what was lost; the later scan's answer arrived.
    expect(after.some((e) => e.kind === 'scan.result' && e.payload.requestId === lost)).toBe(false);
    expect(after.some((e) => e.kind === 'scan.result' && e.payload.requestId === answered)).toBe(true);
    expect(scanState(lost)).toBe('sent');
  }, 300_000);
});
