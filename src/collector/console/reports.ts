/**
 * 自己点検 (self-inspection) report (C-AUD: 003 第12章4, 004 §11.2 ask for it 毎年度; 000 §9(2)
 * as needed): per rule and per clause of the site's own standard, how many PCs pass, fail,
 * are excepted or unknown, for the whole organisation or one 課, from the latest rule
 * results; with the organisation, the 年度 and period, the approval block and the daily
 * trend of the period from snapshots. A PC without a result for a rule counts as unknown
 * (no data), never as a pass.
 *
 * Results per rule and kind are the counts the store keeps per 課 (store/rule-result-counts.ts,
 * the PCs not revoked), a few hundred rows instead of 530,000 entries at a city's size; for a
 * clause that several rules cite (a PC counts by its worst rule) only the rows other than pass
 * of those rules are read, so a city's 10,000 PCs × 50 rules never travel to be counted one by
 * one. 例外措置 are applied to the failing (PC, rule) pairs of the rules they name.
 */
import { msg } from '../../shared/i18n/index.js';
import type { Rule } from '../../shared/catalogue/schema.js';
import { jstNumeric, term } from '../../shared/i18n/index.js';
import { foldKeptCounts, readKeptCounts } from '../store/kept-counts.js';
import { RULE_RESULT_COUNTS } from '../store/rule-result-counts.js';
import type { SqlRunner, SqlValue } from '../store/sql.js';
import { toCsv } from './csv.js';
import { badRequest } from './errors.js';
import type { ExceptionRecord } from './exceptions.js';
import { covers } from './exceptions.js';
import { jstDay } from './overview.js';
import type { ClauseView, ReportSettings, SiteStandard, StandardInfo } from './site-standard.js';
import type { Clock } from './util.js';
import { systemClock } from './util.js';

export interface Counts {
  pass: number;
  fail: number;
  unknown: number;
  excepted: number;
  notApplicable: number;
}

export interface RuleRow extends Counts {
  ruleId: string;
  checkId: string;
  name: { ja: string; en: string };
  severity: string;
  /** Clauses of the site's standard only; empty: the rule has no clause there. */
  clauses: ClauseView[];
}

export interface ClauseRow extends Counts {
  source: string;
  ref: string;
  title: string;
  ruleIds: string[];
}

export interface TrendPoint extends Counts {
  day: string;
}

export interface SelfInspectionReport {
  generatedAt: string;
  organisation: string;
  /** null = the whole organisation. */
  department: string | null;
  /** 年度: the year its April falls in (2026 = 令和8年度). */
  fiscalYear: number;
  period: { from: string; to: string };
  era: ReportSettings['era'];
  approvals: { preparedBy: string; checkedBy: string; approvedBy: string };
  standard: StandardInfo;
  pcs: number;
  rules: RuleRow[];
  clauses: ClauseRow[];
  areas: (Counts & { checkId: string })[];
  trend: TrendPoint[];
}

export interface ReportRequest {
  department: string | null;
  fiscalYear?: number;
  /** YYYY-MM-DD (JST days); default: the 年度 from 1 April to today or 31 March. */
  from?: string;
  to?: string;
}

type PcResult = keyof Counts;
const zero = (): Counts => ({ pass: 0, fail: 0, unknown: 0, excepted: 0, notApplicable: 0 });
const RANK: PcResult[] = ['fail', 'unknown', 'excepted', 'pass', 'notApplicable'];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The 年度 (April–March) a JST day falls in. */
export function fiscalYearOf(day: string): number {
  const [y, m] = day.split('-').map(Number) as [number, number];
  return m >= 4 ? y : y - 1;
}

/** What a stored result counts as (a value this version does not know: unknown). */
const classOf = (result: string): PcResult => (result === 'fail' ? 'fail' : result === 'pass' ? 'pass' : result === 'excepted' ? 'excepted' : result === 'not_applicable' ? 'notApplicable' : 'unknown');
/** Every result but pass (RuleResult of the protocol: the store holds no other values). */
const NOT_PASS = ['fail', 'unknown', 'excepted', 'not_applicable'];
const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** The counts of one scope: its PCs, each rule, and each group of rules (a clause: a PC counts by its worst rule). */
interface Tally {
  pcs: number;
  rules: Map<string, Counts>;
  groups: Counts[];
}

/**
 * Each PC's worst result over the rules of each group (a clause several rules cite), from its
 * results other than pass: a PC fails a group when it fails any of its rules, unknown beats
 * pass (RANK), and it is not applicable only when every rule of the group is. PCs never noted
 * pass every rule of the group.
 */
class GroupWorst {
  private readonly groupsOfRule = new Map<string, number[]>();
  private readonly sizes: number[];
  private readonly pcIndex = new Map<string, number>();
  /** Per group and PC index (group * capacity + PC): 1 + the lowest RANK noted (0: none), and how many of the group's rules were noted. */
  private worst: Uint8Array;
  private noted: Uint16Array;
  private capacity: number;

  constructor(
    groups: readonly (readonly string[])[],
    multi: readonly number[],
    pcs: number,
  ) {
    this.sizes = groups.map((g) => new Set(g).size);
    for (const i of multi) for (const r of new Set(groups[i])) this.groupsOfRule.set(r, [...(this.groupsOfRule.get(r) ?? []), i]);
    this.capacity = Math.max(pcs, 16);
    this.worst = new Uint8Array(groups.length * this.capacity);
    this.noted = new Uint16Array(groups.length * this.capacity);
  }

  ruleIds(): Iterable<string> {
    return this.groupsOfRule.keys();
  }

  /** Results other than pass of these PCs for one rule (each (PC, rule) once). */
  note(agentIds: readonly string[], ruleId: string, result: PcResult | ((agentId: string) => PcResult)): void {
    const groups = this.groupsOfRule.get(ruleId) ?? [];
    const fixed = typeof result === 'string' ? RANK.indexOf(result) + 1 : 0;
    for (const agentId of agentIds) {
      let pc = this.pcIndex.get(agentId);
      if (pc === undefined) this.pcIndex.set(agentId, (pc = this.pcIndex.size));
      if (pc >= this.capacity) this.grow();
      const rank = fixed || RANK.indexOf((result as (agentId: string) => PcResult)(agentId)) + 1;
      for (const g of groups) {
        const at = g * this.capacity + pc;
        const was = this.worst[at]!;
        if (was === 0 || rank < was) this.worst[at] = rank;
        this.noted[at]!++;
      }
    }
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const worst = new Uint8Array((this.worst.length / this.capacity) * capacity);
    const noted = new Uint16Array(worst.length);
    for (let g = 0; g < this.sizes.length; g++) {
      worst.set(this.worst.subarray(g * this.capacity, (g + 1) * this.capacity), g * capacity);
      noted.set(this.noted.subarray(g * this.capacity, (g + 1) * this.capacity), g * capacity);
    }
    [this.worst, this.noted, this.capacity] = [worst, noted, capacity];
  }

  /** The noted PCs of a group counted by their worst result (a rule not noted: pass), and how many were noted. */
  counts(group: number): { counts: Counts; noted: number } {
    const c = zero();
    const pass = RANK.indexOf('pass');
    let noted = 0;
    for (let pc = 0, at = group * this.capacity; pc < this.pcIndex.size; pc++, at++) {
      const w = this.worst[at]!;
      if (w === 0) continue;
      noted++;
      c[RANK[this.noted[at]! < this.sizes[group]! ? Math.min(w - 1, pass) : w - 1]!]++;
    }
    return { counts: c, noted };
  }
}

export class Reports {
  constructor(
    private readonly sql: SqlRunner,
    private readonly rules: readonly Rule[],
    private readonly standard: SiteStandard,
    private readonly activeExceptions: () => Promise<ExceptionRecord[]>,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * The PCs counted (not revoked; of one 課, or all) as a condition on an agent id column. For
   * the whole organisation it names the revoked PCs (few) rather than the 10,000 others: a
   * probe into the set of every PC for each of 530,000 result entries was half the report's
   * time. Rule results are written only by the ingest of a PC that has its agents row, and
   * agents rows are never deleted, so both forms select the same rows.
   */
  private scope(department: string | undefined): { of: (column: string) => string; args: SqlValue[] } {
    return department === undefined
      ? { of: (column) => `${column} NOT IN (SELECT id FROM agents WHERE revoked_at IS NOT NULL)`, args: [] }
      : { of: (column) => `${column} IN (SELECT id FROM agents WHERE revoked_at IS NULL AND department = ?)`, args: [department] };
  }

  /** Latest results per rule and result of the PCs not revoked, of one 課 or each ('' : no 課). */
  private async resultCounts(department?: string): Promise<{ department: string; rule_id: string; result: string; n: number }[]> {
    // Changes appended since the last fold are read too; folding first keeps them few.
    await foldKeptCounts(this.sql, RULE_RESULT_COUNTS);
    return department === undefined ? readKeptCounts(this.sql, RULE_RESULT_COUNTS) : readKeptCounts(this.sql, RULE_RESULT_COUNTS, 'department = ?', [department]);
  }

  /**
   * Count: results per rule and kind (the kept counts of the scope's 課, or of all), a PC
   * without a result for a rule counting as unknown. A group of
   * several rules needs each PC's worst result, but only PCs with a result other than pass (or
   * none) for one of its rules can be anything but pass: only those rows are read, as the PCs
   * of each rule and result (GroupWorst).
   */
  private async tally(department: string | undefined, groups: readonly (readonly string[])[]): Promise<Tally> {
    const scope = this.scope(department);
    const ruleIds = this.rules.map((r) => r.id);
    const pcs = Number((await this.sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM agents WHERE revoked_at IS NULL AND ${scope.of('id')}`, scope.args))?.n ?? 0);
    const excepted = await this.exceptedFailures(await this.activeExceptions(), scope);
    const rules = new Map(ruleIds.map((id) => [id, zero()]));
    const present = new Map<string, number>();
    for (const r of await this.resultCounts(department)) {
      const c = rules.get(r.rule_id);
      if (!c) continue; // a rule no longer in the catalogue
      c[classOf(r.result)] += r.n;
      present.set(r.rule_id, (present.get(r.rule_id) ?? 0) + r.n);
    }
    for (const k of excepted) {
      const c = rules.get(k.slice(k.indexOf('|') + 1));
      if (c) (c.fail--, c.excepted++);
    }
    for (const [id, c] of rules) c.unknown += pcs - (present.get(id) ?? 0);

    const out = groups.map((g) => (g.length === 1 ? { ...(rules.get(g[0]!) ?? { ...zero(), unknown: pcs }) } : zero()));
    const multi = groups.flatMap((g, i) => (g.length > 1 ? [i] : []));
    if (multi.length) {
      const worst = new GroupWorst(groups, multi, pcs);
      const ruleIdsOfGroups = [...worst.ruleIds()];
      // The PCs of each rule and result other than pass, one row per rule and result: read in
      // the order of the index (rule_id, result, agent_id) and joined there, with no sort of
      // a hundred thousand rows by PC (an external sort on PostgreSQL).
      const agg = this.sql.dialect === 'postgres' ? "string_agg(r.agent_id, ',')" : "group_concat(r.agent_id, ',')";
      const found = await this.sql.all<{ rule_id: string; result: string; ids: string }>(
        `SELECT r.rule_id, r.result, ${agg} AS ids FROM rule_results r WHERE r.rule_id IN (${marks(ruleIdsOfGroups.length)}) AND r.result IN (${marks(NOT_PASS.length)}) AND ${scope.of('r.agent_id')} GROUP BY r.rule_id, r.result`,
        [...ruleIdsOfGroups, ...NOT_PASS, ...scope.args],
      );
      for (const r of found) {
        const result = classOf(r.result);
        worst.note(String(r.ids).split(','), r.rule_id, result === 'fail' && excepted.size ? (id) => (excepted.has(`${id}|${r.rule_id}`) ? 'excepted' : 'fail') : result);
      }
      for (const ruleId of ruleIdsOfGroups) {
        if ((present.get(ruleId) ?? 0) >= pcs) continue;
        const missing = await this.sql.all<{ id: string }>(`SELECT id FROM agents WHERE revoked_at IS NULL AND ${scope.of('id')} AND id NOT IN (SELECT agent_id FROM rule_results WHERE rule_id = ?)`, [...scope.args, ruleId]);
        worst.note(missing.map((m) => m.id), ruleId, 'unknown');
      }
      for (const i of multi) {
        const { counts, noted } = worst.counts(i);
        out[i] = { ...counts, pass: counts.pass + pcs - noted };
      }
    }
    return { pcs, rules, groups: out };
  }

  /**
   * The failing (PC, rule) pairs of the scope that are excepted: an exception covers the
   * PC-level finding, or every open violation of that rule on the PC is covered by one (as
   * Fleet.isExcepted). Only the rules with an active exception are read, and their open
   * violations only where an exception could cover them one by one: not for a rule excepted on
   * every PC (all its failures are excepted), and only the named PCs' when every exception of
   * the rule names its PC (a city-wide 例外措置 of a rule read 25,000 open violations).
   */
  private async exceptedFailures(exceptions: readonly ExceptionRecord[], scope: { of: (column: string) => string; args: SqlValue[] }): Promise<Set<string>> {
    const out = new Set<string>();
    if (!exceptions.length) return out;
    const byRule = new Map<string, ExceptionRecord[]>();
    for (const e of exceptions) byRule.set(e.ruleId, [...(byRule.get(e.ruleId) ?? []), e]);
    // Each rule: wholly excepted on every PC, excepted on every PC for some subjects, or excepted only on named PCs.
    const everyPc = new Set<string>();
    const anyPcRules: string[] = [];
    const namedRules: string[] = [];
    for (const [ruleId, es] of byRule) {
      if (es.some((e) => e.agentId === null && covers(e, { agentId: '', ruleId, subject: '' }))) everyPc.add(ruleId);
      else if (es.some((e) => e.agentId === null)) anyPcRules.push(ruleId);
      else namedRules.push(ruleId);
    }
    const named = [...new Set(namedRules.flatMap((ruleId) => byRule.get(ruleId)!.map((e) => e.agentId!)))];
    const open: { agent_id: string; rule_id: string; subject: string }[] = [];
    const openOf = async (ruleIds: string[], agentIds?: string[]) =>
      open.push(
        ...(await this.sql.all<{ agent_id: string; rule_id: string; subject: string }>(
          `SELECT v.agent_id, v.rule_id, v.subject FROM violations v WHERE v.state = 'open' AND v.rule_id IN (${marks(ruleIds.length)})${agentIds ? ` AND v.agent_id IN (${marks(agentIds.length)})` : ''} AND ${scope.of('v.agent_id')}`,
          [...ruleIds, ...(agentIds ?? []), ...scope.args],
        )),
      );
    if (anyPcRules.length) await openOf(anyPcRules);
    for (let i = 0; namedRules.length && i < named.length; i += 500) await openOf(namedRules, named.slice(i, i + 500));
    const subjects = new Map<string, string[]>();
    for (const v of open) {
      const k = `${v.agent_id}|${v.rule_id}`;
      const list = subjects.get(k);
      if (list) list.push(v.subject);
      else subjects.set(k, [v.subject]);
    }
    const ruleIds = [...byRule.keys()];
    const failing = await this.sql.all<{ agent_id: string; rule_id: string }>(
      `SELECT r.agent_id, r.rule_id FROM rule_results r WHERE r.rule_id IN (${marks(ruleIds.length)}) AND r.result = 'fail' AND ${scope.of('r.agent_id')}`,
      [...ruleIds, ...scope.args],
    );
    for (const { agent_id: agentId, rule_id: ruleId } of failing) {
      if (everyPc.has(ruleId)) {
        out.add(`${agentId}|${ruleId}`);
        continue;
      }
      const es = byRule.get(ruleId)!;
      const subs = subjects.get(`${agentId}|${ruleId}`) ?? [];
      if (es.some((e) => covers(e, { agentId, ruleId, subject: '' })) || (subs.length > 0 && subs.every((subject) => es.some((e) => covers(e, { agentId, ruleId, subject }))))) out.add(`${agentId}|${ruleId}`);
    }
    return out;
  }

  /** The period asked for, checked: JST days inside one 年度 by default. */
  private period(req: ReportRequest): { fiscalYear: number; from: string; to: string } {
    const today = jstDay(this.clock.now());
    for (const [k, v] of [['from', req.from], ['to', req.to]] as const) if (v !== undefined && (!DAY.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)))) throw badRequest(msg('error.day', { field: msg(k === 'from' ? 'error.field.from' : 'error.field.to'), value: v }));
    const fiscalYear = req.fiscalYear ?? fiscalYearOf(req.from ?? today);
    if (!Number.isInteger(fiscalYear) || fiscalYear < 2000 || fiscalYear > 2100) throw badRequest(msg('error.report.fiscalYear', { value: String(req.fiscalYear) }));
    const fyEnd = `${fiscalYear + 1}-03-31`;
    const from = req.from ?? `${fiscalYear}-04-01`;
    const to = req.to ?? (today < fyEnd ? today : fyEnd);
    if (from > to) throw badRequest(msg('error.report.period', { from: { date: from }, to: { date: to } }));
    return { fiscalYear, from, to };
  }

  async selfInspection(req: ReportRequest): Promise<SelfInspectionReport> {
    const period = this.period(req);
    // The trend needs today's point: written here only when housekeeping (hourly) has not yet.
    const today = await this.sql.get('SELECT 1 AS x FROM console_report_snapshots WHERE day = ? AND department = ? LIMIT 1', [jstDay(this.clock.now()), req.department ?? '*']);
    // A 課 without PCs has no row in the snapshot: writing it again would not give it one.
    if (!today && (req.department === null || (await this.sql.get('SELECT 1 AS x FROM agents WHERE revoked_at IS NULL AND department = ? LIMIT 1', [req.department])))) await this.snapshot();
    const cited = this.rules.map((rule) => ({ rule, clauses: this.standard.clausesOf(rule.id, rule.clauses) }));
    const clauseMap = new Map<string, { view: ClauseView; rules: string[] }>();
    for (const { rule, clauses } of cited) {
      for (const cl of clauses) {
        const k = `${cl.source}|${cl.ref}`;
        const cur = clauseMap.get(k) ?? { view: cl, rules: [] };
        cur.rules.push(rule.id);
        clauseMap.set(k, cur);
      }
    }
    const clauses = [...clauseMap.values()];
    const t = await this.tally(req.department ?? undefined, clauses.map((c) => c.rules));
    const ruleRows: RuleRow[] = cited.map(({ rule, clauses: cl }) => ({ ruleId: rule.id, checkId: rule.check, name: rule.name, severity: rule.severity, clauses: cl, ...t.rules.get(rule.id)! }));
    const clauseRows: ClauseRow[] = clauses
      .map(({ view, rules }, i) => ({ source: view.source, ref: view.ref, title: view.title, ruleIds: rules, ...t.groups[i]! }))
      .sort((a, b) => a.source.localeCompare(b.source) || a.ref.localeCompare(b.ref, 'ja', { numeric: true }));
    const areas = new Map<string, Counts>();
    for (const r of ruleRows) {
      const a = areas.get(r.checkId) ?? zero();
      for (const k of Object.keys(a) as (keyof Counts)[]) a[k] += r[k];
      areas.set(r.checkId, a);
    }
    const settings = this.standard.get();
    return {
      generatedAt: this.clock.now().toISOString(),
      organisation: settings.organisation,
      department: req.department,
      fiscalYear: period.fiscalYear,
      period: { from: period.from, to: period.to },
      era: settings.era,
      approvals: { preparedBy: settings.preparedBy, checkedBy: settings.checkedBy, approvedBy: settings.approvedBy },
      standard: this.standard.info(),
      pcs: t.pcs,
      rules: ruleRows,
      clauses: clauseRows,
      areas: [...areas.entries()].map(([checkId, c]) => ({ checkId, ...c })),
      trend: await this.trend(req.department ?? '*', period.from, period.to),
    };
  }

  /** Counts per rule of the organisation ('*') and of each 課 of a PC, from the kept counts (as tally gives each). */
  private async ruleCountsByScope(): Promise<Map<string, Map<string, Counts>>> {
    const ruleIds = this.rules.map((r) => r.id);
    const out = new Map<string, Map<string, Counts>>();
    const size = new Map<string, number>();
    const scope = (d: string): Map<string, Counts> => {
      let m = out.get(d);
      if (!m) out.set(d, (m = new Map(ruleIds.map((id) => [id, zero()]))));
      return m;
    };
    const scopesOf = (department: string | null): string[] => (department === null ? ['*'] : ['*', department]);
    scope('*');
    for (const p of await this.sql.all<{ department: string | null; n: number | string }>('SELECT department, COUNT(*) AS n FROM agents WHERE revoked_at IS NULL GROUP BY department')) {
      for (const d of scopesOf(p.department)) (scope(d), size.set(d, (size.get(d) ?? 0) + Number(p.n)));
    }
    for (const r of await this.resultCounts()) {
      for (const d of scopesOf(r.department || null)) {
        const c = scope(d).get(r.rule_id);
        if (c) c[classOf(r.result)] += r.n;
      }
    }
    const excepted = [...(await this.exceptedFailures(await this.activeExceptions(), this.scope(undefined)))].map((k) => ({ agentId: k.slice(0, k.indexOf('|')), ruleId: k.slice(k.indexOf('|') + 1) }));
    const departmentOf = new Map<string, string | null>();
    const ids = [...new Set(excepted.map((x) => x.agentId))];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      for (const a of await this.sql.all<{ id: string; department: string | null }>(`SELECT id, department FROM agents WHERE id IN (${marks(chunk.length)})`, chunk)) departmentOf.set(String(a.id), a.department ?? null);
    }
    for (const x of excepted) {
      for (const d of scopesOf(departmentOf.get(x.agentId) ?? null)) {
        const c = scope(d).get(x.ruleId)!;
        (c.fail--, c.excepted++);
      }
    }
    for (const [d, counts] of out) for (const c of counts.values()) c.unknown += (size.get(d) ?? 0) - (c.pass + c.fail + c.unknown + c.excepted + c.notApplicable);
    return out;
  }

  /** Record today's counts (JST day) for the organisation ('*') and each 課, one row per rule, updated in place. */
  async snapshot(): Promise<void> {
    const day = jstDay(this.clock.now());
    const scopes = await this.ruleCountsByScope();
    const rows = [...scopes].flatMap(([scope, counts]) => [...counts].map(([ruleId, c]) => [day, scope, ruleId, c.pass, c.fail, c.unknown, c.excepted, c.notApplicable]));
    // A statement per 250 rows, not per row: the organisation and ten 課 are 583 rows.
    await this.sql.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += 250) {
        const chunk = rows.slice(i, i + 250);
        await tx.run(
          `INSERT INTO console_report_snapshots (day, department, rule_id, pass_count, fail_count, unknown_count, excepted_count, na_count) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
           ON CONFLICT (day, department, rule_id) DO UPDATE SET pass_count = excluded.pass_count, fail_count = excluded.fail_count, unknown_count = excluded.unknown_count, excepted_count = excluded.excepted_count, na_count = excluded.na_count`,
          chunk.flat(),
        );
      }
    });
  }

  async trend(department: string, from: string, to: string): Promise<TrendPoint[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      'SELECT day, sum(pass_count) AS p, sum(fail_count) AS f, sum(unknown_count) AS u, sum(excepted_count) AS e, sum(na_count) AS n FROM console_report_snapshots WHERE department = ? AND day >= ? AND day <= ? GROUP BY day ORDER BY day',
      [department, from, to],
    );
    return rows.map((r) => ({ day: String(r.day), pass: Number(r.p), fail: Number(r.f), unknown: Number(r.u), excepted: Number(r.e), notApplicable: Number(r.n) }));
  }

  /** The report as CSV for Excel: one row per rule and clause of the site's standard (a rule without one: one row, clause empty). */
  static csv(report: SelfInspectionReport, lang: 'ja' | 'en'): string {
    const header =
      lang === 'ja'
        ? ['範囲', '作成日時', 'ルール', 'ルール名', '重要度', '出典', '条項', '適合', '不適合', '例外', '不明', '対象外', '対象PC数']
        : ['scope', 'generated_at', 'rule', 'rule_name', 'severity', 'source', 'clause', 'pass', 'fail', 'excepted', 'unknown', 'not_applicable', 'pcs'];
    const scope = report.department ?? (lang === 'ja' ? '全庁' : 'organisation');
    const at = jstNumeric(report.generatedAt, { seconds: true });
    const counts = (r: Counts) => [r.pass, r.fail, r.excepted, r.unknown, r.notApplicable];
    const rows = report.rules.flatMap((r) =>
      (r.clauses.length ? r.clauses : [{ title: '', ref: '' }]).map((c) => [scope, at, r.ruleId, r.name[lang], term('severity', r.severity, lang), c.title, c.ref, ...counts(r), report.pcs]),
    );
    return toCsv(header, rows);
  }
}
