// mamori console: a framework-free single-page UI over /api/v1 (ES modules, no build step).
// All user text comes from ja.json / en.json; DOM is built with createElement (no innerHTML),
// so server data cannot inject markup. Shared helpers are in core.js, the paged table in
// table.js, the violation list in violations.js.
import { ApiError, api, badge, can, clauses, closeStream, field, flash, fmtTime, guard, h, hooks, listeners, loadDict, loc, num, openStream, route, s, select, setLiveStatus, sevBadge, state, statusBadge, t, table } from './core.js';
import { auditScreen } from './audit.js';
import { inventoryScreen } from './inventory.js';
import { mediaScreen } from './media.js';
import { areaName, overviewScreen } from './overview.js';
import { reportsScreen } from './report.js';
import { exceptionDialog, leaveLive, liveScreen, registerFromViolation, violationRow } from './violations.js';
import { pcScreen } from './pc.js';
import { pcsScreen } from './pcs.js';
import { enrollScreen } from './enroll.js';
import { enrollmentScreen } from './enrollment.js';

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
/** One check of a scan result in words: its verdict, never the bare transport status (a check that ran and found violations is 「違反 N 件」, not "ok"). */
function scanCheckText(c) {
  if (c.failed > 0) return t('scan.failed', { n: c.failed });
  return t(c.status === 'ok' ? 'status.pass' : c.status === 'unknown' ? 'status.unknown' : 'scan.error');
}

async function scanScreen(preselect) {
  const q = await api('GET', '/api/v1/pcs');
  const progress = h('div', { class: 'table-wrap', 'data-testid': 'scan-progress' });
  let requests = [];
  const draw = () =>
    progress.replaceChildren(
      table([t('pcs.hostname'), t('pcs.status'), t('live.state'), t('scan.requested'), t('scan.completed'), t('scan.result')], requests.map((r) => {
        const failed = Array.isArray(r.result) ? r.result.reduce((n, c) => n + (c.failed || 0), 0) : null;
        return h('tr', { dataset: { state: r.state, host: r.hostname } }, h('td', {}, r.hostname), h('td', {}, badge(r.online ? 'online' : 'offline', t(`online.${!!r.online}`))), h('td', {}, badge(`scan-${r.state}`, t(`scan.state.${r.state}`))), h('td', { class: 'nowrap' }, fmtTime(r.requestedAt)), h('td', { class: 'nowrap' }, fmtTime(r.completedAt)), h('td', {}, Array.isArray(r.result) ? h('div', {}, failed ? badge('st-fail', t('scan.failed', { n: failed })) : badge('st-pass', t('status.pass')), h('ul', { class: 'small plain' }, r.result.map((c) => h('li', { dataset: { check: c.checkId } }, `${t(`check.${c.checkId}`)}: ${scanCheckText(c)}`)))) : '—'));
      }), { testid: 'scan-table' }),
    );
  listeners.clear();
  listeners.add((msg) => {
    if (msg.type !== 'scan') return;
    const r = requests.find((x) => x.id === msg.requestId);
    if (r) {
      Object.assign(r, { state: 'done', completedAt: msg.completedAt, result: msg.checks });
      draw();
    }
  });
  const poll = async () => {
    if (!requests.length || requests.every((r) => r.state === 'done') || route().name !== 'scan') return;
    const res = await api('GET', `/api/v1/scans?ids=${requests.map((r) => r.id).join(',')}`);
    for (const x of res.requests) {
      const r = requests.find((y) => y.id === x.id);
      if (r) Object.assign(r, { state: x.state, sentAt: x.sentAt, completedAt: x.completedAt, result: x.result });
    }
    draw();
    setTimeout(() => void poll().catch(() => undefined), 1000);
  };
  const form = h(
    'form',
    { class: 'scan-form', onsubmit: guard(async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      const agentIds = fd.getAll('agent');
      const group = fd.get('group');
      const res = await api('POST', '/api/v1/scans', { agentIds, ...(group ? { group } : {}) });
      requests = res.requests;
      draw();
      setTimeout(() => void poll().catch(() => undefined), 500);
    }) },
    h('fieldset', {}, h('legend', {}, t('scan.pick')), h('div', { class: 'pc-picks' }, q.pcs.map((p) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'agent', value: p.id, checked: p.id === preselect }), p.hostname, ' ', badge(p.online ? 'online' : 'offline', t(`online.${p.online}`)))))),
    field(t('scan.group'), select('group', [['', t('common.none')], ...q.groups.map((g) => [g, g])], '')),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'scan-start' }, t('scan.start')),
  );
  draw();
  return h('section', {}, h('h1', {}, t('scan.title')), h('p', { class: 'intro' }, t('scan.intro')), form, progress);
}

async function policyScreen() {
  const p = await api('GET', '/api/v1/policy');
  const status = await api('GET', '/api/v1/policy/status');
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
  const applied = status.pcs.filter((x) => x.current).length;
  return h(
    'section',
    {},
    h('h1', {}, t('policy.title')),
    h('p', { class: 'intro' }, t('policy.intro')),
    h('p', {}, t('policy.revision', { v: p.revision.version, by: p.revision.createdBy || '—', at: fmtTime(p.revision.createdAt) }), ' — ', `${t('policy.status')}: ${applied} / ${status.pcs.length} ${t('policy.applied')}`),
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
      render();
    }) }, field(t('policy.comment'), commentIn), h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save'))) : null,
    h('h2', {}, t('policy.history')),
    table(['#', t('exc.requestedBy'), t('audit.at'), t('policy.comment')], history.history.map((r) => h('tr', {}, h('td', {}, String(r.version)), h('td', {}, r.createdBy), h('td', {}, fmtTime(r.createdAt)), h('td', {}, r.comment)))),
    h('h2', {}, t('policy.status')),
    table([t('pcs.hostname'), t('pcs.status'), t('pcs.policy'), ''], status.pcs.map((x) => h('tr', {}, h('td', {}, x.hostname), h('td', {}, badge(x.online ? 'online' : 'offline', t(`online.${x.online}`))), h('td', { 'data-testid': 'policy-pc-version' }, t('pc.policyVersion', { v: x.policyVersion })), h('td', {}, x.current ? badge('st-pass', t('policy.applied')) : badge('st-unknown', t('pc.policyPending', { v: x.expectedVersion })), ' ', h('span', { class: 'muted small' }, t('pc.policyRevision', { r: x.revision })))))),
  );
}

async function exceptionsScreen() {
  const q = await api('GET', '/api/v1/exceptions');
  const mine = state.me.user.username;
  const rows = q.exceptions.map((e) => {
    const acts = [];
    if (e.state === 'requested' && can('exceptions.decide')) {
      if (e.requestedBy === mine) acts.push(h('span', { class: 'muted small' }, t('exc.self')));
      else {
        acts.push(h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'approve', onclick: guard(async () => {
          await api('POST', `/api/v1/exceptions/${e.id}/approve`, { comment: '' });
          render();
        }) }, t('exc.approve')));
        acts.push(h('button', { type: 'button', class: 'btn btn-small', onclick: guard(async () => {
          await api('POST', `/api/v1/exceptions/${e.id}/reject`, { comment: '' });
          render();
        }) }, t('exc.reject')));
      }
    }
    if (e.state === 'approved' && can('exceptions.decide')) acts.push(h('button', { type: 'button', class: 'btn btn-small', onclick: guard(async () => {
      await api('POST', `/api/v1/exceptions/${e.id}/revoke`, { comment: '' });
      render();
    }) }, t('exc.revoke')));
    const cls = { requested: 'st-unknown', approved: 'st-excepted', rejected: 'st-fail', revoked: 'st-none', expired: 'st-none' }[e.state];
    return h('tr', { dataset: { id: e.id, state: e.state } }, h('td', {}, badge(cls, t(`exc.state.${e.state}`))), h('td', { class: 'mono' }, e.ruleId), h('td', { class: 'mono small' }, e.subject), h('td', { class: 'small', title: e.agentId || '' }, e.agentId ? e.hostname || e.agentId : t('common.all')), h('td', {}, e.reason), h('td', { class: 'nowrap' }, fmtTime(e.until)), h('td', {}, e.requestedBy, h('div', { class: 'muted small' }, fmtTime(e.requestedAt))), h('td', {}, e.decidedBy || '—', e.decidedAt ? h('div', { class: 'muted small' }, fmtTime(e.decidedAt)) : null), h('td', { class: 'actions' }, acts));
  });
  return h(
    'section',
    {},
    h('div', { class: 'title-row' }, h('h1', {}, t('exc.title')), can('exceptions.request') ? h('button', { type: 'button', class: 'btn btn-primary', onclick: () => exceptionDialog() }, t('exc.new')) : null),
    h('p', { class: 'intro' }, t('exc.intro')),
    h('div', { class: 'table-wrap' }, table([t('exc.state'), t('exc.rule'), t('exc.subject'), t('exc.pc'), t('common.reason'), t('exc.until'), t('exc.requestedBy'), t('exc.decidedBy'), t('common.actions')], rows, { testid: 'exceptions-table' })),
  );
}

async function usersScreen() {
  const q = await api('GET', '/api/v1/users');
  const out = h('div', { 'data-testid': 'otp' });
  const form = h(
    'form',
    { class: 'inline-form', onsubmit: guard(async (e) => {
      e.preventDefault();
      const fd = Object.fromEntries(new FormData(form));
      const res = await api('POST', '/api/v1/users', { username: fd.username, displayName: fd.displayName || undefined, role: fd.role, departments: String(fd.departments || '').split(',').map((x) => x.trim()).filter(Boolean) });
      const content = await usersScreen();
      mount(content);
      document.querySelector('[data-testid="otp"]').replaceChildren(h('div', { class: 'flash flash-ok' }, `${res.user.username}: `, t('users.otp', { p: res.oneTimePassword })));
    }) },
    field(t('users.username'), h('input', { name: 'username', required: true })),
    field(t('users.displayName'), h('input', { name: 'displayName' })),
    field(t('users.role'), select('role', q.roles.map((r) => [r, t(`common.role.${r}`)]), 'helpdesk')),
    field(t('users.departments'), h('input', { name: 'departments' })),
    h('button', { type: 'submit', class: 'btn btn-primary' }, t('users.new')),
  );
  const rows = q.users.map((u) => h('tr', {}, h('td', {}, u.username), h('td', {}, u.displayName), h('td', {}, t(`common.role.${u.role}`)), h('td', {}, u.departments.join(', ') || t('reports.org')), h('td', {}, u.disabled ? badge('st-none', t('users.disabled')) : u.lockedUntil && u.lockedUntil > new Date().toISOString() ? badge('st-fail', t('users.locked')) : badge('st-pass', '✓')), h('td', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-small', onclick: guard(async () => {
    const res = await api('POST', `/api/v1/users/${u.id}/reset-password`, {});
    out.replaceChildren(h('div', { class: 'flash flash-ok' }, `${u.username}: `, t('users.otp', { p: res.oneTimePassword })));
  }) }, t('users.reset')), u.id !== state.me.user.id ? h('button', { type: 'button', class: 'btn btn-small', onclick: guard(async () => {
    await api('PUT', `/api/v1/users/${u.id}`, { disabled: !u.disabled });
    render();
  }) }, u.disabled ? t('users.enable') : t('users.disable')) : null)));
  return h('section', {}, h('h1', {}, t('users.title')), form, out, h('div', { class: 'table-wrap' }, table([t('users.username'), t('users.displayName'), t('users.role'), t('common.department'), t('live.state'), t('common.actions')], rows)));
}

async function forwardersScreen() {
  const q = await api('GET', '/api/v1/forwarders');
  const form = h(
    'form',
    { class: 'inline-form', onsubmit: guard(async (e) => {
      e.preventDefault();
      const res = await api('POST', '/api/v1/forwarders', Object.fromEntries(new FormData(form)));
      await render();
      // A webhook's secret is shown this once.
      if (res.secret) document.querySelector('main section')?.prepend(h('div', { class: 'flash flash-ok', 'data-test': 'fwd-secret' }, t('fwd.secretOnce', { s: res.secret })));
    }) },
    field(t('fwd.kind'), select('kind', [['syslog-udp', 'syslog (RFC 5424, UDP)'], ['syslog-tcp', 'syslog (RFC 5424, TCP)'], ['syslog-tls', 'syslog (RFC 5425, TLS)'], ['webhook', 'Webhook (JSON POST)']], 'syslog-udp')),
    field(t('fwd.target'), h('input', { name: 'target', required: true, placeholder: 'siem.example.lg.jp:514 / https://…' })),
    field(t('fwd.min'), select('minSeverity', ['critical', 'high', 'medium', 'low', 'info'].map((x) => [x, t(`severity.${x}`)]), 'info')),
    h('button', { type: 'submit', class: 'btn btn-primary' }, t('fwd.add')),
  );
  return h('section', {}, h('h1', {}, t('fwd.title')), form, table([t('fwd.kind'), t('fwd.target'), t('fwd.min'), t('fwd.backlog'), t('fwd.lastError'), t('exc.requestedBy'), ''], q.forwarders.map((f) => h('tr', { 'data-forwarder': f.id }, h('td', {}, f.kind), h('td', { class: 'mono' }, f.target), h('td', {}, t(`severity.${f.minSeverity}`)), h('td', {}, f.status.behind ? h('span', { class: 'badge badge-sev-high' }, String(f.status.backlog)) : String(f.status.backlog)), h('td', {}, f.status.lastError ? `${f.status.lastError} (${fmtTime(f.status.lastErrorAt)})` : '—'), h('td', {}, f.createdBy), h('td', {}, h('button', { type: 'button', class: 'btn btn-small', onclick: guard(async () => {
    await api('DELETE', `/api/v1/forwarders/${f.id}`);
    render();
  }) }, t('fwd.remove')))))));
}

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
  const screens = { overview: overviewScreen, live: liveScreen, pcs: pcsScreen, enroll: enrollScreen, inventory: inventoryScreen, pc: () => pcScreen(r.arg), scan: () => scanScreen(r.arg), policy: policyScreen, media: mediaScreen, exceptions: exceptionsScreen, reports: () => reportsScreen(r.arg), audit: auditScreen, users: usersScreen, forwarders: forwardersScreen, enrollment: enrollmentScreen };
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

