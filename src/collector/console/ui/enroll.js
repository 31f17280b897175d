// 登録トークン: tokens that enroll new PCs, each with its segment and, optionally, the 課 its PCs
// land in (so a PC appears in its 課 from its first connection). The token text is shown once.
import { api, badge, field, fmtTime, guard, h, select, state, t, table } from './core.js';

export async function enrollScreen() {
  const q = await api('GET', '/api/v1/enrollment-tokens');
  const shown = h('div', { 'data-testid': 'enroll-token' });
  const deps = state.me.departments || [];
  const form = h(
    'form',
    { class: 'inline-form', 'data-testid': 'enroll-form', onsubmit: guard(async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      const res = await api('POST', '/api/v1/enrollment-tokens', { segment: fd.get('segment'), department: String(fd.get('department') || '').trim() || null, days: Number(fd.get('days')), singleUse: fd.get('singleUse') === 'on', note: String(fd.get('note') || '') || undefined });
      list.replaceChildren(tokenTable((await api('GET', '/api/v1/enrollment-tokens')).tokens));
      shown.replaceChildren(h('div', { class: 'flash flash-ok' }, h('p', {}, t('enroll.once', { d: res.record.department || t('common.unassigned') })), h('code', { class: 'mono token-text', 'data-testid': 'enroll-token-text' }, res.token)));
    }) },
    field(t('common.segment'), select('segment', ['lgwan', 'mynumber', 'internet'].map((x) => [x, t(`segment.${x}`)]), 'lgwan')),
    field(t('common.department'), h('input', { name: 'department', list: 'enroll-departments', 'data-testid': 'enroll-department' })),
    h('datalist', { id: 'enroll-departments' }, deps.map((d) => h('option', { value: d }))),
    field(t('enroll.days'), h('input', { name: 'days', type: 'number', min: 1, max: 366, value: '7' })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'singleUse' }), t('enroll.singleUse')),
    field(t('enroll.note'), h('input', { name: 'note' })),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'enroll-create' }, t('enroll.create')),
  );
  const list = h('div', { class: 'table-wrap' }, tokenTable(q.tokens));
  return h('section', {}, h('h1', {}, t('enroll.title')), h('p', { class: 'intro' }, t('enroll.intro')), form, shown, list);

  function tokenTable(tokens) {
    const now = new Date().toISOString();
    return table(
      ['ID', t('common.segment'), t('common.department'), t('enroll.expires'), t('enroll.used'), t('enroll.note'), t('live.state'), t('common.actions')],
      tokens.map((x) => {
        const active = !x.revokedAt && x.expiresAt > now && !(x.singleUse && x.usedCount > 0);
        return h(
          'tr',
          { dataset: { id: x.id } },
          h('td', { class: 'mono small' }, x.id),
          h('td', {}, t(`segment.${x.segment}`)),
          h('td', { class: 'dep' }, x.department || h('span', { class: 'muted' }, t('common.unassigned'))),
          h('td', { class: 'nowrap' }, fmtTime(x.expiresAt)),
          h('td', { class: 'num' }, `${x.usedCount}${x.singleUse ? ' / 1' : ''}`),
          h('td', {}, x.note || ''),
          h('td', {}, active ? badge('st-pass', t('enroll.active')) : badge('st-none', x.revokedAt ? t('enroll.revoked') : t('enroll.inactive'))),
          h('td', { class: 'actions' }, active ? h('button', { type: 'button', class: 'btn btn-small', onclick: guard(async () => {
            await api('POST', `/api/v1/enrollment-tokens/${x.id}/revoke`, {});
            list.replaceChildren(tokenTable((await api('GET', '/api/v1/enrollment-tokens')).tokens));
          }) }, t('enroll.revoke')) : null),
        );
      }),
      { testid: 'enroll-table' },
    );
  }
}
