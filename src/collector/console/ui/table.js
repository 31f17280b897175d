// One table component for every long list of the console: it asks the server for one page
// at a time (filtering, sorting and counting happen in the database), shows the exact total
// ("1,925 件中 1–50 件"), and updates single rows in place when the live stream reports a
// change, so a new row costs one <tr>, never a rebuild of the table. A long page lays out only
// the rows near the screen: the browser laid out all 1,000 rows again for each live row (most
// of a second on a busy PC), so the others stay in the table hidden, stood in for by two spacers.
import { h, num, t } from './core.js';

export const PAGE_SIZES = [50, 100, 200, 500, 1000];
/** Rows laid out at once (pages up to this size are shown whole), and how many are kept above the screen's first. */
const WINDOW = 150;
const MARGIN = 40;
/** How long a row that arrived live stays marked. */
const LIT_MS = 3000;

export class PagedTable {
  /**
   * @param {object} o
   * @param {(string|{ label: string, sort?: string, first?: 'asc'|'desc' })[]} o.headers column
   *   titles; one with `sort` is a button that orders the list by that column, `first` direction
   *   first (default asc), the other on the next click
   * @param {(query: object) => Promise<{ total: number, offset: number, rows: object[] }>} o.fetchPage
   * @param {(row: object) => string} o.keyOf
   * @param {(row: object) => HTMLTableRowElement} o.renderRow
   * @param {(a: object, b: object) => number} [o.compare] the server's order, to place a live row
   * @param {(row: object) => boolean} [o.matches] does a live row belong to the current filters
   * @param {string} [o.testid]
   * @param {number} [o.pageSize]
   * @param {(query: object) => void} [o.onQuery] told the filters, sort and page size after each change
   */
  constructor(o) {
    this.o = o;
    this.query = {};
    this.offset = 0;
    this.pageSize = o.pageSize || 50;
    this.total = 0;
    this.rows = [];
    this.trs = new Map();
    this.loadSeq = 0;
    this.summary = h('div', { class: 'pager-summary', 'data-testid': `${o.testid || 'table'}-summary`, role: 'status' });
    this.tbody = h('tbody', {});
    this.first = 0;
    this.rowHeight = 0;
    this.spacers = [this.spacer(), this.spacer()];
    this.onScroll = () => this.scrolled();
    this.prev = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'page-prev', onclick: () => this.go(this.offset - this.pageSize) }, t('table.prev'));
    this.next = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'page-next', onclick: () => this.go(this.offset + this.pageSize) }, t('table.next'));
    const size = h('select', { name: 'pageSize', 'data-testid': 'page-size', onchange: (e) => {
      this.pageSize = Number(e.target.value);
      this.go(0);
    } }, PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === this.pageSize ? true : undefined }, t('table.perPage', { n }))));
    this.el = h(
      'div',
      { class: 'paged' },
      h('div', { class: 'pager' }, this.summary, h('div', { class: 'btns' }, this.prev, this.next, size)),
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid', 'data-testid': o.testid }, h('thead', {}, h('tr', {}, o.headers.map((x) => this.header(x)))), this.tbody)),
    );
  }

  header(x) {
    if (typeof x === 'string' || x instanceof Node) return h('th', {}, x);
    if (!x.sort) return h('th', {}, x.label);
    const th = h('th', { 'data-sort': x.sort }, h('button', { type: 'button', class: 'sort', 'data-testid': `sort-${x.sort}`, onclick: () => {
      const first = x.first || 'asc';
      const cur = this.query.dir || first;
      const dir = this.query.sort !== x.sort ? first : cur === 'asc' ? 'desc' : 'asc';
      void this.setQuery({ ...this.query, sort: x.sort, dir });
    } }, x.label));
    return th;
  }

  /** The sorted column's header shows the direction (aria-sort for screen readers). */
  showSort() {
    for (const th of this.el.querySelectorAll('th[data-sort]')) {
      if (th.dataset.sort === this.query.sort) th.setAttribute('aria-sort', this.query.dir === 'desc' ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
  }

  /** New filters: back to the first page. */
  setQuery(query) {
    this.query = query;
    this.showSort();
    if (this.o.onQuery) this.o.onQuery(query);
    return this.go(0);
  }

  /** Show the current page again (after a change made here, e.g. a bulk assignment). */
  reload() {
    return this.go(this.offset);
  }

  async go(offset) {
    const mine = ++this.loadSeq;
    const page = await this.o.fetchPage({ ...this.query, offset: Math.max(0, offset), limit: this.pageSize });
    if (mine !== this.loadSeq) return;
    this.offset = page.offset;
    this.total = page.total;
    this.rows = page.rows;
    this.trs = new Map();
    const trs = page.rows.map((r) => this.make(r));
    this.tbody.replaceChildren(...(trs.length ? trs : [h('tr', { class: 'empty-row' }, h('td', { colspan: this.o.headers.length, class: 'empty' }, t('common.empty')))]));
    this.first = 0;
    this.rowHeight = 0;
    this.reflow();
    this.showSummary();
  }

  spacer() {
    const td = h('td', { colspan: this.o.headers.length });
    const tr = h('tr', { class: 'spacer' }, td);
    tr.setAttribute('aria-hidden', 'true');
    return tr;
  }

  /** Show the rows of the window (first … first + WINDOW) and size the spacers for the hidden ones. */
  reflow() {
    const n = this.rows.length;
    const [above, below] = this.spacers;
    if (n <= WINDOW) {
      if (above.isConnected) {
        above.remove();
        below.remove();
        for (const tr of this.trs.values()) tr.hidden = false;
      }
      return;
    }
    if (!above.isConnected) {
      this.tbody.prepend(above);
      this.tbody.append(below);
      window.addEventListener('scroll', this.onScroll, { passive: true });
    }
    this.first = Math.max(0, Math.min(this.first, n - WINDOW));
    const last = this.first + WINDOW;
    this.rows.forEach((r, i) => {
      const tr = this.trs.get(this.o.keyOf(r));
      const off = i < this.first || i >= last;
      if (tr.hidden !== off) tr.hidden = off;
    });
    // The hidden rows are as tall as the shown ones on average (measured once per page, when the table is on the screen).
    if (!this.rowHeight) this.rowHeight = Math.max(0, (below.offsetTop - above.offsetTop - above.offsetHeight) / WINDOW);
    const height = this.rowHeight || 48;
    above.firstChild.style.height = `${this.first * height}px`;
    below.firstChild.style.height = `${(n - last) * height}px`;
  }

  /** Scrolling: move the window to the rows now on the screen (once per frame). */
  scrolled() {
    if (!this.el.isConnected) return window.removeEventListener('scroll', this.onScroll);
    if (this.scrollPending) return;
    this.scrollPending = true;
    requestAnimationFrame(() => {
      this.scrollPending = false;
      const shown = Math.max(0, -this.tbody.getBoundingClientRect().top) / (this.rowHeight || 48);
      const first = Math.max(0, Math.floor(shown) - MARGIN);
      if (Math.abs(first - this.first) >= MARGIN / 2) {
        this.first = first;
        this.reflow();
      }
    });
  }

  /** Only the total (after live changes whose place in the query is not known here). */
  async recount() {
    const mine = this.loadSeq;
    const page = await this.o.fetchPage({ ...this.query, offset: 0, limit: 1 });
    if (mine !== this.loadSeq) return;
    this.total = page.total;
    this.showSummary();
  }

  make(row) {
    const tr = this.o.renderRow(row);
    this.trs.set(this.o.keyOf(row), tr);
    return tr;
  }

  showSummary() {
    const from = this.rows.length ? this.offset + 1 : 0;
    const to = this.offset + this.rows.length;
    this.summary.textContent = t('table.summary', { total: num(this.total), from: num(from), to: num(to) });
    this.prev.disabled = this.offset === 0;
    this.next.disabled = to >= this.total;
  }

  /** A row shown here changed (or not): replace its <tr> in place; returns whether it was shown. */
  update(key, change) {
    const i = this.rows.findIndex((r) => this.o.keyOf(r) === key);
    if (i < 0) return false;
    const row = { ...this.rows[i], ...change };
    this.rows[i] = row;
    const old = this.trs.get(key);
    const tr = this.make(row);
    tr.hidden = old.hidden;
    old.replaceWith(tr);
    return true;
  }

  /**
   * A live row: updated in place when shown; otherwise, when it matches the filters, counted
   * and inserted at its place in the order if that place is on this page.
   */
  upsert(row, opts = {}) {
    const key = this.o.keyOf(row);
    if (this.update(key, row)) return 'updated';
    if (this.o.matches && !this.o.matches(row)) return 'outside';
    this.total += 1;
    const cmp = this.o.compare;
    let at = cmp ? this.rows.findIndex((r) => cmp(row, r) < 0) : 0;
    if (at < 0) at = this.rows.length < this.pageSize && this.offset + this.rows.length >= this.total - 1 ? this.rows.length : -1;
    if (at === 0 && this.offset > 0) at = -1; // belongs to an earlier page
    if (at >= 0) {
      if (!this.rows.length) this.tbody.replaceChildren();
      const tr = this.make(row);
      // Marked for a few seconds by a class, not an animation: animating one row repainted the long table every frame.
      if (opts.fresh) {
        tr.classList.add('fresh', 'lit');
        setTimeout(() => tr.classList.remove('lit'), LIT_MS);
      }
      const before = this.rows[at] ? this.trs.get(this.o.keyOf(this.rows[at])) : null;
      this.rows.splice(at, 0, row);
      if (before) before.before(tr);
      else if (this.spacers[1].isConnected) this.spacers[1].before(tr);
      else this.tbody.append(tr);
      if (this.rows.length > this.pageSize) {
        const dropped = this.rows.pop();
        this.trs.get(this.o.keyOf(dropped))?.remove();
        this.trs.delete(this.o.keyOf(dropped));
      }
      this.reflow();
    }
    this.showSummary();
    return at >= 0 ? 'inserted' : 'counted';
  }
}
