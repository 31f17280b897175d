/**
 * 課 of many PCs from a CSV (as Excel saves it: UTF-8 with or without BOM, CRLF): a header line
 * naming the columns — 端末名 (or hostname) and 所属 (課) / 課 (or department) — then one PC
 * per line. The whole file is checked first; any bad line (unknown or ambiguous PC name, a 課
 * too long) refuses the file with every problem listed, and nothing is changed.
 */
import { msg } from '../../shared/i18n/index.js';
import type { Msg } from '../../shared/i18n/index.js';
import { badRequest, ConsoleError } from './errors.js';
import { parseUploadedCsv, unguard } from './csv.js';

const HOST_COLUMNS = ['端末名', 'ホスト名', 'コンピューター名', 'hostname', 'pc'];
const DEPARTMENT_COLUMNS = ['所属 (課)', '所属(課)', '所属', '課', 'department'];

export interface DepartmentPlan {
  /** 課 (null: remove the 課) → agent ids. */
  byDepartment: Map<string | null, string[]>;
  lines: number;
}

export class AssignmentCsvError extends ConsoleError {
  constructor(readonly problems: Msg[]) {
    super('ASSIGNMENT_CSV_INVALID', 400, msg('error.assignCsv', { problems: [...problems.slice(0, 20), ...(problems.length > 20 ? [msg('error.andMore', { n: problems.length - 20 })] : [])] }));
  }
}

const norm = (s: string): string => s.trim().toLowerCase();

/** Read the file against the PCs the account sees (hostname upper-cased → ids). */
export function planDepartments(text: string, idsByHost: ReadonlyMap<string, string[]>): DepartmentPlan {
  const rows = parseUploadedCsv(text);
  const header = (rows[0] ?? []).map((c) => norm(unguard(c)));
  const hostCol = header.findIndex((c) => HOST_COLUMNS.includes(c));
  const depCol = header.findIndex((c) => DEPARTMENT_COLUMNS.map(norm).includes(c));
  if (hostCol < 0 || depCol < 0) throw badRequest(msg('error.pcs.assignHeader'));
  const problems: Msg[] = [];
  const byDepartment = new Map<string | null, string[]>();
  const seen = new Map<string, number>();
  rows.slice(1).forEach((row, i) => {
    const line = i + 2;
    const host = unguard(row[hostCol] ?? '').trim();
    const department = unguard(row[depCol] ?? '').trim();
    if (!host) return void problems.push(msg('error.assignCsv.noHost', { line }));
    if (department.length > 64) return void problems.push(msg('error.assignCsv.longDepartment', { line }));
    const ids = idsByHost.get(host.toUpperCase());
    if (!ids) return void problems.push(msg('error.assignCsv.unknownHost', { line, host }));
    if (ids.length > 1) return void problems.push(msg('error.assignCsv.sameName', { line, host, n: ids.length }));
    const first = seen.get(host.toUpperCase());
    if (first !== undefined) return void problems.push(msg('error.assignCsv.repeated', { line, host, first }));
    seen.set(host.toUpperCase(), line);
    const key = department || null;
    const list = byDepartment.get(key) ?? [];
    list.push(ids[0]!);
    byDepartment.set(key, list);
  });
  if (problems.length) throw new AssignmentCsvError(problems);
  return { byDepartment, lines: rows.length - 1 };
}
