/**
 * Times as people in a Japanese municipality read them: Japan Standard Time (UTC+9 all year, no
 * daylight saving time, so a fixed offset is exact), in the forms of official documents.
 *   jstLong:    2026年12月6日 21:44
 *   jstNumeric: 2026/12/06 21:44   (with seconds: 2026/12/06 21:44:05, the form CSV files use)
 *   jstDate:    2026年12月6日
 *   wareki:     令和8年12月6日      (和暦, for reports; the first year of an era is 元年)
 */

const JST_OFFSET_MS = 9 * 3_600_000;

/** The wall-clock fields in JST of a time given as an ISO string, epoch milliseconds or a Date; null when it is not a time. */
function jstParts(time: string | number | Date): { y: number; mo: number; d: number; h: number; mi: number; s: number } | null {
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Date.parse(time);
  if (!Number.isFinite(ms)) return null;
  const t = new Date(ms + JST_OFFSET_MS);
  return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes(), s: t.getUTCSeconds() };
}

const two = (n: number): string => String(n).padStart(2, '0');

/** 2026年12月6日 21:44 — "" for a value that is not a time. */
export function jstLong(time: string | number | Date): string {
  const p = jstParts(time);
  return p ? `${p.y}年${p.mo}月${p.d}日 ${p.h}:${two(p.mi)}` : '';
}

/** 2026/12/06 21:44 (or 21:44:05 with seconds) — "" for a value that is not a time. */
export function jstNumeric(time: string | number | Date, opts: { seconds?: boolean } = {}): string {
  const p = jstParts(time);
  if (!p) return '';
  return `${p.y}/${two(p.mo)}/${two(p.d)} ${two(p.h)}:${two(p.mi)}${opts.seconds ? `:${two(p.s)}` : ''}`;
}

/** 2026年12月6日 — "" for a value that is not a time. A bare date ("2026-12-06") is that calendar day. */
export function jstDate(time: string | number | Date): string {
  const p = typeof time === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(time) ? jstParts(`${time}T00:00:00+09:00`) : jstParts(time);
  return p ? `${p.y}年${p.mo}月${p.d}日` : '';
}

/** Japanese eras by their first day (JST), newest first. */
const ERAS: readonly { name: string; start: [number, number, number] }[] = [
  { name: '令和', start: [2019, 5, 1] },
  { name: '平成', start: [1989, 1, 8] },
  { name: '昭和', start: [1926, 12, 25] },
];

/** 令和8年12月6日 (和暦); the first year of an era is 元年 (令和元年5月1日). "" for a value that is not a time or before 昭和. */
export function wareki(time: string | number | Date): string {
  const p = typeof time === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(time) ? jstParts(`${time}T00:00:00+09:00`) : jstParts(time);
  if (!p) return '';
  const key = p.y * 10_000 + p.mo * 100 + p.d;
  const era = ERAS.find((e) => key >= e.start[0] * 10_000 + e.start[1] * 100 + e.start[2]);
  if (!era) return '';
  const year = p.y - era.start[0] + 1;
  return `${era.name}${year === 1 ? '元' : year}年${p.mo}月${p.d}日`;
}

/** 2 December 2026 21:44 JST — the English form of jstLong, for the console's English switch. */
export function jstLongEn(time: string | number | Date): string {
  const p = jstParts(time);
  if (!p) return '';
  const month = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'][p.mo - 1];
  return `${p.d} ${month} ${p.y} ${p.h}:${two(p.mi)} JST`;
}
