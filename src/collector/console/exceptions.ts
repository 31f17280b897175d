/**
 * 例外措置 (C-EXC): a request with a reason and an end date, decided by a different person
 * (「承認又は許可の申請を行う者とその承認者又は許可者は、同じ者が兼務してはならない」,
 * 003 第2章1(11)ア; 004 §3(8)ア). No standard sets a maximum duration; the end date is a product
 * choice that makes 004 §9.4(3)'s periodic review concrete. Approved exceptions expire on their
 * own. A finding covered by an active exception is shown as 例外 (excepted), never hidden.
 *
 * 課 scope: an exception for one PC belongs to that PC's 課; one for every PC belongs to the
 * whole organisation. A scoped account sees those of its 課 and the organisation-wide ones (they
 * apply to its PCs too), and requests, decides or revokes only those of its 課.
 */
import { msg, type Localized } from '../../shared/i18n/index.js';
import type { SqlRunner, SqlValue } from '../store/sql.js';
import { likePattern } from '../store/violation-query.js';
import { requireScope, scopeDepartments } from './authz.js';
import { badRequest, ConsoleError, conflict, notFound } from './errors.js';
import type { Clock } from './util.js';
/** The states of a 例外措置 as the console names them (ui/ja.json exc.state.*). */
import { newId, systemClock } from './util.js';

export const EXCEPTION_STATES = ['requested', 'approved', 'rejected', 'revoked', 'expired'] as const;
export type ExceptionState = (typeof EXCEPTION_STATES)[number];

export interface ExceptionRecord {
  id: string;
  ruleId: string;
  /** Subject of the finding (a USB fingerprint, a user, a package …) or '*' for any. */
  subject: string;
  /** One PC, or null for every PC. */
  agentId: string | null;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  until: string;
  state: ExceptionState;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionComment: string | null;
  endedAt: string | null;
}

/** The longest an exception may run before it must be requested again (product choice, see above). */
export const MAX_EXCEPTION_DAYS = 366;

export class SelfApprovalError extends ConsoleError {
  constructor() {
    super('SELF_APPROVAL', 403, msg('error.exception.selfApproval'));
  }
}

type Row = Record<string, unknown>;
const recordOf = (r: Row): ExceptionRecord => ({
  id: String(r.id),
  ruleId: String(r.rule_id),
  subject: String(r.subject),
  agentId: (r.agent_id as string | null) ?? null,
  reason: String(r.reason),
  requestedBy: String(r.requested_by),
  requestedAt: String(r.requested_at),
  until: String(r.until_at),
  state: r.state as ExceptionState,
  decidedBy: (r.decided_by as string | null) ?? null,
  decidedAt: (r.decided_at as string | null) ?? null,
  decisionComment: (r.decision_comment as string | null) ?? null,
  endedAt: (r.ended_at as string | null) ?? null,
});

/** Does an active exception cover this finding? */
export function covers(e: Pick<ExceptionRecord, 'ruleId' | 'subject' | 'agentId'>, finding: { agentId: string; ruleId: string; subject: string }): boolean {
  return e.ruleId === finding.ruleId && (e.subject === '*' || e.subject === finding.subject) && (e.agentId === null || e.agentId === finding.agentId);
}

export class Exceptions {
  constructor(
    private readonly sql: SqlRunner,
    private readonly knownRule: (ruleId: string) => boolean,
    private readonly clock: Clock = systemClock,
    /** The 課 a PC is assigned to (null: none). */
    private readonly departmentOf: (agentId: string) => string | null = () => null,
  ) {}

  async list(state?: ExceptionState): Promise<ExceptionRecord[]> {
    const rows = state
      ? await this.sql.all<Row>('SELECT * FROM console_exceptions WHERE state = ? ORDER BY requested_at DESC', [state])
      : await this.sql.all<Row>('SELECT * FROM console_exceptions ORDER BY requested_at DESC LIMIT 2000');
    const scope = scopeDepartments();
    return rows.map(recordOf).filter((e) => !scope || e.agentId === null || scope.includes(this.departmentOf(e.agentId) ?? ''));
  }

  /**
   * One page of 例外措置, newest request first, with the exact number that match: by state and by
   * text (rule, subject, reason, requester, PC name), within the acting account's 課 (those of its
   * PCs and the organisation-wide ones). Each with its PC's name.
   */
  async page(q: { state?: string; text?: string; offset?: number; limit?: number }): Promise<{ total: number; offset: number; rows: (ExceptionRecord & { hostname: string | null })[] }> {
    const where: string[] = [];
    const args: SqlValue[] = [];
    if (q.state && (EXCEPTION_STATES as readonly string[]).includes(q.state)) (where.push('e.state = ?'), args.push(q.state));
    const text = q.text?.trim().toLowerCase().slice(0, 200);
    if (text) {
      const like = likePattern(text);
      where.push(`(${['e.rule_id', 'e.subject', 'e.reason', 'e.requested_by', "COALESCE(a.hostname, '')"].map((c) => `LOWER(${c}) LIKE ? ESCAPE '\\'`).join(' OR ')})`);
      args.push(like, like, like, like, like);
    }
    const scope = scopeDepartments();
    if (scope) {
      where.push(`(e.agent_id IS NULL${scope.length ? ` OR a.department IN (${scope.map(() => '?').join(', ')})` : ''})`);
      args.push(...scope);
    }
    const from = `FROM console_exceptions e LEFT JOIN agents a ON a.id = e.agent_id${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
    const offset = Math.max(0, q.offset ?? 0);
    const limit = Math.max(1, Math.min(q.limit ?? 50, 2000));
    const count = await this.sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n ${from}`, args);
    const rows = await this.sql.all<Row>(`SELECT e.*, a.hostname AS hostname ${from} ORDER BY e.requested_at DESC, e.id LIMIT ? OFFSET ?`, [...args, limit, offset]);
    return { total: Number(count?.n ?? 0), offset, rows: rows.map((r) => ({ ...recordOf(r), hostname: (r.hostname as string | null) ?? null })) };
  }

  async get(id: string): Promise<ExceptionRecord | undefined> {
    const r = await this.sql.get<Row>('SELECT * FROM console_exceptions WHERE id = ?', [id]);
    return r ? recordOf(r) : undefined;
  }

  /** 403 unless the acting account may change exceptions of this PC (null: every PC, the organisation's). */
  private requireScopeOf(agentId: string | null, what: Localized): void {
    requireScope(agentId === null ? null : this.departmentOf(agentId), what);
  }

  /** Approved and not yet past their end date, as of now. */
  async active(): Promise<ExceptionRecord[]> {
    const now = this.clock.now().toISOString();
    return (await this.sql.all<Row>("SELECT * FROM console_exceptions WHERE state = 'approved' AND until_at > ?", [now])).map(recordOf);
  }

  async request(input: { ruleId: string; subject?: string; agentId?: string | null; reason: string; until: string }, by: string): Promise<ExceptionRecord> {
    if (!this.knownRule(input.ruleId)) throw badRequest(msg('error.exception.unknownRule', { id: input.ruleId }));
    this.requireScopeOf(input.agentId ?? null, { ja: '例外措置の申請', en: 'requesting an exception' });
    const reason = input.reason?.trim() ?? '';
    if (reason.length < 4) throw badRequest(msg('error.exception.reason'));
    const until = Date.parse(input.until);
    const now = this.clock.now().getTime();
    if (Number.isNaN(until)) throw badRequest(msg('error.exception.untilNotDate'));
    if (until <= now) throw badRequest(msg('error.exception.untilPast'));
    if (until - now > MAX_EXCEPTION_DAYS * 86_400_000) throw badRequest(msg('error.exception.tooLong', { days: MAX_EXCEPTION_DAYS }));
    const id = newId('exc');
    await this.sql.run(
      "INSERT INTO console_exceptions (id, rule_id, subject, agent_id, reason, requested_by, requested_at, until_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'requested')",
      [id, input.ruleId, input.subject?.trim() || '*', input.agentId ?? null, reason.slice(0, 2000), by, new Date(now).toISOString(), new Date(until).toISOString()],
    );
    return (await this.get(id))!;
  }

  /** Approve or reject. The decider must not be the requester. */
  async decide(id: string, approve: boolean, by: string, comment: string): Promise<ExceptionRecord> {
    const e = await this.get(id);
    if (!e) throw notFound(msg('error.exception.notFound', { id }));
    this.requireScopeOf(e.agentId, { ja: `例外措置 ${id}`, en: `exception ${id}` });
    if (e.requestedBy === by) throw new SelfApprovalError();
    if (e.state !== 'requested') throw conflict(msg('error.exception.already', { id, state: msg(`exceptionState.${e.state}`) }));
    const now = this.clock.now().toISOString();
    if (approve && e.until <= now) throw conflict(msg('error.exception.lapsed'));
    const changed = await this.sql.run("UPDATE console_exceptions SET state = ?, decided_by = ?, decided_at = ?, decision_comment = ? WHERE id = ? AND state = 'requested'", [
      approve ? 'approved' : 'rejected',
      by,
      now,
      comment.slice(0, 2000),
      id,
    ]);
    if (!changed) throw conflict(msg('error.exception.decided', { id }));
    return (await this.get(id))!;
  }

  async revoke(id: string, by: string, comment: string): Promise<ExceptionRecord> {
    const e = await this.get(id);
    if (!e) throw notFound(msg('error.exception.notFound', { id }));
    this.requireScopeOf(e.agentId, { ja: `例外措置 ${id}`, en: `exception ${id}` });
    if (e.state !== 'approved' && e.state !== 'requested') throw conflict(msg('error.exception.already', { id, state: msg(`exceptionState.${e.state}`) }));
    const now = this.clock.now().toISOString();
    await this.sql.run("UPDATE console_exceptions SET state = 'revoked', ended_at = ?, decision_comment = ? WHERE id = ?", [now, `${e.decisionComment ? `${e.decisionComment} / ` : ''}${by}: ${comment}`.slice(0, 2000), id]);
    return (await this.get(id))!;
  }

  /** Mark approved exceptions past their end date as expired; returns those that just expired. */
  async expireDue(): Promise<ExceptionRecord[]> {
    const now = this.clock.now().toISOString();
    const due = (await this.sql.all<Row>("SELECT * FROM console_exceptions WHERE state IN ('approved', 'requested') AND until_at <= ?", [now])).map(recordOf);
    for (const e of due) await this.sql.run("UPDATE console_exceptions SET state = 'expired', ended_at = ? WHERE id = ? AND state IN ('approved', 'requested')", [now, e.id]);
    return due;
  }
}
