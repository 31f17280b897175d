/**
 * Open violations per 課, kind (check) and severity, kept by triggers on the violations and
 * agents tables (kept-counts.ts): what the 概要 counts read instead of grouping 100,000 open
 * violations. Counted as the violation list counts them: every row in state open, under the
 * 課 its PC belongs to now ('' for a PC without one, for the collector's own violations and
 * for a PC without its agents row); moving a PC to another 課 moves the counts of its open
 * violations.
 */
import type { KeptCounts } from './kept-counts.js';
import { keptCountTablesSql } from './kept-counts.js';

export const OPEN_VIOLATION_COUNTS: KeptCounts<'department' | 'check_id' | 'severity'> = {
  table: 'open_violation_counts',
  changes: 'open_violation_count_changes',
  keys: ['department', 'check_id', 'severity'],
  foldLock: 0x6d616d6f, // "mamo"
};

const FILL_SQL = `
  INSERT INTO open_violation_counts (department, check_id, severity, n)
  SELECT COALESCE(a.department, ''), v.check_id, v.severity, COUNT(*) FROM violations v LEFT JOIN agents a ON a.id = v.agent_id
  WHERE v.state = 'open' GROUP BY COALESCE(a.department, ''), v.check_id, v.severity;
`;

/**
 * A PC's open violations, counted under a 課 with a sign (its old 課 −, its new one +).
 * `violations` names the table as the dialect should read it: SQLite, without statistics,
 * reads `state = 'open'` from the list's page index (every open violation of the fleet, for
 * each PC moved: 100,000 rows × 10,000 PCs made a bulk assignment take minutes), so it is told
 * to read the PC's own rows (violations_agent_state); PostgreSQL plans from its statistics.
 */
const departmentMoveSql = (violations: string, agent: string, oldDep: string, newDep: string): string => `INSERT INTO open_violation_count_changes (department, check_id, severity, n)
      SELECT d.dep, v.check_id, v.severity, COUNT(*) * d.sign FROM ${violations}
      CROSS JOIN (SELECT ${oldDep} AS dep, -1 AS sign UNION ALL SELECT ${newDep}, 1) d
      WHERE v.agent_id = ${agent}.id AND v.state = 'open'
      GROUP BY d.dep, d.sign, v.check_id, v.severity;`;
/** A PC row changing its 課, or appearing or disappearing under violations already stored (counted under '' without it). */
const pcRowChanges = (violations: string) => ({
  moved: departmentMoveSql(violations, 'NEW', "COALESCE(OLD.department, '')", "COALESCE(NEW.department, '')"),
  appeared: departmentMoveSql(violations, 'NEW', "''", "COALESCE(NEW.department, '')"),
  disappeared: departmentMoveSql(violations, 'OLD', "COALESCE(OLD.department, '')", "''"),
});
const SQLITE_PC = pcRowChanges('violations v INDEXED BY violations_agent_state');
const POSTGRES_PC = pcRowChanges('violations v');

const COUNTED_COLUMNS_CHANGED = (distinct: string): string =>
  `OLD.state ${distinct} NEW.state OR OLD.check_id ${distinct} NEW.check_id OR OLD.severity ${distinct} NEW.severity OR OLD.agent_id ${distinct} NEW.agent_id`;

/** One violation row's count (+1 for NEW, −1 for OLD) when it is open. */
function sqliteRowChange(row: 'NEW' | 'OLD'): string {
  const dep = `COALESCE((SELECT department FROM agents WHERE id = ${row}.agent_id), '')`;
  return `INSERT INTO open_violation_count_changes (department, check_id, severity, n)
      SELECT ${dep}, ${row}.check_id, ${row}.severity, ${row === 'NEW' ? 1 : -1} WHERE ${row}.state = 'open';`;
}

export const OPEN_VIOLATION_COUNTS_SQLITE = `
  ${keptCountTablesSql(OPEN_VIOLATION_COUNTS)}
  ${FILL_SQL}
  CREATE TRIGGER open_violation_counts_insert AFTER INSERT ON violations WHEN NEW.state = 'open' BEGIN
    ${sqliteRowChange('NEW')}
  END;
  CREATE TRIGGER open_violation_counts_update AFTER UPDATE ON violations WHEN ${COUNTED_COLUMNS_CHANGED('IS NOT')} BEGIN
    ${sqliteRowChange('OLD')}
    ${sqliteRowChange('NEW')}
  END;
  CREATE TRIGGER open_violation_counts_delete AFTER DELETE ON violations WHEN OLD.state = 'open' BEGIN
    ${sqliteRowChange('OLD')}
  END;
  CREATE TRIGGER open_violation_counts_department AFTER UPDATE OF department ON agents WHEN OLD.department IS NOT NEW.department BEGIN
    ${SQLITE_PC.moved}
  END;
  CREATE TRIGGER open_violation_counts_agent_insert AFTER INSERT ON agents WHEN COALESCE(NEW.department, '') <> '' BEGIN
    ${SQLITE_PC.appeared}
  END;
  CREATE TRIGGER open_violation_counts_agent_delete AFTER DELETE ON agents WHEN COALESCE(OLD.department, '') <> '' BEGIN
    ${SQLITE_PC.disappeared}
  END;
`;

export const OPEN_VIOLATION_COUNTS_POSTGRES = `
  ${keptCountTablesSql(OPEN_VIOLATION_COUNTS)}
  ${FILL_SQL}
  CREATE FUNCTION open_violation_counts_row() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    -- OLD is unset in an INSERT trigger and NEW in a DELETE one: TG_OP is tested first.
    IF TG_OP <> 'INSERT' THEN
      IF OLD.state = 'open' THEN
        INSERT INTO open_violation_count_changes VALUES (COALESCE((SELECT department FROM agents WHERE id = OLD.agent_id), ''), OLD.check_id, OLD.severity, -1);
      END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
      IF NEW.state = 'open' THEN
        INSERT INTO open_violation_count_changes VALUES (COALESCE((SELECT department FROM agents WHERE id = NEW.agent_id), ''), NEW.check_id, NEW.severity, 1);
      END IF;
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER open_violation_counts_insert_delete AFTER INSERT OR DELETE ON violations FOR EACH ROW EXECUTE FUNCTION open_violation_counts_row();
  CREATE TRIGGER open_violation_counts_update AFTER UPDATE ON violations FOR EACH ROW WHEN (${COUNTED_COLUMNS_CHANGED('IS DISTINCT FROM')}) EXECUTE FUNCTION open_violation_counts_row();
  CREATE FUNCTION open_violation_counts_department() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      ${POSTGRES_PC.appeared}
    ELSIF TG_OP = 'DELETE' THEN
      ${POSTGRES_PC.disappeared}
    ELSE
      ${POSTGRES_PC.moved}
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER open_violation_counts_department AFTER UPDATE OF department ON agents FOR EACH ROW WHEN (OLD.department IS DISTINCT FROM NEW.department) EXECUTE FUNCTION open_violation_counts_department();
  CREATE TRIGGER open_violation_counts_agent_insert_delete AFTER INSERT OR DELETE ON agents FOR EACH ROW EXECUTE FUNCTION open_violation_counts_department();
`;
