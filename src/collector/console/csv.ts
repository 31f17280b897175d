/**
 * CSV as Excel on Japanese Windows reads it: UTF-8 with a byte-order mark (without it Excel
 * assumes Shift_JIS and shows 文字化け), CRLF line ends, RFC 4180 quoting.
 */
import { msg, render, type Msg } from '../../shared/i18n/index.js';
import { badRequest } from './errors.js';

const BOM = '\uFEFF';

function cell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  // A leading = + - @ would run as a formula in Excel (CSV injection): prefix a quote.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return BOM + [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** A file that is not CSV: `text` says where, for the person who made it (the Error's message is its Japanese). */
export class CsvError extends Error {
  readonly code = 'CSV_INVALID';
  constructor(readonly text: Msg) {
    super(render(text));
  }
}

/** Parse RFC 4180 text (BOM, CRLF or LF, quoted fields with "" and line breaks). */
export function parseCsv(text: string): string[][] {
  const s = text.startsWith(BOM) ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  let line = 1;
  while (i < s.length) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') (field += '"'), (i += 2);
        else (quoted = false), i++;
      } else {
        if (c === '\n') line++;
        field += c;
        i++;
      }
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new CsvError(msg('error.csv.quoteInField', { line }));
      quoted = true;
      i++;
    } else if (c === ',') (row.push(field), (field = ''), i++);
    else if (c === '\r' || c === '\n') {
      row.push(field);
      field = '';
      rows.push(row);
      row = [];
      i += c === '\r' && s[i + 1] === '\n' ? 2 : 1;
      line++;
    } else (field += c), i++;
  }
  if (quoted) throw new CsvError(msg('error.csv.quoteNotClosed', { line }));
  if (field !== '' || row.length > 0) (row.push(field), rows.push(row));
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

/** Undo the formula guard of toCsv on import. */
export function unguard(v: string): string {
  return /^'[=+\-@\t\r]/.test(v) ? v.slice(1) : v;
}

/** An uploaded file's rows, or a bad request naming where it is not CSV. */
export function parseUploadedCsv(text: string): string[][] {
  try {
    return parseCsv(text);
  } catch (err) {
    if (err instanceof CsvError) throw badRequest(msg('error.csvFormat', { detail: err.text }));
    throw err;
  }
}
