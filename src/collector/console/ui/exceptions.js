// 例外措置: requests and their decisions, filtered by state and text and paged by the server
// (newest request first, the exact total shown). Approving, rejecting or revoking one redraws
// its row in place; the requester can never decide their own request.
import { api, badge, can, field, flash, fmtTime, guard, h, route, select, state, t } from './core.js';
import { PagedTable } from './table.js';
import { exceptionDialog } from './violations.js';

const FILTERS = ['state', 'q'];
const STATES = ['requested', 'approved', 'rejected', 'revoked', 'expired'];
const STATE_BADGE = { requested: 'st-unknown', approved: 'st-excepted', rejected: 'st-fail', revoked: 'st-none', expired: 'st-none' };

function queryString(f) {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (f[k]) q.set(k, f[k]);
  return q;
}

export async function exceptionsScreen() {
  const params = route().params;
  const f = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const mine = state.me.user.username;
  const decide = (e, action) =>
    guard(async () => {
      const res = await api('POST', `/api/v1/exceptions/${e.id}/${action}`, { comment: '' });
      table.update(e.id, res.exception);
      flash(t(`exc.done.${action}`, { rule: e.ruleId, pc: e.hostname || t('common.all') }));
    });
  const actions = (e) => {
    const acts = [];
    if (e.state === 'requested' && can('exceptions.decide')) {
      if (e.requestedBy === mine) acts.push(h('span', { class: 'muted small' }, t('exc.self')));
      else acts.push(h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'approve', onclick: decide(e, 'approve') }, t('exc.approve')), h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'reject', onclick: decide(e, 'reject') }, t('exc.reject')));
    }
    if (e.state === 'approved' && can('exceptions.decide')) acts.push(h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'revoke', onclick: decide(e, 'revoke') }, t('exc.revoke')));
    return acts;
  };
  const table = new PagedTable({
    headers: [t('exc.state'), t('exc.rule'), t('exc.subject'), t('exc.pc'), t('common.reason'), t('exc.until'), t('exc.requestedBy'), t('exc.decidedBy'), t('common.actions')],
    testid: 'exceptions-table',
    keyOf: (e) => e.id,
    renderRow: (e) =>
      h(
        'tr',
        { dataset: { id: e.id, state: e.state } },
        h('td', {}, badge(STATE_BADGE[e.state], t(`exc.state.${e.state}`))),
        h('td', { class: 'mono' }, e.ruleId),
        h('td', { class: 'mono small' }, e.subject),
        h('td', { class: 'small', title: e.agentId || '' }, e.agentId ? (e.hostname ? h('a', { href: `#/pc/${encodeURIComponent(e.agentId)}` }, e.hostname) : e.agentId) : t('common.all')),
        h('td', {}, e.reason),
        h('td', { class: 'nowrap' }, fmtTime(e.until)),
        h('td', {}, e.requestedBy, h('div', { class: 'muted small' }, fmtTime(e.requestedAt))),
        h('td', {}, e.decidedBy || '—', e.decidedAt ? h('div', { class: 'muted small' }, fmtTime(e.decidedAt)) : null),
        h('td', { class: 'actions' }, actions(e)),
      ),
    async fetchPage(q) {
      const qs = queryString(q);
      qs.set('offset', String(q.offset));
      qs.set('limit', String(q.limit));
      const res = await api('GET', `/api/v1/exceptions?${qs}`);
      return { total: res.total, offset: res.offset, rows: res.exceptions };
    },
    onQuery(q) {
      const qs = queryString(q).toString();
      history.replaceState(null, '', `#/exceptions${qs ? `?${qs}` : ''}`);
    },
  });
  let typing = null;
  const bar = h(
    'form',
    { class: 'filters', 'data-testid': 'exceptions-filters', oninput: (e) => {
      const fd = new FormData(bar);
      for (const k of FILTERS) f[k] = String(fd.get(k) || '');
      clearTimeout(typing);
      typing = setTimeout(() => void table.setQuery({ ...f }).catch((err) => flash(`${t('common.error')}: ${err.message}`, 'error')), e.target.name === 'q' ? 250 : 0);
    }, onsubmit: (e) => e.preventDefault() },
    field(t('exc.state'), select('state', [['', t('common.all')], ...STATES.map((s) => [s, t(`exc.state.${s}`)])], f.state)),
    field(t('exc.search'), h('input', { name: 'q', value: f.q, type: 'search', 'data-testid': 'exceptions-search', placeholder: t('exc.searchHint') })),
  );
  await table.setQuery({ ...f });
  return h(
    'section',
    {},
    h('div', { class: 'title-row' }, h('h1', {}, t('exc.title')), can('exceptions.request') ? h('button', { type: 'button', class: 'btn btn-primary', onclick: () => exceptionDialog() }, t('exc.new')) : null),
    h('p', { class: 'intro' }, t('exc.intro')),
    bar,
    table.el,
  );
}
