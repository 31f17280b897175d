/**
 * The durable state of the forwarders (syslog, webhook), in portable SQL shared by both
 * stores:
 *
 *   forward_cursors            per forwarder and agent, the highest agent seq already handed
 *                              over. An agent's sequence has no holes (ingest refuses them), so
 *                              "seq > cursor" finds every undelivered violation event whatever
 *                              order the nodes of a cluster committed them in.
 *   forward_collector_events   violations the collector raises itself (tamper evidence, a
 *                              forwarder behind): they are not in `events`, so they get a log
 *                              of their own, with one "done" row per forwarder and event.
 *   forward_state              the lease (which node forwards), the last error and counters.
 *
 * A forwarder is driven by one node at a time: `claim` takes or renews a lease row with one
 * conditional UPDATE, and `advance` moves the cursors only while the caller still holds the
 * lease, so a node that stalled past its lease cannot move a cursor another node owns.
 */
import { randomUUID } from 'node:crypto';
import type { AgentEvent } from '../../shared/protocol/messages.js';
import type { SqlRunner } from './sql.js';

/** One violation event waiting to be forwarded. */
export interface ForwardItem {
  /** Stable across retries and nodes: "<agent id>:<seq>" for an agent's event, "c:<uuid>" for the collector's own. */
  eventId: string;
  agentId: string;
  hostname: string;
  /** The agent's seq (0 for the collector's own events). */
  seq: number;
  receivedAt: string;
  event: AgentEvent;
}

export interface ForwardState {
  leaseOwner: string | null;
  leaseUntil: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  lastDeliveredAt: string | null;
  delivered: number;
  /** Events given up after the retry horizon. */
  abandoned: number;
}

export interface ForwardBacklog {
  pending: number;
  oldestReceivedAt: string | null;
}

export interface ForwardingTables {
  /** Take or renew the lease of a forwarder; false while another node holds it. */
  forwardClaim(forwarderId: string, nodeId: string, now: string, leaseMs: number): Promise<boolean>;
  /** Give the lease up (shutdown), so another node takes over at once. */
  forwardRelease(forwarderId: string, nodeId: string): Promise<void>;
  /** The next violation events not yet handed over, received at or after `since` ("" = all history), oldest first. */
  forwardPending(forwarderId: string, since: string, limit: number): Promise<ForwardItem[]>;
  /**
   * Mark events handed over (delivered, filtered out or abandoned) and add to the counters;
   * false, and nothing changed, when the caller no longer holds the lease.
   */
  forwardAdvance(forwarderId: string, nodeId: string, done: readonly ForwardItem[], outcome: { delivered: number; abandoned: number; at: string }): Promise<boolean>;
  /** Record the last delivery error (null clears it). */
  forwardError(forwarderId: string, error: string | null, at: string): Promise<void>;
  forwardState(forwarderId: string): Promise<ForwardState>;
  forwardBacklog(forwarderId: string, since: string): Promise<ForwardBacklog>;
  /** Log a violation event the collector raised itself so forwarders deliver it durably; returns its event id. */
  appendCollectorEvent(e: { agentId: string; hostname: string; event: AgentEvent; receivedAt: string }): Promise<string>;
  /** Drop a forwarder's cursors and state (it was removed). */
  forwardForget(forwarderId: string): Promise<void>;
}

const VIOLATION_KINDS = "('violation.opened', 'violation.closed')";

/**
 * Log a violation event the collector raised itself, through `sql`: a transaction's runner when the
 * event must be stored with the violation row it describes (both or neither). Returns its event id.
 */
export async function insertCollectorEvent(sql: SqlRunner, e: { agentId: string; hostname: string; event: AgentEvent; receivedAt: string }): Promise<string> {
  const id = `c:${randomUUID()}`;
  await sql.run('INSERT INTO forward_collector_events (id, agent_id, hostname, received_at, payload) VALUES (?, ?, ?, ?, ?)', [id, e.agentId, e.hostname, e.receivedAt, JSON.stringify(e.event)]);
  return id;
}

export const FORWARDING_MIGRATION_SQL = `
  CREATE TABLE forward_cursors (
    forwarder_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (forwarder_id, agent_id)
  );
  CREATE TABLE forward_collector_events (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    hostname TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload TEXT NOT NULL
  );
  CREATE INDEX forward_collector_events_received ON forward_collector_events (received_at);
  CREATE TABLE forward_collector_done (
    forwarder_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (forwarder_id, event_id)
  );
  CREATE TABLE forward_state (
    forwarder_id TEXT PRIMARY KEY,
    lease_owner TEXT,
    lease_until TEXT,
    last_error TEXT,
    last_error_at TEXT,
    last_delivered_at TEXT,
    delivered BIGINT NOT NULL DEFAULT 0,
    abandoned BIGINT NOT NULL DEFAULT 0
  );
  CREATE INDEX events_forwardable ON events (agent_id, seq) WHERE kind IN ${VIOLATION_KINDS};
`;

interface PendingRow {
  agent_id: string;
  seq: number;
  received_at: string;
  payload: string;
  hostname: string;
}

export function forwardingTables(sql: SqlRunner): ForwardingTables {
  const ensureState = (id: string) => sql.run('INSERT INTO forward_state (forwarder_id) VALUES (?) ON CONFLICT (forwarder_id) DO NOTHING', [id]);
  return {
    async forwardClaim(forwarderId, nodeId, now, leaseMs) {
      await ensureState(forwarderId);
      const until = new Date(Date.parse(now) + leaseMs).toISOString();
      const changed = await sql.run('UPDATE forward_state SET lease_owner = ?, lease_until = ? WHERE forwarder_id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)', [nodeId, until, forwarderId, nodeId, now]);
      return changed === 1;
    },

    async forwardRelease(forwarderId, nodeId) {
      await sql.run('UPDATE forward_state SET lease_owner = NULL, lease_until = NULL WHERE forwarder_id = ? AND lease_owner = ?', [forwarderId, nodeId]);
    },

    async forwardPending(forwarderId, since, limit) {
      const agentRows = await sql.all<PendingRow>(
        `SELECT e.agent_id, e.seq, e.received_at, e.payload, a.hostname
           FROM events e
           JOIN agents a ON a.id = e.agent_id
           LEFT JOIN forward_cursors c ON c.forwarder_id = ? AND c.agent_id = e.agent_id
          WHERE e.kind IN ${VIOLATION_KINDS} AND e.seq > COALESCE(c.seq, 0) AND e.received_at >= ?
          ORDER BY e.received_at, e.agent_id, e.seq
          LIMIT ?`,
        [forwarderId, since, limit],
      );
      const ownRows = await sql.all<PendingRow & { id: string }>(
        `SELECT ce.id, ce.agent_id, 0 AS seq, ce.received_at, ce.payload, ce.hostname
           FROM forward_collector_events ce
          WHERE ce.received_at >= ? AND NOT EXISTS (SELECT 1 FROM forward_collector_done d WHERE d.forwarder_id = ? AND d.event_id = ce.id)
          ORDER BY ce.received_at, ce.id
          LIMIT ?`,
        [since, forwarderId, limit],
      );
      const items: ForwardItem[] = [
        ...agentRows.map((r) => ({ eventId: `${r.agent_id}:${Number(r.seq)}`, agentId: r.agent_id, hostname: r.hostname, seq: Number(r.seq), receivedAt: r.received_at, event: { ...(JSON.parse(r.payload) as AgentEvent), seq: Number(r.seq) } as AgentEvent })),
        ...ownRows.map((r) => ({ eventId: r.id, agentId: r.agent_id, hostname: r.hostname, seq: 0, receivedAt: r.received_at, event: JSON.parse(r.payload) as AgentEvent })),
      ];
      items.sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : 0));
      return items.slice(0, limit);
    },

    async forwardAdvance(forwarderId, nodeId, done, outcome) {
      return sql.transaction(async (tx) => {
        // Re-check the lease inside the transaction; on PostgreSQL the row lock also waits out a concurrent claim.
        const held = await tx.get<{ n: number }>(`SELECT 1 AS n FROM forward_state WHERE forwarder_id = ? AND lease_owner = ?${tx.dialect === 'postgres' ? ' FOR UPDATE' : ''}`, [forwarderId, nodeId]);
        if (!held) return false;
        const highest = new Map<string, number>();
        for (const d of done) {
          if (d.seq > 0) highest.set(d.agentId, Math.max(highest.get(d.agentId) ?? 0, d.seq));
          else await tx.run('INSERT INTO forward_collector_done (forwarder_id, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING', [forwarderId, d.eventId]);
        }
        for (const [agentId, seq] of highest) {
          await tx.run('INSERT INTO forward_cursors (forwarder_id, agent_id, seq) VALUES (?, ?, ?) ON CONFLICT (forwarder_id, agent_id) DO UPDATE SET seq = CASE WHEN excluded.seq > forward_cursors.seq THEN excluded.seq ELSE forward_cursors.seq END', [forwarderId, agentId, seq]);
        }
        await tx.run(
          `UPDATE forward_state SET delivered = delivered + ?, abandoned = abandoned + ?${outcome.delivered > 0 ? ', last_delivered_at = ?' : ''} WHERE forwarder_id = ?`,
          outcome.delivered > 0 ? [outcome.delivered, outcome.abandoned, outcome.at, forwarderId] : [outcome.delivered, outcome.abandoned, forwarderId],
        );
        return true;
      });
    },

    async forwardError(forwarderId, error, at) {
      await ensureState(forwarderId);
      await sql.run('UPDATE forward_state SET last_error = ?, last_error_at = ? WHERE forwarder_id = ?', [error, error === null ? null : at, forwarderId]);
    },

    async forwardState(forwarderId) {
      const r = await sql.get<Record<string, unknown>>('SELECT * FROM forward_state WHERE forwarder_id = ?', [forwarderId]);
      const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
      return { leaseOwner: text(r?.lease_owner), leaseUntil: text(r?.lease_until), lastError: text(r?.last_error), lastErrorAt: text(r?.last_error_at), lastDeliveredAt: text(r?.last_delivered_at), delivered: Number(r?.delivered ?? 0), abandoned: Number(r?.abandoned ?? 0) };
    },

    async forwardBacklog(forwarderId, since) {
      const a = await sql.get<{ n: number; oldest: string | null }>(
        `SELECT count(*) AS n, min(e.received_at) AS oldest
           FROM events e
           JOIN agents ag ON ag.id = e.agent_id
           LEFT JOIN forward_cursors c ON c.forwarder_id = ? AND c.agent_id = e.agent_id
          WHERE e.kind IN ${VIOLATION_KINDS} AND e.seq > COALESCE(c.seq, 0) AND e.received_at >= ?`,
        [forwarderId, since],
      );
      const o = await sql.get<{ n: number; oldest: string | null }>(
        `SELECT count(*) AS n, min(ce.received_at) AS oldest FROM forward_collector_events ce
          WHERE ce.received_at >= ? AND NOT EXISTS (SELECT 1 FROM forward_collector_done d WHERE d.forwarder_id = ? AND d.event_id = ce.id)`,
        [since, forwarderId],
      );
      const oldest = [a?.oldest, o?.oldest].filter((x): x is string => !!x).sort()[0] ?? null;
      return { pending: Number(a?.n ?? 0) + Number(o?.n ?? 0), oldestReceivedAt: oldest };
    },

    appendCollectorEvent(e) {
      return insertCollectorEvent(sql, e);
    },

    async forwardForget(forwarderId) {
      await sql.run('DELETE FROM forward_cursors WHERE forwarder_id = ?', [forwarderId]);
      await sql.run('DELETE FROM forward_collector_done WHERE forwarder_id = ?', [forwarderId]);
      await sql.run('DELETE FROM forward_state WHERE forwarder_id = ?', [forwarderId]);
    },
  };
}
