/**
 * The collector's storage interface: the only thing the gateway, the service layer and the
 * console see. Two implementations pass one contract suite: SQLite (embedded, default) and
 * PostgreSQL (several collector nodes on one database).
 *
 * Exactly-once: every agent event is stored once, keyed by (agent, seq); `ingest` skips what
 * it already has and refuses a batch that would leave a hole in an agent's sequence.
 */
import type { AgentEvent, ClauseRef, OsInfo, Segment, Severity } from '../../shared/protocol/messages.js';
import type { ForwardingTables } from './forwarding.js';
import type { SqlRunner } from './sql.js';
import type { ViolationPage, ViolationPageQuery } from './violation-query.js';

export interface TokenRecord {
  id: string;
  secretHash: string;
  segment: Segment;
  expiresAt: string;
  singleUse: boolean;
  usedCount: number;
  revokedAt: string | null;
  createdAt: string;
  note: string | null;
  /** The 課 a PC enrolled with this token lands in (null: none; set in the console later). */
  department?: string | null;
}

export type RedeemResult = { ok: true; segment: Segment; tokenId: string; department?: string | null } | { ok: false; why: 'unknown' | 'expired' | 'used' | 'revoked' };

export interface AgentRecord {
  id: string;
  /** HMAC secret of an agent enrolled before key pairs, until it registers a key; '' afterwards. */
  secret: string;
  /** The agent's Ed25519 public key (base64 SPKI DER); null for an agent not yet migrated. */
  publicKey: string | null;
  hostname: string;
  os: OsInfo;
  agentVersion: string;
  segment: Segment;
  department: string | null;
  enrolledAt: string;
  lastSeenAt: string | null;
  online: boolean;
  nodeId: string | null;
  revokedAt: string | null;
  lastSeq: number;
  policyVersion: number;
  tokenId: string | null;
}

export interface NewAgent {
  id: string;
  /** '' for an agent enrolled with a key pair (every agent since key pairs). */
  secret: string;
  publicKey?: string;
  hostname: string;
  os: OsInfo;
  agentVersion: string;
  segment: Segment;
  enrolledAt: string;
  tokenId: string;
  /** From the enrollment token. */
  department?: string | null;
}

export interface ViolationRecord {
  agentId: string;
  hostname: string;
  ruleId: string;
  subject: string;
  checkId: string;
  state: 'open' | 'closed';
  result: 'fail' | 'unknown';
  severity: Severity;
  title: { ja: string; en: string };
  message: { ja: string; en: string };
  reason: string;
  /** The reason as a message (JSON of a src/shared/i18n Msg); null for agents that send only the Japanese text. */
  reasonMsg?: string | null;
  clauses: ClauseRef[];
  facts: Record<string, unknown>;
  user: string | null;
  /** When it happened on the PC. */
  openedAt: string;
  closedAt: string | null;
  closedReason: string | null;
  closedReasonMsg?: string | null;
  updatedAt: string;
}

export interface ViolationFilter {
  state?: 'open' | 'closed';
  agentId?: string;
  ruleId?: string;
  limit?: number;
}

export interface StoredEventRecord {
  agentId: string;
  seq: number;
  kind: AgentEvent['kind'];
  at: string;
  receivedAt: string;
  event: AgentEvent;
}

export interface IngestBatch {
  agentId: string;
  events: readonly AgentEvent[];
  /** The JSON text of each event as the agent sent it (JSON.parse of each is the event of the same index), when the gateway has it. */
  texts?: readonly string[];
}

export interface IngestOutcome {
  stored: Map<string, number>;
  rejected: Map<string, SequenceGapError>;
}

export interface ScanRequestRecord {
  id: string;
  agentId: string;
  checks: string[];
  requestedBy: string;
  requestedAt: string;
  state: 'queued' | 'sent' | 'done';
  sentAt: string | null;
  completedAt: string | null;
  result: unknown;
}

export type PresenceChange =
  | { agentId: string; nodeId: string; at: string; online: true; info: AgentOnlineInfo }
  | { agentId: string; nodeId: string; at: string; online: false };

export interface AgentOnlineInfo {
  hostname: string;
  os: OsInfo;
  agentVersion: string;
  policyVersion: number;
}

/**
 * What retention prunes from the store: `events` every stored event, `facts` the bulky
 * history of facts and results events, `violations` closed violations (open ones never).
 */
export type PruneKind = 'events' | 'facts' | 'violations';

/** A batch that would leave a hole in the agent's sequence (the gateway closes that connection). */
export class SequenceGapError extends Error {
  readonly code = 'SEQ_GAP';
  constructor(
    readonly agentId: string,
    readonly expected: number,
    readonly got: number,
  ) {
    super(`agent ${agentId}: expected seq ${expected}, got ${got}`);
  }
}

/** The forwarders' cursors, leases and state (forwarding.ts) are part of every store. */
export interface Store extends ForwardingTables {
  readonly dialect: 'sqlite' | 'postgres';
  /** Portable SQL for features with tables of their own (see sql.ts). */
  readonly sql: SqlRunner;
  migrate(): Promise<void>;
  /** What the last migrate() could not do but the store works without (an index the database refused), for the collector's log. */
  readonly migrationNotes?: readonly string[];
  /** How long the gateway's group commit waits for more batches, when this store's commits cost more than the default wait saves (ms). */
  readonly groupCommitDelayMs?: number;
  /**
   * SQLite: copy the whole write-ahead log into the database file and empty it now, so that no
   * byte of a value overwritten before it is left in the log (agent-keys.ts). PostgreSQL has none.
   */
  emptyWal?(): Promise<void>;
  close(): Promise<void>;

  createToken(token: TokenRecord): Promise<void>;
  /** Atomically check a token (expiry, single use, revoked) and count one use. */
  redeemToken(id: string, secretHash: string, now: string): Promise<RedeemResult>;
  revokeToken(id: string, at: string): Promise<boolean>;
  listTokens(): Promise<TokenRecord[]>;

  createAgent(agent: NewAgent): Promise<void>;
  getAgent(id: string): Promise<AgentRecord | undefined>;
  listAgents(): Promise<AgentRecord[]>;
  revokeAgent(id: string, at: string): Promise<boolean>;
  /** Ids of revoked agents (the gateway closes them if connected). */
  revokedAgentIds(): Promise<string[]>;
  /**
   * Online/offline changes, written in one transaction (the gateway collects them for a
   * fraction of a second: a reconnect storm of 10,000 agents must not cost 10,000 commits).
   * Going offline applies only on the node that has the agent: an agent that moved to
   * another node stays online there.
   */
  setPresence(changes: readonly PresenceChange[]): Promise<void>;
  /** Last-seen times from heartbeats, written in one statement per flush. */
  touchAgents(seen: ReadonlyMap<string, { at: string; policyVersion: number }>): Promise<void>;
  /** At start-up: agents this node had online are offline now. */
  markNodeOffline(nodeId: string, at: string): Promise<void>;

  /**
   * Store events exactly once, in one transaction, and update the derived state
   * (violations, rule results, latest facts, scan results). Returns the highest stored seq
   * per agent; an agent whose batch would leave a hole in its sequence is in `rejected`
   * and nothing of that batch is stored (the other agents' batches are).
   */
  ingest(batches: readonly IngestBatch[], receivedAt: string): Promise<IngestOutcome>;
  listEvents(agentId: string, afterSeq: number, limit: number): Promise<StoredEventRecord[]>;
  countEvents(agentId?: string): Promise<number>;

  listViolations(filter?: ViolationFilter): Promise<ViolationRecord[]>;
  /** One page of violations filtered and sorted in the database, with the exact number that match. */
  queryViolations(query: ViolationPageQuery): Promise<ViolationPage>;
  /** Set (or clear) the 課 of many PCs at once; returns how many PCs changed. */
  setDepartments(agentIds: readonly string[], department: string | null): Promise<number>;
  latestFacts(agentId: string): Promise<{ checkId: string; status: string; facts: Record<string, unknown>; at: string }[]>;

  createScanRequest(req: Omit<ScanRequestRecord, 'state' | 'sentAt' | 'completedAt' | 'result'>): Promise<void>;
  pendingScans(agentId: string): Promise<ScanRequestRecord[]>;
  markScanSent(id: string, at: string): Promise<void>;
  getScanRequest(id: string): Promise<ScanRequestRecord | undefined>;
  /**
   * Delete at most `limit` rows of one kind older than `before` (ISO time the collector
   * received the event, or closed the violation); returns how many were deleted.
   */
  prune(kind: PruneKind, before: string, limit: number): Promise<number>;
}
