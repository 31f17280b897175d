// mamori console: a framework-free single-page UI over /api/v1 (ES modules, no build step).
// All user text comes from ja.json / en.json; DOM is built with createElement (no innerHTML),
// so server data cannot inject markup. This file is the shell (login, menu, language, routing);
// each screen is its own module around the paged table of table.js, helpers are in core.js.
import { api, can, closeStream, field, fmtTime, guard, h, hooks, loadDict, openStream, route, state, t } from './core.js';
import { auditScreen } from './audit.js';
import { inventoryScreen } from './inventory.js';
import { mediaScreen } from './media.js';
import { overviewScreen } from './overview.js';
import { reportsScreen } from './report.js';
import { leaveLive, liveScreen } from './violations.js';
import { pcScreen } from './pc.js';
import { pcsScreen } from './pcs.js';
import { policyScreen } from './policy.js';
import { scanScreen } from './scan.js';
import { enrollScreen } from './enroll.js';
import { enrollmentScreen } from './enrollment.js';
import { exceptionsScreen } from './exceptions.js';
import { forwardersScreen } from './forwarders.js';
import { usersScreen } from './users.js';
import { updatesScreen } from './updates.js';

const SCREENS = [
  ['overview', 'nav.overview', 'violations.read'],
  ['live', 'nav.live', 'violations.read'],
  ['pcs', 'nav.pcs', 'pcs.read'],
  ['enroll', 'nav.enroll', 'pcs.assign'],
  ['inventory', 'nav.inventory', 'pcs.read'],
  ['scan', 'nav.scan', 'scan.request'],
  ['policy', 'nav.policy', 'policy.read'],
  ['media', 'nav.media', 'media.read'],
  ['exceptions', 'nav.exceptions', 'exceptions.read'],
  ['reports', 'nav.reports', 'reports.read'],
  ['audit', 'nav.audit', 'audit.read'],
  ['users', 'nav.users', 'users.manage'],
  ['forwarders', 'nav.forwarders', 'forwarders.manage'],
  ['enrollment', 'nav.enrollment', 'pcs.read'],
  ['updates', 'nav.updates', 'pcs.read'],
];


function langButton() {
  return h('button', { type: 'button', class: 'btn btn-link lang', 'data-testid': 'lang', onclick: guard(async () => {
    state.lang = state.lang === 'ja' ? 'en' : 'ja';
    localStorage.setItem('mamori.lang', state.lang);
    await loadDict(state.lang);
    render();
  }) }, t('lang.switch'));
}

function shell(content) {
  const r = route();
  const me = state.me.user;
  return h(
    'div',
    { class: 'shell' },
    h(
      'header',
      { class: 'topbar' },
      h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '守'), h('div', {}, h('div', { class: 'brand-name' }, t('app.title')), h('div', { class: 'brand-sub' }, t('app.subtitle')))),
      h('div', { class: 'who' }, h('span', { 'data-testid': 'whoami' }, `${me.displayName} (${t(`common.role.${me.role}`)})`), langButton(), h('button', { type: 'button', class: 'btn btn-link', onclick: guard(logout) }, t('nav.logout'))),
    ),
    h(
      'div',
      { class: 'body' },
      h('nav', { class: 'sidenav' }, h('ul', {}, SCREENS.filter(([, , p]) => can(p)).map(([name, key]) => h('li', {}, h('a', { href: `#/${name}`, class: r.name === name || (r.name === 'pc' && name === 'pcs') ? 'active' : '' }, t(key)))))),
      h('main', { class: 'content' }, h('div', { id: 'flash' }), content),
    ),
    h('footer', { class: 'footer', 'data-testid': 'footer-notice' }, t('notice.logged')),
  );
}

async function logout() {
  await api('DELETE', '/api/v1/session');
  state.me = null;
  closeStream();
  render();
}

// ------------------------------------------------------------------ login, password
function loginScreen() {
  const err = h('div', { class: 'login-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'login-card', onsubmit: async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      try {
        const res = await api('POST', '/api/v1/session', { username: fd.get('username'), password: fd.get('password') }, { noRedirect: true });
        state.csrf = res.csrfToken;
        await loadMe();
        render();
      } catch (ex) {
        err.textContent = ex.body.error === 'ACCOUNT_LOCKED' ? t('login.locked', { until: fmtTime(ex.body.lockedUntil) }) : ex.status === 429 ? t('login.throttled') : t('login.failed');
      }
    } },
    h('div', { class: 'brand login-brand' }, h('span', { class: 'logo' }, '守'), h('div', {}, h('div', { class: 'brand-name' }, t('app.title')), h('div', { class: 'brand-sub' }, t('app.subtitle')))),
    h('h1', {}, t('login.title')),
    h('p', { class: 'notice', 'data-testid': 'login-notice' }, t('notice.login')),
    field(t('login.username'), h('input', { name: 'username', autocomplete: 'username', required: true })),
    field(t('login.password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    err,
    h('button', { type: 'submit', class: 'btn btn-primary wide' }, t('login.submit')),
    h('div', { class: 'login-lang' }, langButton()),
  );
  return h('div', { class: 'login-wrap' }, form);
}

function passwordScreen() {
  const err = h('div', { class: 'login-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'login-card', onsubmit: async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      if (fd.get('next') !== fd.get('confirm')) {
        err.textContent = t('pw.mismatch');
        return;
      }
      try {
        await api('POST', '/api/v1/session/password', { current: fd.get('current'), next: fd.get('next') });
        await loadMe();
        render();
      } catch (ex) {
        err.textContent = ex.message;
      }
    } },
    h('h1', {}, t('pw.title')),
    h('p', {}, t('pw.intro')),
    field(t('pw.current'), h('input', { name: 'current', type: 'password', autocomplete: 'current-password', required: true })),
    field(t('pw.next'), h('input', { name: 'next', type: 'password', autocomplete: 'new-password', required: true, minlength: 12 })),
    field(t('pw.confirm'), h('input', { name: 'confirm', type: 'password', autocomplete: 'new-password', required: true, minlength: 12 })),
    err,
    h('button', { type: 'submit', class: 'btn btn-primary wide' }, t('pw.submit')),
    h('p', { class: 'notice' }, t('notice.logged')),
  );
  return h('div', { class: 'login-wrap' }, form);
}

async function loadMe() {
  try {
    state.me = await api('GET', '/api/v1/session', undefined, { noRedirect: true });
    if (state.me.csrfToken) state.csrf = state.me.csrfToken;
  } catch {
    state.me = null;
  }
}


// ------------------------------------------------------------------ screens



// ------------------------------------------------------------------ render
function mount(content) {
  document.getElementById('app').replaceChildren(shell(content));
}

let renderSeq = 0;
async function render() {
  const app = document.getElementById('app');
  if (!state.me) {
    closeStream();
    app.replaceChildren(loginScreen());
    return;
  }
  if (state.me.user.mustChangePassword) {
    app.replaceChildren(passwordScreen());
    return;
  }
  if (can('stream.watch')) openStream();
  const r = route();
  const mine = ++renderSeq;
  const screens = { overview: overviewScreen, live: liveScreen, pcs: pcsScreen, enroll: enrollScreen, inventory: inventoryScreen, pc: () => pcScreen(r.arg), scan: () => scanScreen(r.arg), policy: policyScreen, media: mediaScreen, exceptions: exceptionsScreen, reports: () => reportsScreen(r.arg), audit: auditScreen, users: usersScreen, forwarders: forwardersScreen, enrollment: enrollmentScreen, updates: updatesScreen };
  const make = screens[r.name] || liveScreen;
  if (r.name !== 'live') leaveLive();
  try {
    const content = await make();
    if (mine === renderSeq) mount(content);
  } catch (err) {
    if (err.status !== 401 && mine === renderSeq) mount(h('div', { class: 'flash flash-error', role: 'alert' }, `${t('common.error')}: ${err.message}`));
  }
}

hooks.render = render;
window.addEventListener('hashchange', () => void render());
(async () => {
  await loadDict(state.lang);
  await loadMe();
  await render();
})();

