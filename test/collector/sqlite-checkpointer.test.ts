/**
 * The WAL's checkpoints on a thread beside the SQLite writer (src/collector/store/sqlite/checkpointer.ts):
 * the writer's connection never checkpoints, the thread copies each commit into the database
 * file, a writer that never pauses still gets its WAL restarted, and the writer checkpoints as
 * SQLite does by default again if the thread ends. Real threads on real files.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startCheckpointer } from '../../src/collector/store/sqlite/checkpointer.js';
import { SqliteConnectionStore } from '../../src/collector/store/sqlite/connection-store.js';
import { SqliteStore, writerThreadFile } from '../../src/collector/store/sqlite/sqlite-store.js';
import type { IngestBatch, Store } from '../../src/collector/store/store.js';
import type { AgentEvent } from '../../src/shared/protocol/messages.js';
import { usbViolation } from '../../bench/lib/event-shape.js';

const PC = 'ag_checkpoint_a';
/** A WAL frame: a 4 KiB page and its 24-byte header (https://www.sqlite.org/fileformat.html#the_write_ahead_log). */
const FRAME_BYTES = 4096 + 24;

/** `count` unregistered-USB violations of PC (the simulated agents' event, bench/lib/event-shape.ts), seq from `firstSeq`, each a new subject (a new row). */
function openings(firstSeq: number, count: number): IngestBatch {
  const at = '2026-12-07T01:00:00.000Z';
  return { agentId: PC, events: Array.from({ length: count }, (_, i): AgentEvent => ({ seq: firstSeq + i, ...usbViolation(firstSeq + i, at) })) };
}

/** The store as shipped (through its writer thread), migrated, with PC enrolled. */
async function shippedStore(file: string): Promise<SqliteStore> {
  const store = new SqliteStore(file);
  await store.migrate();
  await enrollPc(store);
  return store;
}

async function enrollPc(store: Store): Promise<void> {
  await store.createAgent({ id: PC, secret: 's', hostname: 'SOUMU-PC-001', os: { platform: 'windows', hostname: 'SOUMU-PC-001', release: '10.0.19045' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-12-07T00:00:00.000Z', tokenId: 't' });
}

describe('checkpoints on their own thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mamori-checkpoint-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies a commit into the database file while the writer checkpoints nothing itself (the store as shipped)', async () => {
    const file = join(dir, 'mamori.db');
    const store = await shippedStore(file);
    try {
      // Far below SQLite's own 1,000 pages: the writer's connection would leave all of it in the WAL.
      await store.ingest([openings(1, 40)], '2026-12-07T01:00:00.000Z');
      await vi.waitFor(async () => expect(await store.sql.get('PRAGMA wal_autocheckpoint')).toEqual({ wal_autocheckpoint: 0 }), { timeout: 10_000, interval: 50 });
      const { page_count: pages } = (await store.sql.get<{ page_count: number }>('PRAGMA page_count'))!;
      // Every page of the database, the new ones included, reaches the file without the writer.
      await vi.waitFor(() => expect(statSync(file).size).toBe(pages * 4096), { timeout: 10_000, interval: 50 });
    } finally {
      await store.close();
    }
    // Closed in order (the checkpointer's connection, then the writer's, the last): no WAL is left, nothing is lost.
    expect(existsSync(`${file}-wal`)).toBe(false);
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM events WHERE agent_id = ?').get(PC)).toEqual({ n: 40 });
    expect(db.prepare("SELECT count(*) AS n FROM violations WHERE agent_id = ? AND state = 'open'").get(PC)).toEqual({ n: 40 });
    db.close();
  });

  it('restarts the WAL of a writer that never pauses once it holds the limit, and loses nothing', async () => {
    const file = join(dir, 'mamori.db');
    const store = new SqliteConnectionStore(file);
    await store.migrate();
    await enrollPc(store);
    // The WAL file keeps its largest size: emptied here, it shows the largest WAL from now on.
    store.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    const restartAtFrames = 64;
    const checkpoints = startCheckpointer(file, writerThreadFile(), restartAtFrames);
    store.useCheckpoints(checkpoints);
    await checkpoints.ready;
    const pagesBefore = (await store.sql.get<{ page_count: number }>('PRAGMA page_count'))!.page_count;
    const commits = 300;
    const perCommit = 10;
    let largestWal = 0;
    let largestGrowth = 0;
    let before = statSync(`${file}-wal`).size;
    // Back to back: the writer begins each commit right after the last, before the thread can
    // have copied it, so the WAL never empties by itself.
    for (let c = 0; c < commits; c++) {
      await store.ingest([openings(1 + c * perCommit, perCommit)], '2026-12-07T01:00:00.000Z');
      const wal = statSync(`${file}-wal`).size;
      largestWal = Math.max(largestWal, wal);
      largestGrowth = Math.max(largestGrowth, wal - before);
      before = wal;
    }
    // The limit, and the commits made while the thread's pass that finds it reached runs (a pass
    // takes as long as several of these small commits).
    const bound = restartAtFrames * FRAME_BYTES + 10 * largestGrowth;
    // The new pages alone, which a WAL never restarted would hold: well above the bound (else the check below would prove nothing).
    const pagesAfter = (await store.sql.get<{ page_count: number }>('PRAGMA page_count'))!.page_count;
    expect((pagesAfter - pagesBefore) * FRAME_BYTES).toBeGreaterThan(2 * bound);
    expect(largestWal).toBeLessThanOrEqual(bound);
    expect(await store.countEvents(PC)).toBe(commits * perCommit);
    await store.close();
  });

  it('empties the WAL on demand while the thread copies a commit (a checkpoint does not wait for another by itself)', async () => {
    const file = join(dir, 'mamori.db');
    const store = await shippedStore(file);
    try {
      let seq = 1;
      for (let round = 0; round < 20; round++) {
        // A large commit: the thread starts copying it at once, and is still at it when the call arrives.
        await store.ingest([openings(seq, 300)], '2026-12-07T01:00:00.000Z');
        seq += 300;
        await store.emptyWal!();
        expect(statSync(`${file}-wal`).size, `round ${round}`).toBe(0);
      }
      expect(await store.countEvents(PC)).toBe(seq - 1);
    } finally {
      await store.close();
    }
  });

  it('checkpoints on the writer as SQLite does by default when the thread has ended', async () => {
    const file = join(dir, 'mamori.db');
    const store = new SqliteConnectionStore(file);
    await store.migrate();
    const checkpoints = startCheckpointer(file, writerThreadFile());
    store.useCheckpoints(checkpoints);
    await checkpoints.ready;
    expect(await store.sql.get('PRAGMA wal_autocheckpoint')).toEqual({ wal_autocheckpoint: 0 });
    const exited = once(checkpoints.worker, 'exit');
    await checkpoints.worker.terminate();
    await exited;
    expect(await store.sql.get('PRAGMA wal_autocheckpoint')).toEqual({ wal_autocheckpoint: 1000 });
    await store.close();
  });
});
