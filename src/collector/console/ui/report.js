// 自己点検報告: a document an auditor can submit as printed — organisation, 年度 and period,
// scope, the standard the site follows, an approval block (作成者 / 確認者 / 承認者 with 印
// boxes), results per area, per clause of the site's standard and per rule, and the trend of
// the compliance rate. Dates in Japanese (和暦 or 西暦). Print CSS never cuts a title.
// Administrators choose the standard here, or import their own clause map (CSV).
import { api, can, csvHref, field, flash, guard, h, hooks, loc, num, route, select, sevBadge, state, t } from './core.js';
import { areaName, rateChart } from './overview.js';

const JST = 'Asia/Tokyo';

/** A JST day (YYYY-MM-DD) as the report writes it: 令和8年12月6日 / 2026年12月6日 / 6 December 2026. */
export function fmtDay(day, era) {
  const d = new Date(`${day}T00:00:00+09:00`);
  if (state.lang !== 'ja') return d.toLocaleDateString('en-GB', { year: 'numeric', month: 'long', day: 'numeric', timeZone: JST });
  if (era === 'wareki') return new Intl.DateTimeFormat('ja-JP-u-ca-japanese', { era: 'long', year: 'numeric', month: 'long', day: 'numeric', timeZone: JST }).format(d);
  return new Intl.DateTimeFormat('ja-JP', { year: 'numeric', month: 'long', day: 'numeric', timeZone: JST }).format(d);
}

/** 年度 (April–March): 令和8年度 / 2026年度 / FY2026. */
export function fmtFiscalYear(year, era) {
  if (state.lang !== 'ja') return `FY${year}`;
  if (era !== 'wareki') return `${year}年度`;
  const parts = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', { era: 'long', year: 'numeric', timeZone: JST }).formatToParts(new Date(`${year}-04-01T00:00:00+09:00`));
  return `${parts.find((p) => p.type === 'era').value}${parts.find((p) => p.type === 'year').value}年度`;
}

function fmtDateTime(iso, era) {
  const day = new Date(Date.parse(iso) + 9 * 3600000).toISOString();
  return `${fmtDay(day.slice(0, 10), era)} ${day.slice(11, 16)}`;
}

const rateOf = (c) => {
  const total = c.pass + c.fail + c.unknown + c.excepted;
  return total ? Math.round((c.pass / total) * 100) : null;
};

function counts(c) {
  const rate = rateOf(c);
  return [h('td', { class: 'num' }, num(c.pass)), h('td', { class: `num ${c.fail ? 'ng' : ''}` }, num(c.fail)), h('td', { class: 'num' }, num(c.excepted)), h('td', { class: 'num' }, num(c.unknown)), h('td', { class: 'num muted' }, num(c.notApplicable)), h('td', { class: 'num' }, rate === null ? '—' : `${rate}%`)];
}
const countHeads = () => [t('status.pass'), t('status.fail'), t('status.excepted'), t('status.unknown'), t('status.notApplicable'), t('reports.rate')].map((x) => h('th', { class: 'num' }, x));

function docTable(testid, heads, rows) {
  return h('table', { class: 'doc-table', 'data-testid': testid }, h('thead', {}, h('tr', {}, heads)), h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: heads.length, class: 'empty' }, t('common.empty')))));
}

function approvalBlock(r) {
  const roles = [['preparedBy', t('reports.preparedBy')], ['checkedBy', t('reports.checkedBy')], ['approvedBy', t('reports.approvedBy')]];
  return h(
    'table',
    { class: 'approval', 'data-testid': 'approval-block' },
    h('tr', {}, roles.map(([, label]) => h('th', {}, label))),
    h('tr', {}, roles.map(([k]) => h('td', { class: 'seal' }, h('div', { class: 'seal-name' }, r.approvals[k] || ''), h('div', { class: 'seal-box', 'aria-label': t('reports.seal') }, t('reports.seal'))))),
    h('tr', {}, roles.map(() => h('td', { class: 'seal-date' }, t('reports.sealDate')))),
  );
}

/** The compliance rate of the period: the chart, and the last value of each month as a table (readable on paper). */
function trendSection(r) {
  const byDay = new Map(r.trend.map((p) => [p.day, p]));
  const days = [];
  for (let d = Date.parse(`${r.period.from}T00:00:00Z`); d <= Date.parse(`${r.period.to}T00:00:00Z`); d += 86400000) days.push(new Date(d).toISOString().slice(0, 10));
  const rates = days.map((d) => {
    const p = byDay.get(d);
    const v = p ? rateOf(p) : null;
    return v === null ? null : v / 100;
  });
  const months = new Map();
  for (const p of r.trend) months.set(p.day.slice(0, 7), p);
  const rows = [...months.entries()].map(([m, p]) => h('tr', {}, h('td', {}, fmtDay(p.day, r.era)), h('td', { class: 'num' }, rateOf(p) === null ? '—' : `${rateOf(p)}%`), h('td', { class: 'num' }, num(p.fail)), h('td', { class: 'num' }, num(p.unknown)), h('td', { class: 'muted small' }, m)));
  return h(
    'div',
    { class: 'doc-trend' },
    rateChart(days, rates, { testid: 'report-trend', label: t('reports.trend') }),
    docTable('report-trend-table', [h('th', {}, t('reports.asOf')), h('th', { class: 'num' }, t('reports.rate')), h('th', { class: 'num' }, t('status.fail')), h('th', { class: 'num' }, t('status.unknown')), h('th', {}, '')], rows),
  );
}

function reportDocument(r) {
  const scope = r.department || t('reports.org');
  const std = r.standard;
  return h(
    'article',
    { class: 'report-doc', 'data-testid': 'report-doc' },
    h('h1', { class: 'doc-title' }, t('reports.docTitle', { fy: fmtFiscalYear(r.fiscalYear, r.era) })),
    h('div', { class: 'doc-head' },
      h('table', { class: 'doc-meta', 'data-testid': 'report-meta' },
        h('tr', {}, h('th', {}, t('reports.organisation')), h('td', {}, r.organisation || h('span', { class: 'muted' }, t('reports.organisationUnset')))),
        h('tr', {}, h('th', {}, t('reports.scope')), h('td', {}, scope)),
        h('tr', {}, h('th', {}, t('reports.period')), h('td', { 'data-testid': 'report-period' }, `${fmtDay(r.period.from, r.era)} 〜 ${fmtDay(r.period.to, r.era)}`)),
        h('tr', {}, h('th', {}, t('reports.standard')), h('td', { 'data-testid': 'report-standard' }, std.kind === 'none' ? h('span', { class: 'ng' }, t('reports.standardUnset')) : [std.title, std.edition ? h('div', { class: 'small muted' }, std.edition) : null])),
        h('tr', {}, h('th', {}, t('reports.generated')), h('td', {}, fmtDateTime(r.generatedAt, r.era))),
        h('tr', {}, h('th', {}, t('reports.pcs')), h('td', {}, num(r.pcs))),
      ),
      approvalBlock(r),
    ),
    h('p', { class: 'doc-note small' }, t('reports.basis')),
    h('h2', {}, `1. ${t('reports.byArea')}`),
    docTable('report-areas', [h('th', {}, t('live.check')), ...countHeads()], r.areas.map((a) => h('tr', {}, h('td', {}, areaName(a.checkId)), ...counts(a)))),
    h('h2', {}, `2. ${t('reports.byClause')}`),
    std.kind === 'none' ? h('p', { class: 'notice' }, t('reports.standardUnsetLong')) : null,
    docTable('report-clauses', [h('th', {}, t('reports.clause')), h('th', {}, t('reports.clauseTitle')), h('th', {}, t('policy.rule')), ...countHeads()], r.clauses.map((c) => h('tr', {}, h('td', { class: 'clause-no' }, c.ref), h('td', { class: 'clause-title' }, c.title), h('td', { class: 'mono small' }, c.ruleIds.join(', ')), ...counts(c)))),
    h('h2', {}, `3. ${t('reports.byRule')}`),
    docTable('report-rules', [h('th', {}, t('policy.rule')), h('th', {}, t('live.severity')), h('th', {}, t('reports.clause')), ...countHeads()], r.rules.map((x) => h('tr', {}, h('td', { class: 'rule-name' }, h('div', {}, loc(x.name)), h('div', { class: 'mono small muted' }, x.ruleId)), h('td', {}, sevBadge(x.severity)), h('td', { class: 'clause-cell' }, x.clauses.length ? x.clauses.map((c) => h('div', {}, h('span', { class: 'clause-no' }, c.ref), r.standard.kind === 'custom' ? ` ${c.title}` : '')) : h('span', { class: 'muted' }, t('reports.noClause'))), ...counts(x)))),
    h('h2', {}, `4. ${t('reports.trend')}`),
    trendSection(r),
  );
}

/** The settings stay unfolded across re-renders once opened (and while no standard is chosen). */
let settingsOpen = false;

function settingsPanel(cfg) {
  const st = cfg.settings;
  const form = h(
    'form',
    { class: 'form-grid', 'data-testid': 'report-settings', onsubmit: guard(async (e) => {
      e.preventDefault();
      const fd = Object.fromEntries(new FormData(form));
      await api('PUT', '/api/v1/reports/settings', { organisation: fd.organisation, standard: fd.standard || null, era: fd.era, preparedBy: fd.preparedBy, checkedBy: fd.checkedBy, approvedBy: fd.approvedBy });
      flash(t('common.saved'));
      hooks.render();
    }) },
    field(t('reports.organisation'), h('input', { name: 'organisation', value: st.organisation, maxlength: 100 })),
    field(t('reports.standard'), select('standard', [['', t('reports.standardNone')], ...cfg.choices.map((c) => [c.id, `${c.id === 'site' ? '' : `${c.id} `}${c.title}`])], st.standard || '')),
    field(t('reports.era'), select('era', [['wareki', t('reports.wareki')], ['seireki', t('reports.seireki')]], st.era)),
    field(t('reports.preparedBy'), h('input', { name: 'preparedBy', value: st.preparedBy, maxlength: 60 })),
    field(t('reports.checkedBy'), h('input', { name: 'checkedBy', value: st.checkedBy, maxlength: 60 })),
    field(t('reports.approvedBy'), h('input', { name: 'approvedBy', value: st.approvedBy, maxlength: 60 })),
    h('div', { class: 'span2' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'report-settings-save' }, t('common.save'))),
  );
  const errors = h('ul', { class: 'import-errors', 'data-testid': 'clause-map-errors', role: 'alert' });
  const fileIn = h('input', { type: 'file', accept: '.csv,text/csv', class: 'hidden-file', 'data-testid': 'clause-map-file', onchange: guard(async () => {
    const f = fileIn.files[0];
    if (!f) return;
    errors.replaceChildren();
    try {
      const res = await api('POST', '/api/v1/reports/clause-map', await f.text(), { raw: 'text/csv' });
      flash(t('reports.mapImported', { r: res.rules, c: res.clauses }));
      hooks.render();
    } catch (err) {
      const body = err.body || {};
      const list = (state.lang === 'en' && body.errorsEn) || body.errors || [err.message];
      errors.replaceChildren(...list.map((m) => h('li', {}, m)));
    } finally {
      fileIn.value = '';
    }
  }) });
  const panel = h(
    'details',
    { class: 'card no-print settings', open: !st.standard || settingsOpen ? true : undefined, ontoggle: () => (settingsOpen = panel.open) },
    h('summary', {}, t('reports.settings')),
    form,
    h('h3', {}, t('reports.clauseMap')),
    h('p', { class: 'small' }, t('reports.clauseMapHelp')),
    h('div', { class: 'btns' }, h('a', { class: 'btn', href: '/api/v1/reports/clause-map.csv', download: 'clause-map.csv' }, t('reports.clauseMapTemplate')), h('label', { class: 'btn' }, t('reports.clauseMapImport'), fileIn)),
    errors,
  );
  return panel;
}

export async function reportsScreen(dep) {
  const params = route().params;
  const q = new URLSearchParams();
  if (dep) q.set('department', dep);
  for (const k of ['year', 'from', 'to']) if (params.get(k)) q.set(k, params.get(k));
  const [r, cfg] = await Promise.all([api('GET', `/api/v1/reports/self-inspection?${q}`), api('GET', '/api/v1/reports/settings')]);
  if (params.get('era') === 'wareki' || params.get('era') === 'seireki') r.era = params.get('era');
  const deps = state.me.departments || [];
  const go = (changes) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) (v ? next.set(k, v) : next.delete(k));
    const scope = 'department' in changes ? changes.department : dep;
    next.delete('department');
    location.hash = `#/reports${scope ? `/${encodeURIComponent(scope)}` : ''}${next.toString() ? `?${next}` : ''}`;
  };
  const thisYear = r.fiscalYear;
  const years = [thisYear + 1, thisYear, thisYear - 1, thisYear - 2, thisYear - 3].filter((y) => y <= new Date().getFullYear());
  const scopeSel = select('department', [['', t('reports.org')], ...deps.map((d) => [d, d])], dep || '');
  scopeSel.addEventListener('change', () => go({ department: scopeSel.value }));
  const yearSel = select('year', years.map((y) => [String(y), fmtFiscalYear(y, r.era)]), String(thisYear));
  yearSel.addEventListener('change', () => go({ year: yearSel.value, from: '', to: '' }));
  const fromIn = h('input', { type: 'date', name: 'from', value: r.period.from });
  const toIn = h('input', { type: 'date', name: 'to', value: r.period.to });
  const eraSel = select('era', [['wareki', t('reports.wareki')], ['seireki', t('reports.seireki')]], r.era);
  eraSel.addEventListener('change', () => go({ era: eraSel.value }));
  const csvQ = new URLSearchParams(q);
  csvQ.set('from', r.period.from);
  csvQ.set('to', r.period.to);
  return h(
    'section',
    { class: 'report' },
    h('div', { class: 'title-row no-print' }, h('h1', {}, t('reports.title')), h('div', { class: 'btns' }, h('a', { class: 'btn', href: csvHref('/api/v1/reports/self-inspection.csv', csvQ), 'data-testid': 'report-csv' }, t('reports.csv')), h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'report-print', onclick: () => window.print() }, t('common.print')))),
    h('form', { class: 'filters no-print', 'data-testid': 'report-filters', onsubmit: (e) => {
      e.preventDefault();
      go({ from: fromIn.value, to: toIn.value });
    } }, field(t('reports.scope'), scopeSel), field(t('reports.fiscalYear'), yearSel), field(t('reports.from'), fromIn), field(t('reports.to'), toIn), h('button', { type: 'submit', class: 'btn btn-small' }, t('reports.apply')), field(t('reports.era'), eraSel)),
    can('policy.write') ? settingsPanel(cfg) : null,
    reportDocument(r),
  );
}
