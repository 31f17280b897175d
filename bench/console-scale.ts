/**
 * The console at a city's size: 10,000 PCs and 200,000 violation events written into the
 * store (bench/lib/city.ts; SQLite, or PostgreSQL with --pg), a real collector on it, the 違反
 * and 端末一覧 screens in real Chromium. Figures: the first render of each screen, the answer to
 * a 課 filter and to a PC-name search (each next to the bare API query over HTTP for the same
 * page), the latency of a new violation into the open table with 1,000 rows shown (bus emit →
 * its row in the DOM), and the 課 of all 10,000 PCs set at once (by the list's filters and from
 * a CSV of 10,000 lines); the 概要 screen (counts per 課 and kind, 90-day trends) and the
 * 自己点検 report (every PC's results for every rule of the catalogue) rendered and printed to
 * PDF, next to their API.
 *
 *   node dist/bench/console-scale.mjs [--pcs 10000] [--per-pc 20] [--live 30] [--pg] [--limit-s 900]
 *   (--pg: a database of its own on MAMORI_PG_URL, default postgres://postgres@127.0.0.1:5432/test)
 */
import { join } from 'node:path';
import { openDefaultStore } from '../src/collector/collector.js';
import { loadCatalogue } from '../src/shared/catalogue/load.js';
import { configDir } from '../src/shared/paths.js';
import { openPostgresStore } from '../src/collector/store/postgres/open.js';
import type { Store } from '../src/collector/store/store.js';
import { createTestDatabase } from '../test/cluster/pg-env.js';
import { foldKeptCounts } from '../src/collector/store/kept-counts.js';
import { OPEN_VIOLATION_COUNTS } from '../src/collector/store/open-violation-counts.js';
import { RULE_RESULT_COUNTS } from '../src/collector/store/rule-result-counts.js';
import { foldViolationDays } from '../src/collector/store/violation-days.js';
import type { AgentEvent } from '../src/shared/protocol/messages.js';
import { adminClient, startTestCollector } from '../test/console/helpers.js';
import { cityViolation, seedCity } from './lib/city.js';
import { benchMain, flagArg, fmt, machine, numArg, summarise } from './lib/common.js';

const PCS = numArg('pcs', 10_000);
const PER_PC = numArg('per-pc', 20);
const LIVE = numArg('live', 30);
const PG = flagArg('pg');

await benchMain('console-scale', import.meta.url, numArg('limit-s', 900) * 1000, async (scratch) => {
  const dataDir = join(scratch, 'data');
  const pgDb = PG ? await createTestDatabase() : undefined;
  const open = async (): Promise<Store> => (pgDb ? openPostgresStore(pgDb.url) : openDefaultStore(dataDir));
  const dialect = PG ? 'PostgreSQL' : 'SQLite';
  const store = await open();
  await store.migrate();
  const seedStart = Date.now();
  // Events over the last 90 days (the trends), and every PC's results for every rule (the report).
  const results = loadCatalogue(configDir()).rules.map((r) => ({ ruleId: r.id, checkId: r.check }));
  const city = await seedCity(store, { pcs: PCS, perPc: PER_PC, closeEvery: 4, days: 90, results });
  const seedMs = Date.now() - seedStart;
  // The seed's triggers appended a change per row to the kept counts; a site's collector folds
  // them every minute (housekeeping), so the screens are timed after that fold, not with it.
  await foldViolationDays(store.sql);
  for (const kept of [OPEN_VIOLATION_COUNTS, RULE_RESULT_COUNTS]) await foldKeptCounts(store.sql, kept);
  // What autovacuum does on a site's server within a minute of such a load (the test server
  // here runs with autovacuum off): statistics and the visibility map, without which every
  // plan is made for empty tables and index-only scans read the heap.
  if (pgDb) await store.sql.run('VACUUM ANALYZE');
  await store.close();
  const t = await startTestCollector({ dataDir, ...(pgDb ? { store: await open() } : {}) });
  const admin = await adminClient(t);
  const api = async (qs: string) => {
    const s = performance.now();
    const r = await admin.request('GET', `/api/v1/violations?${qs}`);
    if (r.status !== 200) throw new Error(`API ${r.status}`);
    return performance.now() - s;
  };
  const apiTime = async (path: string) => {
    const s = performance.now();
    const r = await admin.request('GET', path);
    if (r.status !== 200) throw new Error(`API ${r.status}`);
    return performance.now() - s;
  };
  const sorted = (a: number[]) => summarise([...a].sort((x, y) => x - y));
  const times = async (path: string, n = 5) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await apiTime(path));
    return sorted(out);
  };
  const apiOverview = await times('/api/v1/reports/overview');
  const apiTrends = await times('/api/v1/reports/trends?days=90');
  const apiReport = await times('/api/v1/reports/self-inspection');
  const reportQueries = await queryTimes(t.collector.store, () => apiTime('/api/v1/reports/self-inspection'));
  const apiReportDep = await times(`/api/v1/reports/self-inspection?department=${encodeURIComponent('税務課')}`);
  console.log(JSON.stringify({ seedMs, apiOverview, apiTrends, apiReport, apiReportDep }));
  const pcApiFirst: number[] = [];
  const pcApiDep: number[] = [];
  const pcApiSearch: number[] = [];
  const pcApiCompliance: number[] = [];
  for (let i = 0; i < 5; i++) {
    pcApiFirst.push(await apiTime('/api/v1/pcs?offset=0&limit=50'));
    pcApiDep.push(await apiTime(`/api/v1/pcs?department=${encodeURIComponent('税務課')}&offset=0&limit=50`));
    pcApiSearch.push(await apiTime(`/api/v1/pcs?q=${city.pcs[i * 97]!.hostname.slice(-7).toLowerCase()}&offset=0&limit=50`));
    pcApiCompliance.push(await apiTime('/api/v1/pcs?compliance=fail&sort=openViolations&offset=0&limit=50'));
  }
  const apiFirst = summarise(await Promise.all([0, 1, 2, 3, 4].map(() => api('state=open&offset=0&limit=50'))).then((a) => a.sort((x, y) => x - y)));
  const apiDep: number[] = [];
  const apiSearch: number[] = [];
  for (let i = 0; i < 5; i++) apiDep.push(await api(`state=open&department=${encodeURIComponent('税務課')}&offset=0&limit=50`));
  for (let i = 0; i < 5; i++) apiSearch.push(await api(`state=open&q=${city.pcs[i * 97]!.hostname.toLowerCase()}&offset=0&limit=50`));

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: process.env.MAMORI_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const page = await (await browser.newContext({ locale: 'ja-JP', viewport: { width: 1280, height: 720 } })).newPage();
    await page.goto(t.collector.consoleUrl);
    await page.fill('input[name=username]', t.admin.username);
    await page.fill('input[name=password]', t.admin.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=live-table] tr.vrow');
    const summary = page.getByTestId('live-table-summary');
    // 概要 and 自己点検: from the violation list to the screen with its charts / the whole report shown.
    const screen = async (hash: string, ready: string) => {
      const out: number[] = [];
      for (let i = 0; i < 5; i++) {
        await page.goto(`${t.collector.consoleUrl}#/live`);
        await page.waitForSelector('[data-testid=live-table] tr.vrow');
        const s = performance.now();
        await page.goto(`${t.collector.consoleUrl}${hash}`);
        await page.waitForSelector(ready);
        out.push(performance.now() - s);
      }
      return sorted(out);
    };
    const overviewUi = await screen('#/overview', '[data-testid=flow-chart] rect.bar-open');
    const reportUi = await screen('#/reports', '[data-testid=report-trend-table]');
    const reportParts = await screenParts(page, t.collector.consoleUrl);
    await page.emulateMedia({ media: 'print' });
    const pdfStart = performance.now();
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    const pdfMs = performance.now() - pdfStart;
    await page.emulateMedia({ media: 'screen' });
    console.log(JSON.stringify({ overviewUi, reportUi, reportParts, reportQueries, pdfMs }));
    await page.goto(`${t.collector.consoleUrl}#/live`);
    await page.waitForSelector('[data-testid=live-table] tr.vrow');
    // Screen render: navigate away and back, until the first page of rows and the total are shown.
    const renders: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto(`${t.collector.consoleUrl}#/overview`);
      await page.waitForSelector('.tiles');
      const s = performance.now();
      await page.goto(`${t.collector.consoleUrl}#/live`);
      await page.waitForSelector('[data-testid=live-table] tr.vrow');
      renders.push(performance.now() - s);
    }
    const filterAnswer = async (act: () => Promise<void>, expectText: RegExp) => {
      const s = performance.now();
      await act();
      await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('[data-testid=live-table-summary]')?.textContent ?? ''), expectText.source);
      return performance.now() - s;
    };
    const zeimu = city.pcs.filter((p) => p.department === '税務課').reduce((n, p) => n + city.open.get(p.id)!, 0);
    const total = city.totalOpen;
    const depTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      depTimes.push(await filterAnswer(async () => void (await page.selectOption('[data-testid=live-filters] select[name=department]', '税務課')), new RegExp(`^${zeimu.toLocaleString('ja-JP')} 件中`)));
      await filterAnswer(async () => void (await page.selectOption('[data-testid=live-filters] select[name=department]', '')), new RegExp(`^${total.toLocaleString('ja-JP')} 件中`));
    }
    // Live rows with 1,000 rows shown.
    await page.selectOption('[data-testid=page-size]', '1000');
    await summary.filter({ hasText: '1–1,000' }).waitFor();
    const live: number[] = [];
    for (let i = 0; i < LIVE; i++) {
      const pc = city.pcs[(i * 331) % city.pcs.length]!;
      const v = { ...cityViolation(0, pc.hostname), subject: `0781:5567:LIVE${i}`, severity: 'critical' as const };
      const event: AgentEvent = { seq: PER_PC + 1 + Math.floor(i / city.pcs.length), at: new Date().toISOString(), kind: 'violation.opened', violation: v, policyVersion: 1 };
      const receivedAt = new Date().toISOString();
      await t.collector.store.ingest([{ agentId: pc.id, events: [event] }], receivedAt);
      const s = performance.now();
      t.collector.bus.emit('event', { agentId: pc.id, hostname: pc.hostname, event, receivedAt });
      await page.locator(`tr.vrow[data-key="${pc.id}|USB-001|${v.subject}"]`).waitFor();
      live.push(performance.now() - s);
    }
    // Printed now: a later step that times out on a loaded machine leaves these figures.
    console.log(JSON.stringify({ renders, depTimes, live, apiFirst, apiDep, apiSearch }));
    // 端末一覧: render, 課 filter and search answers.
    const pcRenders: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto(`${t.collector.consoleUrl}#/overview`);
      // The overview's own tiles, not any heading: 端末一覧 stays on the screen (and takes input)
      // until the overview replaces it, and a new 端末一覧 mounted over the old one loses the
      // filter chosen in the old one (the wait for its answer then never ended).
      await page.waitForSelector('.tiles');
      const s = performance.now();
      await page.goto(`${t.collector.consoleUrl}#/pcs`);
      await page.waitForSelector('[data-testid=pcs-table] tr.pcrow');
      pcRenders.push(performance.now() - s);
    }
    const pcSummary = (re: RegExp) => page.waitForFunction((src) => new RegExp(src).test(document.querySelector('[data-testid=pcs-table-summary]')?.textContent ?? ''), re.source);
    const zeimuPcs = city.pcs.filter((p) => p.department === '税務課').length;
    const pcDep: number[] = [];
    const pcSearch: number[] = [];
    for (let i = 0; i < 5; i++) {
      let s = performance.now();
      await page.selectOption('[data-testid=pcs-filters] select[name=department]', '税務課');
      await pcSummary(new RegExp(`^${zeimuPcs.toLocaleString('ja-JP')} 件中`));
      pcDep.push(performance.now() - s);
      await page.selectOption('[data-testid=pcs-filters] select[name=department]', '');
      await pcSummary(new RegExp(`^${PCS.toLocaleString('ja-JP')} 件中`));
      s = performance.now();
      // Typing waits for a 250 ms pause before it asks: that pause is part of the answer seen.
      await page.getByTestId('pcs-search').fill(city.pcs[i * 131]!.hostname);
      await pcSummary(/^1 件中/);
      pcSearch.push(performance.now() - s);
      await page.getByTestId('pcs-search').fill('');
      await pcSummary(new RegExp(`^${PCS.toLocaleString('ja-JP')} 件中`));
    }

    // 課 of every PC at once: by the list's filters (all PCs), then from a CSV of 10,000 lines.
    let s = performance.now();
    const all = await admin.request('POST', '/api/v1/pcs/assignment', { filters: {}, department: '一括設定課' });
    const bulkMs = performance.now() - s;
    if (all.json?.assigned !== PCS) throw new Error(`bulk assignment: ${JSON.stringify(all.json)}`);
    const csv = `\uFEFF端末名,所属 (課)\r\n${city.pcs.map((p) => `${p.hostname},${p.department}`).join('\r\n')}\r\n`;
    s = performance.now();
    const imported = await admin.request('POST', '/api/v1/pcs/assignment.csv', csv, { 'content-type': 'text/csv' });
    const csvMs = performance.now() - s;
    if (imported.json?.changed !== PCS) throw new Error(`CSV assignment: ${JSON.stringify(imported.json)}`);

    const r = summarise(renders.sort((a, b) => a - b));
    const d = summarise(depTimes.sort((a, b) => a - b));
    const l = summarise(live.sort((a, b) => a - b));
    const ad = summarise(apiDep.sort((a, b) => a - b));
    const as = summarise(apiSearch.sort((a, b) => a - b));
    return {
      rows: [
        { figure: `違反 screen render, ${PCS.toLocaleString()} PCs / ${city.events.toLocaleString()} events (${dialect}), p50 / max`, value: `${fmt.ms(r.p50)} / ${fmt.ms(r.max)}`, baseline: `API first page ${fmt.ms(apiFirst.p50)}`, target: '≤ 1 s', met: r.max <= 1000 },
        { figure: '課 filter answer in the browser, p50 / max', value: `${fmt.ms(d.p50)} / ${fmt.ms(d.max)}`, baseline: `API ${fmt.ms(ad.p50)}`, target: '≤ 300 ms', met: d.max <= 300 },
        { figure: 'PC-name search, bare API, p50 / max', value: `${fmt.ms(as.p50)} / ${fmt.ms(as.max)}`, baseline: '', target: '≤ 300 ms', met: as.max <= 300 },
        { figure: `new violation → row, 1,000 rows shown (${LIVE} rows), p50 / p99`, value: `${fmt.ms(l.p50)} / ${fmt.ms(l.p99)}`, baseline: '', target: '≤ 300 ms p99', met: l.p99 <= 300 },
        { figure: '概要 screen render (counts per 課 × kind, 90-day trends), p50 / max', value: `${fmt.ms(overviewUi.p50)} / ${fmt.ms(overviewUi.max)}`, baseline: `API overview ${fmt.ms(apiOverview.p50)}, trends ${fmt.ms(apiTrends.p50)}`, target: '≤ 1 s', met: overviewUi.max <= 1000 },
        { figure: `自己点検 report render, ${results.length} rules × ${PCS.toLocaleString()} PCs, p50 / max`, value: `${fmt.ms(reportUi.p50)} / ${fmt.ms(reportUi.max)}`, baseline: `API org ${fmt.ms(apiReport.p50)}, one 課 ${fmt.ms(apiReportDep.p50)}`, target: '≤ 1 s', met: reportUi.max <= 1000 },
        { figure: '自己点検 screen parts in the browser, p50: report request / settings request / page built / laid out and painted', value: `${fmt.ms(reportParts.report.p50)} / ${fmt.ms(reportParts.settings.p50)} / ${fmt.ms(reportParts.built.p50)} / ${fmt.ms(reportParts.painted.p50)}`, baseline: `collector: ${reportQueries.length} statements of ≥ 5 ms, ${fmt.ms(reportQueries.reduce((n, q) => n + q.ms, 0))} in all; slowest ${[...reportQueries].sort((a, b) => b.ms - a.ms)[0]?.query.slice(0, 40) ?? '—'} …`, target: '', met: true },
        { figure: '自己点検 report printed to A4 PDF (page.pdf)', value: fmt.ms(pdfMs), baseline: `${Math.round(pdf.length / 1024)} KB`, target: '', met: true },
        { figure: `端末一覧 screen render (${dialect}), p50 / max`, value: `${fmt.ms(sorted(pcRenders).p50)} / ${fmt.ms(sorted(pcRenders).max)}`, baseline: `API first page ${fmt.ms(sorted(pcApiFirst).p50)}`, target: '≤ 1 s', met: sorted(pcRenders).max <= 1000 },
        { figure: '端末一覧 課 filter answer in the browser, p50 / max', value: `${fmt.ms(sorted(pcDep).p50)} / ${fmt.ms(sorted(pcDep).max)}`, baseline: `API ${fmt.ms(sorted(pcApiDep).p50)}`, target: '≤ 300 ms', met: sorted(pcDep).max <= 300 },
        { figure: '端末一覧 PC-name search in the browser (incl. 250 ms typing pause), p50 / max', value: `${fmt.ms(sorted(pcSearch).p50)} / ${fmt.ms(sorted(pcSearch).max)}`, baseline: `API ${fmt.ms(sorted(pcApiSearch).p50)}`, target: '≤ 300 ms after the pause', met: sorted(pcSearch).max - 250 <= 300 },
        { figure: '端末一覧 違反あり filter sorted by open violations, bare API, p50 / max', value: `${fmt.ms(sorted(pcApiCompliance).p50)} / ${fmt.ms(sorted(pcApiCompliance).max)}`, baseline: '', target: '≤ 300 ms', met: sorted(pcApiCompliance).max <= 300 },
        { figure: `課 of all ${PCS.toLocaleString()} PCs at once (list filters / CSV of ${PCS.toLocaleString()} lines)`, value: `${fmt.ms(bulkMs)} / ${fmt.ms(csvMs)}`, baseline: '', target: '≤ 10 s', met: Math.max(bulkMs, csvMs) <= 10_000 },
      ],
      details: { machine: machine(scratch), dialect, seedMs, openViolations: total, events: city.events, renders, depTimes, live, apiFirst, apiDep, apiSearch, pcRenders, pcDep, pcSearch, pcApiFirst, pcApiDep, pcApiSearch, pcApiCompliance, bulkMs, csvMs, apiOverview, apiTrends, apiReport, apiReportDep, reportQueries, overviewUi, reportUi, reportParts, pdfMs, pdfBytes: pdf.length },
    };
  } finally {
    await browser.close();
    await t.close();
    await pgDb?.drop();
  }
});

/**
 * The statements of one request and the time each took in the collector (its own store's
 * runner, wrapped for the call): where the API's time goes, next to the API's time.
 */
async function queryTimes(store: Store, call: () => Promise<unknown>): Promise<{ query: string; ms: number }[]> {
  const sql = store.sql as unknown as Record<'all' | 'get' | 'run', (q: string, p?: unknown[]) => Promise<unknown>>;
  const seen: { query: string; ms: number }[] = [];
  const originals = { all: sql.all, get: sql.get, run: sql.run };
  for (const m of ['all', 'get', 'run'] as const) {
    const orig = originals[m].bind(sql);
    sql[m] = async (q, p) => {
      const s = performance.now();
      try {
        return await orig(q, p);
      } finally {
        seen.push({ query: q.replace(/\s+/g, ' ').trim().slice(0, 60), ms: performance.now() - s });
      }
    };
  }
  try {
    await call();
  } finally {
    Object.assign(sql, originals);
  }
  return seen.filter((q) => q.ms >= 5).map((q) => ({ ...q, ms: Math.round(q.ms) }));
}

/**
 * The 自己点検 screen's parts, five times from the violation list: its two requests as the
 * browser timed them (request sent → last byte), the page built from the answer (last byte →
 * the report in the DOM) and laid out and painted (→ the first frame after it).
 */
async function screenParts(page: import('playwright-core').Page, consoleUrl: string) {
  const parts = { report: [] as number[], settings: [] as number[], built: [] as number[], painted: [] as number[] };
  for (let i = 0; i < 5; i++) {
    await page.goto(`${consoleUrl}#/live`);
    await page.waitForSelector('[data-testid=live-table] tr.vrow');
    await page.evaluate(() => {
      const w = window as unknown as Record<string, number>;
      performance.clearResourceTimings();
      const mo = new MutationObserver(() => {
        if (!document.querySelector('[data-testid=report-trend-table]')) return;
        mo.disconnect();
        w.__reportMounted = performance.now();
        requestAnimationFrame(() => setTimeout(() => (w.__reportPainted = performance.now())));
      });
      mo.observe(document.body, { childList: true, subtree: true });
    });
    await page.goto(`${consoleUrl}#/reports`);
    await page.waitForFunction(() => (window as unknown as Record<string, number>).__reportPainted);
    const m = await page.evaluate(() => {
      const w = window as unknown as Record<string, number>;
      const timing = (part: string) => performance.getEntriesByType('resource').filter((e) => e.name.includes(part)).pop() as PerformanceResourceTiming;
      const report = timing('/reports/self-inspection');
      const settings = timing('/reports/settings');
      const out = { report: report.responseEnd - report.requestStart, settings: settings.responseEnd - settings.requestStart, built: w.__reportMounted! - report.responseEnd, painted: w.__reportPainted! - w.__reportMounted! };
      delete w.__reportMounted;
      delete w.__reportPainted;
      return out;
    });
    for (const k of Object.keys(parts) as (keyof typeof parts)[]) parts[k].push(m[k]);
  }
  return { report: summarise(parts.report), settings: summarise(parts.settings), built: summarise(parts.built), painted: summarise(parts.painted) };
}
