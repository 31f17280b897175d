// エージェント更新: the agent packages uploaded to the collector (`mamori collector update upload`),
// a rollout of one of them — to named PCs (the canary group) first, then a 課, a segment or every
// PC — and the state of every PC of each rollout (適用済, 失敗 with the reason, …), newest first.
import { api, can, field, flash, fmtTime, guard, h, select, t, table } from './core.js';

const STATE_BADGE = { pending: 'st-unknown', offered: 'st-unknown', installing: 'st-unknown', installed: 'st-pass', rolled_back: 'sev-high', failed: 'st-fail' };

function rolloutForm(packages, reload) {
  const target = h('div', { class: 'rollout-target' });
  const targets = {
    agents: () => field(t('upd.hostnames'), h('input', { name: 'hostnames', required: true, placeholder: 'PC-ZEIMU-001, PC-ZEIMU-002' })),
    department: () => field(t('upd.department'), h('input', { name: 'department', required: true })),
    segment: () => field(t('upd.segment'), select('segment', ['mynumber', 'lgwan', 'internet'].map((x) => [x, t(`segment.${x}`)]), 'lgwan')),
    all: () => h('span', { class: 'muted' }, t('upd.allHelp')),
  };
  const kind = select('kind', ['agents', 'department', 'segment', 'all'].map((k) => [k, t(`upd.kind.${k}`)]), 'agents');
  kind.addEventListener('change', () => target.replaceChildren(targets[kind.value]()));
  target.replaceChildren(targets.agents());
  const form = h(
    'form',
    { class: 'inline-form', 'data-testid': 'rollout-form', onsubmit: guard(async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      const k = fd.get('kind');
      const selection =
        k === 'agents' ? { kind: k, hostnames: String(fd.get('hostnames')).split(/[\s,、]+/).filter(Boolean) } : k === 'department' ? { kind: k, name: fd.get('department') } : k === 'segment' ? { kind: k, segment: fd.get('segment') } : { kind: k };
      const res = await api('POST', '/api/v1/updates/rollouts', { packageId: fd.get('packageId'), selection, deadlineMinutes: Number(fd.get('deadline')) });
      await reload();
      flash(t('upd.created', { n: res.agents.length }));
    }) },
    field(t('upd.package'), select('packageId', packages.map((p) => [p.id, `${p.version} (${p.platform})`]), packages.at(-1)?.id)),
    field(t('upd.to'), kind),
    target,
    field(t('upd.deadline'), h('input', { name: 'deadline', type: 'number', min: 1, max: 1440, value: 10, required: true })),
    h('button', { type: 'submit', class: 'btn btn-primary' }, t('upd.rollout')),
  );
  return h('section', { class: 'card' }, h('h2', {}, t('upd.newRollout')), h('p', { class: 'muted' }, t('upd.canaryHelp')), form);
}

export async function updatesScreen() {
  const body = h('div', {});
  const reload = async () => {
    const q = await api('GET', '/api/v1/updates');
    const packages = table(
      [t('upd.version'), t('upd.platform'), 'SHA-256', t('upd.size'), t('upd.uploadedAt'), t('upd.uploadedBy')],
      q.packages.map((p) =>
        h('tr', { 'data-package': p.id }, h('td', {}, p.version), h('td', {}, p.platform), h('td', { class: 'mono' }, `${p.sha256.slice(0, 16)}…`), h('td', { class: 'num' }, `${(p.size / 1048576).toFixed(1)} MB`), h('td', { class: 'nowrap' }, fmtTime(p.uploadedAt)), h('td', {}, p.uploadedBy)),
      ),
      { testid: 'update-packages' },
    );
    const pcs = table(
      [t('upd.pc'), t('upd.department'), t('upd.rolloutId'), t('upd.target'), t('upd.running'), t('upd.state'), t('upd.reason'), t('upd.changedAt')],
      q.pcs.map((r) =>
        h(
          'tr',
          { 'data-rollout-pc': `${r.rolloutId} ${r.hostname}` },
          h('td', {}, h('a', { href: `#/pc/${encodeURIComponent(r.agentId)}` }, r.hostname)),
          h('td', {}, r.department ?? '—'),
          h('td', { class: 'mono small' }, r.rolloutId),
          h('td', {}, r.targetVersion),
          h('td', {}, r.agentVersion),
          h('td', { class: 'nowrap' }, h('span', { class: `badge badge-${STATE_BADGE[r.state]}` }, t(`upd.state.${r.state}`))),
          h('td', {}, r.reason ?? ''),
          h('td', { class: 'nowrap' }, fmtTime(r.changedAt)),
        ),
      ),
      { testid: 'rollout-pcs' },
    );
    body.replaceChildren(
      h('h2', {}, t('upd.packages')),
      // The command and the file name as code, inside the sentence of the language.
      h('p', { class: 'muted' }, ...t('upd.uploadHelp').split(/(\{cmd\}|\{file\})/).map((part) => (part === '{cmd}' ? h('code', {}, 'mamori collector update upload') : part === '{file}' ? h('code', {}, '.update.json') : part))),
      h('div', { class: 'table-wrap' }, packages),
      can('updates.rollout') && q.packages.length ? rolloutForm(q.packages, reload) : '',
      h('h2', {}, t('upd.pcs'), ' ', h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'updates-reload', onclick: guard(reload) }, t('upd.reload'))),
      h('div', { class: 'table-wrap' }, pcs),
    );
  };
  await reload();
  return h('section', {}, h('h1', {}, t('upd.title')), body);
}
