// アカウント: the console's accounts, searched and paged by the server; a new account gets a
// one-time password shown once; reset, disable and enable redraw the account's row in place.
import { api, badge, field, flash, guard, h, route, select, state, t } from './core.js';
import { PagedTable } from './table.js';

const FILTERS = ['q', 'role'];

function queryString(f) {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (f[k]) q.set(k, f[k]);
  return q;
}

function stateBadge(u) {
  if (u.disabled) return badge('st-none', t('users.disabled'));
  if (u.lockedUntil && u.lockedUntil > new Date().toISOString()) return badge('st-fail', t('users.locked'));
  return badge('st-pass', t('users.active'));
}

export async function usersScreen() {
  const params = route().params;
  const f = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  let roles = ['admin', 'helpdesk', 'auditor'];
  /** A one-time password, shown until the next one (it is never shown again). */
  const otp = h('div', { 'data-testid': 'otp' });
  const showOtp = (username, password) => otp.replaceChildren(h('div', { class: 'flash flash-ok', role: 'status' }, `${username}: `, t('users.otp', { p: password })));
  const table = new PagedTable({
    headers: [t('users.username'), t('users.displayName'), t('users.role'), t('common.department'), t('live.state'), t('common.actions')],
    testid: 'users-table',
    keyOf: (u) => u.id,
    renderRow: (u) =>
      h(
        'tr',
        { dataset: { id: u.id, username: u.username } },
        h('td', {}, u.username),
        h('td', {}, u.displayName),
        h('td', {}, t(`common.role.${u.role}`)),
        h('td', {}, u.departments.join(', ') || t('reports.org')),
        h('td', {}, stateBadge(u)),
        h(
          'td',
          { class: 'actions' },
          h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'user-reset', onclick: guard(async () => {
            const res = await api('POST', `/api/v1/users/${u.id}/reset-password`, {});
            showOtp(u.username, res.oneTimePassword);
          }) }, t('users.reset')),
          u.id !== state.me.user.id
            ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'user-toggle', onclick: guard(async () => {
                const res = await api('PUT', `/api/v1/users/${u.id}`, { disabled: !u.disabled });
                table.update(u.id, res.user);
                flash(t(res.user.disabled ? 'users.disabledFlash' : 'users.enabledFlash', { user: u.username }));
              }) }, u.disabled ? t('users.enable') : t('users.disable'))
            : null,
        ),
      ),
    async fetchPage(q) {
      const qs = queryString(q);
      qs.set('offset', String(q.offset));
      qs.set('limit', String(q.limit));
      const res = await api('GET', `/api/v1/users?${qs}`);
      roles = res.roles;
      return { total: res.total, offset: res.offset, rows: res.users };
    },
    onQuery(q) {
      const qs = queryString(q).toString();
      history.replaceState(null, '', `#/users${qs ? `?${qs}` : ''}`);
    },
  });
  await table.setQuery(Object.fromEntries(Object.entries(f).filter(([, v]) => v)));
  const form = h(
    'form',
    { class: 'inline-form', 'data-testid': 'user-new', onsubmit: guard(async (e) => {
      e.preventDefault();
      const fd = Object.fromEntries(new FormData(form));
      const res = await api('POST', '/api/v1/users', { username: fd.username, displayName: fd.displayName || undefined, role: fd.role, departments: String(fd.departments || '').split(',').map((x) => x.trim()).filter(Boolean) });
      form.reset();
      await table.reload();
      showOtp(res.user.username, res.oneTimePassword);
    }) },
    field(t('users.username'), h('input', { name: 'username', required: true })),
    field(t('users.displayName'), h('input', { name: 'displayName' })),
    field(t('users.role'), select('role', roles.map((r) => [r, t(`common.role.${r}`)]), 'helpdesk')),
    field(t('users.departments'), h('input', { name: 'departments' })),
    h('button', { type: 'submit', class: 'btn btn-primary' }, t('users.new')),
  );
  let typing = null;
  const bar = h(
    'form',
    { class: 'filters', 'data-testid': 'users-filters', oninput: (e) => {
      const fd = new FormData(bar);
      for (const k of FILTERS) f[k] = String(fd.get(k) || '');
      clearTimeout(typing);
      typing = setTimeout(() => void table.setQuery({ ...f }).catch((err) => flash(`${t('common.error')}: ${err.message}`, 'error')), e.target.name === 'q' ? 250 : 0);
    }, onsubmit: (e) => e.preventDefault() },
    field(t('users.search'), h('input', { name: 'q', value: f.q, type: 'search', 'data-testid': 'users-search' })),
    field(t('users.role'), select('role', [['', t('common.all')], ...roles.map((r) => [r, t(`common.role.${r}`)])], f.role)),
  );
  return h('section', {}, h('h1', {}, t('users.title')), form, otp, bar, table.el);
}
