/** Read-only looks into a collector's SQLite database from a test. */
import { join } from 'node:path';
import Database from 'better-sqlite3';

export function withDb<T>(dataDir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'mamori.db'), { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export function eventCount(dataDir: string, agentId: string, kind?: string): number {
  return withDb(dataDir, (db) =>
    kind
      ? (db.prepare('SELECT count(*) AS n FROM events WHERE agent_id = ? AND kind = ?').get(agentId, kind) as { n: number }).n
      : (db.prepare('SELECT count(*) AS n FROM events WHERE agent_id = ?').get(agentId) as { n: number }).n,
  );
}

/** The detail.i of every test event of an agent, in seq order. */
export function testEventIndexes(dataDir: string, agentId: string): number[] {
  return withDb(dataDir, (db) =>
    (db.prepare("SELECT payload FROM events WHERE agent_id = ? AND kind = 'agent.notice' ORDER BY seq").all(agentId) as { payload: string }[])
      .map((r) => JSON.parse(r.payload) as { notice: string; detail?: { i?: number } })
      .filter((e) => e.notice === 'test')
      .map((e) => e.detail!.i!),
  );
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
