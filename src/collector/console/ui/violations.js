// 違反 (リアルタイム): the violations of the fleet, filtered, sorted and paged by the server,
// with the live stream merged into the page shown; and the actions on one violation (確認,
// comment, register the medium, request an exception), shared with the PC page.
import { api, badge, can, clauses, csvHref, dialog, field, flash, fmtTime, guard, h, hooks, listeners, loc, route, select, sevBadge, state, statusBadge, t } from './core.js';
import { areaName } from './overview.js';
import { PagedTable } from './table.js';

const SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
const FILTERS = ['state', 'severity', 'check', 'department', 'segment', 'q', 'sort'];

/** The live table while the screen is shown (ack and the stream update its rows in place). */
let liveTable = null;

export function violationRow(v) {
  const closed = v.state === 'closed';
  const stateBadge = closed ? badge('st-pass', t('state.closed')) : v.exceptionId ? statusBadge('excepted') : v.result === 'unknown' ? statusBadge('unknown') : badge('st-fail', t('state.open'));
  const acts = [];
  if (!closed && can('violations.annotate') && !v.acknowledgedBy) acts.push(h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'ack', onclick: guard(() => ack(v, tr)) }, t('live.ack')));
  if (can('violations.annotate')) acts.push(h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'comment', onclick: guard(() => comment(v, tr)) }, t('live.comment')));
  if (!closed && v.ruleId === 'USB-001' && can('media.register')) acts.push(h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'register-medium', onclick: () => registerFromViolation(v) }, t('live.register')));
  if (!closed && !v.exceptionId && can('exceptions.request')) acts.push(h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'request-exception', onclick: () => exceptionDialog({ ruleId: v.ruleId, subject: v.subject, agentId: v.agentId }) }, t('live.requestException')));
  const tr = h(
    'tr',
    { class: `vrow ${closed ? 'closed' : ''}`, dataset: { key: v.key, state: v.state, rule: v.ruleId } },
    h('td', {}, stateBadge, v.acknowledgedBy ? h('div', { class: 'muted small' }, t('live.acked', { user: v.acknowledgedBy })) : null),
    h('td', {}, sevBadge(v.severity)),
    h('td', {}, h('a', { href: `#/pc/${encodeURIComponent(v.agentId)}` }, v.hostname), h('div', { class: 'muted small' }, v.department || '', v.segment ? ` ${t(`segment.${v.segment}`)}` : '')),
    h('td', {}, v.user || '—'),
    h('td', { class: 'what' }, h('div', { class: 'what-title' }, loc(v.title)), h('div', { class: 'small' }, loc(v.message)), h('div', { class: 'small reason', 'data-testid': 'reason' }, loc(v.reasonText) || v.reason), closed && (v.closedReasonText || v.closedReason) ? h('div', { class: 'muted small', 'data-testid': 'closed-reason' }, loc(v.closedReasonText) || v.closedReason) : null, h('div', { class: 'muted small mono' }, v.ruleId), commentList(v.comments)),
    h('td', { class: 'nowrap' }, fmtTime(v.openedAt), closed ? h('div', { class: 'muted small' }, `→ ${fmtTime(v.closedAt)}`) : null),
    h('td', {}, clauses(v.clauses)),
    h('td', { class: 'actions' }, acts),
  );
  return tr;
}

/** The comments on a violation, oldest first, each with who wrote it and when (JST). */
function commentList(comments) {
  if (!comments || !comments.length) return null;
  return h('ul', { class: 'comments', 'data-testid': 'violation-comments', 'aria-label': t('live.comments') }, comments.map((c) => h('li', {}, h('span', { class: 'comment-text' }, c.text), h('span', { class: 'muted small' }, ` — ${t('live.commentBy', { user: c.author, at: fmtTime(c.at) })}`))));
}

/** A row changed here (確認, a comment): redrawn in place in the live table, or wherever it is shown. */
function redraw(v, tr, change) {
  if (!liveTable || !liveTable.update(v.key, change)) tr.replaceWith(violationRow({ ...v, ...change }));
}

export async function ack(v, tr) {
  await api('POST', '/api/v1/violations/ack', { agentId: v.agentId, ruleId: v.ruleId, subject: v.subject });
  redraw(v, tr, { acknowledgedBy: state.me.user.username, acknowledgedAt: new Date().toISOString() });
  flash(t('live.acknowledgedFlash', { pc: v.hostname }));
}

export function comment(v, tr) {
  const ta = h('textarea', { name: 'comment', rows: 4, required: true });
  const dlg = dialog(t('live.comment'), h('div', {}, h('p', {}, `${v.hostname} — ${loc(v.title)}`), commentList(v.comments), field(t('live.commentPrompt'), ta)), h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'comment-save', onclick: guard(async () => {
    const res = await api('POST', '/api/v1/violations/comment', { agentId: v.agentId, ruleId: v.ruleId, subject: v.subject, comment: ta.value });
    dlg.close();
    redraw(v, tr, { comments: [...(v.comments || []), { author: state.me.user.username, at: res.at, text: ta.value.trim() }] });
    flash(t('live.commentedFlash', { pc: v.hostname }));
  }) }, t('common.save')));
}

export function registerFromViolation(v) {
  const dev = (v.facts.devices || []).find((d) => d.fingerprint === v.subject) || (v.facts.fingerprint === v.subject ? v.facts : {});
  const form = h(
    'form',
    { class: 'form-grid', id: 'media-form' },
    h('p', { class: 'span2' }, t('media.fromViolation')),
    field(t('media.fingerprint'), h('input', { name: 'fingerprint', value: v.subject, readonly: true })),
    field(t('media.label'), h('input', { name: 'label', value: dev.product || '' })),
    field(t('media.sticker'), h('input', { name: 'stickerNo', required: true })),
    field(t('media.owner'), h('input', { name: 'owner', required: true, value: v.user || '' })),
    field(t('common.department'), h('input', { name: 'department', required: true, value: v.department || '' })),
    field(t('media.encryption'), select('encryption', ['hardware', 'software', 'none', 'unknown'].map((e) => [e, t(`encryption.${e}`)]), 'unknown')),
  );
  const dlg = dialog(t('live.register'), form, h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'media-save', onclick: guard(async () => {
    if (!form.reportValidity()) return;
    const fd = new FormData(form);
    await api('POST', '/api/v1/media', { stickerNo: fd.get('stickerNo'), owner: fd.get('owner'), department: fd.get('department'), encryption: fd.get('encryption'), label: fd.get('label'), fromViolation: { agentId: v.agentId, ruleId: v.ruleId, subject: v.subject } });
    dlg.close();
    flash(t('common.saved'));
  }) }, t('common.save')));
}

export function exceptionDialog(pre = {}) {
  const until = new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);
  const form = h(
    'form',
    { class: 'form-grid' },
    field(t('exc.rule'), h('input', { name: 'ruleId', required: true, value: pre.ruleId || '', class: 'mono' })),
    field(t('exc.subject'), h('input', { name: 'subject', value: pre.subject || '' })),
    field(t('exc.pc'), h('input', { name: 'agentId', value: pre.agentId || '', class: 'mono' })),
    field(t('exc.until'), h('input', { name: 'until', type: 'date', required: true, value: until })),
    h('label', { class: 'field span2' }, h('span', {}, t('common.reason')), h('textarea', { name: 'reason', rows: 3, required: true })),
  );
  const dlg = dialog(t('exc.new'), form, h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'exception-save', onclick: guard(async () => {
    if (!form.reportValidity()) return;
    const fd = Object.fromEntries(new FormData(form));
    await api('POST', '/api/v1/exceptions', { ruleId: fd.ruleId, subject: fd.subject || '*', agentId: fd.agentId || null, reason: fd.reason, until: new Date(`${fd.until}T23:59:59`).toISOString() });
    dlg.close();
    flash(t('common.saved'));
    if (route().name === 'exceptions') hooks.render();
  }) }, t('common.save')));
}


const byKey = (a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0);
const newestFirst = (a, b) => b.openedAt.localeCompare(a.openedAt);

/** The server's order (violation-query.ts), to place a live row on the page shown. */
function comparer(sort) {
  const column = {
    severity: (a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity],
    openedAt: newestFirst,
    hostname: (a, b) => a.hostname.toLowerCase().localeCompare(b.hostname.toLowerCase()),
  }[sort || 'severity'] || (() => 0);
  return (a, b) => (a.state === b.state ? 0 : a.state === 'open' ? -1 : 1) || column(a, b) || newestFirst(a, b) || byKey(a, b);
}

/** Does a violation belong to the filters (the same as the server's, for rows arriving live)? */
function matcher(f) {
  const text = (f.q || '').trim().toLowerCase();
  return (v) =>
    (f.state === 'all' || v.state === (f.state || 'open')) &&
    (!f.severity || v.severity === f.severity) &&
    (!f.check || v.checkId === f.check) &&
    (!f.department || (f.department === '-' ? !v.department : v.department === f.department)) &&
    (!f.segment || v.segment === f.segment) &&
    (!text || [v.hostname, v.subject, v.user || '', v.ruleId].some((x) => x.toLowerCase().includes(text)));
}

function queryString(f) {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (f[k]) q.set(k, f[k]);
  return q;
}

/**
 * Ticked rows of the live table for bulk 確認: a checkbox cell in front of each open,
 * unacknowledged row, one in the header for the whole page, and the bar that acts on them.
 */
function bulkSelection() {
  const picked = new Map();
  const count = h('span', { 'data-testid': 'bulk-count' });
  const button = h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'bulk-ack', disabled: true }, t('live.bulkAck'));
  const all = h('input', { type: 'checkbox', 'data-testid': 'select-page', 'aria-label': t('live.selectPage') });
  const refresh = () => {
    count.textContent = t('live.selected', { n: picked.size });
    button.disabled = picked.size === 0;
  };
  const row = (v) => {
    const tr = violationRow(v);
    const canAck = v.state === 'open' && !v.acknowledgedBy && can('violations.annotate');
    const box = canAck ? h('input', { type: 'checkbox', class: 'pick', 'aria-label': v.hostname, checked: picked.has(v.key) }) : null;
    if (box) box.addEventListener('change', () => {
      if (box.checked) picked.set(v.key, { agentId: v.agentId, ruleId: v.ruleId, subject: v.subject });
      else picked.delete(v.key);
      refresh();
    });
    tr.prepend(h('td', { class: 'pick-cell' }, box));
    return tr;
  };
  all.addEventListener('change', () => {
    for (const box of document.querySelectorAll('[data-testid=live-table] input.pick')) if (box.checked !== all.checked) box.click();
  });
  refresh();
  return { picked, row, header: all, bar: h('div', { class: 'bulk-bar' }, count, button), button, clear: () => (picked.clear(), (all.checked = false), refresh()) };
}

export async function liveScreen() {
  const params = route().params;
  const f = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const bulk = bulkSelection();
  const table = new PagedTable({
    headers: [bulk.header, t('live.state'), t('live.severity'), t('live.pc'), t('live.user'), t('live.what'), t('live.when'), t('live.clauses'), t('common.actions')],
    testid: 'live-table',
    keyOf: (v) => v.key,
    renderRow: bulk.row,
    async fetchPage(q) {
      const qs = queryString(q);
      qs.set('offset', String(q.offset));
      qs.set('limit', String(q.limit));
      if (!q.state) qs.set('state', 'open');
      const res = await api('GET', `/api/v1/violations?${qs}`);
      return { total: res.total, offset: res.offset, rows: res.violations };
    },
  });
  const csv = h('a', { class: 'btn btn-small', 'data-testid': 'violations-csv', download: 'violations.csv' }, t('live.csv'));
  const apply = () => {
    table.o.matches = matcher(f);
    table.o.compare = comparer(f.sort);
    const qs = queryString(f).toString();
    history.replaceState(null, '', `#/live${qs ? `?${qs}` : ''}`);
    csv.href = csvHref('/api/v1/violations.csv', queryString(f));
    bulk.clear();
    return table.setQuery({ ...f });
  };
  bulk.button.addEventListener('click', guard(async () => {
    const keys = [...bulk.picked.values()];
    const res = await api('POST', '/api/v1/violations/ack-bulk', { keys });
    for (const key of bulk.picked.keys()) table.update(key, { acknowledgedBy: state.me.user.username, acknowledgedAt: res.at });
    bulk.clear();
    flash(t('live.bulkAcked', { n: res.acknowledged }));
  }));
  let recountTimer = null;
  const recountSoon = () => {
    clearTimeout(recountTimer);
    recountTimer = setTimeout(() => void table.recount().catch(() => {}), 1000);
  };
  listeners.clear();
  listeners.add((msg) => {
    if (msg.type === 'violation') {
      // The stream's row carries no notes: a row shown keeps its 確認 and comments.
      const v = { ...msg.violation };
      if (!v.acknowledgedBy) (delete v.acknowledgedBy, delete v.acknowledgedAt);
      if (!v.comments || !v.comments.length) delete v.comments;
      const was = table.upsert(v, { fresh: true });
      if (was === 'updated') recountSoon();
    } else if (msg.type === 'violation.noted') {
      // 確認 or a comment by anyone (this console's own are already drawn: not twice).
      const row = table.rows.find((r) => r.key === msg.key);
      if (!row) return;
      if (msg.kind === 'ack') table.update(msg.key, { acknowledgedBy: msg.author, acknowledgedAt: msg.at });
      else if (!(row.comments || []).some((c) => c.at === msg.at && c.author === msg.author)) table.update(msg.key, { comments: [...(row.comments || []), { author: msg.author, at: msg.at, text: msg.text }] });
    } else if (msg.type === 'violation.closed') {
      if (table.update(msg.key, { state: 'closed', closedAt: msg.closedAt, closedReason: msg.reason, closedReasonText: msg.reasonText })) recountSoon();
      else if (f.state !== 'closed') recountSoon();
    }
  });
  liveTable = table;
  const deps = state.me.departments || [];
  let typing = null;
  const bar = h(
    'form',
    { class: 'filters', 'data-testid': 'live-filters', oninput: (e) => {
      const fd = new FormData(bar);
      for (const k of FILTERS) f[k] = String(fd.get(k) || '');
      clearTimeout(typing);
      // Typing in the search box waits for a pause; a choice in a list applies at once.
      typing = setTimeout(() => void apply().catch((err) => flash(`${t('common.error')}: ${err.message}`, 'error')), e.target.name === 'q' ? 250 : 0);
    }, onsubmit: (e) => e.preventDefault() },
    field(t('live.stateFilter'), select('state', [['open', t('state.open')], ['closed', t('state.closed')], ['all', t('common.all')]], f.state || 'open')),
    field(t('live.severity'), select('severity', [['', t('common.all')], ...Object.keys(SEVERITY_RANK).map((x) => [x, t(`severity.${x}`)])], f.severity)),
    // The areas of the rule catalogue (GET /api/v1/session): a new area is a filter by itself.
    field(t('live.check'), select('check', [['', t('common.all')], ...(state.me.areas || []).map((x) => [x, areaName(x)])], f.check)),
    field(t('common.department'), select('department', [['', t('common.all')], ['-', t('common.unassigned')], ...deps.map((d) => [d, d])], f.department)),
    field(t('common.segment'), select('segment', [['', t('common.all')], ...['mynumber', 'lgwan', 'internet'].map((x) => [x, t(`segment.${x}`)])], f.segment)),
    field(t('live.search'), h('input', { name: 'q', value: f.q, type: 'search', 'data-testid': 'live-search', placeholder: t('live.searchHint') })),
    field(t('live.sort'), select('sort', [['', t('live.sort.severity')], ['openedAt', t('live.sort.openedAt')], ['hostname', t('live.sort.hostname')]], f.sort)),
  );
  await apply();
  const connected = state.ws && state.ws.readyState === 1;
  return h('section', {}, h('div', { class: 'title-row' }, h('h1', {}, t('live.title')), h('div', { class: 'btns' }, csv, h('span', { id: 'live-status', class: `live-status ${connected ? 'up' : 'down'}` }, connected ? t('live.connected') : t('live.disconnected')))), bar, can('violations.annotate') ? bulk.bar : null, table.el);
}

/** Leaving the screen: the stream no longer feeds its table. */
export function leaveLive() {
  liveTable = null;
}
