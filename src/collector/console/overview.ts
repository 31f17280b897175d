/**
 * 概要 (overview): open violations per 課 and per kind (check), and the daily trends of the
 * last days (violations opened and closed per kind and per 課, compliance rate), counted by
 * the database — a city's 10,000 PCs and 200,000 events never travel to the console to be
 * counted; the open counts per 課, kind and severity are kept by the store
 * (store/open-violation-counts.ts), a few hundred rows instead of 100,000. Each count is the number of rows the violation list shows for the
 * same filters (例外 rows included; how many of them an active 例外措置 covers is given
 * apart). Days are Japanese calendar days (JST); the trends read the daily counts the store
 * keeps (store/violation-days.ts), about one row per day, kind and 課.
 */
import type { SqlRunner, SqlValue } from '../store/sql.js';
import type { Principal } from './authz.js';
import type { ExceptionRecord } from './exceptions.js';
import type { Clock } from './util.js';
import { systemClock } from './util.js';
import { foldKeptCounts, readKeptCounts } from '../store/kept-counts.js';
import { OPEN_VIOLATION_COUNTS } from '../store/open-violation-counts.js';
import { foldViolationDays, violationDayCounts } from '../store/violation-days.js';

/** Key of PCs without a 課 in the per-課 maps (the violation list's department filter writes it "-"). */
export const NO_DEPARTMENT = '';

export interface DepartmentCounts {
  /** NO_DEPARTMENT for PCs without a 課. */
  department: string;
  pcs: number;
  /** Open violations, 例外 included. */
  open: number;
  /** Of those, covered by an active 例外措置. */
  excepted: number;
  byCheck: Record<string, number>;
}

export interface Overview {
  pcs: number;
  online: number;
  openViolations: number;
  excepted: number;
  bySeverity: Record<string, number>;
  byCheck: Record<string, number>;
  byDepartment: DepartmentCounts[];
}

export interface DailySeries {
  total: number[];
  byCheck: Record<string, number[]>;
  byDepartment: Record<string, number[]>;
}

export interface Trends {
  /** JST days, oldest first. */
  days: string[];
  opened: DailySeries;
  closed: DailySeries;
  /** Share of (PC, rule) results that pass, per day, from the daily report snapshots; null: no snapshot that day. */
  compliance: (number | null)[];
}

const JST_MS = 9 * 3_600_000;

/** The JST calendar day of an instant, YYYY-MM-DD. */
export function jstDay(d: Date): string {
  return new Date(d.getTime() + JST_MS).toISOString().slice(0, 10);
}

/** WHERE text limiting agents (alias a) to the account's 課; the collector's own rows (no agent) only for unscoped accounts. */
function scopeSql(p: Principal): { sql: string; args: SqlValue[] } {
  if (p.departments.length === 0) return { sql: '1 = 1', args: [] };
  return { sql: `a.department IN (${p.departments.map(() => '?').join(', ')})`, args: [...p.departments] };
}

const bump = (bag: Record<string, number>, k: string, n: number): void => {
  bag[k] = (bag[k] ?? 0) + n;
};

export class OverviewCounter {
  constructor(
    private readonly sql: SqlRunner,
    private readonly activeExceptions: () => Promise<ExceptionRecord[]>,
    private readonly clock: Clock = systemClock,
  ) {}

  async overview(p: Principal): Promise<Overview> {
    const scope = scopeSql(p);
    const agents = await this.sql.all<{ department: string | null; n: number | string; up: number | string | null }>(
      `SELECT a.department, COUNT(*) AS n, SUM(a.online) AS up FROM agents a WHERE a.revoked_at IS NULL AND ${scope.sql} GROUP BY a.department`,
      scope.args,
    );
    // Changes appended since the last fold are read too; folding first keeps them few.
    await foldKeptCounts(this.sql, OPEN_VIOLATION_COUNTS);
    // '' is a PC without a 課 or the collector itself: never one of an account's 課.
    const open = await readKeptCounts(this.sql, OPEN_VIOLATION_COUNTS, scope.args.length ? `department IN (${scope.args.map(() => '?').join(', ')}) AND department <> ''` : '1 = 1', scope.args);
    const excepted = await this.exceptedOpen(scope);
    const deps = new Map<string, DepartmentCounts>();
    const dep = (d: string | null): DepartmentCounts => {
      const k = d ?? NO_DEPARTMENT;
      let c = deps.get(k);
      if (!c) deps.set(k, (c = { department: k, pcs: 0, open: 0, excepted: 0, byCheck: {} }));
      return c;
    };
    const out: Overview = { pcs: 0, online: 0, openViolations: 0, excepted: 0, bySeverity: {}, byCheck: {}, byDepartment: [] };
    for (const r of agents) {
      dep(r.department).pcs += Number(r.n);
      out.pcs += Number(r.n);
      out.online += Number(r.up ?? 0);
    }
    for (const r of open) {
      const n = r.n;
      const d = dep(r.department);
      d.open += n;
      bump(d.byCheck, r.check_id, n);
      bump(out.bySeverity, r.severity, n);
      bump(out.byCheck, r.check_id, n);
      out.openViolations += n;
    }
    // Counts are those of the violation list (state=open, 例外 rows included), so each number links to a list of exactly that many rows; `excepted` says how many of them an active 例外措置 covers.
    for (const x of excepted) {
      dep(x.department).excepted += 1;
      out.excepted += 1;
    }
    out.byDepartment = [...deps.values()].sort((a, b) => (a.department === NO_DEPARTMENT ? 1 : b.department === NO_DEPARTMENT ? -1 : a.department.localeCompare(b.department, 'ja')));
    return out;
  }

  /** Open violations in scope that an active 例外措置 covers (each once, however many cover it). */
  private async exceptedOpen(scope: { sql: string; args: SqlValue[] }): Promise<{ department: string | null }[]> {
    const seen = new Map<string, { department: string | null }>();
    for (const e of await this.activeExceptions()) {
      const where = ["v.state = 'open'", 'v.rule_id = ?', scope.sql];
      const args: SqlValue[] = [e.ruleId, ...scope.args];
      if (e.subject !== '*') (where.push('v.subject = ?'), args.push(e.subject));
      if (e.agentId !== null) (where.push('v.agent_id = ?'), args.push(e.agentId));
      const rows = await this.sql.all<{ agent_id: string; rule_id: string; subject: string; department: string | null }>(
        `SELECT v.agent_id, v.rule_id, v.subject, a.department FROM violations v LEFT JOIN agents a ON a.id = v.agent_id WHERE ${where.join(' AND ')}`,
        args,
      );
      for (const r of rows) seen.set(`${r.agent_id}|${r.rule_id}|${r.subject}`, { department: r.department });
    }
    return [...seen.values()];
  }

  /** Daily counts of the last `days` JST days, today included. */
  async trends(p: Principal, days = 90): Promise<Trends> {
    const today = jstDay(this.clock.now());
    const first = new Date(Date.parse(`${today}T00:00:00Z`) - (days - 1) * 86_400_000);
    const dayList = Array.from({ length: days }, (_, i) => new Date(first.getTime() + i * 86_400_000).toISOString().slice(0, 10));
    const index = new Map(dayList.map((d, i) => [d, i]));
    // Changes appended since the last fold are read too; folding first keeps them few.
    await foldViolationDays(this.sql);
    const counts = await violationDayCounts(this.sql, dayList[0]!, p.departments.length ? p.departments : undefined);
    const series = (): DailySeries => ({ total: dayList.map(() => 0), byCheck: {}, byDepartment: {} });
    const opened = series();
    const closed = series();
    const add = (bag: Record<string, number[]>, k: string, i: number, n: number): void => {
      (bag[k] ??= dayList.map(() => 0))[i]! += n;
    };
    for (const c of counts) {
      const i = index.get(c.day);
      if (i === undefined) continue;
      for (const [s, n] of [[opened, c.opened], [closed, c.closed]] as const) {
        if (n === 0) continue;
        s.total[i]! += n;
        add(s.byCheck, c.checkId, i, n);
        add(s.byDepartment, c.department, i, n);
      }
    }
    // Snapshots are kept for the organisation ('*') and per 課: a 課-scoped account sums its own.
    const snapDeps = p.departments.length ? p.departments : ['*'];
    const snaps = await this.sql.all<{ day: string; p: number | string; f: number | string; u: number | string; e: number | string }>(
      `SELECT day, SUM(pass_count) AS p, SUM(fail_count) AS f, SUM(unknown_count) AS u, SUM(excepted_count) AS e FROM console_report_snapshots WHERE day >= ? AND department IN (${snapDeps.map(() => '?').join(', ')}) GROUP BY day`,
      [dayList[0]!, ...snapDeps],
    );
    const compliance: (number | null)[] = dayList.map(() => null);
    for (const r of snaps) {
      const i = index.get(String(r.day));
      const total = Number(r.p) + Number(r.f) + Number(r.u) + Number(r.e);
      if (i !== undefined && total > 0) compliance[i] = Number(r.p) / total;
    }
    return { days: dayList, opened, closed, compliance };
  }
}
