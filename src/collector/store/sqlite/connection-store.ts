/**
 * The embedded store on one better-sqlite3 connection in WAL mode. The collector runs it on a
 * thread of its own (writer-thread.ts, behind SqliteStore), so its synchronous SQL never holds
 * up the sockets. Writes come in batches (one transaction per gateway flush), so durable ingest
 * runs at SQLite's batched rate, not at one fsync per event.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AgentEvent } from '../../../shared/protocol/messages.js';
import { MIGRATIONS } from '../migrations.js';
import { coalesceViolationOps, newEventsOf, projectionOf, violationKey } from '../projection.js';
import type { ProjectionOp, ViolationOp } from '../projection.js';
import { SequenceGapError } from '../store.js';
import { agentFromRow, eventFromRow, scanFromRow, tokenFromRow, violationFromRow } from '../rows.js';
import type { Row } from '../rows.js';
import { forwardingTables } from '../forwarding.js';
import type { ForwardingTables } from '../forwarding.js';
import type { SqlRunner, SqlValue } from '../sql.js';
import type { IngestReply, IngestTextBatch, OpeningHead } from './writer-protocol.js';
import { reportDigest, violationStatements } from './violation-batch.js';
import type { WalCheckpoints } from './checkpointer.js';
import type { ViolationCloseRow, ViolationRow, ViolationStatements } from './violation-batch.js';
import type {
  AgentRecord,
  IngestBatch,
  IngestOutcome,
  PresenceChange,
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
import { queryViolationPage, setAgentDepartments } from '../violation-query.js';
import type { ViolationPage, ViolationPageQuery } from '../violation-query.js';

/** The forwarding methods come from forwardingTables (portable SQL), merged in by the constructor. */
export interface SqliteConnectionStore extends ForwardingTables {}

/** A statement prepared when it is first run (see upsertResult). */
function preparedOnUse(db: Database.Database, text: string): { run: (...params: unknown[]) => Database.RunResult } {
  let stmt: Database.Statement | undefined;
  return { run: (...params) => (stmt ??= db.prepare(text)).run(...params) };
}

export class SqliteConnectionStore implements Store {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly violationStmts: () => ViolationStatements;
  /** The checkpointer thread beside the writer (checkpointer.ts); without it SQLite checkpoints on this connection. */
  private checkpoints: WalCheckpoints | undefined;

  readonly sql: SqlRunner;

  constructor(readonly path: string) {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    }
    const isNew = path !== ':memory:' && !existsSync(path);
    this.db = new Database(path);
    // The database holds agent secrets and every violation: owner-only.
    if (isNew) chmodSync(path, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    this.stmts = this.prepare();
    this.violationStmts = violationStatements(this.db);
    this.sql = sqliteRunner(this.db);
    Object.assign(this, forwardingTables(this.sql));
  }

  /** Leave the WAL's checkpoints to the checkpointer thread. */
  useCheckpoints(checkpoints: WalCheckpoints): void {
    this.checkpoints = checkpoints;
    checkpoints.attach(this.db);
  }

  private prepare() {
    const ready = this.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'agents'").get() as { n: number };
    if (!ready.n) {
      this.runMigrations();
    }
    const db = this.db;
    return {
      insertEvent: db.prepare('INSERT OR IGNORE INTO events (agent_id, seq, kind, at, received_at, payload) VALUES (?, ?, ?, ?, ?, ?)'),
      lastSeq: db.prepare('SELECT last_seq FROM agents WHERE id = ?'),
      setLastSeq: db.prepare('UPDATE agents SET last_seq = ? WHERE id = ?'),
      // Prepared on first use: the column reason_msg comes from a later migration, and a database of an
      // earlier version is opened (and these statements prepared) before migrate() adds it.
      upsertResult: preparedOnUse(db, `INSERT INTO rule_results (agent_id, rule_id, check_id, result, reason, at, reason_msg) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (agent_id, rule_id) DO UPDATE SET check_id = excluded.check_id, result = excluded.result, reason = excluded.reason, at = excluded.at, reason_msg = excluded.reason_msg`),
      upsertFacts: db.prepare(`INSERT INTO facts_latest (agent_id, check_id, status, facts_json, at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (agent_id, check_id) DO UPDATE SET status = excluded.status, facts_json = excluded.facts_json, at = excluded.at`),
      scanDone: db.prepare(`UPDATE scan_requests SET state = 'done', completed_at = ?, result_json = ? WHERE id = ? AND agent_id = ?`),
      policyApplied: db.prepare('UPDATE agents SET policy_version = ? WHERE id = ?'),
      online: db.prepare('UPDATE agents SET online = 1, node_id = ?, last_seen_at = ?, hostname = ?, os_json = ?, agent_version = ?, policy_version = ? WHERE id = ?'),
      offline: db.prepare('UPDATE agents SET online = 0, last_seen_at = ? WHERE id = ? AND node_id = ?'),
      getAgent: db.prepare('SELECT * FROM agents WHERE id = ?'),
      revoked: db.prepare('SELECT id FROM agents WHERE revoked_at IS NOT NULL'),
      pendingScans: db.prepare("SELECT * FROM scan_requests WHERE agent_id = ? AND state != 'done' ORDER BY requested_at"),
      markScanSent: db.prepare("UPDATE scan_requests SET state = 'sent', sent_at = ? WHERE id = ? AND state = 'queued'"),
      getScan: db.prepare('SELECT * FROM scan_requests WHERE id = ?'),
      createScan: db.prepare("INSERT INTO scan_requests (id, agent_id, checks_json, requested_by, requested_at, state) VALUES (?, ?, ?, ?, ?, 'queued')"),
    };
  }

  private runMigrations(): void {
    const applied = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sqlite);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      })();
    }
  }

  async migrate(): Promise<void> {
    this.runMigrations();
  }

  async emptyWal(): Promise<void> {
    if (this.checkpoints) this.checkpoints.truncate(this.db);
    else this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async close(): Promise<void> {
    // The checkpointer's connection first: this one is then the last, and closing it checkpoints the rest.
    await this.checkpoints?.stop();
    this.db.close();
  }

  async createToken(t: TokenRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO enrollment_tokens (id, secret_hash, segment, expires_at, single_use, used_count, revoked_at, created_at, note, department) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(t.id, t.secretHash, t.segment, t.expiresAt, t.singleUse ? 1 : 0, t.usedCount, t.revokedAt, t.createdAt, t.note, t.department ?? null);
  }

  async redeemToken(id: string, secretHash: string, now: string): Promise<RedeemResult> {
    return this.db.transaction((): RedeemResult => {
      const row = this.db.prepare('SELECT * FROM enrollment_tokens WHERE id = ?').get(id) as Row | undefined;
      if (!row || row.secret_hash !== secretHash) return { ok: false, why: 'unknown' };
      const t = tokenFromRow(row);
      if (t.revokedAt) return { ok: false, why: 'revoked' };
      if (Date.parse(t.expiresAt) <= Date.parse(now)) return { ok: false, why: 'expired' };
      if (t.singleUse && t.usedCount > 0) return { ok: false, why: 'used' };
      this.db.prepare('UPDATE enrollment_tokens SET used_count = used_count + 1 WHERE id = ?').run(id);
      return { ok: true, segment: t.segment, tokenId: t.id, ...(t.department ? { department: t.department } : {}) };
    }).immediate();
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    return this.db.prepare('UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes > 0;
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (this.db.prepare('SELECT * FROM enrollment_tokens ORDER BY created_at').all() as Row[]).map(tokenFromRow);
  }

  async createAgent(a: NewAgent): Promise<void> {
    this.db
      .prepare('INSERT INTO agents (id, secret, public_key, hostname, os_json, agent_version, segment, enrolled_at, token_id, department) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(a.id, a.secret, a.publicKey ?? null, a.hostname, JSON.stringify(a.os), a.agentVersion, a.segment, a.enrolledAt, a.tokenId, a.department ?? null);
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    const row = this.stmts.getAgent.get(id) as Row | undefined;
    return row ? agentFromRow(row) : undefined;
  }

  async listAgents(): Promise<AgentRecord[]> {
    return (this.db.prepare('SELECT * FROM agents ORDER BY hostname, id').all() as Row[]).map(agentFromRow);
  }

  async revokeAgent(id: string, at: string): Promise<boolean> {
    return this.db.prepare('UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes > 0;
  }

  async revokedAgentIds(): Promise<string[]> {
    return (this.stmts.revoked.all() as { id: string }[]).map((r) => r.id);
  }

  async setPresence(changes: readonly PresenceChange[]): Promise<void> {
    const { online, offline } = this.stmts;
    this.db.transaction(() => {
      for (const c of changes) {
        if (c.online) online.run(c.nodeId, c.at, c.info.hostname, JSON.stringify(c.info.os), c.info.agentVersion, c.info.policyVersion, c.agentId);
        else offline.run(c.at, c.agentId, c.nodeId);
      }
    })();
  }

  async touchAgents(seen: ReadonlyMap<string, { at: string; policyVersion: number }>): Promise<void> {
    const stmt = this.db.prepare('UPDATE agents SET last_seen_at = ?, policy_version = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const [id, s] of seen) stmt.run(s.at, s.policyVersion, id);
    })();
  }

  async markNodeOffline(nodeId: string, at: string): Promise<void> {
    this.db.prepare('UPDATE agents SET online = 0, last_seen_at = coalesce(last_seen_at, ?) WHERE node_id = ? AND online = 1').run(at, nodeId);
  }

  private apply(op: Exclude<ProjectionOp, ViolationOp>, receivedAt: string): void {
    const s = this.stmts;
    switch (op.op) {
      case 'results':
        for (const r of op.event.results) if (r.subject === '') s.upsertResult.run(op.agentId, r.ruleId, op.event.checkId, r.result, r.reason, op.event.at, r.reasonMsg ? JSON.stringify(r.reasonMsg) : null);
        return;
      case 'facts':
        s.upsertFacts.run(op.agentId, op.event.checkId, op.event.status, JSON.stringify(op.event.facts), op.event.at);
        return;
      case 'scan.done':
        s.scanDone.run(op.event.at, JSON.stringify(op.event.checks), op.event.requestId, op.agentId);
        return;
      case 'policy.applied':
        s.policyApplied.run(op.event.version, op.agentId);
        return;
    }
  }

  /**
   * `texts`: the JSON text of events that arrived as text (the writer thread's), stored as given
   * instead of serialised again; `unparsed`: the openings among them not parsed yet, by their
   * violation object (unparsedOpening).
   */
  async ingest(batches: readonly IngestBatch[], receivedAt: string, texts?: WeakMap<AgentEvent, string>, unparsed?: WeakMap<object, UnparsedOpening>): Promise<IngestOutcome> {
    const stored = new Map<string, number>();
    const rejected = new Map<string, SequenceGapError>();
    const violationOps: ViolationOp[] = [];
    // Kept by the reported violation object, which coalescing keeps (it copies the event, not its violation).
    const digests = new WeakMap<object, string | null>();
    this.checkpoints?.beforeCommit(this.db);
    // One transaction for the flush. A batch that would leave a hole is found before any of its
    // rows is written (the hole follows from last_seq and the batch alone), so it is skipped
    // whole without a savepoint per agent; the other agents' batches are stored.
    this.db.transaction(() => {
      for (const batch of batches) {
        if (rejected.has(batch.agentId)) continue;
        const row = this.stmts.lastSeq.get(batch.agentId) as { last_seq: number } | undefined;
        const before = stored.get(batch.agentId) ?? (row ? Number(row.last_seq) : undefined);
        const { fresh, last, hole } = before === undefined ? { fresh: [], last: 0, hole: { expected: 0, got: batch.events[0]?.seq ?? 0 } } : newEventsOf(batch.events, before);
        if (hole) {
          rejected.set(batch.agentId, new SequenceGapError(batch.agentId, hole.expected, hole.got));
          stored.delete(batch.agentId);
          continue;
        }
        for (const e of fresh) {
          const text = texts?.get(e) ?? JSON.stringify(e);
          this.stmts.insertEvent.run(batch.agentId, e.seq, e.kind, e.at, receivedAt, text);
          const op = projectionOf(batch.agentId, e);
          if (op?.op === 'violation.open') {
            const head = unparsed?.get(op.event.violation);
            digests.set(op.event.violation, head ? head.digest : reportDigest(text));
            violationOps.push(op);
          } else if (op?.op === 'violation.close') violationOps.push(op);
          else if (op) this.apply(op, receivedAt);
        }
        if (last !== before) this.stmts.setLastSeq.run(last, batch.agentId);
        stored.set(batch.agentId, last);
      }
      this.applyViolationOps(coalesceViolationOps(violationOps), receivedAt, digests, unparsed);
      // Immediate: it reads last_seq before writing, and another collector process (or a second
      // store on this file) writing in between would make a deferred transaction fail as busy.
    }).immediate();
    this.checkpoints?.afterCommit();
    return { stored, rejected };
  }

  /**
   * The violation changes of a commit (violation-batch.ts). A violation has at most three
   * changes left after coalescing, applied in their order: the first change of every violation
   * goes in the first round, the second in the second; the openings a round staged are inserted
   * at its end, before a later change of the same violation. `digests`: reportDigest of each
   * opening's event text, by its violation object; `unparsed`: the text of an opening that is
   * parsed only here, when its violation is written in full.
   */
  private applyViolationOps(ops: readonly ViolationOp[], receivedAt: string, digests: WeakMap<object, string | null>, unparsed?: WeakMap<object, UnparsedOpening>): void {
    const rounds: ViolationOp[][] = [];
    const changesOf = new Map<string, number>();
    for (const op of ops) {
      const key = violationKey(op);
      const n = changesOf.get(key) ?? 0;
      changesOf.set(key, n + 1);
      (rounds[n] ??= []).push(op);
    }
    const s = this.violationStmts();
    for (const round of rounds) {
      let staged = 0;
      for (const op of round) {
        if (op.op === 'violation.close') {
          const e = op.event;
          s.close.run({ agentId: op.agentId, ruleId: e.ruleId, subject: e.subject, at: e.at, reason: e.reason, reasonMsg: e.reasonMsg ? JSON.stringify(e.reasonMsg) : null, receivedAt } satisfies ViolationCloseRow);
          continue;
        }
        const reported = op.event.violation;
        const digest = digests.get(reported) ?? null;
        const current = s.current.get(op.agentId, reported.ruleId, reported.subject) as [rowid: number, open: number, severity: string, user: string | null, digest: string | null] | undefined;
        const open = current !== undefined && current[1] === 1;
        // Reported again with the content the row holds: nothing changes (violation-batch.ts).
        if (open && digest !== null && current[4] === digest) continue;
        const head = unparsed?.get(reported);
        const v = head === undefined ? reported : (JSON.parse(head.text) as typeof op.event).violation;
        const row: ViolationRow = {
          agentId: op.agentId,
          ruleId: v.ruleId,
          subject: v.subject,
          checkId: v.checkId,
          result: v.result,
          severity: v.severity,
          title: JSON.stringify(v.title),
          message: JSON.stringify(v.message),
          reason: v.reason,
          reasonMsg: v.reasonMsg ? JSON.stringify(v.reasonMsg) : null,
          clauses: JSON.stringify(v.clauses),
          facts: JSON.stringify(v.facts),
          user: v.user ?? null,
          at: op.event.at,
          receivedAt,
          digest,
        };
        if (open) {
          row.rowid = current[0];
          (current[2] === row.severity && current[3] === row.user ? s.refreshSameKeys : s.refreshOpen).run(row);
        } else {
          s.stageOpening.run(row);
          staged += 1;
        }
      }
      if (staged) {
        s.openStaged.run();
        s.clearStaged.run();
      }
    }
  }

  /** The writer thread's ingest: each event arrives as its JSON text, which is stored as given. */
  async ingestTexts(batches: readonly IngestTextBatch[], receivedAt: string): Promise<IngestReply> {
    const texts = new WeakMap<AgentEvent, string>();
    const unparsed = new WeakMap<object, UnparsedOpening>();
    const parsed = batches.map((b) => ({
      agentId: b.agentId,
      events: b.events.map((text, i) => {
        const head = b.heads?.[i];
        const event = head ? unparsedOpening(head, text, unparsed) : (JSON.parse(text) as AgentEvent);
        texts.set(event, text);
        return event;
      }),
    }));
    const { stored, rejected } = await this.ingest(parsed, receivedAt, texts, unparsed);
    return { stored, rejected: [...rejected.values()].map((e) => [e.agentId, e.expected, e.got]) };
  }

  async listEvents(agentId: string, afterSeq: number, limit: number): Promise<StoredEventRecord[]> {
    return (this.db.prepare('SELECT * FROM events WHERE agent_id = ? AND seq > ? ORDER BY seq LIMIT ?').all(agentId, afterSeq, limit) as Row[]).map(eventFromRow);
  }

  async countEvents(agentId?: string): Promise<number> {
    const row = (agentId ? this.db.prepare('SELECT count(*) AS n FROM events WHERE agent_id = ?').get(agentId) : this.db.prepare('SELECT count(*) AS n FROM events').get()) as { n: number };
    return row.n;
  }

  queryViolations(query: ViolationPageQuery): Promise<ViolationPage> {
    return queryViolationPage(this.sql, query);
  }

  setDepartments(agentIds: readonly string[], department: string | null): Promise<number> {
    return setAgentDepartments(this.sql, agentIds, department);
  }

  async listViolations(filter: ViolationFilter = {}): Promise<ViolationRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) (where.push('v.state = ?'), args.push(filter.state));
    if (filter.agentId) (where.push('v.agent_id = ?'), args.push(filter.agentId));
    if (filter.ruleId) (where.push('v.rule_id = ?'), args.push(filter.ruleId));
    // Violations the collector raises about itself (FWD-001, agent id "") have no agent row.
    const sql = `SELECT v.*, COALESCE(a.hostname, 'mamori-collector') AS hostname FROM violations v LEFT JOIN agents a ON a.id = v.agent_id ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY v.updated_at DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 1000) as Row[]).map(violationFromRow);
  }

  async latestFacts(agentId: string) {
    const rows = this.db.prepare('SELECT * FROM facts_latest WHERE agent_id = ? ORDER BY check_id').all(agentId) as Row[];
    return rows.map((r) => ({ checkId: String(r.check_id), status: String(r.status), facts: JSON.parse(String(r.facts_json)) as Record<string, unknown>, at: String(r.at) }));
  }

  async createScanRequest(req: Omit<ScanRequestRecord, 'state' | 'sentAt' | 'completedAt' | 'result'>): Promise<void> {
    this.stmts.createScan.run(req.id, req.agentId, JSON.stringify(req.checks), req.requestedBy, req.requestedAt);
  }

  async pendingScans(agentId: string): Promise<ScanRequestRecord[]> {
    return (this.stmts.pendingScans.all(agentId) as Row[]).map(scanFromRow);
  }

  async markScanSent(id: string, at: string): Promise<void> {
    this.stmts.markScanSent.run(at, id);
  }

  async getScanRequest(id: string): Promise<ScanRequestRecord | undefined> {
    const row = this.stmts.getScan.get(id) as Row | undefined;
    return row ? scanFromRow(row) : undefined;
  }

  async prune(kind: PruneKind, before: string, limit: number): Promise<number> {
    const sql = {
      events: 'DELETE FROM events WHERE (agent_id, seq) IN (SELECT agent_id, seq FROM events WHERE received_at < ? ORDER BY received_at LIMIT ?)',
      facts: "DELETE FROM events WHERE (agent_id, seq) IN (SELECT agent_id, seq FROM events WHERE received_at < ? AND kind IN ('facts', 'results') ORDER BY received_at LIMIT ?)",
      violations: "DELETE FROM violations WHERE rowid IN (SELECT rowid FROM violations WHERE state = 'closed' AND updated_at < ? ORDER BY updated_at LIMIT ?)",
    }[kind];
    return this.db.prepare(sql).run(before, limit).changes;
  }

  /** Whether a transaction (a savepoint of the SQL runner) is open on this connection. */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /** Statements without a result (the SQL runner's savepoints). */
  exec(sql: string): void {
    this.db.exec(sql);
  }
}

/** better-sqlite3 behind the async SqlRunner interface (calls are synchronous underneath). */
export function sqliteRunner(db: Database.Database): SqlRunner {
  let depth = 0;
  const runner: SqlRunner = {
    dialect: 'sqlite',
    async all<T>(sql: string, params: readonly SqlValue[] = []) {
      return db.prepare(sql).all(...params) as T[];
    },
    async get<T>(sql: string, params: readonly SqlValue[] = []) {
      return db.prepare(sql).get(...params) as T | undefined;
    },
    async run(sql: string, params: readonly SqlValue[] = []) {
      return db.prepare(sql).run(...params).changes;
    },
    async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
      // better-sqlite3 transactions cannot span awaits; use explicit savepoints instead.
      const name = `sp${depth++}`;
      db.exec(`SAVEPOINT ${name}`);
      try {
        const result = await fn(runner);
        db.exec(`RELEASE ${name}`);
        return result;
      } catch (err) {
        db.exec(`ROLLBACK TO ${name}`);
        db.exec(`RELEASE ${name}`);
        throw err;
      } finally {
        depth--;
      }
    },
  };
  return runner;
}

/** The text and digest of an opening the writer has not parsed, kept by its violation object. */
interface UnparsedOpening {
  text: string;
  digest: string | null;
}

/**
 * A `violation.opened` event of the writer before its text is parsed: seq, at and the
 * violation's rule and subject from its head (writer-protocol.ts OpeningHead), which is all that
 * storing the event row, coalescing and recognising a report of the content the row holds read.
 * The text and its digest are kept by the violation object, for applyViolationOps to parse when
 * it writes the violation in full.
 */
function unparsedOpening([seq, at, ruleId, subject, digest]: OpeningHead, text: string, unparsed: WeakMap<object, UnparsedOpening>): AgentEvent {
  const violation = { ruleId, subject };
  unparsed.set(violation, { text, digest });
  return { seq, at, kind: 'violation.opened', violation } as unknown as AgentEvent;
}
