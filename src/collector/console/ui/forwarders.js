// 転送設定: where violations are forwarded (syslog, webhook), each with its backlog and last
// error, paged by the server. A webhook's secret is shown once, when it is added.
import { api, field, flash, fmtTime, guard, h, select, t } from './core.js';
import { PagedTable } from './table.js';

export async function forwardersScreen() {
  const secret = h('div', { 'data-testid': 'fwd-secret-box' });
  const table = new PagedTable({
    headers: [t('fwd.kind'), t('fwd.target'), t('fwd.min'), t('fwd.backlog'), t('fwd.lastError'), t('exc.requestedBy'), t('common.actions')],
    testid: 'forwarders-table',
    keyOf: (f) => f.id,
    renderRow: (f) =>
      h(
        'tr',
        { 'data-forwarder': f.id },
        h('td', {}, f.kind),
        h('td', { class: 'mono' }, f.target),
        h('td', {}, t(`severity.${f.minSeverity}`)),
        h('td', {}, f.status.behind ? h('span', { class: 'badge badge-sev-high' }, String(f.status.backlog)) : String(f.status.backlog)),
        h('td', {}, f.status.lastError ? `${f.status.lastError} (${fmtTime(f.status.lastErrorAt)})` : '—'),
        h('td', {}, f.createdBy),
        h('td', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'fwd-remove', onclick: guard(async () => {
          await api('DELETE', `/api/v1/forwarders/${f.id}`);
          await table.reload();
          flash(t('fwd.removed', { target: f.target }));
        }) }, t('fwd.remove'))),
      ),
    async fetchPage(q) {
      const res = await api('GET', `/api/v1/forwarders?offset=${q.offset}&limit=${q.limit}`);
      return { total: res.total, offset: res.offset, rows: res.forwarders };
    },
  });
  const form = h(
    'form',
    { class: 'inline-form', onsubmit: guard(async (e) => {
      e.preventDefault();
      const res = await api('POST', '/api/v1/forwarders', Object.fromEntries(new FormData(form)));
      form.reset();
      await table.reload();
      // A webhook's secret is shown this once.
      secret.replaceChildren(...(res.secret ? [h('div', { class: 'flash flash-ok', 'data-testid': 'fwd-secret' }, t('fwd.secretOnce', { s: res.secret }))] : []));
      flash(t('fwd.added', { target: res.forwarder.target }));
    }) },
    field(t('fwd.kind'), select('kind', [['syslog-udp', 'syslog (RFC 5424, UDP)'], ['syslog-tcp', 'syslog (RFC 5424, TCP)'], ['syslog-tls', 'syslog (RFC 5425, TLS)'], ['webhook', 'Webhook (JSON POST)']], 'syslog-udp')),
    field(t('fwd.target'), h('input', { name: 'target', required: true, placeholder: 'siem.example.lg.jp:514 / https://…' })),
    field(t('fwd.min'), select('minSeverity', ['critical', 'high', 'medium', 'low', 'info'].map((x) => [x, t(`severity.${x}`)]), 'info')),
    h('button', { type: 'submit', class: 'btn btn-primary' }, t('fwd.add')),
  );
  await table.setQuery({});
  return h('section', {}, h('h1', {}, t('fwd.title')), form, secret, table.el);
}
