/**
 * 自己点検 (self-inspection) report (C-AUD: 003 第12章4, 004 §11.2 ask for it 毎年度; 000 §9(2)
 * as needed): per rule and per clause of the site's own standard, how many PCs pass, fail,
 * are excepted or unknown, for the whole organisation or one 課, from the latest rule
 * results; with the organisation, the 年度 and period, the approval block and the daily
 * trend of the period from snapshots. A PC without a result for a rule counts as unknown
 * (no data), never as a pass.
 *
 * The latest results are read once per report as (PC, rule, result) triples; 例外措置 are
 * applied through maps keyed by PC and rule, so the cost grows with the fleet, not with
 * fleet × exceptions × open violations.
 */
import { msg } from '../../shared/i18n/index.js';
import type { Rule } from '../../shared/catalogue/schema.js';
import { jstNumeric, term } from '../../shared/i18n/index.js';
import type { SqlRunner } from '../store/sql.js';
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

/** (PC, rule) results of the PCs of one 課 (or all), with their 課. */
interface Matrix {
  agents: { id: string; department: string | null }[];
  results: Map<string, Map<string, PcResult>>;
}

export class Reports {
  constructor(
    private readonly sql: SqlRunner,
    private readonly rules: readonly Rule[],
    private readonly standard: SiteStandard,
    private readonly activeExceptions: () => Promise<ExceptionRecord[]>,
    private readonly clock: Clock = systemClock,
  ) {}

  /** department undefined: every PC. */
  private async matrix(department?: string | null): Promise<Matrix> {
    const depSql = department === undefined ? '' : department === null ? ' AND a.department IS NULL' : ' AND a.department = ?';
    const depArgs = typeof department === 'string' ? [department] : [];
    const agents = (await this.sql.all<{ id: string; department: string | null }>(`SELECT a.id, a.department FROM agents a WHERE a.revoked_at IS NULL${depSql}`, depArgs)).map((a) => ({ id: String(a.id), department: a.department ?? null }));
    const results = new Map<string, Map<string, PcResult>>(agents.map((a) => [a.id, new Map()]));
    const exceptions = await this.activeExceptions();
    const excepted = await this.exceptedFailures(exceptions, depSql, depArgs);
    const rows = await this.sql.all<{ agent_id: string; rule_id: string; result: string }>(`SELECT r.agent_id, r.rule_id, r.result FROM rule_results r JOIN agents a ON a.id = r.agent_id WHERE a.revoked_at IS NULL${depSql}`, depArgs);
    for (const r of rows) {
      const v: PcResult =
        r.result === 'fail' ? (excepted(r.agent_id, r.rule_id) ? 'excepted' : 'fail')
        : r.result === 'pass' ? 'pass'
        : r.result === 'excepted' ? 'excepted'
        : r.result === 'not_applicable' ? 'notApplicable'
        : 'unknown';
      results.get(r.agent_id)?.set(r.rule_id, v);
    }
    return { agents, results };
  }

  /**
   * Is a failing rule on a PC excepted? Yes when an exception covers the PC-level finding, or
   * when every open violation of that rule on the PC is covered by one (as Fleet.isExcepted).
   */
  private async exceptedFailures(exceptions: readonly ExceptionRecord[], depSql: string, depArgs: string[]): Promise<(agentId: string, ruleId: string) => boolean> {
    const ruleIds = [...new Set(exceptions.map((e) => e.ruleId))];
    if (!ruleIds.length) return () => false;
    const open = await this.sql.all<{ agent_id: string; rule_id: string; subject: string }>(
      `SELECT v.agent_id, v.rule_id, v.subject FROM violations v JOIN agents a ON a.id = v.agent_id WHERE v.state = 'open' AND v.rule_id IN (${ruleIds.map(() => '?').join(', ')})${depSql}`,
      [...ruleIds, ...depArgs],
    );
    const subjects = new Map<string, string[]>();
    for (const v of open) {
      const k = `${v.agent_id}|${v.rule_id}`;
      subjects.set(k, [...(subjects.get(k) ?? []), v.subject]);
    }
    const byRule = new Map<string, ExceptionRecord[]>();
    for (const e of exceptions) byRule.set(e.ruleId, [...(byRule.get(e.ruleId) ?? []), e]);
    return (agentId, ruleId) => {
      const es = byRule.get(ruleId);
      if (!es) return false;
      if (es.some((e) => covers(e, { agentId, ruleId, subject: '' }))) return true;
      const subs = subjects.get(`${agentId}|${ruleId}`) ?? [];
      return subs.length > 0 && subs.every((subject) => es.some((e) => covers(e, { agentId, ruleId, subject })));
    };
  }

  private ruleCounts(m: Matrix, agentIds: readonly string[]): Map<string, Counts> {
    const out = new Map<string, Counts>();
    for (const rule of this.rules) {
      const c = zero();
      for (const id of agentIds) c[m.results.get(id)!.get(rule.id) ?? 'unknown']++;
      out.set(rule.id, c);
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
    const m = await this.matrix();
    // The trend needs today's point: written here only when housekeeping (hourly) has not yet.
    const today = await this.sql.get('SELECT 1 AS x FROM console_report_snapshots WHERE day = ? AND department = ? LIMIT 1', [jstDay(this.clock.now()), req.department ?? '*']);
    if (!today) await this.writeSnapshot(m);
    const agentIds = m.agents.filter((a) => req.department === null || a.department === req.department).map((a) => a.id);
    const counts = this.ruleCounts(m, agentIds);
    const ruleRows: RuleRow[] = this.rules.map((rule) => ({ ruleId: rule.id, checkId: rule.check, name: rule.name, severity: rule.severity, clauses: this.standard.clausesOf(rule.id, rule.clauses), ...counts.get(rule.id)! }));
    const clauseMap = new Map<string, { view: ClauseView; rules: string[] }>();
    for (const r of ruleRows) {
      for (const cl of r.clauses) {
        const k = `${cl.source}|${cl.ref}`;
        const cur = clauseMap.get(k) ?? { view: cl, rules: [] };
        cur.rules.push(r.ruleId);
        clauseMap.set(k, cur);
      }
    }
    const clauseRows: ClauseRow[] = [...clauseMap.values()]
      .map(({ view, rules }) => {
        const c = zero();
        for (const id of agentIds) {
          // A PC fails a clause when it fails any rule citing it; unknown beats pass.
          const per = m.results.get(id)!;
          c[rules.map((r) => per.get(r) ?? 'unknown').reduce<PcResult>((w, x) => (RANK.indexOf(x) < RANK.indexOf(w) ? x : w), 'notApplicable')]++;
        }
        return { source: view.source, ref: view.ref, title: view.title, ruleIds: rules, ...c };
      })
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
      pcs: agentIds.length,
      rules: ruleRows,
      clauses: clauseRows,
      areas: [...areas.entries()].map(([checkId, c]) => ({ checkId, ...c })),
      trend: await this.trend(req.department ?? '*', period.from, period.to),
    };
  }

  /** Record today's counts (JST day) for the organisation ('*') and each 課, one row per rule, updated in place. */
  async snapshot(): Promise<void> {
    await this.writeSnapshot(await this.matrix());
  }

  private async writeSnapshot(m: Matrix): Promise<void> {
    const day = jstDay(this.clock.now());
    const scopes = new Map<string, string[]>([['*', m.agents.map((a) => a.id)]]);
    for (const a of m.agents) if (a.department) scopes.set(a.department, [...(scopes.get(a.department) ?? []), a.id]);
    await this.sql.transaction(async (tx) => {
      for (const [scope, ids] of scopes) {
        for (const [ruleId, c] of this.ruleCounts(m, ids)) {
          await tx.run(
            `INSERT INTO console_report_snapshots (day, department, rule_id, pass_count, fail_count, unknown_count, excepted_count, na_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (day, department, rule_id) DO UPDATE SET pass_count = excluded.pass_count, fail_count = excluded.fail_count, unknown_count = excluded.unknown_count, excepted_count = excluded.excepted_count, na_count = excluded.na_count`,
            [day, scope, ruleId, c.pass, c.fail, c.unknown, c.excepted, c.notApplicable],
          );
        }
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
