/**
 * Violations opened and closed per JST day, kind (check) and 課: what the 概要 trends read
 * instead of grouping every violation of 90 days.
 *
 * The counts are kept by triggers on the violations and agents tables, so they change in the
 * same transaction as the rows they count, whoever writes them (the ingest of either store,
 * the collector's own violations, retention). A trigger only appends a change (+1/−1) to
 * violation_day_changes, never updates a shared counter: ingest transactions of several
 * PostgreSQL nodes never wait on one another's counts. `foldViolationDays` moves the changes
 * into violation_days from time to time; a reader sums both in one statement, so it always
 * sees exactly the counts of the rows of its snapshot.
 *
 * What is counted is what the rows say, as the violation list shows them: a violation counts
 * as opened on the day of its opened_at and as closed on the day of its closed_at (a reopened
 * violation counts on its new opening day, its earlier closing no longer counts), and under the
 * 課 its PC belongs to now: moving a PC to another 課 moves the counts of its violations, past
 * days included, so each per-課 figure is the number of rows the list filtered by that 課 gives.
 * A PC without a 課 and the collector's own violations count under ''.
 */
import type { SqlRunner, SqlValue } from './sql.js';

/** The JST day (YYYY-MM-DD) of an ISO 8601 text, '' when it is not one. */
const SQLITE_DAY = (column: string): string => `COALESCE(date(${column}, '+9 hours'), '')`;
const PG_DAY = (column: string): string => `mamori_jst_day(${column})`;

const TABLES_SQL = `
  CREATE TABLE violation_days (
    day TEXT NOT NULL,
    check_id TEXT NOT NULL,
    department TEXT NOT NULL,
    opened INTEGER NOT NULL,
    closed INTEGER NOT NULL,
    PRIMARY KEY (day, check_id, department)
  );
  CREATE TABLE violation_day_changes (
    day TEXT NOT NULL,
    check_id TEXT NOT NULL,
    department TEXT NOT NULL,
    opened INTEGER NOT NULL,
    closed INTEGER NOT NULL
  );
`;

/** The counts of the rows already stored (the migration runs once, on whatever the store holds). */
function fillSql(day: (column: string) => string): string {
  return `
  INSERT INTO violation_days (day, check_id, department, opened, closed)
  SELECT day, check_id, department, SUM(opened), SUM(closed) FROM (
    SELECT ${day('v.opened_at')} AS day, v.check_id, COALESCE(a.department, '') AS department, 1 AS opened, 0 AS closed
    FROM violations v LEFT JOIN agents a ON a.id = v.agent_id
    UNION ALL
    SELECT ${day('v.closed_at')}, v.check_id, COALESCE(a.department, ''), 0, 1
    FROM violations v LEFT JOIN agents a ON a.id = v.agent_id WHERE v.closed_at IS NOT NULL
  ) t GROUP BY day, check_id, department;
`;
}

/** One violation row's counts, with sign (+1 for NEW, −1 for OLD), as rows to append. */
function sqliteRowChanges(row: 'NEW' | 'OLD'): string {
  const sign = row === 'NEW' ? '' : '-';
  const dep = `COALESCE((SELECT department FROM agents WHERE id = ${row}.agent_id), '')`;
  return `INSERT INTO violation_day_changes (day, check_id, department, opened, closed)
      SELECT ${SQLITE_DAY(`${row}.opened_at`)}, ${row}.check_id, ${dep}, ${sign}1, 0
      UNION ALL SELECT ${SQLITE_DAY(`${row}.closed_at`)}, ${row}.check_id, ${dep}, 0, ${sign}1 WHERE ${row}.closed_at IS NOT NULL;`;
}

/** A PC's violations, counted under a 課 with a sign (its old 課 −, its new one +). */
function departmentMoveSql(day: (column: string) => string, agentId: string, oldDep: string, newDep: string): string {
  return `INSERT INTO violation_day_changes (day, check_id, department, opened, closed)
      SELECT day, check_id, dep, SUM(opened) * sign, SUM(closed) * sign FROM (
        SELECT ${day('opened_at')} AS day, check_id, 1 AS opened, 0 AS closed FROM violations WHERE agent_id = ${agentId}
        UNION ALL SELECT ${day('closed_at')}, check_id, 0, 1 FROM violations WHERE agent_id = ${agentId} AND closed_at IS NOT NULL
      ) c CROSS JOIN (SELECT COALESCE(${oldDep}, '') AS dep, -1 AS sign UNION ALL SELECT COALESCE(${newDep}, ''), 1) d
      GROUP BY day, check_id, dep, sign;`;
}

const COUNTED_COLUMNS_CHANGED = (distinct: string): string =>
  `OLD.opened_at ${distinct} NEW.opened_at OR OLD.closed_at ${distinct} NEW.closed_at OR OLD.check_id ${distinct} NEW.check_id OR OLD.agent_id ${distinct} NEW.agent_id`;

export const VIOLATION_DAYS_SQLITE = `
  ${TABLES_SQL}
  ${fillSql(SQLITE_DAY)}
  CREATE TRIGGER violation_days_insert AFTER INSERT ON violations BEGIN
    ${sqliteRowChanges('NEW')}
  END;
  CREATE TRIGGER violation_days_update AFTER UPDATE ON violations WHEN ${COUNTED_COLUMNS_CHANGED('IS NOT')} BEGIN
    ${sqliteRowChanges('OLD')}
    ${sqliteRowChanges('NEW')}
  END;
  CREATE TRIGGER violation_days_delete AFTER DELETE ON violations BEGIN
    ${sqliteRowChanges('OLD')}
  END;
  CREATE TRIGGER violation_days_department AFTER UPDATE OF department ON agents WHEN OLD.department IS NOT NEW.department BEGIN
    ${departmentMoveSql(SQLITE_DAY, 'NEW.id', 'OLD.department', 'NEW.department')}
  END;
`;

export const VIOLATION_DAYS_POSTGRES = `
  -- A malformed time (an agent's) counts under no day instead of failing the ingest that stores it.
  CREATE FUNCTION mamori_jst_day(t TEXT) RETURNS TEXT LANGUAGE plpgsql STABLE AS $$
  BEGIN
    RETURN to_char(t::timestamptz AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD');
  EXCEPTION WHEN others THEN
    RETURN '';
  END $$;
  ${TABLES_SQL}
  ${fillSql(PG_DAY)}
  CREATE FUNCTION violation_days_row() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE dep TEXT;
  BEGIN
    IF TG_OP <> 'INSERT' THEN
      dep := COALESCE((SELECT department FROM agents WHERE id = OLD.agent_id), '');
      INSERT INTO violation_day_changes VALUES (mamori_jst_day(OLD.opened_at), OLD.check_id, dep, -1, 0);
      IF OLD.closed_at IS NOT NULL THEN
        INSERT INTO violation_day_changes VALUES (mamori_jst_day(OLD.closed_at), OLD.check_id, dep, 0, -1);
      END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
      dep := COALESCE((SELECT department FROM agents WHERE id = NEW.agent_id), '');
      INSERT INTO violation_day_changes VALUES (mamori_jst_day(NEW.opened_at), NEW.check_id, dep, 1, 0);
      IF NEW.closed_at IS NOT NULL THEN
        INSERT INTO violation_day_changes VALUES (mamori_jst_day(NEW.closed_at), NEW.check_id, dep, 0, 1);
      END IF;
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER violation_days_insert_delete AFTER INSERT OR DELETE ON violations FOR EACH ROW EXECUTE FUNCTION violation_days_row();
  CREATE TRIGGER violation_days_update AFTER UPDATE ON violations FOR EACH ROW WHEN (${COUNTED_COLUMNS_CHANGED('IS DISTINCT FROM')}) EXECUTE FUNCTION violation_days_row();
  CREATE FUNCTION violation_days_department() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    ${departmentMoveSql(PG_DAY, 'NEW.id', 'OLD.department', 'NEW.department')}
    RETURN NULL;
  END $$;
  CREATE TRIGGER violation_days_department AFTER UPDATE OF department ON agents FOR EACH ROW WHEN (OLD.department IS DISTINCT FROM NEW.department) EXECUTE FUNCTION violation_days_department();
`;

/** Lock key of the fold on PostgreSQL (pg_advisory_xact_lock): two nodes never fold at once. */
const FOLD_LOCK = 0x6d616d64; // "mamd"

/** Move the appended changes into violation_days (one transaction; the sums stay what they were). */
export async function foldViolationDays(sql: SqlRunner): Promise<void> {
  await sql.transaction(async (tx) => {
    if (tx.dialect === 'postgres') {
      await tx.run('SELECT pg_advisory_xact_lock(?)', [FOLD_LOCK]);
      // Only the rows this statement deleted are added: changes committed meanwhile stay for the next fold.
      await tx.run(`WITH moved AS (DELETE FROM violation_day_changes RETURNING *)
        INSERT INTO violation_days (day, check_id, department, opened, closed)
        SELECT day, check_id, department, SUM(opened), SUM(closed) FROM moved GROUP BY day, check_id, department ORDER BY day, check_id, department
        ON CONFLICT (day, check_id, department) DO UPDATE SET opened = violation_days.opened + excluded.opened, closed = violation_days.closed + excluded.closed`);
    } else {
      // WHERE true: SQLite's upsert after INSERT … SELECT needs a WHERE to parse.
      await tx.run(`INSERT INTO violation_days (day, check_id, department, opened, closed)
        SELECT day, check_id, department, SUM(opened), SUM(closed) FROM violation_day_changes WHERE true GROUP BY day, check_id, department
        ON CONFLICT (day, check_id, department) DO UPDATE SET opened = violation_days.opened + excluded.opened, closed = violation_days.closed + excluded.closed`);
      await tx.run('DELETE FROM violation_day_changes');
    }
    await tx.run('DELETE FROM violation_days WHERE opened = 0 AND closed = 0');
  });
}

export interface ViolationDayCount {
  day: string;
  checkId: string;
  /** '' for PCs without a 課 and the collector's own violations. */
  department: string;
  opened: number;
  closed: number;
}

/**
 * Counts from `since` (a JST day) on, of every 課 or of the given ones only (an account
 * limited to its 課; the collector's own violations, under '', are then left out).
 */
export async function violationDayCounts(sql: SqlRunner, since: string, departments?: readonly string[]): Promise<ViolationDayCount[]> {
  const scope = departments ? (departments.length ? `AND department IN (${departments.map(() => '?').join(', ')})` : 'AND 1 = 0') : '';
  const args: SqlValue[] = [...(departments ?? [])];
  const rows = await sql.all<{ day: string; check_id: string; department: string; opened: number | string; closed: number | string }>(
    `SELECT day, check_id, department, SUM(opened) AS opened, SUM(closed) AS closed FROM (
       SELECT day, check_id, department, opened, closed FROM violation_days WHERE day >= ? ${scope}
       UNION ALL SELECT day, check_id, department, opened, closed FROM violation_day_changes WHERE day >= ? ${scope}
     ) c GROUP BY day, check_id, department`,
    [since, ...args, since, ...args],
  );
  return rows.map((r) => ({ day: String(r.day), checkId: String(r.check_id), department: String(r.department), opened: Number(r.opened), closed: Number(r.closed) }));
}
