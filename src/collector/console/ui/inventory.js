// 資産管理台帳: the hardware and network inventory of the PCs (filters run in the store:
// /api/v1/inventory), its CSV export, and the inventory section of a PC's page.
import { api, csvHref, field, fmtTime, h, loc, route, state, t, table } from './core.js';

const FILTERS = ['model', 'osBuild', 'memoryMin', 'memoryMax', 'ip'];

function queryOf(f) {
  const qs = new URLSearchParams();
  for (const k of FILTERS) if (f[k]) qs.set(k, f[k]);
  return qs;
}

export async function inventoryScreen() {
  const params = route().params;
  const f = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const body = h('div', { class: 'table-wrap' });
  const error = h('div', { class: 'muted small', role: 'status', 'data-testid': 'inventory-error' });
  const csv = h('a', { class: 'btn', 'data-testid': 'inventory-csv', download: 'asset-register.csv' }, t('inventory.csv'));
  const count = h('span', { class: 'muted', 'data-testid': 'inventory-count' });
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    const qs = queryOf(f).toString();
    history.replaceState(null, '', `#/inventory${qs ? `?${qs}` : ''}`);
    csv.href = csvHref('/api/v1/inventory.csv', qs);
    try {
      const d = await api('GET', `/api/v1/inventory${qs ? `?${qs}` : ''}`);
      if (mine !== seq) return;
      error.textContent = '';
      count.textContent = t('inventory.count', { n: d.pcs.length });
      body.replaceChildren(
        table(
          [t('pcs.hostname'), t('common.department'), t('inventory.maker'), t('inventory.model'), t('inventory.serial'), t('pcs.os'), t('inventory.build'), t('inventory.memory'), t('inventory.ip'), t('inventory.collected'), t('inventory.lastChange')],
          d.pcs.map((p) =>
            h(
              'tr',
              { dataset: { agent: p.agentId } },
              h('td', {}, h('a', { href: `#/pc/${encodeURIComponent(p.agentId)}` }, p.hostname)),
              h('td', {}, p.department || h('span', { class: 'muted' }, t('common.unassigned'))),
              h('td', {}, p.manufacturer || '—'),
              h('td', {}, p.model || '—'),
              h('td', { class: 'mono small' }, p.serial || '—'),
              h('td', {}, [p.osName, p.osVersion].filter(Boolean).join(' ') || '—'),
              h('td', { class: 'mono' }, p.osBuild || '—'),
              h('td', { class: 'num' }, p.memoryGb !== null ? `${p.memoryGb} GB` : '—'),
              h('td', { class: 'mono small' }, p.ipv4.join(' ') || '—'),
              h('td', { class: 'nowrap' }, fmtTime(p.collectedAt)),
              h('td', { class: 'nowrap' }, p.lastChangeAt ? fmtTime(p.lastChangeAt) : '—'),
            ),
          ),
          { testid: 'inventory-table' },
        ),
      );
    } catch (err) {
      if (mine !== seq) return;
      // A filter the server refuses (not an IPv4 range, not a number) matches nothing: say why.
      error.textContent = err.message;
      count.textContent = '';
      body.replaceChildren();
    }
  };
  let typing = null;
  const bar = h(
    'form',
    { class: 'filters', 'data-testid': 'inventory-filters', oninput: () => {
      const fd = new FormData(bar);
      for (const k of FILTERS) f[k] = String(fd.get(k) || '').trim();
      clearTimeout(typing);
      typing = setTimeout(() => void load(), 300);
    }, onsubmit: (e) => e.preventDefault() },
    field(t('inventory.filter.model'), h('input', { name: 'model', value: f.model, type: 'search', size: 14 })),
    field(t('inventory.filter.build'), h('input', { name: 'osBuild', value: f.osBuild, type: 'search', size: 10 })),
    field(t('inventory.filter.memoryMin'), h('input', { name: 'memoryMin', value: f.memoryMin, type: 'number', min: '0', step: '1', size: 5 })),
    field(t('inventory.filter.memoryMax'), h('input', { name: 'memoryMax', value: f.memoryMax, type: 'number', min: '0', step: '1', size: 5 })),
    field(t('inventory.filter.ip'), h('input', { name: 'ip', value: f.ip, type: 'search', size: 18, placeholder: '10.20.0.0/16' })),
  );
  await load();
  return h('section', {}, h('div', { class: 'title-row' }, h('h1', {}, t('inventory.title')), h('div', { class: 'btns' }, count, csv)), bar, error, body);
}

/** The inventory and the hardware changes of one PC (GET /api/v1/pcs/:id/inventory), for its page. */
export function fetchPcInventory(agentId) {
  return api('GET', `/api/v1/pcs/${encodeURIComponent(agentId)}/inventory`);
}

export function inventorySection(d) {
  const changes = table(
    [t('live.when'), t('inventory.change'), t('inventory.subject'), t('inventory.before'), t('inventory.after')],
    d.changes.map((c) => h('tr', {}, h('td', { class: 'nowrap' }, fmtTime(c.at)), h('td', {}, loc(c.label)), h('td', { class: 'mono small' }, c.subject), h('td', { class: 'small' }, c.before || '—'), h('td', { class: 'small' }, c.after || '—'))),
    { testid: 'inventory-changes' },
  );
  return h(
    'div',
    { 'data-testid': 'pc-inventory' },
    d.collectedAt ? h('p', { class: 'muted small' }, `${t('inventory.collected')}: ${fmtTime(d.collectedAt)}`) : null,
    d.inventory ? h('dl', { class: 'kv' }, ((state.lang === 'en' && d.linesEn) || d.lines).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])) : h('p', { class: 'muted' }, t('inventory.none')),
    h('h3', {}, t('inventory.changes')),
    h('div', { class: 'table-wrap' }, changes),
  );
}
