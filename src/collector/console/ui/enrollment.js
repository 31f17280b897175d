// 登録失敗: PCs whose enrollment the collector refused (wrong, expired, used or revoked token),
// newest first, from /api/v1/enrollment/refusals. A PC that later enrolls leaves the list.
import { api, fmtTime, h, t, table } from './core.js';

export async function enrollmentScreen() {
  const q = await api('GET', '/api/v1/enrollment/refusals');
  return h(
    'section',
    {},
    h('h1', {}, t('refusals.title')),
    h('p', { class: 'muted' }, t('enroll.help')),
    h(
      'div',
      { class: 'table-wrap' },
      table(
        [t('enroll.hostname'), t('enroll.address'), t('enroll.reason'), t('enroll.stage'), t('enroll.attempts'), t('enroll.first'), t('enroll.last')],
        q.refusals.map((r) =>
          h(
            'tr',
            { 'data-refusal': `${r.address} ${r.hostname}` },
            h('td', {}, r.hostname),
            h('td', { class: 'mono' }, r.address),
            h('td', {}, r.reasonText, r.tokenId ? h('div', { class: 'muted small mono' }, `token ${r.tokenId}`) : null),
            h('td', { class: 'nowrap' }, t(`enroll.stage.${r.stage}`)),
            h('td', { class: 'num' }, String(r.attempts)),
            h('td', { class: 'nowrap' }, fmtTime(r.firstAt)),
            h('td', { class: 'nowrap' }, fmtTime(r.lastAt)),
          ),
        ),
        { testid: 'enrollment-refusals' },
      ),
    ),
  );
}
