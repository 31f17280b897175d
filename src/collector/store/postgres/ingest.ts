/**
 * Exactly-once ingest on PostgreSQL for several collector nodes: one transaction per gateway
 * flush locks the agents' rows (`SELECT last_seq … FOR UPDATE`, in id order so two nodes never
 * deadlock on each other), decides what is new from the locked last_seq, and writes events and
 * projections with a handful of array (unnest) statements instead of one statement per event.
 * Every statement of a flush is a named prepared statement (pg prepares it once per connection),
 * so PostgreSQL parses and plans it once instead of at every flush, and the events go in one
 * statement with the update of their agents' rows: at light load a node commits every few
 * batches, and that per-flush work was most of PostgreSQL's CPU per event (BENCHMARKS.md,
 * "PostgreSQL nodes on budgets of their own").
 * A node whose flush waits on the lock of an agent that reconnected to another node reads the
 * other node's committed last_seq and stores only what is still new.
 */
import type pg from 'pg';
import type { AgentEvent } from '../../../shared/protocol/messages.js';
import { newEventsOf, projectionOf } from '../projection.js';
import type { ProjectionOp } from '../projection.js';
import { SequenceGapError } from '../store.js';
import type { IngestBatch, IngestOutcome } from '../store.js';

type Op<K extends ProjectionOp['op']> = Extract<ProjectionOp, { op: K }>;

/** How old an agent's last-seen time may get before an ingest that stores its events refreshes it. */
const LAST_SEEN_REFRESH_MS = 60_000;
const refreshBefore = (receivedAt: string): string => {
  const ms = Date.parse(receivedAt);
  return Number.isFinite(ms) ? new Date(ms - LAST_SEEN_REFRESH_MS).toISOString() : receivedAt;
};

/** PostgreSQL TEXT cannot hold U+0000 (SQLite can); a NUL from a PC becomes U+FFFD instead of failing the whole flush. */
export function pgText(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}
const pgTextOrNull = (s: string | null | undefined): string | null => (s === null || s === undefined ? null : pgText(s));

interface Plan {
  outcome: IngestOutcome;
  /** agent id → seq the row holds after this flush, for agents whose sequence moved. */
  lastSeq: Map<string, number>;
  /** The new events, each with the agent's own JSON text of it when the gateway kept it (the stored payload). */
  events: { agentId: string; event: AgentEvent; text?: string }[];
  ops: ProjectionOp[];
}

/** Decide, from the locked last_seq of every agent, which events of the flush are new (same rules as the SQLite store). */
export function planIngest(batches: readonly IngestBatch[], locked: ReadonlyMap<string, number>): Plan {
  const stored = new Map<string, number>();
  const rejected = new Map<string, SequenceGapError>();
  const current = new Map(locked);
  const events: Plan['events'] = [];
  const ops: ProjectionOp[] = [];
  for (const batch of batches) {
    if (rejected.has(batch.agentId)) continue;
    const before = current.get(batch.agentId);
    if (before === undefined) {
      rejected.set(batch.agentId, new SequenceGapError(batch.agentId, 0, batch.events[0]?.seq ?? 0));
      continue;
    }
    const { fresh, last, hole } = newEventsOf(batch.events, before);
    // An event newEventsOf renumbered (a gap partly stored already) is a new object: it has no text here and is serialised.
    const texts = batch.texts && new Map(batch.events.map((e, i) => [e, batch.texts![i]!]));
    if (hole) {
      // Earlier batches of this agent in the same flush stay stored, as in the SQLite store.
      rejected.set(batch.agentId, new SequenceGapError(batch.agentId, hole.expected, hole.got));
      stored.delete(batch.agentId);
      continue;
    }
    for (const event of fresh) {
      const text = texts?.get(event);
      events.push(text === undefined ? { agentId: batch.agentId, event } : { agentId: batch.agentId, event, text });
      const op = projectionOf(batch.agentId, event);
      if (op) ops.push(op);
    }
    current.set(batch.agentId, last);
    stored.set(batch.agentId, last);
  }
  const lastSeq = new Map<string, number>();
  for (const [id, seq] of current) if (seq !== locked.get(id)) lastSeq.set(id, seq);
  return { outcome: { stored, rejected }, lastSeq, events, ops };
}

const INSERT_EVENTS = `INSERT INTO events (agent_id, seq, kind, at, received_at, payload)
  SELECT agent_id, seq, kind, at, $5, payload FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $6::text[]) AS t(agent_id, seq, kind, at, payload)
  ON CONFLICT (agent_id, seq) DO NOTHING`;

/** The agents' rows of the flush, with its parameters numbered from $n (after the events' six when both go in one statement). */
const updateAgents = (n: number) => `UPDATE agents a SET last_seq = coalesce(t.last_seq, a.last_seq), policy_version = coalesce(t.policy_version, a.policy_version),
    last_seen_at = CASE WHEN a.last_seen_at IS NULL OR a.last_seen_at < $${n + 3} THEN $${n + 4} ELSE a.last_seen_at END
  FROM unnest($${n}::text[], $${n + 1}::bigint[], $${n + 2}::integer[]) AS t(id, last_seq, policy_version)
  WHERE a.id = t.id AND (t.last_seq IS NOT NULL OR t.policy_version IS NOT NULL OR a.last_seen_at IS NULL OR a.last_seen_at < $${n + 3})`;

/** Run the flush inside an open transaction on `client`. */
export async function ingestOn(client: pg.PoolClient, batches: readonly IngestBatch[], receivedAt: string): Promise<IngestOutcome> {
  const ids = [...new Set(batches.map((b) => b.agentId))].sort();
  const { rows } = await client.query<{ id: string; last_seq: number }>({ name: 'mamori_ingest_lock', text: 'SELECT id, last_seq FROM agents WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', values: [ids] });
  const plan = planIngest(batches, new Map(rows.map((r) => [r.id, Number(r.last_seq)])));
  const policy = new Map<string, number>();
  for (const op of plan.ops) if (op.op === 'policy.applied') policy.set(op.agentId, op.event.version);
  // Every agent of the flush (not only those whose sequence moved) is written when its last-seen
  // time is older than LAST_SEEN_REFRESH_MS: heartbeat batches skip rows an ingest holds, so an
  // agent that sends all the time is still seen. Within that time the row keeps its last_seen_at
  // and the update stays HOT (last_seen_at is indexed).
  const touched = [...new Set([...plan.outcome.stored.keys(), ...policy.keys()])];
  const events = plan.events;
  const eventParams = () => [events.map((e) => e.agentId), events.map((e) => e.event.seq), events.map((e) => e.event.kind), events.map((e) => e.event.at), receivedAt, events.map((e) => e.text ?? JSON.stringify(e.event))];
  const agentParams = () => [touched, touched.map((id) => plan.lastSeq.get(id) ?? null), touched.map((id) => policy.get(id) ?? null), refreshBefore(receivedAt), receivedAt];
  // The events and their agents' rows in one statement, one round trip less per flush (a
  // data-modifying WITH runs to completion whether or not the outer statement reads it).
  if (events.length > 0 && touched.length > 0) await client.query({ name: 'mamori_ingest_events_agents', text: `WITH stored_events AS (${INSERT_EVENTS}) ${updateAgents(7)}`, values: [...eventParams(), ...agentParams()] });
  else if (events.length > 0) await client.query({ name: 'mamori_ingest_events', text: INSERT_EVENTS, values: eventParams() });
  else if (touched.length > 0) await client.query({ name: 'mamori_ingest_agents', text: updateAgents(1), values: agentParams() });
  await applyProjections(client, plan.ops, receivedAt);
  return plan.outcome;
}

/**
 * Apply projections in a few array statements. Violations may be opened and closed several
 * times in one flush, so their operations go in layers with at most one operation per
 * violation each, applied in order; rule results, latest facts and scan results are plain
 * overwrites, so the last one of each key wins.
 */
async function applyProjections(client: pg.PoolClient, ops: readonly ProjectionOp[], receivedAt: string): Promise<void> {
  const layers: (Op<'violation.open'> | Op<'violation.close'>)[][] = [];
  const depth = new Map<string, number>();
  const results = new Map<string, { agentId: string; ruleId: string; checkId: string; result: string; reason: string; reasonMsg: string | null; at: string }>();
  const facts = new Map<string, Op<'facts'>>();
  const scans = new Map<string, Op<'scan.done'>>();
  for (const op of ops) {
    switch (op.op) {
      case 'violation.open':
      case 'violation.close': {
        const ruleId = op.op === 'violation.open' ? op.event.violation.ruleId : op.event.ruleId;
        const subject = op.op === 'violation.open' ? op.event.violation.subject : op.event.subject;
        const key = JSON.stringify([op.agentId, pgText(ruleId), pgText(subject)]);
        const d = depth.get(key) ?? 0;
        depth.set(key, d + 1);
        (layers[d] ??= []).push(op);
        break;
      }
      case 'results':
        for (const r of op.event.results) {
          if (r.subject === '') results.set(JSON.stringify([op.agentId, r.ruleId]), { agentId: op.agentId, ruleId: r.ruleId, checkId: op.event.checkId, result: r.result, reason: r.reason, reasonMsg: r.reasonMsg ? JSON.stringify(r.reasonMsg) : null, at: op.event.at });
        }
        break;
      case 'facts':
        facts.set(JSON.stringify([op.agentId, op.event.checkId]), op);
        break;
      case 'scan.done':
        scans.set(JSON.stringify([op.agentId, op.event.requestId]), op);
        break;
      case 'policy.applied':
        break; // written with the agent's last_seq
    }
  }
  for (const layer of layers) {
    const opens = layer.filter((op): op is Op<'violation.open'> => op.op === 'violation.open');
    const closes = layer.filter((op): op is Op<'violation.close'> => op.op === 'violation.close');
    if (opens.length > 0) await openViolations(client, opens, receivedAt);
    if (closes.length > 0) {
      await client.query({
        name: 'mamori_ingest_violations_close',
        text: `UPDATE violations v SET state = 'closed', closed_at = t.at, closed_reason = t.reason, closed_reason_msg = t.reason_msg, updated_at = $6
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $7::text[]) AS t(agent_id, rule_id, subject, at, reason, reason_msg)
         WHERE v.agent_id = t.agent_id AND v.rule_id = t.rule_id AND v.subject = t.subject AND v.state = 'open'`,
        values: [
          closes.map((o) => o.agentId),
          closes.map((o) => pgText(o.event.ruleId)),
          closes.map((o) => pgText(o.event.subject)),
          closes.map((o) => o.event.at),
          closes.map((o) => pgText(o.event.reason)),
          receivedAt,
          closes.map((o) => (o.event.reasonMsg ? pgText(JSON.stringify(o.event.reasonMsg)) : null)),
        ],
      });
    }
  }
  if (results.size > 0) {
    const rs = [...results.values()];
    await client.query({
      name: 'mamori_ingest_rule_results',
      text: `INSERT INTO rule_results (agent_id, rule_id, check_id, result, reason, at, reason_msg)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
       ON CONFLICT (agent_id, rule_id) DO UPDATE SET check_id = excluded.check_id, result = excluded.result, reason = excluded.reason, at = excluded.at, reason_msg = excluded.reason_msg`,
      values: [rs.map((r) => r.agentId), rs.map((r) => pgText(r.ruleId)), rs.map((r) => r.checkId), rs.map((r) => r.result), rs.map((r) => pgText(r.reason)), rs.map((r) => r.at), rs.map((r) => pgTextOrNull(r.reasonMsg))],
    });
  }
  if (facts.size > 0) {
    const fs = [...facts.values()];
    await client.query({
      name: 'mamori_ingest_facts',
      text: `INSERT INTO facts_latest (agent_id, check_id, status, facts_json, at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       ON CONFLICT (agent_id, check_id) DO UPDATE SET status = excluded.status, facts_json = excluded.facts_json, at = excluded.at`,
      values: [fs.map((o) => o.agentId), fs.map((o) => o.event.checkId), fs.map((o) => o.event.status), fs.map((o) => JSON.stringify(o.event.facts)), fs.map((o) => o.event.at)],
    });
  }
  if (scans.size > 0) {
    const ss = [...scans.values()];
    await client.query({
      name: 'mamori_ingest_scans',
      text: `UPDATE scan_requests s SET state = 'done', completed_at = t.at, result_json = t.result
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(id, agent_id, at, result)
       WHERE s.id = t.id AND s.agent_id = t.agent_id`,
      values: [ss.map((o) => pgText(o.event.requestId)), ss.map((o) => o.agentId), ss.map((o) => o.event.at), ss.map((o) => JSON.stringify(o.event.checks))],
    });
  }
}

/**
 * Violations opened, opened again, or reported again while open. A report of an open violation
 * with the content its row holds (an agent reporting again after a restart, a reconnect or a
 * re-check) changes nothing: the event row records it, and updated_at stays the time the
 * violation last changed, as on SQLite (sqlite/violation-batch.ts); no new row version is written.
 */
async function openViolations(client: pg.PoolClient, opens: readonly Op<'violation.open'>[], receivedAt: string): Promise<void> {
  const v = opens.map((o) => o.event.violation);
  await client.query({
    name: 'mamori_ingest_violations_open',
    text: `INSERT INTO violations (agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name, opened_at, closed_at, closed_reason, closed_reason_msg, updated_at)
     SELECT agent_id, rule_id, subject, check_id, 'open', result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name, opened_at, NULL, NULL, NULL, $14
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $15::text[])
       AS t(agent_id, rule_id, subject, check_id, result, severity, title_json, message_json, reason, clauses_json, facts_json, user_name, opened_at, reason_msg)
     ON CONFLICT (agent_id, rule_id, subject) DO UPDATE SET
       state = 'open', result = excluded.result, severity = excluded.severity, title_json = excluded.title_json,
       message_json = excluded.message_json, reason = excluded.reason, reason_msg = excluded.reason_msg, clauses_json = excluded.clauses_json,
       facts_json = excluded.facts_json, user_name = excluded.user_name,
       opened_at = CASE WHEN violations.state = 'open' THEN violations.opened_at ELSE excluded.opened_at END,
       closed_at = NULL, closed_reason = NULL, closed_reason_msg = NULL, updated_at = excluded.updated_at
     WHERE violations.state <> 'open'
       OR (violations.result, violations.severity, violations.title_json, violations.message_json, violations.reason, violations.reason_msg, violations.clauses_json, violations.facts_json, violations.user_name)
         IS DISTINCT FROM (excluded.result, excluded.severity, excluded.title_json, excluded.message_json, excluded.reason, excluded.reason_msg, excluded.clauses_json, excluded.facts_json, excluded.user_name)`,
    values: [
      opens.map((o) => o.agentId),
      v.map((x) => pgText(x.ruleId)),
      v.map((x) => pgText(x.subject)),
      v.map((x) => x.checkId),
      v.map((x) => x.result),
      v.map((x) => x.severity),
      v.map((x) => JSON.stringify(x.title)),
      v.map((x) => JSON.stringify(x.message)),
      v.map((x) => pgText(x.reason)),
      v.map((x) => JSON.stringify(x.clauses)),
      v.map((x) => JSON.stringify(x.facts)),
      v.map((x) => pgTextOrNull(x.user)),
      opens.map((o) => o.event.at),
      receivedAt,
      v.map((x) => (x.reasonMsg ? pgText(JSON.stringify(x.reasonMsg)) : null)),
    ],
  });
}
