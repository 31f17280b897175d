/** Rows of the shared schema → the Store's records; both stores use the same column types (migrations.ts). */
import type { AgentEvent, OsInfo, Segment, Severity } from '../../shared/protocol/messages.js';
import type { AgentRecord, ScanRequestRecord, StoredEventRecord, TokenRecord, ViolationRecord } from './store.js';

export type Row = Record<string, unknown>;

const textOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function agentFromRow(r: Row): AgentRecord {
  return {
    id: String(r.id),
    secret: String(r.secret),
    publicKey: textOrNull(r.public_key),
    hostname: String(r.hostname),
    os: JSON.parse(String(r.os_json)) as OsInfo,
    agentVersion: String(r.agent_version),
    segment: r.segment as Segment,
    department: textOrNull(r.department),
    enrolledAt: String(r.enrolled_at),
    lastSeenAt: textOrNull(r.last_seen_at),
    online: Number(r.online) === 1,
    nodeId: textOrNull(r.node_id),
    revokedAt: textOrNull(r.revoked_at),
    lastSeq: Number(r.last_seq),
    policyVersion: Number(r.policy_version),
    tokenId: textOrNull(r.token_id),
  };
}

export function tokenFromRow(r: Row): TokenRecord {
  return {
    id: String(r.id),
    secretHash: String(r.secret_hash),
    segment: r.segment as Segment,
    expiresAt: String(r.expires_at),
    singleUse: Number(r.single_use) === 1,
    usedCount: Number(r.used_count),
    revokedAt: textOrNull(r.revoked_at),
    createdAt: String(r.created_at),
    note: textOrNull(r.note),
    department: textOrNull(r.department),
  };
}

export function violationFromRow(r: Row): ViolationRecord {
  return {
    agentId: String(r.agent_id),
    hostname: String(r.hostname ?? ''),
    ruleId: String(r.rule_id),
    subject: String(r.subject),
    checkId: String(r.check_id),
    state: r.state as 'open' | 'closed',
    result: r.result as 'fail' | 'unknown',
    severity: r.severity as Severity,
    title: JSON.parse(String(r.title_json)),
    message: JSON.parse(String(r.message_json)),
    reason: String(r.reason),
    reasonMsg: textOrNull(r.reason_msg),
    clauses: JSON.parse(String(r.clauses_json)),
    facts: JSON.parse(String(r.facts_json)),
    user: textOrNull(r.user_name),
    openedAt: String(r.opened_at),
    closedAt: textOrNull(r.closed_at),
    closedReason: textOrNull(r.closed_reason),
    closedReasonMsg: textOrNull(r.closed_reason_msg),
    updatedAt: String(r.updated_at),
  };
}

export function scanFromRow(r: Row): ScanRequestRecord {
  return {
    id: String(r.id),
    agentId: String(r.agent_id),
    checks: JSON.parse(String(r.checks_json)),
    requestedBy: String(r.requested_by),
    requestedAt: String(r.requested_at),
    state: r.state as ScanRequestRecord['state'],
    sentAt: textOrNull(r.sent_at),
    completedAt: textOrNull(r.completed_at),
    result: r.result_json ? JSON.parse(String(r.result_json)) : null,
  };
}

export function eventFromRow(r: Row): StoredEventRecord {
  return {
    agentId: String(r.agent_id),
    seq: Number(r.seq),
    kind: r.kind as AgentEvent['kind'],
    at: String(r.at),
    receivedAt: String(r.received_at),
    event: JSON.parse(String(r.payload)) as AgentEvent,
  };
}
