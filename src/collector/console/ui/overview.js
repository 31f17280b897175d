// 概要: open violations per 課 and per kind (each number a link to the violation list with
// those filters, which shows exactly that many rows), and the daily trends of the last 90
// days as small inline SVG charts (no chart library). Kinds come from the rule catalogue,
// so a new area appears here by itself.
import { api, h, num, s, state, t } from './core.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];

/** The name of an area (check id); an area the texts do not know yet shows its id. */
export function areaName(checkId) {
  return state.dict[`check.${checkId}`] ?? checkId;
}

/** #/live with filters: the violation list shows what a count counted. */
export function liveLink(filters) {
  const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== undefined && v !== ''));
  return `#/live${q.toString() ? `?${q}` : ''}`;
}

function countLink(n, filters, testid) {
  if (!n) return h('span', { class: 'muted' }, '0');
  return h('a', { href: liveLink(filters), class: 'count-link', 'data-testid': testid }, num(n));
}

function matrix(o, checks) {
  const depKey = (d) => (d === '' ? '-' : d);
  const rows = o.byDepartment.map((d) =>
    h(
      'tr',
      { dataset: { department: d.department || '-' } },
      h('th', { scope: 'row' }, d.department || t('common.unassigned')),
      h('td', { class: 'num' }, num(d.pcs)),
      ...checks.map((c) => h('td', { class: 'num' }, countLink(d.byCheck[c] || 0, { department: depKey(d.department), check: c }, 'cell'))),
      h('td', { class: 'num total' }, countLink(d.open, { department: depKey(d.department) }, 'row-total')),
      h('td', { class: 'num muted' }, d.excepted ? num(d.excepted) : '0'),
    ),
  );
  const totals = h(
    'tr',
    { class: 'totals' },
    h('th', { scope: 'row' }, t('overview.total')),
    h('td', { class: 'num' }, num(o.pcs)),
    ...checks.map((c) => h('td', { class: 'num' }, countLink(o.byCheck[c] || 0, { check: c }, 'col-total'))),
    h('td', { class: 'num total' }, countLink(o.openViolations, {}, 'grand-total')),
    h('td', { class: 'num muted' }, num(o.excepted)),
  );
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid matrix', 'data-testid': 'overview-matrix' },
      h('thead', {}, h('tr', {}, h('th', {}, t('common.department')), h('th', {}, t('overview.pcs')), checks.map((c) => h('th', { dataset: { check: c } }, areaName(c))), h('th', {}, t('overview.openAll')), h('th', {}, t('overview.excepted')))),
      h('tbody', {}, rows, totals),
    ),
  );
}

function severityBars(o) {
  return h(
    'ul',
    { class: 'sev-bars' },
    SEVERITIES.map((k) => {
      const n = o.bySeverity[k] || 0;
      const max = Math.max(1, ...SEVERITIES.map((x) => o.bySeverity[x] || 0));
      // Widths through the CSSOM: the console's CSP (style-src 'self') refuses style attributes.
      const bar = h('span', { class: `sev-bar bar-${k}` });
      bar.style.width = `${Math.round((n / max) * 100)}%`;
      return h('li', {}, h('span', { class: 'sev-label' }, t(`severity.${k}`)), h('span', { class: 'sev-track' }, bar), countLink(n, { severity: k }, `sev-${k}`));
    }),
  );
}

// ------------------------------------------------------------------ charts
const W = 720;

/** Month-start ticks of a day list (YYYY-MM-DD): [index, label]. */
function monthTicks(days) {
  return days.map((d, i) => [i, d]).filter(([i, d]) => i === 0 || d.endsWith('-01')).map(([i, d]) => [i, `${Number(d.slice(5, 7))}/${Number(d.slice(8, 10))}`]);
}

/** Compliance rate per day (0–1 or null), a line with gaps where no snapshot was taken. */
export function rateChart(days, rates, opts = {}) {
  const H = opts.height || 200;
  const left = 44;
  const right = W - 12;
  const top = 12;
  const bottom = H - 28;
  const x = (i) => left + (days.length > 1 ? (i / (days.length - 1)) * (right - left) : 0);
  const y = (r) => bottom - r * (bottom - top);
  const svg = s('svg', { class: 'chart trend', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': opts.label || t('overview.rate'), 'data-testid': opts.testid || 'rate-chart' });
  for (const pct of [0, 25, 50, 75, 100]) svg.append(s('line', { x1: left, x2: right, y1: y(pct / 100), y2: y(pct / 100), class: 'gridline' }), s('text', { x: 4, y: y(pct / 100) + 4, class: 'chart-label' }, `${pct}%`));
  for (const [i, label] of monthTicks(days)) svg.append(s('line', { x1: x(i), x2: x(i), y1: bottom, y2: bottom + 4, class: 'axis' }), s('text', { x: x(i) - 8, y: H - 8, class: 'chart-label' }, label));
  svg.append(s('line', { x1: left, x2: right, y1: bottom, y2: bottom, class: 'axis' }));
  let seg = [];
  const flush = () => {
    if (seg.length > 1) svg.append(s('polyline', { points: seg.join(' '), class: 'trend-line' }));
    if (seg.length === 1) svg.append(s('circle', { cx: seg[0].split(',')[0], cy: seg[0].split(',')[1], r: 2.5, class: 'trend-dot' }));
    seg = [];
  };
  rates.forEach((r, i) => (r === null ? flush() : seg.push(`${x(i).toFixed(1)},${y(r).toFixed(1)}`)));
  flush();
  const lastIdx = rates.map((r, i) => (r === null ? -1 : i)).reduce((a, b) => Math.max(a, b), -1);
  if (lastIdx >= 0) svg.append(s('text', { x: Math.min(x(lastIdx) + 4, right - 36), y: y(rates[lastIdx]) - 6, class: 'chart-value', 'data-testid': 'rate-last' }, `${Math.round(rates[lastIdx] * 100)}%`));
  return svg;
}

/** Opened (up, red) and closed (down, green) per day. */
function flowChart(days, opened, closed) {
  const H = 190;
  const left = 44;
  const right = W - 12;
  const mid = 90;
  const max = Math.max(1, ...opened, ...closed);
  const bw = Math.max(1, (right - left) / days.length - 1);
  const x = (i) => left + (i / days.length) * (right - left);
  const svg = s('svg', { class: 'chart flow', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('overview.flow'), 'data-testid': 'flow-chart' });
  svg.append(s('line', { x1: left, x2: right, y1: mid, y2: mid, class: 'axis' }), s('text', { x: 4, y: 16, class: 'chart-label' }, `+${num(max)}`), s('text', { x: 4, y: mid + 4, class: 'chart-label' }, '0'), s('text', { x: 4, y: 2 * mid - 8, class: 'chart-label' }, `−${num(max)}`));
  days.forEach((d, i) => {
    const up = (opened[i] / max) * (mid - 10);
    const down = (closed[i] / max) * (mid - 10);
    if (up) svg.append(s('rect', { x: x(i), y: mid - up, width: bw, height: up, class: 'bar-open' }, s('title', {}, `${d} ${t('overview.opened')} ${opened[i]}`)));
    if (down) svg.append(s('rect', { x: x(i), y: mid, width: bw, height: down, class: 'bar-closed' }, s('title', {}, `${d} ${t('overview.closed')} ${closed[i]}`)));
  });
  for (const [i, label] of monthTicks(days)) svg.append(s('text', { x: x(i), y: H - 2, class: 'chart-label' }, label));
  return svg;
}

function sparkline(values) {
  const w = 180;
  const hh = 28;
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => `${((i / Math.max(1, values.length - 1)) * w).toFixed(1)},${(hh - 2 - (v / max) * (hh - 4)).toFixed(1)}`).join(' ');
  return s('svg', { class: 'spark', viewBox: `0 0 ${w} ${hh}`, width: w, height: hh, role: 'img' }, s('polyline', { points: pts, class: 'spark-line' }));
}

const sum = (a) => a.reduce((x, y) => x + y, 0);

/** Per kind or per 課: a sparkline of violations opened per day and the totals opened / closed. */
function breakdown(tr, by, labelOf, filterOf) {
  const keys = [...new Set([...Object.keys(tr.opened[by]), ...Object.keys(tr.closed[by])])].sort((a, b) => sum(tr.opened[by][b] || []) - sum(tr.opened[by][a] || []));
  const zeros = tr.days.map(() => 0);
  return h(
    'table',
    { class: 'grid breakdown', 'data-testid': `trend-${by}` },
    h('thead', {}, h('tr', {}, h('th', {}, by === 'byCheck' ? t('live.check') : t('common.department')), h('th', {}, t('overview.openedPerDay')), h('th', {}, t('overview.opened')), h('th', {}, t('overview.closed')))),
    h(
      'tbody',
      {},
      keys.length
        ? keys.map((k) => h('tr', { dataset: { key: k } }, h('th', { scope: 'row' }, h('a', { href: liveLink({ ...filterOf(k), state: 'all', sort: 'openedAt' }) }, labelOf(k))), h('td', {}, sparkline(tr.opened[by][k] || zeros)), h('td', { class: 'num' }, num(sum(tr.opened[by][k] || []))), h('td', { class: 'num' }, num(sum(tr.closed[by][k] || [])))))
        : h('tr', {}, h('td', { colspan: 4, class: 'empty' }, t('common.empty'))),
    ),
  );
}

export async function overviewScreen() {
  const [o, tr] = await Promise.all([api('GET', '/api/v1/reports/overview'), api('GET', '/api/v1/reports/trends?days=90')]);
  const checks = [...new Set([...o.checks, ...Object.keys(o.byCheck)])];
  const tiles = [
    ['overview.pcs', num(o.pcs), '', null],
    ['overview.online', num(o.online), '', null],
    ['overview.open', num(o.openViolations), o.openViolations ? 'tile-alert' : 'tile-ok', liveLink({})],
    ['overview.excepted', num(o.excepted), '', null],
  ];
  const lastRate = [...tr.compliance].reverse().find((r) => r !== null);
  const tabs = h('div', { class: 'seg-tabs no-print' });
  const holder = h('div', {});
  const show = (by) => {
    holder.replaceChildren(by === 'byCheck' ? breakdown(tr, 'byCheck', areaName, (k) => ({ check: k })) : breakdown(tr, 'byDepartment', (k) => k || t('common.unassigned'), (k) => ({ department: k || '-' })));
    for (const b of tabs.children) b.classList.toggle('active', b.dataset.by === by);
  };
  tabs.append(...[['byCheck', t('overview.perCheck')], ['byDepartment', t('overview.perDepartment')]].map(([by, label]) => h('button', { type: 'button', class: 'btn btn-small', dataset: { by }, onclick: () => show(by) }, label)));
  show('byCheck');
  return h(
    'section',
    {},
    h('h1', {}, t('overview.title')),
    h('div', { class: 'tiles' }, tiles.map(([k, v, cls, href]) => h('div', { class: `tile ${cls}` }, h('div', { class: 'tile-value' }, href ? h('a', { href, 'data-testid': `tile-${k}` }, v) : v), h('div', { class: 'tile-label' }, t(k))))),
    h('h2', {}, t('overview.matrix')),
    matrix(o, checks),
    h('div', { class: 'cols' }, h('div', { class: 'card' }, h('h2', {}, t('overview.bySeverity')), severityBars(o)), h('div', { class: 'card' }, h('h2', {}, t('overview.rate'), lastRate !== undefined ? ` — ${Math.round(lastRate * 100)}%` : ''), rateChart(tr.days, tr.compliance))),
    h('h2', {}, t('overview.flow'), ` (${t('overview.days', { n: tr.days.length })})`),
    h('div', { class: 'card' }, flowChart(tr.days, tr.opened.total, tr.closed.total), h('div', { class: 'legend small' }, h('span', { class: 'key key-open' }), t('overview.opened'), ' ', h('span', { class: 'key key-closed' }), t('overview.closed'))),
    h('h2', {}, t('overview.breakdown')),
    tabs,
    holder,
  );
}
