/**
 * What the gateway changes in an agent's record on its own authority: the key an agent
 * enrolled before key pairs registers (its HMAC secret is deleted in the same statement), and
 * stored events above the sequence number the agent itself has reached, which it disowns.
 */
import type { SqlRunner } from '../store/sql.js';
import type { Store } from '../store/store.js';

/**
 * Register the agent's first public key and delete its HMAC secret; false when it already had a key.
 *
 * SQLite keeps the bytes of an overwritten value in the page's free space, and the old page in
 * the database file until the write-ahead log is checkpointed: with secure_delete on, the freed
 * space is zeroed, and the checkpoint writes the page without the secret into the file and
 * empties the log, so a copy of mamori.db taken afterwards holds no trace of it. PostgreSQL keeps
 * the old row version in the table's files until VACUUM reuses its space (docs/security.md).
 */
export async function registerAgentKey(store: Pick<Store, 'sql' | 'emptyWal'>, agentId: string, publicKey: string): Promise<boolean> {
  const { sql } = store;
  const update = () => sql.run("UPDATE agents SET public_key = ?, secret = '' WHERE id = ? AND public_key IS NULL", [publicKey, agentId]);
  if (sql.dialect !== 'sqlite') return (await update()) === 1;
  await sql.run('PRAGMA secure_delete = ON');
  try {
    if ((await update()) !== 1) return false;
  } finally {
    await sql.run('PRAGMA secure_delete = OFF');
  }
  await store.emptyWal?.();
  return true;
}

export interface Disowned {
  /** Events moved to events_disowned. */
  count: number;
  /** The collector's resume point before, and after (at most the agent's own counter). */
  storedLastSeq: number;
  resumeSeq: number;
}

/**
 * The collector holds events above what the agent has ever numbered: they were not made by
 * this agent's outbox (a forged frame, or its state was restored from a backup). Move them out
 * of its sequence into events_disowned (kept as evidence) and resume at the agent's own
 * counter, so the real agent's next events are stored and never skipped as duplicates.
 */
export async function disownEventsAbove(sql: SqlRunner, agentId: string, storedLastSeq: number, agentLastSeq: number, at: string): Promise<Disowned> {
  return sql.transaction(async (tx) => {
    // A gap stored at or below the agent's counter may still reach past it: it goes too.
    const gaps = await tx.all<{ seq: number; payload: string }>("SELECT seq, payload FROM events WHERE agent_id = ? AND kind = 'gap' AND seq <= ? ORDER BY seq", [agentId, agentLastSeq]);
    const reaching = gaps.find((g) => Number((JSON.parse(g.payload) as { throughSeq?: number }).throughSeq) > agentLastSeq);
    const from = reaching ? Number(reaching.seq) : agentLastSeq + 1;
    await tx.run('INSERT INTO events_disowned (agent_id, seq, kind, at, received_at, payload, disowned_at) SELECT agent_id, seq, kind, at, received_at, payload, ? FROM events WHERE agent_id = ? AND seq >= ?', [at, agentId, from]);
    const count = await tx.run('DELETE FROM events WHERE agent_id = ? AND seq >= ?', [agentId, from]);
    await tx.run('UPDATE agents SET last_seq = ? WHERE id = ?', [from - 1, agentId]);
    return { count, storedLastSeq, resumeSeq: from - 1 };
  });
}
