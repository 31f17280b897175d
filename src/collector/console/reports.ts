/**
 * 自己点検 (self-inspection) report (C-AUD: 003 第12章4, 004 §11.2 ask for it 毎年度; 000 §9(2)
 * as needed): per rule and per clause, how many PCs pass, fail, are excepted or unknown, for the
 * whole organisation or one 課, from the latest rule results; with a daily trend from snapshots.
 * A PC without a result for a rule counts as unknown (no data), never as a pass.
 */
import type { Rule } from '../../shared/catalogue/schema.js';
import type { Store } from '../store/store.js';
import type { Principal } from './authz.js';
import { inScope } from './authz.js';
import { toCsv } from './csv.js';
import type { ExceptionRecord } from './exceptions.js';
import { Fleet } from './fleet.js';
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
  clauses: { source: string; ref: string; title: string }[];
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
  /** null = the whole organisation. */
  department: string | null;
  pcs: number;
  rules: RuleRow[];
  clauses: ClauseRow[];
  areas: (Counts & { checkId: string })[];
  trend: TrendPoint[];
}

type PcResult = 'pass' | 'fail' | 'unknown' | 'excepted' | 'notApplicable';
const zero = (): Counts => ({ pass: 0, fail: 0, unknown: 0, excepted: 0, notApplicable: 0 });
const RANK: PcResult[] = ['fail', 'unknown', 'excepted', 'pass', 'notApplicable'];

export class Reports {
  constructor(
    private readonly store: Store,
    private readonly fleet: Fleet,
    private readonly rules: readonly Rule[],
    private readonly activeExceptions: () => Promise<ExceptionRecord[]>,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Result of every (PC, rule) in scope. */
  private async matrix(principal: Principal, department: string | null): Promise<{ agents: string[]; results: Map<string, Map<string, PcResult>> }> {
    const agents = (await this.store.listAgents())
      .filter((a) => !a.revokedAt)
      .filter((a) => inScope(principal, this.fleet.assignmentOf(a.id).department))
      .filter((a) => department === null || this.fleet.assignmentOf(a.id).department === department)
      .map((a) => a.id);
    const wanted = new Set(agents);
    const exceptions = await this.activeExceptions();
    const open = await this.store.listViolations({ state: 'open', limit: 100_000 });
    const results = new Map<string, Map<string, PcResult>>();
    for (const id of agents) results.set(id, new Map());
    for (const r of await this.fleet.ruleResults()) {
      if (!wanted.has(r.agentId)) continue;
      const v: PcResult =
        r.result === 'fail' ? (Fleet.isExcepted(r.agentId, r.ruleId, exceptions, open) ? 'excepted' : 'fail')
        : r.result === 'pass' ? 'pass'
        : r.result === 'excepted' ? 'excepted'
        : r.result === 'not_applicable' ? 'notApplicable'
        : 'unknown';
      results.get(r.agentId)!.set(r.ruleId, v);
    }
    return { agents, results };
  }

  async selfInspection(principal: Principal, department: string | null): Promise<SelfInspectionReport> {
    const { agents, results } = await this.matrix(principal, department);
    const ruleRows: RuleRow[] = this.rules.map((rule) => {
      const c = zero();
      for (const id of agents) c[results.get(id)!.get(rule.id) ?? 'unknown']++;
      return { ruleId: rule.id, checkId: rule.check, name: rule.name, severity: rule.severity, clauses: this.fleet.clauseViews(rule.clauses), ...c };
    });
    const clauseMap = new Map<string, { source: string; ref: string; rules: Rule[] }>();
    for (const rule of this.rules) {
      for (const cl of rule.clauses) {
        const k = `${cl.source}|${cl.ref}`;
        const cur = clauseMap.get(k) ?? { source: cl.source, ref: cl.ref, rules: [] };
        cur.rules.push(rule);
        clauseMap.set(k, cur);
      }
    }
    const clauseRows: ClauseRow[] = [...clauseMap.values()]
      .map((cl) => {
        const c = zero();
        for (const id of agents) {
          // A PC fails a clause when it fails any rule citing it; unknown beats pass.
          const per = cl.rules.map((r) => results.get(id)!.get(r.id) ?? 'unknown');
          c[per.reduce<PcResult>((w, x) => (RANK.indexOf(x) < RANK.indexOf(w) ? x : w), 'notApplicable')]++;
        }
        return { source: cl.source, ref: cl.ref, title: this.fleet.clauseViews([cl])[0]!.title, ruleIds: cl.rules.map((r) => r.id), ...c };
      })
      .sort((a, b) => a.source.localeCompare(b.source) || a.ref.localeCompare(b.ref, 'ja'));
    const areas = new Map<string, Counts>();
    for (const r of ruleRows) {
      const a = areas.get(r.checkId) ?? zero();
      for (const k of Object.keys(a) as (keyof Counts)[]) a[k] += r[k];
      areas.set(r.checkId, a);
    }
    const scopeKey = department ?? '*';
    await this.snapshot();
    return {
      generatedAt: this.clock.now().toISOString(),
      department,
      pcs: agents.length,
      rules: ruleRows,
      clauses: clauseRows,
      areas: [...areas.entries()].map(([checkId, c]) => ({ checkId, ...c })),
      trend: principal.departments.length === 0 || department !== null ? await this.trend(scopeKey) : [],
    };
  }

  /** Record today's counts for the organisation ('*') and each 課 (one row per day, updated in place). */
  async snapshot(): Promise<void> {
    const day = this.clock.now().toISOString().slice(0, 10);
    const everyone: Principal = { userId: 'system', username: 'system', displayName: 'system', role: 'auditor', departments: [], via: 'token', mustChangePassword: false };
    const scopes: (string | null)[] = [null, ...this.fleet.departments()];
    for (const dep of scopes) {
      const { agents, results } = await this.matrix(everyone, dep);
      for (const rule of this.rules) {
        const c = zero();
        for (const id of agents) c[results.get(id)!.get(rule.id) ?? 'unknown']++;
        await this.store.sql.run(
          `INSERT INTO console_report_snapshots (day, department, rule_id, pass_count, fail_count, unknown_count, excepted_count, na_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (day, department, rule_id) DO UPDATE SET pass_count = excluded.pass_count, fail_count = excluded.fail_count, unknown_count = excluded.unknown_count, excepted_count = excluded.excepted_count, na_count = excluded.na_count`,
          [day, dep ?? '*', rule.id, c.pass, c.fail, c.unknown, c.excepted, c.notApplicable],
        );
      }
    }
  }

  async trend(department: string, days = 90): Promise<TrendPoint[]> {
    const since = new Date(this.clock.now().getTime() - days * 86_400_000).toISOString().slice(0, 10);
    const rows = await this.store.sql.all<Record<string, unknown>>(
      'SELECT day, sum(pass_count) AS p, sum(fail_count) AS f, sum(unknown_count) AS u, sum(excepted_count) AS e, sum(na_count) AS n FROM console_report_snapshots WHERE department = ? AND day >= ? GROUP BY day ORDER BY day',
      [department, since],
    );
    return rows.map((r) => ({ day: String(r.day), pass: Number(r.p), fail: Number(r.f), unknown: Number(r.u), excepted: Number(r.e), notApplicable: Number(r.n) }));
  }

  /** The report as CSV for Excel: one row per rule and clause cited. */
  static csv(report: SelfInspectionReport, lang: 'ja' | 'en'): string {
    const header =
      lang === 'ja'
        ? ['範囲', '作成日時', 'ルール', 'ルール名', '重要度', '出典', '条項', '適合', '不適合', '例外', '不明', '対象外', '対象PC数']
        : ['scope', 'generated_at', 'rule', 'rule_name', 'severity', 'source', 'clause', 'pass', 'fail', 'excepted', 'unknown', 'not_applicable', 'pcs'];
    const scope = report.department ?? (lang === 'ja' ? '全庁' : 'organisation');
    const rows = report.rules.flatMap((r) =>
      r.clauses.map((c) => [scope, report.generatedAt, r.ruleId, r.name[lang], r.severity, c.title, c.ref, r.pass, r.fail, r.excepted, r.unknown, r.notApplicable, report.pcs]),
    );
    return toCsv(header, rows);
  }
}
