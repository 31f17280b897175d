/**
 * The PCs and their violations as the console shows them: agents joined with their 課 and
 * group (assigned in the console), compliance per area from the latest rule results, and
 * violations with the 例外措置 that cover them (shown as 例外, never hidden).
 */
import { msg } from '../../shared/i18n/index.js';
import type { Rule, Source } from '../../shared/catalogue/schema.js';
import type { Segment } from '../../shared/protocol/messages.js';
import type { AgentRecord, Store, ViolationRecord } from '../store/store.js';
import { agentFromRow } from '../store/rows.js';
import type { ViolationPageQuery } from '../store/violation-query.js';
import type { Principal } from './authz.js';
import { requireScope } from './authz.js';
import { reasonText, type Localized } from '../../shared/i18n/index.js';
import { badRequest, notFound } from './errors.js';
import type { ExceptionRecord } from './exceptions.js';
import { MAX_PC_PAGE, queryPcIds, queryPcPage } from './pc-query.js';
import type { PcInventorySummary, PcPageQuery, PcRow } from './pc-query.js';
import { covers } from './exceptions.js';
import type { Clock } from './util.js';
import type { SiteStandard } from './site-standard.js';
import { newId, parseJson, systemClock } from './util.js';

export interface Assignment {
  department: string | null;
  group: string | null;
}

export interface ClauseView {
  source: string;
  ref: string;
  title: string;
}

/** A stored violation as the console shows it: clause titles, the PC's department and group, 例外措置 and acknowledgement. */
export interface ViolationView extends Omit<ViolationRecord, 'clauses' | 'updatedAt' | 'reasonMsg' | 'closedReasonMsg'> {
  key: string;
  /** The reason (and the reason it was closed) in both languages: from the stored message, else the stored text twice. */
  reasonText: Localized;
  closedReasonText: Localized | null;
  department: string | null;
  group: string | null;
  segment: Segment | null;
  clauses: ClauseView[];
  /** An active 例外措置 covers it. */
  exceptionId: string | null;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
  /** Comments people wrote on it, oldest first. */
  comments: ViolationComment[];
}

export interface ViolationComment {
  author: string;
  at: string;
  text: string;
}

/** What people noted on a violation: its 確認 (the latest) and its comments. */
interface ViolationNotes {
  ack?: { by: string; at: string };
  comments: ViolationComment[];
}

/** What the console asks for: the store's filters (department '' = PCs with no 課), 'all' states. */
export interface ViolationQuery extends Omit<ViolationPageQuery, 'state' | 'departments'> {
  state?: 'open' | 'closed' | 'all';
}

export interface ViolationViewPage {
  total: number;
  offset: number;
  limit: number;
  violations: ViolationView[];
}

export type AreaStatus = 'pass' | 'fail' | 'unknown' | 'excepted' | 'none';

export interface PcView {
  id: string;
  hostname: string;
  online: boolean;
  lastSeenAt: string | null;
  segment: Segment;
  department: string | null;
  group: string | null;
  os: AgentRecord['os'];
  agentVersion: string;
  policyVersion: number;
  enrolledAt: string;
  revoked: boolean;
  /** Per check id. */
  compliance: Record<string, AreaStatus>;
  openViolations: number;
  /** The latest 資産管理台帳 summary (model, OS build, memory, IPv4); null before the first inventory. */
  inventory: PcInventorySummary | null;
}

export interface PcViewPage {
  total: number;
  offset: number;
  limit: number;
  pcs: PcView[];
}

export interface PcHistoryEntry {
  seq: number;
  kind: string;
  at: string;
  ruleId: string | null;
  subject: string | null;
  title: { ja: string; en: string } | null;
  severity: string | null;
  /** Why a violation closed; the notice of the agent (started, stopping …). */
  reason: string | null;
  policyVersion: number | null;
}

type Finding = Pick<ViolationRecord, 'agentId' | 'ruleId' | 'subject'>;

export const violationKey = (agentId: string, ruleId: string, subject: string): string => `${agentId}|${ruleId}|${subject}`;

export class Fleet {
  private assignments = new Map<string, Assignment>();
  private readonly sourceTitles: Map<string, string>;
  private standard: SiteStandard | undefined;

  constructor(
    private readonly store: Store,
    readonly rules: readonly Rule[],
    sources: readonly Source[],
    private readonly activeExceptions: () => Promise<ExceptionRecord[]>,
    private readonly clock: Clock = systemClock,
  ) {
    this.sourceTitles = new Map(sources.map((s) => [s.id, s.title]));
  }

  async loadAssignments(): Promise<void> {
    // The 課 is on the agent record (the store filters by it; it may come with the enrollment token); the group is the console's.
    const rows = await this.store.sql.all<Record<string, unknown>>('SELECT a.id AS agent_id, a.department, p.group_name FROM agents a LEFT JOIN console_pc_assignments p ON p.agent_id = a.id WHERE a.department IS NOT NULL OR p.group_name IS NOT NULL');
    this.assignments = new Map(rows.map((r) => [String(r.agent_id), { department: (r.department as string | null) ?? null, group: (r.group_name as string | null) ?? null }]));
  }

  /** One PC's 課 and group read again (a PC that just enrolled with a token carrying its 課). */
  async refreshAssignment(agentId: string): Promise<void> {
    const r = await this.store.sql.get<Record<string, unknown>>('SELECT a.department, p.group_name FROM agents a LEFT JOIN console_pc_assignments p ON p.agent_id = a.id WHERE a.id = ?', [agentId]);
    if (r && (r.department || r.group_name)) this.assignments.set(agentId, { department: (r.department as string | null) ?? null, group: (r.group_name as string | null) ?? null });
  }

  assignmentOf(agentId: string): Assignment {
    return this.assignments.get(agentId) ?? { department: null, group: null };
  }

  departments(): string[] {
    return [...new Set([...this.assignments.values()].map((a) => a.department).filter((d): d is string => !!d))].sort();
  }

  groups(): string[] {
    return [...new Set([...this.assignments.values()].map((a) => a.group).filter((g): g is string => !!g))].sort();
  }

  async assign(agentId: string, a: Assignment, by: string): Promise<Assignment> {
    if (!(await this.store.getAgent(agentId))) throw notFound(msg('error.pc.notFound', { id: agentId }));
    const clean = (v: string | null): string | null => (v && v.trim() ? v.trim().slice(0, 64) : null);
    const next = { department: clean(a.department), group: clean(a.group) };
    // A 課-scoped administrator moves PCs only within its own 課.
    requireScope(this.assignmentOf(agentId).department, { ja: `端末 ${agentId}`, en: `PC ${agentId}` });
    requireScope(next.department, { ja: `端末 ${agentId}`, en: `PC ${agentId}` });
    await this.store.setDepartments([agentId], next.department);
    await this.store.sql.run(
      'INSERT INTO console_pc_assignments (agent_id, department, group_name, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET department = excluded.department, group_name = excluded.group_name, updated_at = excluded.updated_at, updated_by = excluded.updated_by',
      [agentId, next.department, next.group, this.clock.now().toISOString(), by],
    );
    this.assignments.set(agentId, next);
    return next;
  }

  /**
   * Set the 課 (and/or the group) of many PCs at once: the PCs given by id, or every PC matching
   * 端末一覧's filters, within the acting account's 課. One statement per 500 PCs; returns how
   * many PCs were targeted, how many changed, and the PCs whose group changed (their policy may
   * differ now; a 課 alone does not change a PC's policy).
   */
  async assignMany(principal: Principal, target: { agentIds?: readonly string[]; filters?: Record<string, string | undefined> }, change: Partial<Assignment>, by: string): Promise<{ assigned: number; changed: number; groupChanged: string[] }> {
    const clean = (v: string | null | undefined): string | null => (v && v.trim() ? v.trim().slice(0, 64) : null);
    const scope = principal.departments.length ? { departments: principal.departments } : {};
    const ids: string[] = [];
    if (!target.agentIds) ids.push(...(await queryPcIds(this.store.sql, { filters: target.filters ?? {}, ...scope })));
    else for (let i = 0; i < target.agentIds.length; i += 1000) ids.push(...(await queryPcIds(this.store.sql, { filters: target.filters ?? {}, ...scope, agentIds: target.agentIds.slice(i, i + 1000) })));
    if (target.agentIds && ids.length !== new Set(target.agentIds).size) {
      const known = new Set(ids);
      const missing = target.agentIds.filter((id) => !known.has(id));
      throw notFound(msg('error.pcs.missing', { list: missing.length > 10 ? msg('error.pcs.more', { list: missing.slice(0, 10).join(', '), n: missing.length - 10 }) : missing.join(', ') }));
    }
    let changed = 0;
    const groupChanged: string[] = [];
    if ('department' in change) {
      const department = clean(change.department);
      requireScope(department, { ja: '所属 (課) の設定', en: 'setting the department' });
      changed = await this.store.setDepartments(ids, department);
    }
    if ('group' in change) {
      const group = clean(change.group);
      const now = this.clock.now().toISOString();
      await this.store.sql.transaction(async (tx) => {
        for (let i = 0; i < ids.length; i += 500) {
          const chunk = ids.slice(i, i + 500);
          const before = await tx.all<{ agent_id: string; group_name: string | null }>(`SELECT agent_id, group_name FROM console_pc_assignments WHERE agent_id IN (${chunk.map(() => '?').join(', ')})`, chunk);
          const had = new Map(before.map((r) => [String(r.agent_id), r.group_name ?? null]));
          const moved = chunk.filter((id) => (had.get(id) ?? null) !== group);
          if (!moved.length) continue;
          groupChanged.push(...moved);
          await tx.run(
            `INSERT INTO console_pc_assignments (agent_id, department, group_name, updated_at, updated_by) VALUES ${moved.map(() => '(?, NULL, ?, ?, ?)').join(', ')} ON CONFLICT (agent_id) DO UPDATE SET group_name = excluded.group_name, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
            moved.flatMap((id) => [id, group, now, by]),
          );
        }
      });
      changed = Math.max(changed, groupChanged.length);
    }
    await this.loadAssignments();
    return { assigned: ids.length, changed, groupChanged };
  }

  /** PC name → agent id of every enrolled PC the account sees (CSV import); a name used by two PCs maps to both. */
  async idsByHostname(principal: Principal): Promise<Map<string, string[]>> {
    const scope = principal.departments.length ? { departments: principal.departments } : {};
    const rows = await this.store.sql.all<{ id: string; hostname: string }>(`SELECT a.id AS id, a.hostname AS hostname FROM agents a WHERE a.revoked_at IS NULL${scope.departments ? ` AND a.department IN (${scope.departments.map(() => '?').join(', ')})` : ''}`, scope.departments ?? []);
    const out = new Map<string, string[]>();
    for (const r of rows) {
      const key = String(r.hostname).toUpperCase();
      const list = out.get(key) ?? [];
      list.push(String(r.id));
      out.set(key, list);
    }
    return out;
  }

  /** Cite the clauses of the site's own standard only (set once the console's services are built). */
  useStandard(standard: SiteStandard): void {
    this.standard = standard;
  }

  /** The clauses a rule cites, as the site's standard numbers them (see site-standard.ts). */
  clauseViews(clauses: readonly { source: string; ref: string }[], ruleId?: string): ClauseView[] {
    if (this.standard) return this.standard.clausesOf(ruleId, clauses);
    return clauses.map((c) => ({ source: c.source, ref: c.ref, title: this.sourceTitles.get(c.source) ?? c.source }));
  }

  /** The row of one violation as every screen and the stream show it. */
  viewOf(v: ViolationRecord, agent: Pick<AgentRecord, 'segment'> | undefined, exceptions: readonly ExceptionRecord[], notes?: ViolationNotes): ViolationView {
    const a = this.assignmentOf(v.agentId);
    const exc = exceptions.find((e) => covers(e, v));
    return {
      key: violationKey(v.agentId, v.ruleId, v.subject),
      agentId: v.agentId,
      hostname: v.hostname,
      department: a.department,
      group: a.group,
      segment: agent?.segment ?? null,
      ruleId: v.ruleId,
      checkId: v.checkId,
      subject: v.subject,
      state: v.state,
      result: v.result,
      severity: v.severity,
      title: v.title,
      message: v.message,
      reason: v.reason,
      reasonText: reasonText(v.reason, v.reasonMsg),
      clauses: this.clauseViews(v.clauses, v.ruleId),
      facts: v.facts,
      user: v.user,
      openedAt: v.openedAt,
      closedAt: v.closedAt,
      closedReason: v.closedReason,
      closedReasonText: v.closedReason === null ? null : reasonText(v.closedReason, v.closedReasonMsg),
      exceptionId: exc?.id ?? null,
      acknowledgedBy: notes?.ack?.by ?? null,
      acknowledgedAt: notes?.ack?.at ?? null,
      comments: notes?.comments ?? [],
    };
  }

  /** One page of violations, filtered, sorted and counted by the store (nothing is filtered after the page is cut). */
  async violationPage(principal: Principal, q: ViolationQuery = {}): Promise<ViolationViewPage> {
    const state = q.state === 'all' ? undefined : (q.state ?? 'open');
    // API clients that ask for no page size get up to 1,000 rows (and the total); the screens ask for their page.
    const limit = Math.max(1, Math.min(q.limit ?? 1000, 5000));
    const { state: _all, ...rest } = q;
    const page = await this.store.queryViolations({ ...rest, ...(state ? { state } : {}), ...(principal.departments.length ? { departments: principal.departments } : {}), limit });
    const segments = await this.segmentsOf(page.rows);
    const exceptions = await this.activeExceptions();
    const notes = await this.notesOf(page.rows);
    return { total: page.total, offset: page.offset, limit, violations: page.rows.map((v) => this.viewOf(v, segments.get(v.agentId), exceptions, notes.get(violationKey(v.agentId, v.ruleId, v.subject)))) };
  }

  /** Every violation matching q, up to q.limit (default 5000), in the store's order. */
  async violations(principal: Principal, q: ViolationQuery = {}): Promise<ViolationView[]> {
    return (await this.violationPage(principal, { limit: 5000, ...q })).violations;
  }

  async findViolation(principal: Principal, agentId: string, ruleId: string, subject: string): Promise<ViolationView> {
    const found = (await this.violations(principal, { state: 'all', agentId, ruleId, limit: 5000 })).find((v) => v.subject === subject);
    if (!found) throw notFound(msg('error.violation.gone'));
    return found;
  }

  /** The segments of the PCs of one page (not of the whole fleet). */
  private async segmentsOf(rows: readonly ViolationRecord[]): Promise<Map<string, { segment: Segment }>> {
    const out = new Map<string, { segment: Segment }>();
    const agentIds = [...new Set(rows.map((r) => r.agentId))];
    for (let i = 0; i < agentIds.length; i += 500) {
      const chunk = agentIds.slice(i, i + 500);
      for (const r of await this.store.sql.all<{ id: string; segment: Segment }>(`SELECT id, segment FROM agents WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk)) out.set(String(r.id), { segment: r.segment });
    }
    return out;
  }

  /** 確認 and comments of the given violations (one query per page, not per row). */
  private async notesOf(rows: readonly ViolationRecord[]): Promise<Map<string, ViolationNotes>> {
    const out = new Map<string, ViolationNotes>();
    const wanted = new Set(rows.map((r) => violationKey(r.agentId, r.ruleId, r.subject)));
    const agentIds = [...new Set(rows.map((r) => r.agentId))];
    for (let i = 0; i < agentIds.length; i += 500) {
      const chunk = agentIds.slice(i, i + 500);
      const found = await this.store.sql.all<Record<string, unknown>>(`SELECT agent_id, rule_id, subject, kind, author, at, text FROM console_violation_notes WHERE agent_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY at`, chunk);
      for (const r of found) {
        const key = violationKey(String(r.agent_id), String(r.rule_id), String(r.subject));
        if (!wanted.has(key)) continue;
        const n = out.get(key) ?? { comments: [] };
        if (r.kind === 'ack') n.ack = { by: String(r.author), at: String(r.at) };
        else if (r.kind === 'comment') n.comments.push({ author: String(r.author), at: String(r.at), text: String(r.text) });
        out.set(key, n);
      }
    }
    return out;
  }

  async addNote(principal: Principal, key: { agentId: string; ruleId: string; subject: string }, kind: 'ack' | 'comment', text: string): Promise<{ id: string; at: string }> {
    await this.findViolation(principal, key.agentId, key.ruleId, key.subject);
    if (kind === 'comment' && !text.trim()) throw badRequest(msg('error.comment.empty'));
    const id = newId('note');
    const at = this.clock.now().toISOString();
    await this.store.sql.run('INSERT INTO console_violation_notes (id, agent_id, rule_id, subject, kind, author, at, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [id, key.agentId, key.ruleId, key.subject, kind, principal.username, at, text.trim().slice(0, 4000)]);
    return { id, at };
  }

  async notes(agentId: string, ruleId: string, subject: string): Promise<{ id: string; kind: string; author: string; at: string; text: string }[]> {
    const rows = await this.store.sql.all<Record<string, unknown>>('SELECT * FROM console_violation_notes WHERE agent_id = ? AND rule_id = ? AND subject = ? ORDER BY at', [agentId, ruleId, subject]);
    return rows.map((r) => ({ id: String(r.id), kind: String(r.kind), author: String(r.author), at: String(r.at), text: String(r.text) }));
  }

  /** Latest rule results of every PC, or of one (from the agents' `results` events). */
  /** `reason` is the Japanese text; `reasonText` the reason in both languages (the same text twice for results of agents that send no message). */
  async ruleResults(agentId?: string): Promise<{ agentId: string; ruleId: string; checkId: string; result: string; reason: string; reasonText: Localized; at: string }[]> {
    const rows = await this.store.sql.all<Record<string, unknown>>(`SELECT agent_id, rule_id, check_id, result, reason, reason_msg, at FROM rule_results${agentId ? ' WHERE agent_id = ? ORDER BY rule_id' : ''}`, agentId ? [agentId] : []);
    return rows.map((r) => ({ agentId: String(r.agent_id), ruleId: String(r.rule_id), checkId: String(r.check_id), result: String(r.result), reason: String(r.reason), reasonText: reasonText(String(r.reason), r.reason_msg), at: String(r.at) }));
  }

  /**
   * Is a failing rule on a PC excepted? Yes when an exception covers the PC-level finding,
   * or when every open violation of that rule on the PC is covered by one.
   */
  static isExcepted(agentId: string, ruleId: string, exceptions: readonly ExceptionRecord[], openViolations: readonly Finding[]): boolean {
    if (exceptions.some((e) => covers(e, { agentId, ruleId, subject: '' }))) return true;
    const open = openViolations.filter((v) => v.agentId === agentId && v.ruleId === ruleId);
    return open.length > 0 && open.every((v) => exceptions.some((e) => covers(e, v)));
  }

  /** One page of 端末一覧, filtered, sorted and counted in the database (pc-query.ts). */
  async pcPage(principal: Principal, q: Omit<PcPageQuery, 'departments'> = {}): Promise<PcViewPage> {
    const limit = Math.max(1, Math.min(q.limit ?? 1000, MAX_PC_PAGE));
    const page = await queryPcPage(this.store.sql, { ...q, ...(principal.departments.length ? { departments: principal.departments } : {}), limit });
    return { total: page.total, offset: page.offset, limit, pcs: await this.views(page.rows) };
  }

  /** Every PC matching the filters (in pages of the database, for exports and scans). */
  async pcs(principal: Principal, filters: Record<string, string | undefined> = {}, agentIds?: readonly string[], sort?: string, dir?: 'asc' | 'desc'): Promise<PcView[]> {
    const out: PcView[] = [];
    for (let offset = 0; ; offset += MAX_PC_PAGE) {
      const page = await this.pcPage(principal, { filters, ...(agentIds ? { agentIds } : {}), ...(sort ? { sort } : {}), ...(dir ? { dir } : {}), offset, limit: MAX_PC_PAGE });
      out.push(...page.pcs);
      if (page.pcs.length < MAX_PC_PAGE) return out;
    }
  }

  async pc(principal: Principal, agentId: string): Promise<PcView> {
    const [found] = await this.pcs(principal, {}, [agentId]);
    if (!found) throw notFound(msg('error.pc.notFound', { id: agentId }));
    return found;
  }

  /** The rows of one page as the console shows them: compliance per check from the PCs' latest rule results. */
  private async views(rows: readonly PcRow[]): Promise<PcView[]> {
    const ids = rows.map((r) => r.id);
    const results = new Map<string, { ruleId: string; checkId: string; result: string }[]>();
    const open: Finding[] = [];
    const exceptions = await this.activeExceptions();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const marks = chunk.map(() => '?').join(', ');
      for (const r of await this.store.sql.all<Record<string, unknown>>(`SELECT agent_id, rule_id, check_id, result FROM rule_results WHERE agent_id IN (${marks})`, chunk)) {
        const list = results.get(String(r.agent_id)) ?? [];
        list.push({ ruleId: String(r.rule_id), checkId: String(r.check_id), result: String(r.result) });
        results.set(String(r.agent_id), list);
      }
      // Only needed to tell a failing rule that 例外措置 now cover from one still failing.
      if (exceptions.length) for (const v of await this.store.sql.all<Record<string, unknown>>(`SELECT agent_id, rule_id, subject FROM violations WHERE state = 'open' AND agent_id IN (${marks})`, chunk)) open.push({ agentId: String(v.agent_id), ruleId: String(v.rule_id), subject: String(v.subject) });
    }
    return rows.map((pr): PcView => {
      const a = agentFromRow(pr.row);
      const compliance: Record<string, AreaStatus> = {};
      for (const r of results.get(a.id) ?? []) {
        const result: AreaStatus = r.result === 'fail' && Fleet.isExcepted(a.id, r.ruleId, exceptions, open) ? 'excepted' : r.result === 'fail' || r.result === 'unknown' || r.result === 'pass' || r.result === 'excepted' ? (r.result as AreaStatus) : 'none';
        compliance[r.checkId] = worse(compliance[r.checkId] ?? 'none', result);
      }
      return {
        id: a.id,
        hostname: a.hostname,
        online: a.online,
        lastSeenAt: a.lastSeenAt,
        segment: a.segment,
        department: a.department,
        group: pr.group,
        os: a.os,
        agentVersion: a.agentVersion,
        policyVersion: a.policyVersion,
        enrolledAt: a.enrolledAt,
        revoked: !!a.revokedAt,
        compliance,
        openViolations: pr.openViolations,
        inventory: pr.inventory,
      };
    });
  }

  /**
   * What happened on a PC, newest first: violations opened and closed, policies applied, scans,
   * the agent's own notices (from its stored events; facts and results are its inventory, not its history).
   */
  async history(agentId: string, limit = 200): Promise<PcHistoryEntry[]> {
    const rows = await this.store.sql.all<{ seq: number; kind: string; at: string; payload: string }>(
      "SELECT seq, kind, at, payload FROM events WHERE agent_id = ? AND kind IN ('violation.opened', 'violation.closed', 'policy.applied', 'scan.result', 'agent.notice') ORDER BY seq DESC LIMIT ?",
      [agentId, limit],
    );
    return rows.map((r) => {
      const e = parseJson<Record<string, unknown>>(r.payload, {});
      const v = (e.violation ?? {}) as Record<string, unknown>;
      return {
        seq: Number(r.seq),
        kind: r.kind,
        at: String(r.at),
        ruleId: (v.ruleId ?? e.ruleId ?? null) as string | null,
        subject: (v.subject ?? e.subject ?? null) as string | null,
        title: (v.title ?? null) as { ja: string; en: string } | null,
        severity: (v.severity ?? null) as string | null,
        reason: (e.reason ?? e.notice ?? null) as string | null,
        policyVersion: r.kind === 'policy.applied' ? Number(e.version) : null,
      };
    });
  }

  /** USB media seen on a PC, from its stored usb-media facts (first and last time each was attached). */
  async usbHistory(agentId: string, limit = 500): Promise<{ fingerprint: string; vendorId: string; productId: string; serial: string | null; product: string | null; firstSeen: string; lastSeen: string }[]> {
    const rows = await this.store.sql.all<{ payload: string; at: string }>("SELECT payload, at FROM events WHERE agent_id = ? AND kind = 'facts' ORDER BY seq DESC LIMIT ?", [agentId, limit]);
    const seen = new Map<string, { fingerprint: string; vendorId: string; productId: string; serial: string | null; product: string | null; firstSeen: string; lastSeen: string }>();
    for (const r of rows) {
      const e = parseJson<{ checkId?: string; facts?: { devices?: unknown } }>(r.payload, {});
      if (e.checkId !== 'usb-media' || !Array.isArray(e.facts?.devices)) continue;
      for (const d of e.facts.devices as Record<string, unknown>[]) {
        const fp = String(d.fingerprint ?? '');
        if (!fp) continue;
        const at = String(r.at);
        const cur = seen.get(fp);
        if (cur) {
          if (at < cur.firstSeen) cur.firstSeen = at;
          if (at > cur.lastSeen) cur.lastSeen = at;
        } else seen.set(fp, { fingerprint: fp, vendorId: String(d.vendorId ?? ''), productId: String(d.productId ?? ''), serial: (d.serial as string | null) ?? null, product: (d.product as string | null) ?? null, firstSeen: at, lastSeen: at });
      }
    }
    return [...seen.values()].sort((a, b) => b.lastSeen.localeCompare(a.lastSeen));
  }
}

const ORDER: AreaStatus[] = ['fail', 'unknown', 'excepted', 'pass', 'none'];
function worse(a: AreaStatus, b: AreaStatus): AreaStatus {
  return ORDER.indexOf(a) <= ORDER.indexOf(b) ? a : b;
}
