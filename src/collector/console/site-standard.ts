/**
 * The site's own standard: which municipal standard of config/sources.yml this organisation
 * follows, or its own clause map (imported as CSV: rule id → clause number and title), and
 * the fixed parts of its 自己点検 report (organisation name, the names of the approval block,
 * 和暦 or 西暦). The report and every list that cites clauses show the clauses of this
 * standard only; until one is chosen they show every standard the catalogue cites.
 */
import { msg, renderBoth, type Localized, type Msg } from '../../shared/i18n/index.js';
import { z } from 'zod';
import type { Rule, Source } from '../../shared/catalogue/schema.js';
import type { SqlRunner } from '../store/sql.js';
import { CsvError, parseCsv, toCsv, unguard } from './csv.js';
import { badRequest, parseInput } from './errors.js';

/** `source` of the clauses of an imported clause map. */
export const CUSTOM_SOURCE = 'site';

export const ReportSettings = z.object({
  organisation: z.string().max(100).default(''),
  /** A source id of config/sources.yml, CUSTOM_SOURCE for the imported clause map, null: not chosen yet. */
  standard: z.string().max(16).nullable().default(null),
  era: z.enum(['wareki', 'seireki']).default('wareki'),
  preparedBy: z.string().max(60).default(''),
  checkedBy: z.string().max(60).default(''),
  approvedBy: z.string().max(60).default(''),
});
export type ReportSettings = z.infer<typeof ReportSettings>;

export interface ClauseView {
  source: string;
  ref: string;
  /** The clause's title (imported map) or the standard's title (config/sources.yml holds no clause titles). */
  title: string;
}

export interface StandardInfo {
  kind: 'source' | 'custom' | 'none';
  id: string | null;
  title: string;
  organisation: string;
  edition: string;
}

/** A clause map that cannot be imported: one Japanese message per bad row. */
export class ClauseMapError extends Error {
  readonly code = 'CLAUSE_MAP_INVALID';
  /** Each problem in both languages. */
  readonly problems: Localized[];
  readonly summary: Localized;
  constructor(problems: Msg[]) {
    const summary = renderBoth(msg('error.clauseMap.refused', { n: problems.length }));
    const texts = problems.map((p) => renderBoth(p));
    super(`${summary.ja}:\n${texts.map((t) => t.ja).join('\n')}`);
    this.problems = texts;
    this.summary = summary;
  }
}

const SETTINGS_KEY = 'report.settings';
export const CLAUSE_MAP_HEADER = ['ルールID', '条項番号', '条項名'] as const;
const HEADER_NAMES = new Set(['ルールid', 'ルール', 'rule', 'rule id', 'rule_id', 'ruleid']);

/** parseCsv's message (line N: …) in the words of the import screen. */

export class SiteStandard {
  private settings: ReportSettings = ReportSettings.parse({});
  private map = new Map<string, { ref: string; title: string }[]>();
  private readonly ruleIds: Set<string>;
  private readonly sources: Map<string, Source>;

  constructor(
    private readonly sql: SqlRunner,
    private readonly rules: readonly Rule[],
    sources: readonly Source[],
  ) {
    this.ruleIds = new Set(rules.map((r) => r.id));
    this.sources = new Map(sources.map((s) => [s.id, s]));
  }

  async load(): Promise<void> {
    const row = await this.sql.get<{ value: string }>('SELECT value FROM console_state WHERE name = ?', [SETTINGS_KEY]);
    const parsed = ReportSettings.safeParse(row ? JSON.parse(row.value) : {});
    this.settings = parsed.success ? parsed.data : ReportSettings.parse({});
    const rows = await this.sql.all<{ rule_id: string; ref: string; title: string }>('SELECT rule_id, ref, title FROM console_clause_map ORDER BY rule_id, position');
    this.map = new Map();
    for (const r of rows) this.map.set(r.rule_id, [...(this.map.get(r.rule_id) ?? []), { ref: r.ref, title: r.title }]);
  }

  get(): ReportSettings {
    return { ...this.settings };
  }

  /** The standards a site may choose: those of config/sources.yml, and its own map once imported. */
  choices(): { id: string; title: string; organisation: string; edition: string }[] {
    const own = this.map.size ? [{ id: CUSTOM_SOURCE, title: '独自の条項対応表 (取り込み済み)', organisation: this.settings.organisation, edition: `${this.map.size} ルール` }] : [];
    return [...[...this.sources.values()].map((s) => ({ id: s.id, title: s.title, organisation: s.organisation, edition: s.edition })), ...own];
  }

  async save(input: unknown): Promise<ReportSettings> {
    const next = parseInput(ReportSettings, { ...this.settings, ...(typeof input === 'object' && input ? input : {}) });
    if (next.standard !== null && next.standard !== CUSTOM_SOURCE && !this.sources.has(next.standard)) throw badRequest(msg('error.report.unknownStandard', { id: next.standard }));
    if (next.standard === CUSTOM_SOURCE && this.map.size === 0) throw badRequest(msg('error.report.noCustomMap'));
    await this.sql.run('INSERT INTO console_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [SETTINGS_KEY, JSON.stringify(next)]);
    this.settings = next;
    return this.get();
  }

  info(): StandardInfo {
    const id = this.settings.standard;
    if (id === CUSTOM_SOURCE) return { kind: 'custom', id, title: '独自の条項対応表', organisation: this.settings.organisation, edition: '' };
    const s = id ? this.sources.get(id) : undefined;
    if (!s) return { kind: 'none', id: null, title: '', organisation: '', edition: '' };
    return { kind: 'source', id: s.id, title: s.title, organisation: s.organisation, edition: s.edition };
  }

  /** The clauses of one rule in the site's standard (every cited one while none is chosen). */
  clausesOf(ruleId: string | undefined, cited: readonly { source: string; ref: string }[]): ClauseView[] {
    const chosen = this.settings.standard;
    if (chosen === CUSTOM_SOURCE) return (ruleId ? this.map.get(ruleId) ?? [] : []).map((c) => ({ source: CUSTOM_SOURCE, ref: c.ref, title: c.title }));
    const title = (id: string): string => this.sources.get(id)?.title ?? id;
    return cited.filter((c) => chosen === null || c.source === chosen).map((c) => ({ source: c.source, ref: c.ref, title: title(c.source) }));
  }

  /**
   * Replace the clause map with a CSV file: ルールID, 条項番号, 条項名 (a header row is
   * optional; several rows per rule; a row with both clause cells empty says the rule has
   * no clause in this standard). Nothing is stored when any row is wrong.
   */
  async importClauseMap(text: string): Promise<{ rules: number; clauses: number }> {
    let rows: string[][];
    try {
      rows = parseCsv(text);
    } catch (err) {
      if (err instanceof CsvError) throw new ClauseMapError([err.text]);
      throw err;
    }
    const errors: Msg[] = [];
    const seen = new Map<string, number>();
    const entries: { ruleId: string; ref: string; title: string }[] = [];
    rows.forEach((raw, i) => {
      const line = i + 1;
      const cells = raw.map((c) => unguard(c.trim()));
      if (i === 0 && HEADER_NAMES.has((cells[0] ?? '').toLowerCase())) return;
      if (cells.length !== 3) {
        errors.push(msg('error.clauseMap.columns', { line, header: CLAUSE_MAP_HEADER.join(', '), n: cells.length }));
        return;
      }
      const [ruleId, ref, title] = cells as [string, string, string];
      if (!ruleId) return void errors.push(msg('error.clauseMap.noRule', { line }));
      if (!this.ruleIds.has(ruleId)) return void errors.push(msg('error.clauseMap.unknownRule', { line, rule: ruleId }));
      if (!ref && !title) return;
      if (!ref) return void errors.push(msg('error.clauseMap.noRef', { line, rule: ruleId }));
      if (!title) return void errors.push(msg('error.clauseMap.noTitle', { line, rule: ruleId, ref }));
      if (ref.length > 64) return void errors.push(msg('error.clauseMap.refTooLong', { line, n: ref.length }));
      if (title.length > 300) return void errors.push(msg('error.clauseMap.titleTooLong', { line, n: title.length }));
      const key = `${ruleId}\u0000${ref}`;
      const before = seen.get(key);
      if (before !== undefined) return void errors.push(msg('error.clauseMap.duplicate', { line, rule: ruleId, ref, before }));
      seen.set(key, line);
      entries.push({ ruleId, ref, title });
    });
    if (!errors.length && entries.length === 0) errors.push(msg('error.clauseMap.empty'));
    if (errors.length) throw new ClauseMapError(errors);
    const position = new Map<string, number>();
    await this.sql.transaction(async (tx) => {
      await tx.run('DELETE FROM console_clause_map');
      for (const e of entries) {
        const n = position.get(e.ruleId) ?? 0;
        position.set(e.ruleId, n + 1);
        await tx.run('INSERT INTO console_clause_map (rule_id, position, ref, title) VALUES (?, ?, ?, ?)', [e.ruleId, n, e.ref, e.title]);
      }
    });
    await this.load();
    return { rules: position.size, clauses: entries.length };
  }

  /** The clause map as CSV for Excel; before any import, one empty row per rule to fill in. */
  clauseMapCsv(): string {
    const rows: string[][] = [];
    for (const rule of this.rules) {
      const mine = this.map.get(rule.id);
      if (mine?.length) for (const c of mine) rows.push([rule.id, c.ref, c.title]);
      else rows.push([rule.id, '', '']);
    }
    return toCsv(CLAUSE_MAP_HEADER, rows);
  }
}
