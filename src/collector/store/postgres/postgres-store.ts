/**
 * The shared store for several collector nodes: PostgreSQL through a pool of connections.
 * Writes that several nodes may make at once on the same agent take the agent's row lock
 * (ingest, see ingest.ts); statements that update many agents lock them in id order, so
 * they never deadlock with an ingest on another node.
 */
import pg from 'pg';
import { MIGRATIONS } from '../migrations.js';
import { forwardingTables } from '../forwarding.js';
import type { ForwardingTables } from '../forwarding.js';
import type { SqlRunner } from '../sql.js';
import type {
  PresenceChange,
  AgentRecord,
  IngestBatch,
  IngestOutcome,
  NewAgent,
  PruneKind,
  RedeemResult,
  ScanRequestRecord,
  Store,
  StoredEventRecord,
  TokenRecord,
  ViolationFilter,
  ViolationRecord,
} from '../store.js';
import { ingestOn, pgText } from './ingest.js';
import { ensureTrigramIndexes } from './text-search.js';
import { pgRunner, withTransaction } from './pg-runner.js';
import { agentFromRow, eventFromRow, scanFromRow, tokenFromRow, violationFromRow } from '../rows.js';
import type { Row } from '../rows.js';
import { queryViolationPage, setAgentDepartments } from '../violation-query.js';
import type { ViolationPage, ViolationPageQuery } from '../violation-query.js';

/** Lock key of the migration step (pg_advisory_xact_lock): nodes starting together migrate one at a time. */
const MIGRATION_LOCK = 0x6d616d6f; // "mamo"

/** SQLSTATEs after which the whole flush is simply tried again: deadlock_detected, serialization_failure. */
const RETRYABLE = new Set(['40P01', '40001']);
/** Attempts of one flush before it fails with IngestConflictError (its agents then resend). */
const INGEST_ATTEMPTS = 3;

/** A flush that PostgreSQL refused with a deadlock or a serialization failure at every attempt. */
export class IngestConflictError extends Error {
  readonly code = 'INGEST_CONFLICT';
  constructor(
    readonly attempts: number,
    cause: Error & { code?: string },
  ) {
    super(`ingest gave up after ${attempts} attempts: ${cause.message} (SQLSTATE ${cause.code})`, { cause });
  }
}

/**
 * Values come back as the SQLite store gives them: BIGINT (count(*), seq) and NUMERIC (sum,
 * avg) as numbers, not strings. Sequence numbers stay below 2^53 (the protocol caps them).
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if ((oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PostgresStoreOptions {
  /** Most pooled connections (default 10). */
  maxConnections?: number;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
}

/** The forwarding methods come from forwardingTables (portable SQL), merged in by the constructor. */
export interface PostgresStore extends ForwardingTables {}

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  /**
   * A commit costs PostgreSQL ~0.4 ms of CPU and the node ~0.4 ms whatever its size, and at light
   * load a node commits every few batches: waiting 15 ms instead of 5 halved the commits and took
   * 30–40 % of PostgreSQL's CPU per event and 20–35 % of the node's, for a few ms of ack latency
   * (BENCHMARKS.md, "PostgreSQL nodes on budgets of their own").
   */
  readonly groupCommitDelayMs = 15;
  readonly pool: pg.Pool;
  readonly sql: SqlRunner;
  migrationNotes: readonly string[] = [];

  constructor(
    /** postgres://user@host:port/database */
    readonly url: string,
    opts: PostgresStoreOptions = {},
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 10, types, application_name: opts.applicationName ?? 'mamori-collector', keepAlive: true });
    // An idle pooled connection that the server closes must not crash the collector; the pool replaces it.
    this.pool.on('error', () => {});
    this.sql = pgRunner(this.pool);
    Object.assign(this, forwardingTables(this.sql));
  }

  async migrate(): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      // The lock comes first: CREATE TABLE IF NOT EXISTS from nodes starting at the same instant
      // still races on the catalogue ("duplicate key … pg_type_typname_nsp_index").
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map((r) => Number(r.version)));
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await client.query(m.postgres);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
      }
      this.migrationNotes = await ensureTrigramIndexes(client);
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async createToken(t: TokenRecord): Promise<void> {
    await this.pool.query(
      'INSERT INTO enrollment_tokens (id, secret_hash, segment, expires_at, single_use, used_count, revoked_at, created_at, note, department) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [t.id, t.secretHash, t.segment, t.expiresAt, t.singleUse ? 1 : 0, t.usedCount, t.revokedAt, t.createdAt, t.note, t.department ?? null],
    );
  }

  async redeemToken(id: string, secretHash: string, now: string): Promise<RedeemResult> {
    return withTransaction(this.pool, async (client): Promise<RedeemResult> => {
      // The row lock makes a single-use token enroll one PC even when two nodes redeem it at once.
      const row = (await client.query<Row>('SELECT * FROM enrollment_tokens WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!row || row.secret_hash !== secretHash) return { ok: false, why: 'unknown' };
      const t = tokenFromRow(row);
      if (t.revokedAt) return { ok: false, why: 'revoked' };
      if (Date.parse(t.expiresAt) <= Date.parse(now)) return { ok: false, why: 'expired' };
      if (t.singleUse && t.usedCount > 0) return { ok: false, why: 'used' };
      await client.query('UPDATE enrollment_tokens SET used_count = used_count + 1 WHERE id = $1', [id]);
      return { ok: true, segment: t.segment, tokenId: t.id, ...(t.department ? { department: t.department } : {}) };
    });
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    return ((await this.pool.query('UPDATE enrollment_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])).rowCount ?? 0) > 0;
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.pool.query<Row>('SELECT * FROM enrollment_tokens ORDER BY created_at, id')).rows.map(tokenFromRow);
  }

  async createAgent(a: NewAgent): Promise<void> {
    await this.pool.query('INSERT INTO agents (id, secret, public_key, hostname, os_json, agent_version, segment, enrolled_at, token_id, department) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
      a.id,
      a.secret,
      a.publicKey ?? null,
      a.hostname,
      JSON.stringify(a.os),
      a.agentVersion,
      a.segment,
      a.enrolledAt,
      a.tokenId,
      a.department ?? null,
    ]);
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    const row = (await this.pool.query<Row>('SELECT * FROM agents WHERE id = $1', [id])).rows[0];
    return row ? agentFromRow(row) : undefined;
  }

  async listAgents(): Promise<AgentRecord[]> {
    return (await this.pool.query<Row>('SELECT * FROM agents ORDER BY hostname, id')).rows.map(agentFromRow);
  }

  async revokeAgent(id: string, at: string): Promise<boolean> {
    return ((await this.pool.query('UPDATE agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])).rowCount ?? 0) > 0;
  }

  async revokedAgentIds(): Promise<string[]> {
    return (await this.pool.query<{ id: string }>('SELECT id FROM agents WHERE revoked_at IS NOT NULL')).rows.map((r) => r.id);
  }

  /**
   * Two statements, no transaction around them: the changes of each agent are first reduced to
   * what they leave in its row. A transaction of one UPDATE per change held the rows of every
   * agent in it across as many round trips; on a loaded node (its event loop late to send the
   * next statement) it sat "idle in transaction" while the node's ingest flushes and the next
   * presence batch waited for those rows (measured: most of the database's session time in a
   * reconnect wave, see docs/scaling.md). Rows are locked in agent id order, as the ingest does.
   */
  async setPresence(changes: readonly PresenceChange[]): Promise<void> {
    if (changes.length === 0) return;
    const { online, offline } = presenceRows(changes);
    if (online.length > 0) {
      await this.pool.query(
        `UPDATE agents a SET online = t.online, node_id = t.node_id, last_seen_at = t.at, hostname = t.hostname, os_json = t.os_json, agent_version = t.agent_version, policy_version = t.policy_version
         FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::integer[]) AS t(id, online, node_id, at, hostname, os_json, agent_version, policy_version)
         WHERE a.id = t.id AND a.id IN (SELECT id FROM agents WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE)`,
        [
          online.map((r) => r.agentId),
          online.map((r) => (r.online ? 1 : 0)),
          online.map((r) => r.nodeId),
          online.map((r) => r.at),
          // The agent's own strings: a NUL in one (PostgreSQL's text cannot hold it) would fail the batch of every agent in it.
          online.map((r) => pgText(r.info.hostname)),
          online.map((r) => JSON.stringify(r.info.os)),
          online.map((r) => pgText(r.info.agentVersion)),
          online.map((r) => r.info.policyVersion),
        ],
      );
    }
    if (offline.length > 0) {
      // Only on the node that has it: an agent that moved to another node stays online there.
      await this.pool.query(
        `UPDATE agents a SET online = 0, last_seen_at = t.at
         FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, node_id, at)
         WHERE a.id = t.id AND a.node_id = t.node_id AND a.id IN (SELECT id FROM agents WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE)`,
        [offline.map((r) => r.agentId), offline.map((r) => r.nodeId), offline.map((r) => r.at)],
      );
    }
  }

  /**
   * One statement that never waits: the rows an ingest holds are skipped (SKIP LOCKED). A
   * heartbeat batch used to lock every agent of the node in a transaction of its own, so each
   * ingest flush of that node waited behind it (and, with the flushes of a loaded machine lasting
   * longer than the 5 s between batches, behind several). An agent skipped here is in that ingest,
   * which refreshes its last-seen time itself (ingest.ts); its policy version comes again with its
   * next heartbeat.
   */
  async touchAgents(seen: ReadonlyMap<string, { at: string; policyVersion: number }>): Promise<void> {
    if (seen.size === 0) return;
    const ids = [...seen.keys()].sort();
    await this.pool.query(
      `UPDATE agents a SET last_seen_at = t.at, policy_version = t.policy_version
       FROM unnest($1::text[], $2::text[], $3::integer[]) AS t(id, at, policy_version)
       WHERE a.id = t.id AND a.id IN (SELECT id FROM agents WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE SKIP LOCKED)`,
      [ids, ids.map((id) => seen.get(id)!.at), ids.map((id) => seen.get(id)!.policyVersion)],
    );
  }

  async markNodeOffline(nodeId: string, at: string): Promise<void> {
    await this.pool.query(
      `UPDATE agents SET online = 0, last_seen_at = coalesce(last_seen_at, $1)
       WHERE id IN (SELECT id FROM agents WHERE node_id = $2 AND online = 1 ORDER BY id FOR UPDATE)`,
      [at, nodeId],
    );
  }

  async ingest(batches: readonly IngestBatch[], receivedAt: string): Promise<IngestOutcome> {
    if (batches.length === 0) return { stored: new Map(), rejected: new Map() };
    for (let attempt = 1; ; attempt++) {
      try {
        return await withTransaction(this.pool, (client) => ingestOn(client, batches, receivedAt));
      } catch (err) {
        if (!RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
        if (attempt >= INGEST_ATTEMPTS) throw new IngestConflictError(attempt, err as Error);
      }
    }
  }

  async listEvents(agentId: string, afterSeq: number, limit: number): Promise<StoredEventRecord[]> {
    return (await this.pool.query<Row>('SELECT * FROM events WHERE agent_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [agentId, afterSeq, limit])).rows.map(eventFromRow);
  }

  async countEvents(agentId?: string): Promise<number> {
    const { rows } = agentId ? await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM events WHERE agent_id = $1', [agentId]) : await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM events');
    return Number(rows[0]!.n);
  }

  queryViolations(query: ViolationPageQuery): Promise<ViolationPage> {
    return queryViolationPage(this.sql, query);
  }

  setDepartments(agentIds: readonly string[], department: string | null): Promise<number> {
    return setAgentDepartments(this.sql, agentIds, department);
  }

  async listViolations(filter: ViolationFilter = {}): Promise<ViolationRecord[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.state) (args.push(filter.state), where.push(`v.state = $${args.length}`));
    if (filter.agentId) (args.push(filter.agentId), where.push(`v.agent_id = $${args.length}`));
    if (filter.ruleId) (args.push(filter.ruleId), where.push(`v.rule_id = $${args.length}`));
    args.push(filter.limit ?? 1000);
    // Violations the collector raises about itself (FWD-001, agent id "") have no agent row.
    const sql = `SELECT v.*, COALESCE(a.hostname, 'mamori-collector') AS hostname FROM violations v LEFT JOIN agents a ON a.id = v.agent_id ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY v.updated_at DESC LIMIT $${args.length}`;
    return (await this.pool.query<Row>(sql, args)).rows.map(violationFromRow);
  }

  async latestFacts(agentId: string) {
    const { rows } = await this.pool.query<Row>('SELECT * FROM facts_latest WHERE agent_id = $1 ORDER BY check_id', [agentId]);
    return rows.map((r) => ({ checkId: String(r.check_id), status: String(r.status), facts: JSON.parse(String(r.facts_json)) as Record<string, unknown>, at: String(r.at) }));
  }

  async createScanRequest(req: Omit<ScanRequestRecord, 'state' | 'sentAt' | 'completedAt' | 'result'>): Promise<void> {
    await this.pool.query("INSERT INTO scan_requests (id, agent_id, checks_json, requested_by, requested_at, state) VALUES ($1, $2, $3, $4, $5, 'queued')", [
      req.id,
      req.agentId,
      JSON.stringify(req.checks),
      req.requestedBy,
      req.requestedAt,
    ]);
  }

  async pendingScans(agentId: string): Promise<ScanRequestRecord[]> {
    return (await this.pool.query<Row>("SELECT * FROM scan_requests WHERE agent_id = $1 AND state != 'done' ORDER BY requested_at, id", [agentId])).rows.map(scanFromRow);
  }

  async markScanSent(id: string, at: string): Promise<void> {
    await this.pool.query("UPDATE scan_requests SET state = 'sent', sent_at = $1 WHERE id = $2 AND state = 'queued'", [at, id]);
  }

  async getScanRequest(id: string): Promise<ScanRequestRecord | undefined> {
    const row = (await this.pool.query<Row>('SELECT * FROM scan_requests WHERE id = $1', [id])).rows[0];
    return row ? scanFromRow(row) : undefined;
  }

  async prune(kind: PruneKind, before: string, limit: number): Promise<number> {
    // Each call deletes at most `limit` rows in its own short statement, so ingest on other
    // connections is never held up for long (rows locked by an ingest are skipped, not waited for).
    const target = {
      events: 'SELECT ctid FROM events WHERE received_at < $1 ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED',
      facts: "SELECT ctid FROM events WHERE received_at < $1 AND kind IN ('facts', 'results') ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED",
      violations: "SELECT ctid FROM violations WHERE state = 'closed' AND updated_at < $1 ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    }[kind];
    const table = kind === 'violations' ? 'violations' : 'events';
    return (await this.pool.query(`DELETE FROM ${table} WHERE ctid = ANY(ARRAY(${target}))`, [before, limit])).rowCount ?? 0;
  }
}

type OnlineChange = Extract<PresenceChange, { online: true }>;

/**
 * What a batch of presence changes leaves in the agents' rows, one entry per agent (per agent
 * and node for agents that only went offline). Applied in order, an "online" sets the row
 * whatever it held and later "offline"s of that node clear it again; "offline"s without an
 * "online" before them apply only where the row still names their node.
 */
export function presenceRows(changes: readonly PresenceChange[]): {
  online: (Omit<OnlineChange, 'online'> & { online: boolean })[];
  offline: { agentId: string; nodeId: string; at: string }[];
} {
  const online = new Map<string, Omit<OnlineChange, 'online'> & { online: boolean }>();
  // Per agent, per node.
  const offline = new Map<string, Map<string, { agentId: string; nodeId: string; at: string }>>();
  for (const c of changes) {
    const set = online.get(c.agentId);
    if (c.online) {
      online.set(c.agentId, { agentId: c.agentId, nodeId: c.nodeId, at: c.at, info: c.info, online: true });
      offline.delete(c.agentId);
    } else if (set) {
      if (set.nodeId === c.nodeId) online.set(c.agentId, { ...set, at: c.at, online: false });
    } else {
      let nodes = offline.get(c.agentId);
      if (!nodes) offline.set(c.agentId, (nodes = new Map()));
      nodes.set(c.nodeId, { agentId: c.agentId, nodeId: c.nodeId, at: c.at });
    }
  }
  const byId = <T extends { agentId: string }>(rows: Iterable<T>) => [...rows].sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
  return { online: byId(online.values()), offline: byId([...offline.values()].flatMap((nodes) => [...nodes.values()])) };
}
