// 端末詳細: one PC — its state, compliance per area, 課 and group, open violations, history,
// USB media, software, rule results and the latest facts. The page is the list PC_SECTIONS:
// a new part (inventory …) is one entry there.
import { api, badge, can, field, flash, fmtTime, guard, h, loc, sevBadge, state, statusBadge, t, table } from './core.js';
import { violationRow } from './violations.js';
import { fetchPcInventory, inventorySection } from './inventory.js';
import { fetchPcNotices, noticesSection } from './pc-notices.js';

export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

const violationTable = (list, testid) => table([t('live.state'), t('live.severity'), t('live.pc'), t('live.user'), t('live.what'), t('live.when'), t('live.clauses'), t('common.actions')], list.map(violationRow), { testid });

/** One entry of the PC's history (fleet.ts history()). */
function historyRow(e) {
  const what =
    e.kind === 'violation.opened' ? [sevBadge(e.severity || 'info'), ' ', e.title ? loc(e.title) : e.ruleId, h('div', { class: 'muted small mono' }, `${e.ruleId} ${e.subject || ''}`)]
    : e.kind === 'violation.closed' ? [e.ruleId, ' ', h('span', { class: 'muted small mono' }, e.subject || ''), e.reason ? h('div', { class: 'small' }, e.reason) : null]
    : e.kind === 'policy.applied' ? [t('pc.history.policyVersion', { v: e.policyVersion })]
    : [e.reason || ''];
  return h('tr', { dataset: { kind: e.kind } }, h('td', { class: 'nowrap' }, fmtTime(e.at)), h('td', {}, t(`pc.history.${e.kind}`)), h('td', {}, what));
}

/** The policy this PC runs, against the one the collector sends it: the same number as the policy screen. */
function policyState(d) {
  const { applied, expected, revision } = d.policy;
  return h('span', { 'data-testid': 'pc-policy' }, t('pc.policyVersion', { v: applied }), ' ', applied === expected ? badge('st-pass', t('policy.applied')) : badge('st-unknown', t('pc.policyPending', { v: expected })), ' ', h('span', { class: 'muted small' }, t('pc.policyRevision', { r: revision })));
}

export const PC_SECTIONS = [
  { id: 'open', title: () => t('pc.open'), render: (d) => h('div', { class: 'table-wrap' }, violationTable(d.violations.open, 'pc-open')) },
  { id: 'history', title: () => t('pc.history'), render: (d) => h('div', { class: 'table-wrap scroll' }, table([t('audit.at'), t('pc.history.kind'), t('live.what')], d.history.map(historyRow), { testid: 'pc-history' })) },
  { id: 'notices', title: () => t('pc.notices'), render: (d) => noticesSection(d.notices) },
  { id: 'usb', title: () => t('pc.usb'), render: (d) => h('div', { class: 'table-wrap' }, table([t('media.fingerprint'), t('media.label'), t('pc.usb.first'), t('pc.usb.last')], d.usbHistory.map((u) => h('tr', {}, h('td', { class: 'mono' }, u.fingerprint), h('td', {}, u.product || '—'), h('td', {}, fmtTime(u.firstSeen)), h('td', {}, fmtTime(u.lastSeen)))))) },
  { id: 'inventory', title: () => t('inventory.title'), render: (d) => inventorySection(d.inventory) },
  {
    id: 'software',
    title: () => t('pc.software'),
    render: (d) => (d.software ? h('div', { class: 'table-wrap scroll' }, table([t('pc.software.name'), t('pc.software.version')], d.software.slice(0, 500).map((sw) => h('tr', {}, h('td', {}, sw.name || JSON.stringify(sw)), h('td', {}, sw.version || ''))), { testid: 'pc-software' })) : h('p', { class: 'muted', 'data-testid': 'pc-software-unknown' }, t('pc.software.none'))),
  },
  { id: 'closed', title: () => t('pc.closed'), render: (d) => h('div', { class: 'table-wrap' }, violationTable(d.violations.closed, 'pc-closed')) },
  { id: 'rules', title: () => t('pc.rules'), render: (d) => h('div', { class: 'table-wrap' }, table([t('policy.rule'), t('live.state'), t('common.reason'), t('live.when')], d.ruleResults.map((r) => h('tr', {}, h('td', { class: 'mono' }, r.ruleId), h('td', {}, statusBadge(r.result === 'not_applicable' ? 'notApplicable' : r.result)), h('td', { class: 'small' }, loc(r.reasonText) || r.reason), h('td', { class: 'nowrap' }, fmtTime(r.at)))), { testid: 'pc-rule-results' })) },
  { id: 'facts', title: () => t('pc.facts'), render: (d) => h('div', {}, d.facts.map((f) => h('details', { class: 'facts' }, h('summary', {}, `${t(`check.${f.checkId}`)} — ${fmtTime(f.at)}`), h('pre', {}, JSON.stringify(f.facts, null, 2))))) },
];

export async function pcScreen(id) {
  const [d, inventory, notices] = await Promise.all([api('GET', `/api/v1/pcs/${encodeURIComponent(id)}`), fetchPcInventory(id), fetchPcNotices(id)]);
  d.inventory = inventory;
  d.notices = notices;
  const p = d.pc;
  const assign = h(
    'form',
    { class: 'inline-form', onsubmit: guard(async (e) => {
      e.preventDefault();
      const fd = new FormData(assign);
      await api('PUT', `/api/v1/pcs/${encodeURIComponent(id)}/assignment`, { department: fd.get('department') || null, group: fd.get('group') || null });
      flash(t('common.saved'));
      // The lists of 課 and groups of the filters come with the session.
      state.me = await api('GET', '/api/v1/session');
    }) },
    field(t('common.department'), h('input', { name: 'department', value: p.department || '' })),
    field(t('common.group'), h('input', { name: 'group', value: p.group || '' })),
    h('button', { type: 'submit', class: 'btn' }, t('common.save')),
  );
  return h(
    'section',
    {},
    h('div', { class: 'title-row' }, h('h1', {}, `${t('pc.title')}: ${p.hostname}`), can('scan.request') ? h('a', { class: 'btn btn-primary', href: `#/scan/${encodeURIComponent(p.id)}` }, t('pc.scan')) : null),
    h(
      'div',
      { class: 'cols' },
      h('div', { class: 'card' }, kv([
        [t('pcs.status'), badge(p.online ? 'online' : 'offline', t(`online.${p.online}`))],
        [t('pcs.lastSeen'), fmtTime(p.lastSeenAt)],
        [t('common.segment'), t(`segment.${p.segment}`)],
        [t('common.department'), p.department || t('common.unassigned')],
        [t('pcs.os'), `${p.os.name || p.os.platform} ${p.os.release}`],
        [t('pcs.agent'), p.agentVersion],
        [t('pcs.policy'), policyState(d)],
        ['ID', h('span', { class: 'mono small' }, p.id)],
      ])),
      h(
        'div',
        { class: 'card' },
        h('h2', {}, t('pcs.compliance')),
        h('table', { class: 'grid' }, h('tbody', {}, Object.keys(p.compliance).length ? Object.entries(p.compliance).map(([k, v]) => h('tr', {}, h('th', {}, t(`check.${k}`)), h('td', {}, statusBadge(v)))) : h('tr', {}, h('td', { class: 'empty' }, t('common.empty'))))),
        can('pcs.assign') ? h('h2', {}, t('pc.assign')) : null,
        can('pcs.assign') ? assign : null,
      ),
    ),
    PC_SECTIONS.map((s) => h('div', { class: 'pc-section', 'data-section': s.id }, h('h2', {}, s.title()), s.render(d))),
  );
}
