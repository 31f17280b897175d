// 今すぐ検査: find any PC of the fleet (search, 課, segment, group, online: answered by the
// server one page at a time), tick PCs or take every PC of the filtered list, and scan them.
// Each PC's row shows its last scan of this visit and its result, updated in place when the
// agent answers (live stream) or when a poll finds the request done.
import { api, badge, field, flash, fmtTime, guard, h, listeners, num, route, select, state, t } from './core.js';
import { pcPageFetcher, pcQuery } from './pc-pages.js';
import { PagedTable } from './table.js';

const FILTERS = ['q', 'department', 'segment', 'group', 'online'];
/** Requests polled per call (their ids go in the address, which has a size limit). */
const POLL_CHUNK = 100;

/** One check of a scan result in words: its verdict, never the bare transport status (a check that ran and found violations is 「違反 N 件」, not "ok"). */
export function scanCheckText(c) {
  if (c.failed > 0) return t('scan.failed', { n: c.failed });
  return t(c.status === 'ok' ? 'status.pass' : c.status === 'unknown' ? 'status.unknown' : 'scan.error');
}

function resultCell(r) {
  if (!r) return h('td', { class: 'muted' }, '—');
  const stateBadge = badge(`scan-${r.state}`, t(`scan.state.${r.state}`));
  if (!Array.isArray(r.result)) return h('td', {}, stateBadge, h('div', { class: 'muted small' }, t('scan.requestedAt', { at: fmtTime(r.requestedAt) })));
  const failed = r.result.reduce((n, c) => n + (c.failed || 0), 0);
  return h(
    'td',
    { 'data-testid': 'scan-result' },
    stateBadge,
    ' ',
    failed ? badge('st-fail', t('scan.failed', { n: failed })) : badge('st-pass', t('status.pass')),
    h('div', { class: 'muted small' }, t('scan.completedAt', { at: fmtTime(r.completedAt) })),
    h('ul', { class: 'small plain' }, r.result.map((c) => h('li', { dataset: { check: c.checkId } }, `${t(`check.${c.checkId}`)}: ${scanCheckText(c)}`))),
  );
}

const queryString = (f) => pcQuery(FILTERS, f);

export async function scanScreen(preselect) {
  const params = route().params;
  const f = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  // From a PC's page (#/scan/<id>): that PC found and ticked.
  if (preselect && !f.q) f.q = preselect;
  const selected = new Set(preselect ? [preselect] : []);
  /** The requests of this visit, by PC id. */
  const requests = new Map();
  const lists = { departments: state.me.departments || [], groups: state.me.groups || [] };

  const selCount = h('span', { 'data-testid': 'scan-selected' });
  const scanSel = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'scan-selected-start', disabled: true }, t('scan.startSelected'));
  const scanAll = h('button', { type: 'button', class: 'btn', 'data-testid': 'scan-all-start' }, t('scan.startAll'));
  const showSelection = () => {
    selCount.textContent = t('pcs.selected', { n: num(selected.size) });
    scanSel.disabled = selected.size === 0;
  };
  const pickAll = h('input', { type: 'checkbox', 'aria-label': t('pcs.pickPage'), 'data-testid': 'scan-pick-page', onchange: (e) => {
    for (const p of table.rows) e.target.checked ? selected.add(p.id) : selected.delete(p.id);
    for (const box of table.tbody.querySelectorAll('input[data-testid=scan-pick]')) box.checked = e.target.checked;
    showSelection();
  } });
  const table = new PagedTable({
    headers: [pickAll, { label: t('pcs.hostname'), sort: 'hostname' }, { label: t('pcs.status'), sort: 'online', first: 'desc' }, { label: t('common.department'), sort: 'department' }, { label: t('common.segment'), sort: 'segment' }, t('common.group'), t('scan.last')],
    testid: 'scan-table',
    keyOf: (p) => p.id,
    renderRow: (p) =>
      h(
        'tr',
        { class: 'pcrow', dataset: { id: p.id, host: p.hostname, state: requests.get(p.id)?.state || '' } },
        h('td', { class: 'pick' }, h('input', { type: 'checkbox', 'aria-label': p.hostname, 'data-testid': 'scan-pick', checked: selected.has(p.id), onchange: (e) => {
          if (e.target.checked) selected.add(p.id);
          else selected.delete(p.id);
          showSelection();
        } })),
        h('td', {}, h('a', { href: `#/pc/${encodeURIComponent(p.id)}` }, p.hostname)),
        h('td', {}, badge(p.online ? 'online' : 'offline', t(`online.${p.online}`))),
        h('td', { class: 'dep' }, p.department || h('span', { class: 'muted' }, t('common.unassigned'))),
        h('td', {}, t(`segment.${p.segment}`)),
        h('td', {}, p.group || '—'),
        resultCell(requests.get(p.id)),
      ),
    fetchPage: pcPageFetcher(FILTERS, lists, () => (pickAll.checked = false)),
    onQuery(q) {
      const qs = queryString(q).toString();
      history.replaceState(null, '', `#/scan${qs ? `?${qs}` : ''}`);
    },
  });

  /** The scans of this visit in numbers, by state. */
  const progress = h('div', { class: 'muted', 'data-testid': 'scan-progress', role: 'status' });
  const showProgress = () => {
    const n = { queued: 0, sent: 0, done: 0 };
    for (const r of requests.values()) n[r.state] = (n[r.state] || 0) + 1;
    progress.textContent = requests.size ? t('scan.progress', { n: num(requests.size), done: num(n.done), sent: num(n.sent), queued: num(n.queued) }) : '';
  };
  /** A request changed: its PC's row is redrawn in place when shown. */
  const changed = (r) => {
    requests.set(r.agentId, r);
    table.update(r.agentId, {});
    showProgress();
  };
  listeners.clear();
  listeners.add((msg) => {
    if (msg.type !== 'scan') return;
    const r = requests.get(msg.agentId);
    if (r && r.id === msg.requestId) changed({ ...r, state: 'done', completedAt: msg.completedAt, result: msg.checks });
  });
  // The stream may be down or the answer may come before the request is known: the rows shown are polled until done.
  let polling = null;
  const poll = async () => {
    polling = null;
    if (route().name !== 'scan') return;
    const open = table.rows.map((p) => requests.get(p.id)).filter((r) => r && r.state !== 'done');
    for (let i = 0; i < open.length; i += POLL_CHUNK) {
      const res = await api('GET', `/api/v1/scans?ids=${open.slice(i, i + POLL_CHUNK).map((r) => r.id).join(',')}`);
      for (const x of res.requests) {
        const r = requests.get(x.agentId);
        if (r && r.id === x.id && (x.state !== r.state || x.result)) changed({ ...r, state: x.state, sentAt: x.sentAt, completedAt: x.completedAt, result: x.result });
      }
    }
    if (open.length) polling = setTimeout(() => void poll().catch(() => undefined), 2000);
  };
  const pollSoon = () => {
    if (!polling) polling = setTimeout(() => void poll().catch(() => undefined), 500);
  };

  async function start(target) {
    const res = await api('POST', '/api/v1/scans', target);
    for (const r of res.requests) requests.set(r.agentId, r);
    showProgress();
    await table.reload();
    const queued = res.requests.filter((r) => r.state === 'queued').length;
    flash(t('scan.requestedFlash', { n: num(res.requests.length), q: num(queued) }));
    pollSoon();
  }
  scanSel.addEventListener('click', guard(() => start({ agentIds: [...selected] })));
  scanAll.addEventListener('click', guard(() => start({ filters: filtersOf(table.query) })));

  let typing = null;
  const bar = h(
    'form',
    { class: 'filters', 'data-testid': 'scan-filters', oninput: (e) => {
      const fd = new FormData(bar);
      const next = { ...table.query };
      for (const k of FILTERS) next[k] = String(fd.get(k) || '');
      clearTimeout(typing);
      typing = setTimeout(() => void table.setQuery(next).then(() => (scanAll.textContent = t('scan.startAll', { n: num(table.total) }))).catch((err) => flash(`${t('common.error')}: ${err.message}`, 'error')), e.target.name === 'q' ? 250 : 0);
    }, onsubmit: (e) => e.preventDefault() },
    field(t('pcs.search'), h('input', { name: 'q', value: f.q, type: 'search', 'data-testid': 'scan-search', placeholder: t('live.searchHint') })),
    field(t('common.department'), select('department', [['', t('common.all')], ['-', t('common.unassigned')], ...lists.departments.map((d) => [d, d])], f.department)),
    field(t('common.segment'), select('segment', [['', t('common.all')], ...['mynumber', 'lgwan', 'internet'].map((x) => [x, t(`segment.${x}`)])], f.segment)),
    field(t('common.group'), select('group', [['', t('common.all')], ['-', t('common.none')], ...lists.groups.map((g) => [g, g])], f.group)),
    field(t('pcs.status'), select('online', [['', t('common.all')], ['true', t('online.true')], ['false', t('online.false')]], f.online)),
  );
  showSelection();
  await table.setQuery(Object.fromEntries(Object.entries(f).filter(([, v]) => v)));
  scanAll.textContent = t('scan.startAll', { n: num(table.total) });
  return h(
    'section',
    {},
    h('h1', {}, t('scan.title')),
    h('p', { class: 'intro' }, t('scan.intro')),
    bar,
    h('div', { class: 'bulk', 'data-testid': 'scan-bulk' }, selCount, scanSel, scanAll),
    progress,
    table.el,
  );
}

function filtersOf(q) {
  return Object.fromEntries(FILTERS.map((k) => [k, q[k]]).filter(([, v]) => v));
}
