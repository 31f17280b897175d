// Shared helpers of the console screens: texts (ja.json / en.json), DOM building without
// innerHTML (server data cannot inject markup), the API client, dialogs, badges, charts and
// the live stream connection.

/** Set by app.js: re-render the current screen. */
export const hooks = { render: () => {} };

export const state = { lang: localStorage.getItem('mamori.lang') || 'ja', dict: {}, me: null, csrf: '', ws: null, live: new Map(), rules: null };

// ------------------------------------------------------------------ helpers
export function t(key, vars) {
  let s = state.dict[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, String(v));
  return s;
}

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const svgNs = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  // Japan time whatever the browser's zone (a PC set to UTC still shows the times people know).
  return d.toLocaleString(state.lang === 'ja' ? 'ja-JP' : 'en-GB', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function loc(obj) {
  return obj ? (obj[state.lang] ?? obj.ja ?? '') : '';
}

export class ApiError extends Error {
  constructor(status, body) {
    // The server answers a Japanese message and its English text (messageEn).
    super((body && ((state.lang === 'en' && body.messageEn) || body.message)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(method, path, body, opts = {}) {
  const headers = {};
  if (method !== 'GET') headers['x-csrf-token'] = state.csrf;
  let payload;
  if (body !== undefined) {
    if (opts.raw) {
      payload = body;
      headers['content-type'] = opts.raw;
    } else {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { message: text };
  }
  if (res.status === 401 && !opts.noRedirect) {
    state.me = null;
    hooks.render();
    throw new ApiError(401, json);
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

export function flash(msg, kind = 'ok') {
  const box = document.getElementById('flash');
  if (!box) return;
  box.replaceChildren(h('div', { class: `flash flash-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, msg));
  setTimeout(() => box.firstChild && box.firstChild.remove(), 6000);
}

export function guard(fn) {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err.status !== 401) flash(`${t('common.error')}: ${err.message}`, 'error');
    }
  };
}

export const can = (perm) => !!state.me && state.me.permissions.includes(perm);

export function badge(kind, text) {
  return h('span', { class: `badge badge-${kind}` }, text);
}
export function sevBadge(sev) {
  return badge(`sev-${sev}`, t(`severity.${sev}`));
}
export function statusBadge(st) {
  return badge(`st-${st}`, t(`status.${st}`));
}

export function table(headers, rows, opts = {}) {
  return h(
    'table',
    { class: `grid ${opts.class || ''}`, 'data-testid': opts.testid },
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'empty' }, t('common.empty')))),
  );
}

export function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

export function select(name, options, value) {
  return h('select', { name }, options.map(([v, label]) => h('option', { value: v, selected: v === value ? true : undefined }, label)));
}

export function dialog(title, body, actions) {
  const dlg = h('dialog', { class: 'dlg' }, h('h2', {}, title), body, h('div', { class: 'dlg-actions' }, actions, h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('common.cancel'))));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

export function clauses(list) {
  return h('ul', { class: 'clauses' }, list.map((c) => h('li', {}, h('span', { class: 'clause-src', title: c.title }, c.title), ' ', h('span', { class: 'clause-ref' }, c.ref))));
}

// ------------------------------------------------------------------ shell
export async function loadDict(lang) {
  state.dict = await (await fetch(`/ui/${lang}.json`)).json();
  document.documentElement.lang = lang;
  document.title = t('app.title');
}

/** #/name/arg?filters: the screen, its argument and the filters of its list (links from 概要 carry them). */
export function route() {
  const [path, search] = location.hash.replace(/^#\/?/, '').split('?');
  const [name, arg] = path.split('/');
  return { name: name || 'live', arg: arg ? decodeURIComponent(arg) : undefined, params: new URLSearchParams(search || '') };
}

/** The address of a CSV export in the console's language (Japanese unless switched): `params` a URLSearchParams or query string. */
export function csvHref(path, params) {
  const qs = new URLSearchParams(params || '');
  if (state.lang === 'en') qs.set('lang', 'en');
  else qs.delete('lang');
  return `${path}${qs.size ? `?${qs}` : ''}`;
}

/** A number as the language writes it: 1,925. */
export function num(n) {
  return Number(n).toLocaleString(state.lang === 'ja' ? 'ja-JP' : 'en-GB');
}

// ------------------------------------------------------------------ live stream
export const listeners = new Set();
export function openStream() {
  if (state.ws && state.ws.readyState <= 1) return;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/stream`);
  state.ws = ws;
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    for (const fn of listeners) fn(msg);
  };
  ws.onopen = () => setLiveStatus(true);
  ws.onclose = () => {
    setLiveStatus(false);
    if (state.me && state.ws === ws) setTimeout(openStream, 2000);
  };
}
export function closeStream() {
  const ws = state.ws;
  state.ws = null;
  if (ws) ws.close();
}
export function setLiveStatus(up) {
  const el = document.getElementById('live-status');
  if (el) {
    el.className = `live-status ${up ? 'up' : 'down'}`;
    el.textContent = up ? t('live.connected') : t('live.disconnected');
  }
}
