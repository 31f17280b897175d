/**
 * Store preparation and the raw SQLite baseline.
 *
 * Simulated agents are created directly in the collector's store (createAgent with the known
 * secret of bench/lib/common.ts) instead of going through thousands of enrollments.
 * The baseline inserts the same event rows, as the same JSON text, into a table of the same
 * schema (the store's own migrations) with the store's pragmas, in plain batched
 * transactions — no validation, no projection, no sequence bookkeeping.
 */
import Database from 'better-sqlite3';
import { openDefaultStore } from '../../src/collector/collector.js';
import { MIGRATIONS } from '../../src/collector/store/migrations.js';
import { benchAgentId, benchKey } from './common.js';
import { eventJson, violationBodies, SUBJECTS_PER_AGENT } from './event-shape.js';

/** Create agents 0..count-1 in the store under dataDir (one transaction). */
export async function seedAgents(dataDir: string, count: number): Promise<void> {
  const store = openDefaultStore(dataDir);
  await store.migrate();
  const now = new Date().toISOString();
  // One transaction: the calls made inside it run in it.
  await store.sql.transaction(async () => {
    for (let i = 0; i < count; i++) {
      const id = benchAgentId(i);
      await store.createAgent({
        id,
        secret: '',
        publicKey: benchKey(id).publicKey,
        hostname: `PC-${String(i).padStart(5, '0')}`,
        os: { platform: 'windows', hostname: `PC-${String(i).padStart(5, '0')}`, release: '10.0.22631' },
        agentVersion: '0.1.0',
        segment: i % 3 === 0 ? 'mynumber' : i % 3 === 1 ? 'lgwan' : 'internet',
        enrolledAt: now,
        tokenId: 'bench',
      });
    }
  });
  await store.close();
}

/**
 * Insert `rows` event rows spread over `agents` agents in transactions of `batch`, into a fresh
 * database under dir; rows per second.
 */
export function rawSqliteInsert(file: string, rows: number, batch: number, agents: number): { rowsPerSecond: number; ms: number; cpuUsPerRow: number } {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(MIGRATIONS.map((m) => m.sqlite).join('\n'));
  const insert = db.prepare('INSERT OR IGNORE INTO events (agent_id, seq, kind, at, received_at, payload) VALUES (?, ?, ?, ?, ?, ?)');
  const bodies = violationBodies();
  const ids = Array.from({ length: agents }, (_, i) => benchAgentId(i));
  const insertBatch = db.transaction((from: number, to: number, at: string) => {
    for (let r = from; r < to; r++) {
      const seq = Math.floor(r / agents) + 1;
      insert.run(ids[r % agents], seq, 'violation.opened', at, at, eventJson(seq, at, bodies[seq % SUBJECTS_PER_AGENT]!));
    }
  });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let from = 0; from < rows; from += batch) insertBatch(from, Math.min(rows, from + batch), new Date().toISOString());
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  db.close();
  // CPU time of this thread (the bench runs it alone), less affected than the rate by other work on the machine.
  return { rowsPerSecond: (rows / ms) * 1000, ms, cpuUsPerRow: (cpu.user + cpu.system) / rows };
}
