// 操作記録: the console audit log, filtered (who, what, target, period) and paged by the
// server with the exact total, exported as CSV with the same filters, and its chain verified.
import { api, badge, csvHref, field, fmtTime, guard, h, route, t } from './core.js';
import { PagedTable } from './table.js';

const FILTERS = ['actor', 'action', 'q', 'from', 'to'];
/** Action families for the filter (the log's action names start with them). */
const FAMILIES = ['session.', 'account.', 'token.', 'violation.', 'pc.', 'pcs.', 'inventory.', 'enrollment_token.', 'scan.', 'policy.', 'update.', 'media.', 'exception.', 'report.', 'audit.', 'forwarder.', 'authz.'];

function queryString(f) {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (f[k]) q.set(k, f[k]);
  return q;
}

/** A role as the console names it; '-' (a failed sign-in of an unknown name) and unknown values as they are. */
function roleLabel(role) {
  const key = `common.role.${role}`;
  const text = t(key);
  return text === key ? role : text;
}

function actionLabel(action) {
  const key = `audit.action.${action}`;
  const text = t(key);
  return text === key ? action : text;
}

export async function auditScreen() {
  const params = route().params;
  const f = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const table = new PagedTable({
    headers: ['#', t('audit.at'), t('audit.actor'), t('audit.action'), t('audit.target'), t('audit.ip')],
    testid: 'audit-table',
    pageSize: 100,
    keyOf: (e) => String(e.seq),
    renderRow: (e) => h('tr', { dataset: { seq: e.seq, action: e.action } }, h('td', { class: 'num' }, String(e.seq)), h('td', { class: 'nowrap' }, fmtTime(e.at)), h('td', {}, e.actor, h('div', { class: 'muted small' }, roleLabel(e.role))), h('td', { class: 'small' }, actionLabel(e.action), h('div', { class: 'mono muted small' }, e.action)), h('td', { class: 'small' }, e.target), h('td', { class: 'mono small' }, e.ip)),
    async fetchPage(q) {
      const qs = queryString(q);
      qs.set('offset', String(q.offset));
      qs.set('limit', String(q.limit));
      const res = await api('GET', `/api/v1/audit?${qs}`);
      return { total: res.total, offset: res.offset, rows: res.entries };
    },
  });
  const csv = h('a', { class: 'btn', 'data-testid': 'audit-csv', download: 'audit-log.csv' }, t('audit.csv'));
  const apply = () => {
    const qs = queryString(f).toString();
    history.replaceState(null, '', `#/audit${qs ? `?${qs}` : ''}`);
    csv.href = csvHref('/api/v1/audit.csv', qs);
    return table.setQuery({ ...f });
  };
  let typing = null;
  const bar = h(
    'form',
    { class: 'filters', 'data-testid': 'audit-filters', oninput: (e) => {
      const fd = new FormData(bar);
      for (const k of FILTERS) f[k] = String(fd.get(k) || '');
      clearTimeout(typing);
      typing = setTimeout(() => void apply().catch(() => {}), e.target.type === 'text' || e.target.type === 'search' ? 300 : 0);
    }, onsubmit: (e) => e.preventDefault() },
    field(t('audit.actor'), h('input', { name: 'actor', value: f.actor, type: 'search', size: 12 })),
    field(t('audit.action'), h('select', { name: 'action' }, h('option', { value: '' }, t('common.all')), FAMILIES.map((x) => h('option', { value: x, selected: f.action === x ? true : undefined }, `${actionLabel(x.slice(0, -1))} (${x}*)`)))),
    field(t('audit.target'), h('input', { name: 'q', value: f.q, type: 'search', size: 16 })),
    field(t('reports.from'), h('input', { name: 'from', value: f.from, type: 'date' })),
    field(t('reports.to'), h('input', { name: 'to', value: f.to, type: 'date' })),
  );
  await apply();
  const result = h('span', { 'data-testid': 'audit-verify-result' });
  return h(
    'section',
    {},
    h('div', { class: 'title-row' }, h('h1', {}, t('audit.title')), h('div', { class: 'btns' }, csv, h('button', { type: 'button', class: 'btn', onclick: guard(async () => {
      const v = await api('GET', '/api/v1/audit/verify');
      result.replaceChildren(v.ok ? badge('st-pass', t('audit.ok', { n: v.rows })) : badge('st-fail', t('audit.broken', { why: v.why })));
    }) }, t('audit.verify')), result)),
    bar,
    table.el,
  );
}
