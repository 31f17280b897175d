// 端末一覧: the enrolled PCs, searched, filtered, sorted and paged by the server (one page at a
// time, the exact total shown), exported as CSV with the same filters, and given a 課 in bulk
// (the PCs ticked, or every PC of the list, or a CSV of PC name → 課).
//
// The columns and the filters are the two tables below: a new column or filter (inventory …)
// is one entry in PC_COLUMNS / PC_FILTERS here and one filter in pc-query.ts.
import { api, badge, can, csvHref, dialog, field, flash, fmtTime, guard, h, hooks, num, route, select, state, statusBadge, t } from './core.js';
import { areaName } from './overview.js';
import { pcPageFetcher, pcQuery } from './pc-pages.js';
import { PagedTable } from './table.js';

/** The check areas shown as columns until the administrator chooses others (remembered in this browser). */
export const DEFAULT_AREAS = ['usb-media', 'software', 'antivirus', 'screen-lock', 'os-patches', 'beyond'];
const AREAS_KEY = 'mamori.pcs.areas';

/** The areas chosen for the compliance columns, in the catalogue's order (state.me.areas). */
export function chosenAreas() {
  const all = state.me.areas || DEFAULT_AREAS;
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(AREAS_KEY) || 'null');
  } catch {
    saved = null;
  }
  const want = new Set(Array.isArray(saved) ? saved : DEFAULT_AREAS);
  return all.filter((a) => want.has(a));
}

const areaColumn = (k) => ({ id: `check-${k}`, area: k, label: () => h('span', { title: areaName(k) }, areaName(k)), cell: (p) => h('td', { class: 'center', dataset: { area: k } }, p.compliance[k] && p.compliance[k] !== 'none' ? statusBadge(p.compliance[k]) : h('span', { class: 'muted' }, '—')) });

/**
 * Columns of 端末一覧: `label` its title, `sort` the server's sort key (pc-query.ts PC_SORTS)
 * and `first` the direction of the first click, `cell` the <td> of one PC.
 */
export const PC_COLUMNS = [
  { id: 'hostname', label: () => t('pcs.hostname'), sort: 'hostname', cell: (p) => h('td', {}, h('a', { href: `#/pc/${encodeURIComponent(p.id)}`, 'data-testid': 'pc-link' }, p.hostname)) },
  { id: 'online', label: () => t('pcs.status'), sort: 'online', first: 'desc', cell: (p) => h('td', {}, badge(p.online ? 'online' : 'offline', t(`online.${p.online}`))) },
  { id: 'lastSeen', label: () => t('pcs.lastSeen'), sort: 'lastSeenAt', first: 'desc', cell: (p) => h('td', { class: 'nowrap' }, fmtTime(p.lastSeenAt)) },
  { id: 'segment', label: () => t('common.segment'), sort: 'segment', cell: (p) => h('td', {}, t(`segment.${p.segment}`)) },
  { id: 'department', label: () => t('common.department'), sort: 'department', cell: (p) => h('td', { class: 'dep' }, p.department || h('span', { class: 'muted' }, t('common.unassigned'))) },
  { id: 'group', label: () => t('common.group'), cell: (p) => h('td', {}, p.group || '—') },
  { id: 'os', label: () => t('pcs.os'), cell: (p) => h('td', {}, `${p.os.name || p.os.platform} ${p.os.release}`) },
  { id: 'agent', label: () => t('pcs.agent'), cell: (p) => h('td', {}, p.agentVersion) },
  // 資産管理台帳 (the latest inventory; — before the first one).
  { id: 'model', label: () => t('inventory.model'), sort: 'model', cell: (p) => h('td', { class: 'small' }, p.inventory ? [p.inventory.manufacturer, p.inventory.model].filter(Boolean).join(' ') || '—' : '—') },
  { id: 'osBuild', label: () => t('inventory.build'), sort: 'osBuild', cell: (p) => h('td', { class: 'mono small' }, p.inventory?.osBuild || '—') },
  { id: 'memory', label: () => t('inventory.memory'), sort: 'memory', first: 'desc', cell: (p) => h('td', { class: 'num' }, p.inventory?.memoryGb != null ? `${p.inventory.memoryGb} GB` : '—') },
  { id: 'ip', label: () => t('inventory.ip'), cell: (p) => h('td', { class: 'mono small' }, p.inventory?.ipv4.join(' ') || '—') },
  // The compliance columns: one per chosen check area (pcColumns).
  { id: 'areas' },
  { id: 'violations', label: () => t('pcs.violations'), sort: 'openViolations', first: 'desc', cell: (p) => h('td', { class: 'num', 'data-col': 'violations' }, num(p.openViolations)) },
];

/** The columns of 端末一覧 with one compliance column per area chosen. */
export function pcColumns(areas = chosenAreas()) {
  return PC_COLUMNS.flatMap((c) => (c.id === 'areas' ? areas.map(areaColumn) : [c]));
}

/**
 * The administrator's choice of the compliance columns: every area of the catalogue, ticked
 * when shown; saved in this browser and applied by drawing the table again.
 */
function areaChooser(onChange) {
  const shown = new Set(chosenAreas());
  const all = state.me.areas || DEFAULT_AREAS;
  const boxes = all.map((a) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: a, checked: shown.has(a), 'data-area': a }), areaName(a)));
  const save = (areas) => {
    localStorage.setItem(AREAS_KEY, JSON.stringify(areas));
    onChange();
  };
  const panel = h(
    'details',
    { class: 'area-chooser', 'data-testid': 'pcs-areas' },
    h('summary', { class: 'btn' }, t('pcs.areas', { n: shown.size, all: all.length })),
    h(
      'div',
      { class: 'area-panel', onchange: () => save(boxes.map((b) => b.firstChild).filter((x) => x.checked).map((x) => x.value)) },
      h('p', { class: 'muted small' }, t('pcs.areasHint')),
      h('div', { class: 'area-boxes' }, boxes),
      h('div', { class: 'btns' }, h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'pcs-areas-all', onclick: () => save(all) }, t('pcs.areasAll')), h('button', { type: 'button', class: 'btn btn-small', onclick: () => save(DEFAULT_AREAS) }, t('pcs.areasDefault'))),
    ),
  );
  return panel;
}

/**
 * Filters of 端末一覧: `name` is the filter's name in the address, in /api/v1/pcs and in
 * pc-query.ts PC_FILTERS; `control(value, lists)` its input (lists: the known 課 and groups).
 */
export const PC_FILTERS = [
  { name: 'q', typing: true, control: (v) => field(t('pcs.search'), h('input', { name: 'q', value: v, type: 'search', 'data-testid': 'pcs-search', placeholder: t('live.searchHint') })) },
  { name: 'department', control: (v, l) => field(t('common.department'), select('department', [['', t('common.all')], ['-', t('common.unassigned')], ...l.departments.map((d) => [d, d])], v)) },
  { name: 'segment', control: (v) => field(t('common.segment'), select('segment', [['', t('common.all')], ...['mynumber', 'lgwan', 'internet'].map((x) => [x, t(`segment.${x}`)])], v)) },
  { name: 'os', control: (v) => field(t('pcs.os'), select('os', [['', t('common.all')], ['windows', 'Windows'], ['linux', 'Linux'], ['darwin', 'macOS']], v)) },
  { name: 'online', control: (v) => field(t('pcs.status'), select('online', [['', t('common.all')], ['true', t('online.true')], ['false', t('online.false')]], v)) },
  { name: 'compliance', control: (v) => field(t('pcs.complianceFilter'), select('compliance', [['', t('common.all')], ...['fail', 'unknown', 'pass', 'none'].map((x) => [x, t(`pcs.compliance.${x}`)])], v)) },
  { name: 'group', control: (v, l) => field(t('common.group'), select('group', [['', t('common.all')], ['-', t('common.none')], ...l.groups.map((g) => [g, g])], v)) },
  { name: 'model', typing: true, control: (v) => field(t('inventory.filter.model'), h('input', { name: 'model', value: v, type: 'search', size: 12 })) },
  { name: 'osBuild', typing: true, control: (v) => field(t('inventory.filter.build'), h('input', { name: 'osBuild', value: v, type: 'search', size: 9 })) },
  { name: 'memoryMin', typing: true, control: (v) => field(t('inventory.filter.memoryMin'), h('input', { name: 'memoryMin', value: v, type: 'number', min: '0', step: '1', size: 4 })) },
  { name: 'ip', typing: true, control: (v) => field(t('inventory.filter.ip'), h('input', { name: 'ip', value: v, type: 'search', size: 16, placeholder: '10.20.0.0/16' })) },
];

const PAGE_KEYS = ['sort', 'dir'];

const queryString = (f) => pcQuery([...PC_FILTERS.map((x) => x.name), ...PAGE_KEYS], f);

export async function pcsScreen() {
  const params = route().params;
  const f = Object.fromEntries([...PC_FILTERS.map((x) => x.name), ...PAGE_KEYS].map((k) => [k, params.get(k) || '']));
  const lists = { departments: state.me.departments || [], groups: state.me.groups || [] };
  const assign = can('pcs.assign');
  const columns = pcColumns();
  // More than a few areas: the compliance columns narrow to their badges (the area's name in the header's tooltip).
  const compact = columns.filter((c) => c.area).length > DEFAULT_AREAS.length;
  const selected = new Set();
  const selCount = h('span', { 'data-testid': 'pcs-selected' });
  const showSelection = () => {
    selCount.textContent = t('pcs.selected', { n: num(selected.size) });
    bulkSel.disabled = selected.size === 0;
  };
  const checkbox = (p) =>
    h('td', { class: 'pick' }, h('input', { type: 'checkbox', 'aria-label': p.hostname, checked: selected.has(p.id), 'data-testid': 'pc-pick', onchange: (e) => {
      if (e.target.checked) selected.add(p.id);
      else selected.delete(p.id);
      showSelection();
    } }));
  const pickAll = h('input', { type: 'checkbox', 'aria-label': t('pcs.pickPage'), 'data-testid': 'pc-pick-page', onchange: (e) => {
    for (const p of table.rows) e.target.checked ? selected.add(p.id) : selected.delete(p.id);
    for (const box of table.tbody.querySelectorAll('input[data-testid=pc-pick]')) box.checked = e.target.checked;
    showSelection();
  } });
  const table = new PagedTable({
    headers: [...(assign ? [pickAll] : []), ...columns.map((c) => ({ label: c.label(), sort: c.sort, first: c.first }))],
    testid: 'pcs-table',
    keyOf: (p) => p.id,
    renderRow: (p) => h('tr', { class: 'pcrow', dataset: { id: p.id, host: p.hostname } }, assign ? checkbox(p) : null, columns.map((c) => c.cell(p))),
    fetchPage: pcPageFetcher(
      PC_FILTERS.map((x) => x.name),
      lists,
      () => (pickAll.checked = false),
    ),
    onQuery(q) {
      const qs = queryString(q).toString();
      history.replaceState(null, '', `#/pcs${qs ? `?${qs}` : ''}`);
      csv.href = csvHref('/api/v1/pcs.csv', queryString(q));
    },
  });
  const csv = h('a', { class: 'btn', href: csvHref('/api/v1/pcs.csv'), 'data-testid': 'pcs-csv', download: '' }, t('pcs.csv'));
  let typing = null;
  const bar = h(
    'form',
    { class: 'filters', 'data-testid': 'pcs-filters', oninput: (e) => {
      const fd = new FormData(bar);
      const next = { ...table.query };
      for (const x of PC_FILTERS) next[x.name] = String(fd.get(x.name) || '');
      clearTimeout(typing);
      // Typing in the search box waits for a pause; a choice in a list applies at once.
      const typed = PC_FILTERS.find((x) => x.name === e.target.name)?.typing;
      typing = setTimeout(() => void table.setQuery(next).catch((err) => flash(`${t('common.error')}: ${err.message}`, 'error')), typed ? 250 : 0);
    }, onsubmit: (e) => e.preventDefault() },
    PC_FILTERS.map((x) => x.control(f[x.name], lists)),
  );

  const bulkSel = h('button', { type: 'button', class: 'btn', 'data-testid': 'assign-selected', disabled: true, onclick: () => assignDialog({ agentIds: [...selected] }, t('pcs.selected', { n: num(selected.size) })) }, t('pcs.assignSelected'));
  const bulkAll = h('button', { type: 'button', class: 'btn', 'data-testid': 'assign-all', onclick: () => assignDialog({ filters: filtersOf(table.query) }, t('pcs.allMatching', { n: num(table.total) })) }, t('pcs.assignAll'));
  const fileIn = h('input', { type: 'file', accept: '.csv,text/csv', class: 'hidden-file', 'data-testid': 'assign-csv', onchange: guard(async () => {
    const file = fileIn.files[0];
    if (!file) return;
    fileIn.value = '';
    const res = await api('POST', '/api/v1/pcs/assignment.csv', await file.text(), { raw: 'text/csv' });
    await table.reload();
    flash(t('pcs.imported', { n: num(res.assigned), c: num(res.changed) }));
  }) });

  async function assignDialog(target, what) {
    const input = h('input', { name: 'department', list: 'known-departments', 'data-testid': 'assign-department' });
    const known = h('datalist', { id: 'known-departments' }, lists.departments.map((d) => h('option', { value: d })));
    const dlg = dialog(t('pcs.assignTitle'), h('div', {}, h('p', {}, what), field(t('common.department'), input), known, h('p', { class: 'muted small' }, t('pcs.assignHint'))), h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'assign-save', onclick: guard(async () => {
      const res = await api('POST', '/api/v1/pcs/assignment', { ...target, department: input.value.trim() || null });
      dlg.close();
      selected.clear();
      showSelection();
      await table.reload();
      flash(t('pcs.assigned', { n: num(res.assigned), c: num(res.changed) }));
    }) }, t('common.save')));
  }

  showSelection();
  const initial = Object.fromEntries(Object.entries(f).filter(([, v]) => v));
  await table.setQuery(initial);
  return h(
    'section',
    {},
    h('div', { class: 'title-row' }, h('h1', {}, t('pcs.title')), h('div', { class: 'btns' }, areaChooser(() => void hooks.render()), csv, assign ? h('label', { class: 'btn', title: t('pcs.importHint') }, t('pcs.import'), fileIn) : null)),
    bar,
    assign ? h('div', { class: 'bulk', 'data-testid': 'pcs-bulk' }, selCount, bulkSel, bulkAll) : null,
    compact ? h('div', { class: 'compact-areas' }, table.el) : table.el,
  );
}

function filtersOf(q) {
  return Object.fromEntries(PC_FILTERS.map((x) => [x.name, q[x.name]]).filter(([, v]) => v));
}
