/**
 * FWD-001: a forwarder that stays behind is a violation of its own. Violations that do not
 * reach the SIEM are logs the organisation is not collecting, which R-LOG-5 asks to detect
 * and handle (「ログが取得できなくなった場合の対処等について定め」 003 第8章3(2)ウ, 004 §8.1(6)イ).
 *
 * It belongs to the collector, not to a PC: agent id "" and host "mamori-collector", the
 * forwarder's id as subject. It opens when the oldest undelivered event has waited longer than
 * the limit and closes when the forwarder has caught up (or was removed). Several collector
 * nodes may look at the same moment: the conditional writes below let exactly one of them open
 * (or close) it and log the event the forwarders then deliver.
 */
import type { AgentEvent, ClauseRef, Severity } from '../../shared/protocol/messages.js';
import type { CollectorBus } from '../bus.js';
import type { Store } from '../store/store.js';

export const COLLECTOR_AGENT_ID = '';
export const COLLECTOR_HOSTNAME = 'mamori-collector';

export const FORWARDER_BEHIND = {
  id: 'FWD-001',
  severity: 'high' as Severity,
  title: { ja: 'SIEM への転送が滞っている', en: 'Forwarding to the SIEM is behind' },
  message: {
    ja: '転送先に届いていない違反が上限時間を超えて残っています。転送先 (受信側) の稼働と転送設定画面の最後のエラーを確認してください。',
    en: 'Violations have waited longer than the limit without reaching a forwarder’s receiver. Check the receiver and the last error on the forwarding screen.',
  },
  clauses: [
    { source: '003', ref: '第8章3(2)ウ' },
    { source: '004', ref: '§8.1(6)イ' },
  ] as ClauseRef[],
};

export async function openBehind(deps: { store: Store; bus: CollectorBus }, forwarderId: string, facts: Record<string, unknown>, reason: string): Promise<boolean> {
  const r = FORWARDER_BEHIND;
  const now = new Date().toISOString();
  const changed = await deps.store.sql.run(
    `INSERT INTO violations (agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, clauses_json, facts_json, user_name, opened_at, closed_at, closed_reason, updated_at)
     VALUES (?, ?, ?, 'beyond', 'open', 'fail', ?, ?, ?, ?, ?, ?, NULL, ?, NULL, NULL, ?)
     ON CONFLICT (agent_id, rule_id, subject) DO UPDATE SET
       state = 'open', reason = excluded.reason, facts_json = excluded.facts_json, opened_at = excluded.opened_at,
       closed_at = NULL, closed_reason = NULL, updated_at = excluded.updated_at
     WHERE violations.state = 'closed'`,
    [COLLECTOR_AGENT_ID, r.id, forwarderId, r.severity, JSON.stringify(r.title), JSON.stringify(r.message), reason, JSON.stringify(r.clauses), JSON.stringify(facts), now, now],
  );
  if (changed === 0) return false;
  const event: AgentEvent = { seq: 0, at: now, kind: 'violation.opened', policyVersion: 0, violation: { checkId: 'beyond', ruleId: r.id, subject: forwarderId, result: 'fail', severity: r.severity, title: r.title, message: r.message, reason, clauses: r.clauses, facts } };
  await publish(deps, event, now);
  return true;
}

export async function closeBehind(deps: { store: Store; bus: CollectorBus }, forwarderId: string, reason: string): Promise<boolean> {
  const now = new Date().toISOString();
  const changed = await deps.store.sql.run("UPDATE violations SET state = 'closed', closed_at = ?, closed_reason = ?, updated_at = ? WHERE agent_id = ? AND rule_id = ? AND subject = ? AND state = 'open'", [
    now,
    reason,
    now,
    COLLECTOR_AGENT_ID,
    FORWARDER_BEHIND.id,
    forwarderId,
  ]);
  if (changed === 0) return false;
  await publish(deps, { seq: 0, at: now, kind: 'violation.closed', checkId: 'beyond', ruleId: FORWARDER_BEHIND.id, subject: forwarderId, reason }, now);
  return true;
}

async function publish(deps: { store: Store; bus: CollectorBus }, event: AgentEvent, now: string): Promise<void> {
  await deps.store.appendCollectorEvent({ agentId: COLLECTOR_AGENT_ID, hostname: COLLECTOR_HOSTNAME, event, receivedAt: now });
  deps.bus.emit('event', { agentId: COLLECTOR_AGENT_ID, hostname: COLLECTOR_HOSTNAME, event, receivedAt: now });
}
