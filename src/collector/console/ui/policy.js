// ポリシー: the rules of each layer (all PCs, a segment, a group) with their parameters, saved
// as a revision; its history; and 端末への適用状況, which PCs run the version they are given,
// counted per state and paged by the server.
import { api, badge, can, clauses, field, flash, fmtTime, guard, h, hooks, loc, num, route, select, sevBadge, state, t, table } from './core.js';
import { areaName } from './overview.js';
import { PagedTable } from './table.js';

const STATES = ['applied', 'pending', 'outdated'];
const FILTERS = ['state', 'q', 'department', 'segment'];
const STATE_BADGE = { applied: 'st-pass', pending: 'st-unknown', outdated: 'st-fail' };

function queryString(f) {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (f[k]) q.set(k, f[k]);
  return q;
}

/** 端末への適用状況: the number of PCs per state (each a filter) and one page of PCs. */
async function statusTable() {
  const f = Object.fromEntries(FILTERS.map((k) => [k, route().params.get(k) || '']));
  const counts = h('div', { class: 'count-chips', 'data-testid': 'policy-counts' });
  const bar = h('form', { class: 'filters', 'data-testid': 'policy-filters', onsubmit: (e) => e.preventDefault() });
  const list = new PagedTable({
    headers: [t('pcs.hostname'), t('pcs.status'), t('common.department'), t('pcs.policy'), t('policy.state')],
    testid: 'policy-status',
    keyOf: (x) => x.id,
    renderRow: (x) =>
      h(
        'tr',
        { class: 'pcrow', dataset: { id: x.id, host: x.hostname, state: x.state } },
        h('td', {}, h('a', { href: `#/pc/${encodeURIComponent(x.id)}` }, x.hostname)),
        h('td', {}, badge(x.online ? 'online' : 'offline', t(`online.${x.online}`))),
        h('td', {}, x.department || h('span', { class: 'muted' }, t('common.unassigned'))),
        h('td', { 'data-testid': 'policy-pc-version' }, t('pc.policyVersion', { v: x.policyVersion })),
        h('td', {}, badge(STATE_BADGE[x.state], x.state === 'applied' ? t('policy.applied') : t(`policy.state.${x.state}`, { v: x.expectedVersion ?? '—' })), ' ', x.revision !== null ? h('span', { class: 'muted small' }, t('pc.policyRevision', { r: x.revision })) : null),
      ),
    async fetchPage(q) {
      const qs = queryString(q);
      qs.set('offset', String(q.offset));
      qs.set('limit', String(q.limit));
      const res = await api('GET', `/api/v1/policy/status?${qs}`);
      counts.replaceChildren(
        ...STATES.map((s) =>
          h('button', { type: 'button', class: `chip ${q.state === s ? 'active' : ''}`, 'data-testid': `policy-count-${s}`, 'aria-pressed': q.state === s ? 'true' : 'false', onclick: () => setFilter('state', q.state === s ? '' : s) }, badge(STATE_BADGE[s], t(`policy.count.${s}`)), ' ', h('strong', { 'data-count': s }, num(res.counts[s])), ` ${t('common.pcs')}`),
        ),
      );
      return { total: res.total, offset: res.offset, rows: res.pcs };
    },
    onQuery(q) {
      const qs = queryString(q).toString();
      history.replaceState(null, '', `#/policy${qs ? `?${qs}` : ''}`);
    },
  });
  const setFilter = (name, value) => {
    f[name] = value;
    const input = bar.elements.namedItem(name);
    if (input) input.value = value;
    return list.setQuery({ ...f });
  };
  let typing = null;
  bar.addEventListener('input', (e) => {
    const fd = new FormData(bar);
    for (const k of FILTERS) f[k] = String(fd.get(k) || '');
    clearTimeout(typing);
    typing = setTimeout(() => void list.setQuery({ ...f }).catch((err) => flash(`${t('common.error')}: ${err.message}`, 'error')), e.target.name === 'q' ? 250 : 0);
  });
  bar.append(
    field(t('policy.state'), select('state', [['', t('common.all')], ...STATES.map((s) => [s, t(`policy.count.${s}`)])], f.state)),
    field(t('pcs.search'), h('input', { name: 'q', value: f.q, type: 'search', 'data-testid': 'policy-search', placeholder: t('live.searchHint') })),
    field(t('common.department'), select('department', [['', t('common.all')], ['-', t('common.unassigned')], ...(state.me.departments || []).map((d) => [d, d])], f.department)),
    field(t('common.segment'), select('segment', [['', t('common.all')], ...['mynumber', 'lgwan', 'internet'].map((x) => [x, t(`segment.${x}`)])], f.segment)),
  );
  await list.setQuery({ ...f });
  return h('div', { 'data-testid': 'policy-status-section' }, h('p', { class: 'muted small' }, t('policy.stateHint')), counts, bar, list.el);
}

export async function policyScreen() {
  const p = await api('GET', '/api/v1/policy');
  const history = await api('GET', '/api/v1/policy/history');
  const settings = JSON.parse(JSON.stringify(p.revision.settings));
  const layers = [['base', t('policy.layer.base')], ...p.segments.map((sg) => [`segment:${sg}`, t(`segment.${sg}`)]), ...[...new Set([...p.groups, ...Object.keys(settings.groups)])].map((g) => [`group:${g}`, t('policy.layer.group', { g })])];
  let current = 'base';
  const layerOf = (key, create) => {
    if (key === 'base') return settings.base;
    const [kind, name] = key.split(':');
    const bag = kind === 'segment' ? settings.segments : settings.groups;
    if (!bag[name] && create) bag[name] = { disabledRules: [], enabledRules: [], params: {} };
    return bag[name] || { disabledRules: [], enabledRules: [], params: {} };
  };
  const editable = can('policy.write');
  const body = h('div', { class: 'table-wrap' });
  const draw = () => {
    const layer = layerOf(current, false);
    body.replaceChildren(
      table([t('policy.rule'), t('live.severity'), t('policy.enabled'), t('policy.params'), t('live.clauses')], p.rules.map((r) => {
        const on = layer.disabledRules.includes(r.id) ? false : layer.enabledRules.includes(r.id) ? true : null;
        const sw = select(`on-${r.id}`, [['', `${t('policy.default')} (${r.defaultEnabled ? t('common.yes') : t('common.no')})`], ['on', t('common.yes')], ['off', t('common.no')]], on === null ? '' : on ? 'on' : 'off');
        sw.disabled = !editable;
        sw.addEventListener('change', () => {
          const l = layerOf(current, true);
          l.disabledRules = l.disabledRules.filter((x) => x !== r.id);
          l.enabledRules = l.enabledRules.filter((x) => x !== r.id);
          if (sw.value === 'on') l.enabledRules.push(r.id);
          if (sw.value === 'off') l.disabledRules.push(r.id);
        });
        const params = Object.entries(r.params).filter(([, spec]) => spec.type !== 'list').map(([name, spec]) => {
          const val = layer.params[r.id] && layer.params[r.id][name];
          const input = h('input', { name: `${r.id}.${name}`, value: val === undefined ? '' : String(val), placeholder: String(spec.default ?? ''), class: 'param', disabled: !editable });
          input.addEventListener('change', () => {
            const l = layerOf(current, true);
            l.params[r.id] = l.params[r.id] || {};
            if (input.value === '') delete l.params[r.id][name];
            else l.params[r.id][name] = spec.type === 'integer' || spec.type === 'number' ? Number(input.value) : spec.type === 'boolean' ? input.value === 'true' : input.value;
          });
          return h('div', { class: 'param-row', dataset: { param: name } }, spec.label ? h('span', { class: 'small', title: name }, loc(spec.label)) : h('span', { class: 'mono small' }, name), input, h('div', { class: 'muted small' }, loc(spec.description)));
        });
        return h('tr', { dataset: { area: r.check } }, h('td', {}, h('div', { class: 'small muted' }, areaName(r.check)), h('div', {}, loc(r.name)), h('div', { class: 'mono small muted' }, r.id)), h('td', {}, sevBadge(r.severity)), h('td', {}, sw), h('td', {}, params.length ? params : '—'), h('td', {}, clauses(r.clauses)));
      })),
    );
  };
  draw();
  const layerSel = select('layer', layers, current);
  layerSel.addEventListener('change', () => {
    current = layerSel.value;
    draw();
  });
  const newGroup = h('input', { name: 'newgroup', placeholder: t('policy.newGroup') });
  const commentIn = h('input', { name: 'comment', required: true, class: 'wide-input' });
  const status = await statusTable();
  return h(
    'section',
    {},
    h('h1', {}, t('policy.title')),
    h('p', { class: 'intro' }, t('policy.intro')),
    h('p', {}, t('policy.revision', { v: p.revision.version, by: p.revision.createdBy || '—', at: fmtTime(p.revision.createdAt) })),
    h('div', { class: 'filters' }, field(t('policy.layer'), layerSel), editable ? field(t('policy.newGroup'), newGroup) : null, editable ? h('button', { type: 'button', class: 'btn', onclick: () => {
      if (!newGroup.value.trim()) return;
      current = `group:${newGroup.value.trim()}`;
      layerOf(current, true);
      layerSel.append(h('option', { value: current }, t('policy.layer.group', { g: newGroup.value.trim() })));
      layerSel.value = current;
      draw();
    } }, '+') : null),
    body,
    editable ? h('form', { class: 'inline-form', onsubmit: guard(async (e) => {
      e.preventDefault();
      await api('PUT', '/api/v1/policy', { settings, basedOn: p.revision.version, comment: commentIn.value });
      flash(t('common.saved'));
      hooks.render();
    }) }, field(t('policy.comment'), commentIn), h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save'))) : null,
    h('h2', {}, t('policy.history')),
    table(['#', t('exc.requestedBy'), t('audit.at'), t('policy.comment')], history.history.map((r) => h('tr', {}, h('td', {}, String(r.version)), h('td', {}, r.createdBy), h('td', {}, fmtTime(r.createdAt)), h('td', {}, r.comment)))),
    h('h2', {}, t('policy.status')),
    status,
  );
}

