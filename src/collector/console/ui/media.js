// 媒体管理台帳: the organisation's USB media with their state (使用中 / 紛失 / 廃棄), the loan
// that is out now (期限超過 when past its 返却予定日), each medium's loan history, and the
// actions of the desk: register, lend, return, report lost, retire; CSV export and import.
import { api, badge, can, csvHref, dialog, field, flash, fmtTime, guard, h, hooks, route, select, t, table } from './core.js';

const STATUS_BADGE = { active: 'st-pass', lost: 'st-fail', retired: 'st-none' };
const FILTERS = [['', 'common.all'], ['active', 'mstatus.active'], ['onLoan', 'media.onLoanAll'], ['overdue', 'media.overdue'], ['lost', 'mstatus.lost'], ['retired', 'mstatus.retired']];

/** 返却予定日 as a day (stored as the UTC midnight of the date chosen). */
const dueDay = (iso) => (iso ? iso.slice(0, 10) : '—');

function loanCell(m) {
  if (!m.onLoan) return m.status === 'active' ? t('media.available') : '—';
  const l = m.onLoan;
  return h('div', {}, badge('loan', t('media.onLoan', { b: l.borrower })), h('div', { class: 'small muted' }, `${t('media.due')}: ${dueDay(l.dueAt)}`), l.overdue ? badge('st-fail', t('media.overdue')) : null);
}

function setStatus(m, status) {
  const note = h('textarea', { name: 'note', rows: 3, required: true });
  const dlg = dialog(t(`media.confirm.${status}`, { s: m.stickerNo }), h('div', {}, h('p', {}, t(`media.confirmText.${status}`)), field(t('media.statusReason'), note)), h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'media-status-save', onclick: guard(async () => {
    if (!note.reportValidity()) return;
    await api('PUT', `/api/v1/media/${m.id}`, { status, note: [m.note, `${new Date().toISOString().slice(0, 10)} ${t(`mstatus.${status}`)}: ${note.value}`].filter(Boolean).join('\n') });
    dlg.close();
    flash(t('common.saved'));
    hooks.render();
  }) }, t(`media.to.${status}`)));
}

async function historyDialog(m) {
  const res = await api('GET', `/api/v1/media/${m.id}/loans`);
  const rows = res.loans.map((l) => h('tr', { class: l.overdue ? 'overdue' : '', dataset: { loan: l.id } }, h('td', { class: 'nowrap' }, fmtTime(l.lentAt)), h('td', {}, l.borrower, h('div', { class: 'small muted' }, l.department)), h('td', {}, l.purpose), h('td', { class: 'nowrap' }, dueDay(l.dueAt)), h('td', { class: 'nowrap' }, l.returnedAt ? fmtTime(l.returnedAt) : l.overdue ? badge('st-fail', t('media.overdue')) : badge('loan', t('media.out'))), h('td', {}, l.lentBy, l.returnedBy ? ` / ${l.returnedBy}` : '')));
  dialog(`${t('media.history')}: ${m.stickerNo} ${m.label || ''}`, h('div', { class: 'table-wrap' }, table([t('media.lentAt'), t('media.borrower'), t('media.purpose'), t('media.due'), t('media.returnedAt'), t('media.handledBy')], rows, { testid: 'loan-history' })), null);
}

function mediaDialog() {
  const form = h(
    'form',
    { class: 'form-grid' },
    field(t('media.sticker'), h('input', { name: 'stickerNo', required: true })),
    field(t('media.fingerprint'), h('input', { name: 'fingerprint', required: true, placeholder: '0781:5567:4C530001234567' })),
    field(t('media.label'), h('input', { name: 'label' })),
    field(t('media.owner'), h('input', { name: 'owner', required: true })),
    field(t('common.department'), h('input', { name: 'department', required: true })),
    field(t('media.encryption'), select('encryption', ['hardware', 'software', 'none', 'unknown'].map((e) => [e, t(`encryption.${e}`)]), 'unknown')),
    field(t('media.note'), h('input', { name: 'note' })),
  );
  const dlg = dialog(t('media.register'), form, h('button', { type: 'button', class: 'btn btn-primary', onclick: guard(async () => {
    if (!form.reportValidity()) return;
    await api('POST', '/api/v1/media', Object.fromEntries(new FormData(form)));
    dlg.close();
    hooks.render();
  }) }, t('common.save')));
}

function lendDialog(m) {
  const form = h('form', { class: 'form-grid' }, field(t('media.borrower'), h('input', { name: 'borrower', required: true })), field(t('common.department'), h('input', { name: 'department', required: true, value: m.department })), field(t('media.purpose'), h('input', { name: 'purpose', required: true })), field(t('media.due'), h('input', { name: 'dueAt', type: 'date' })));
  const dlg = dialog(`${t('media.lend')}: ${m.stickerNo}`, form, h('button', { type: 'button', class: 'btn btn-primary', onclick: guard(async () => {
    if (!form.reportValidity()) return;
    const fd = Object.fromEntries(new FormData(form));
    await api('POST', `/api/v1/media/${m.id}/loans`, { ...fd, dueAt: fd.dueAt || null });
    dlg.close();
    hooks.render();
  }) }, t('common.save')));
}

function actions(m) {
  const acts = [h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'loan-history-open', onclick: guard(() => historyDialog(m)) }, t('media.history'))];
  if (can('media.lend') && m.status === 'active') {
    acts.push(m.onLoan
      ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'media-return', onclick: guard(async () => {
          await api('POST', `/api/v1/media/${m.id}/return`, {});
          hooks.render();
        }) }, t('media.return'))
      : h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'media-lend', onclick: () => lendDialog(m) }, t('media.lend')));
  }
  if (can('media.register')) {
    if (m.status === 'active') acts.push(h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'media-lost', onclick: () => setStatus(m, 'lost') }, t('media.to.lost')), h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'media-retire', onclick: () => setStatus(m, 'retired') }, t('media.to.retired')));
    else acts.push(h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'media-reactivate', onclick: () => setStatus(m, 'active') }, t('media.to.active')));
  }
  return acts;
}

export async function mediaScreen() {
  const q = await api('GET', '/api/v1/media');
  const show = route().params.get('show') || '';
  const keep = (m) => !show || (show === 'onLoan' ? !!m.onLoan : show === 'overdue' ? !!m.onLoan?.overdue : m.status === show);
  const overdue = q.media.filter((m) => m.onLoan?.overdue).length;
  const rows = q.media.filter(keep).map((m) =>
    h(
      'tr',
      { class: `${m.onLoan?.overdue ? 'overdue' : ''} ${m.status !== 'active' ? 'inactive' : ''}`, dataset: { sticker: m.stickerNo, status: m.status } },
      h('td', { class: 'mono' }, m.stickerNo),
      h('td', { class: 'mono small' }, m.fingerprint, m.duplicateSerial ? h('div', {}, badge('st-fail', t('media.dupSerial'))) : null),
      h('td', {}, m.label || '—'),
      h('td', {}, m.owner),
      h('td', {}, m.department),
      h('td', {}, t(`encryption.${m.encryption}`)),
      h('td', {}, badge(STATUS_BADGE[m.status] || 'st-unknown', t(`mstatus.${m.status}`))),
      h('td', {}, loanCell(m)),
      h('td', { class: 'actions' }, actions(m)),
    ),
  );
  const fileIn = h('input', { type: 'file', accept: '.csv,text/csv', class: 'hidden-file', onchange: guard(async () => {
    const f = fileIn.files[0];
    if (!f) return;
    const res = await api('POST', '/api/v1/media/import', await f.text(), { raw: 'text/csv' });
    flash(t('media.imported', { c: res.created, u: res.updated }));
    hooks.render();
  }) });
  const filter = select('show', FILTERS.map(([v, k]) => [v, t(k)]), show);
  filter.addEventListener('change', () => (location.hash = `#/media${filter.value ? `?show=${filter.value}` : ''}`));
  return h(
    'section',
    {},
    h('div', { class: 'title-row' }, h('h1', {}, t('media.title')), h('div', { class: 'btns' }, can('media.register') ? h('button', { type: 'button', class: 'btn btn-primary', onclick: () => mediaDialog() }, t('media.register')) : null, h('a', { class: 'btn', href: csvHref('/api/v1/media.csv'), 'data-testid': 'media-csv', download: 'media-ledger.csv' }, t('media.export')), can('media.import') ? h('label', { class: 'btn' }, t('media.import'), fileIn) : null)),
    overdue ? h('p', { class: 'notice', 'data-testid': 'overdue-notice' }, h('a', { href: '#/media?show=overdue' }, t('media.overdueCount', { n: overdue }))) : null,
    h('div', { class: 'filters' }, field(t('media.show'), filter)),
    h('div', { class: 'table-wrap' }, table([t('media.sticker'), t('media.fingerprint'), t('media.label'), t('media.owner'), t('common.department'), t('media.encryption'), t('media.status'), t('media.loan'), t('common.actions')], rows, { testid: 'media-table' })),
  );
}
