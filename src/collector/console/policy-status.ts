/**
 * 端末への適用状況 in the database: which PCs run the policy version the collector gives them,
 * one page at a time with the number of PCs in each state, filtered like 端末一覧.
 *
 * A PC's expected version is in console_policy_agents (policy-delivery.ts; the route brings it
 * up to date first). The states:
 * - applied: the PC reports the version it is given;
 * - pending: it does not yet and is connected (the document is on its way or being applied);
 * - outdated: it does not and is offline (it gets the document when it connects again).
 */
import type { SqlRunner } from '../store/sql.js';
import { PC_FROM, whereOf } from './pc-query.js';
import type { PcPageQuery } from './pc-query.js';

export const POLICY_STATES = ['applied', 'pending', 'outdated'] as const;
export type PolicyState = (typeof POLICY_STATES)[number];

const DIFFERS = '(cpa.version IS NULL OR cpa.version <> a.policy_version)';
const STATE_SQL: Record<PolicyState, string> = {
  applied: 'cpa.version = a.policy_version',
  pending: `${DIFFERS} AND a.online = 1`,
  outdated: `${DIFFERS} AND a.online = 0`,
};

const FROM = `${PC_FROM} LEFT JOIN console_policy_agents cpa ON cpa.agent_id = a.id`;

export interface PolicyStatusRow {
  id: string;
  hostname: string;
  online: boolean;
  department: string | null;
  segment: string;
  policyVersion: number;
  expectedVersion: number | null;
  revision: number | null;
  state: PolicyState;
}

export interface PolicyStatusPage {
  total: number;
  offset: number;
  /** PCs per state among those the filters (without the state) match. */
  counts: Record<PolicyState, number>;
  pcs: PolicyStatusRow[];
}

export const MAX_POLICY_STATUS_PAGE = 1000;

export async function queryPolicyStatus(sql: SqlRunner, q: Omit<PcPageQuery, 'sort' | 'dir'> & { state?: string }): Promise<PolicyStatusPage> {
  const { sql: where, args } = whereOf(q);
  const sums = POLICY_STATES.map((s) => `SUM(CASE WHEN ${STATE_SQL[s]} THEN 1 ELSE 0 END) AS ${s}`).join(', ');
  const c = await sql.get<Record<string, number | string | null>>(`SELECT ${sums} ${FROM} ${where}`, args);
  const counts = Object.fromEntries(POLICY_STATES.map((s) => [s, Number(c?.[s] ?? 0)])) as Record<PolicyState, number>;
  const state = (POLICY_STATES as readonly string[]).includes(q.state ?? '') ? (q.state as PolicyState) : undefined;
  const limit = Math.max(1, Math.min(q.limit ?? 50, MAX_POLICY_STATUS_PAGE));
  const offset = Math.max(0, q.offset ?? 0);
  const rows = await sql.all<Record<string, unknown>>(
    `SELECT a.id, a.hostname, a.online, a.department, a.segment, a.policy_version, cpa.version AS expected_version, cpa.revision AS revision ${FROM} ${where}${state ? ` AND ${STATE_SQL[state]}` : ''} ORDER BY LOWER(a.hostname), a.id LIMIT ? OFFSET ?`,
    [...args, limit, offset],
  );
  const stateOf = (r: Record<string, unknown>): PolicyState => (r.expected_version !== null && Number(r.expected_version) === Number(r.policy_version) ? 'applied' : Number(r.online) ? 'pending' : 'outdated');
  return {
    total: state ? counts[state] : counts.applied + counts.pending + counts.outdated,
    offset,
    counts,
    pcs: rows.map((r) => ({
      id: String(r.id),
      hostname: String(r.hostname),
      online: !!Number(r.online),
      department: (r.department as string | null) ?? null,
      segment: String(r.segment),
      policyVersion: Number(r.policy_version),
      expectedVersion: r.expected_version === null ? null : Number(r.expected_version),
      revision: r.revision === null ? null : Number(r.revision),
      state: stateOf(r),
    })),
  };
}
