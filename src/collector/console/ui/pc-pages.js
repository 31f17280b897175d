// PCs of the fleet one page at a time from /api/v1/pcs, for the screens that list them
// (端末一覧, 今すぐ検査): the same filters in the address and in the request, the same paging.
import { api } from './core.js';

/** The query string of the filters named in `keys` that have a value. */
export function pcQuery(keys, f) {
  const q = new URLSearchParams();
  for (const k of keys) if (f[k]) q.set(k, f[k]);
  return q;
}

/**
 * A PagedTable's fetchPage for PCs: the filters named in `keys`, the clicked sort and the page.
 * The 課 and groups the server knows (for the filter lists) are kept in `lists`; `onPage` runs
 * when a new page arrives.
 */
export function pcPageFetcher(keys, lists, onPage) {
  return async (q) => {
    const qs = pcQuery(keys, q);
    if (q.sort) qs.set('sort', q.sort);
    if (q.dir) qs.set('dir', q.dir);
    qs.set('offset', String(q.offset));
    qs.set('limit', String(q.limit));
    const res = await api('GET', `/api/v1/pcs?${qs}`);
    lists.departments = res.departments;
    lists.groups = res.groups;
    onPage?.();
    return { total: res.total, offset: res.offset, rows: res.pcs };
  };
}
