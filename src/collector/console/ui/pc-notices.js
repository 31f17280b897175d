// The notices section of a PC's page: every notice to the person at the PC — shown (where, and
// on Windows whether as a toast or a window), held back (quiet hours, rate limit) or not shown
// (why) — from /api/v1/pcs/:id/notices.
import { api, badge, fmtTime, h, t, table } from './core.js';

export function fetchPcNotices(id) {
  return api('GET', `/api/v1/pcs/${encodeURIComponent(id)}/notices`).then((d) => d.notices);
}

const OUTCOME_BADGE = { shown: 'st-pass', skipped: 'st-unknown', failed: 'st-fail' };

function where(n) {
  if (n.outcome !== 'shown') return h('span', { class: 'small' }, n.reason || '');
  const shown = n.sessions.map((s) => `${s.user} (${t('pc.notices.session', { s: s.session })}${s.shownAs ? `, ${t(`pc.notices.as.${s.shownAs}`)}` : ''})`).join('、');
  const failed = n.failed.map((f) => `${f.user || f.session}: ${f.reason}`).join('、');
  return h('span', { class: 'small' }, shown, failed ? h('div', { class: 'muted' }, t('pc.notices.failedIn', { list: failed })) : null);
}

export function noticesSection(list) {
  if (!list.length) return h('p', { class: 'muted', 'data-testid': 'pc-notices-none' }, t('pc.notices.none'));
  const row = (n) =>
    h(
      'tr',
      { dataset: { outcome: n.outcome } },
      h('td', { class: 'nowrap' }, fmtTime(n.at)),
      h('td', {}, badge(OUTCOME_BADGE[n.outcome], t(`pc.notices.${n.outcome}`))),
      h('td', {}, n.title || n.ruleId || '', h('div', { class: 'muted small mono' }, `${n.ruleId || ''} ${n.subject || ''}`)),
      h('td', {}, where(n)),
    );
  return h('div', { class: 'table-wrap scroll' }, table([t('audit.at'), t('pc.notices.outcome'), t('live.what'), t('pc.notices.where')], list.map(row), { testid: 'pc-notices' }));
}
