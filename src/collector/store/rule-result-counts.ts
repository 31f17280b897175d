/**
 * Latest rule results per 課, rule and result, kept by triggers on the rule_results and
 * agents tables (kept-counts.ts): what the 自己点検 report and its daily snapshots read
 * instead of grouping every PC's result for every rule (530,000 entries at a city's size).
 * Counted as the report counts PCs: the results of PCs that are not revoked, under the 課 the
 * PC belongs to now ('' for a PC without one). Revoking a PC removes its results from the
 * counts, moving it to another 課 moves them.
 */
import type { KeptCounts } from './kept-counts.js';
import { keptCountTablesSql } from './kept-counts.js';

export const RULE_RESULT_COUNTS: KeptCounts<'department' | 'rule_id' | 'result'> = {
  table: 'rule_result_counts',
  changes: 'rule_result_count_changes',
  keys: ['department', 'rule_id', 'result'],
  foldLock: 0x6d616d72, // "mamr"
};

const FILL_SQL = `
  INSERT INTO rule_result_counts (department, rule_id, result, n)
  SELECT COALESCE(a.department, ''), r.rule_id, r.result, COUNT(*) FROM rule_results r JOIN agents a ON a.id = r.agent_id
  WHERE a.revoked_at IS NULL GROUP BY COALESCE(a.department, ''), r.rule_id, r.result;
`;

/** One result row's count (+1 for NEW, −1 for OLD) when its PC is counted. */
const rowChange = (row: 'NEW' | 'OLD'): string => `INSERT INTO rule_result_count_changes (department, rule_id, result, n)
      SELECT COALESCE(department, ''), ${row}.rule_id, ${row}.result, ${row === 'NEW' ? 1 : -1} FROM agents WHERE id = ${row}.agent_id AND revoked_at IS NULL;`;

/**
 * A PC's results, uncounted as the PC was (OLD) and counted as it is (NEW): a PC moved to
 * another 課, revoked, or (for the trigger on inserts and deletes) appearing or disappearing.
 */
const agentChange = (agent: string, old: string | null, now: string | null): string => `INSERT INTO rule_result_count_changes (department, rule_id, result, n)
      SELECT d.dep, r.rule_id, r.result, COUNT(*) * d.sign FROM rule_results r
      CROSS JOIN (${[old && `SELECT COALESCE(${old}.department, '') AS dep, -1 AS sign WHERE ${old}.revoked_at IS NULL`, now && `SELECT COALESCE(${now}.department, '') AS dep, 1 AS sign WHERE ${now}.revoked_at IS NULL`].filter(Boolean).join(' UNION ALL ')}) d
      WHERE r.agent_id = ${agent}.id
      GROUP BY d.dep, d.sign, r.rule_id, r.result;`;

const RESULT_CHANGED = (distinct: string): string => `OLD.result ${distinct} NEW.result OR OLD.rule_id ${distinct} NEW.rule_id OR OLD.agent_id ${distinct} NEW.agent_id`;
const AGENT_CHANGED = (distinct: string): string => `OLD.department ${distinct} NEW.department OR (OLD.revoked_at IS NULL) <> (NEW.revoked_at IS NULL)`;

export const RULE_RESULT_COUNTS_SQLITE = `
  ${keptCountTablesSql(RULE_RESULT_COUNTS)}
  ${FILL_SQL}
  CREATE TRIGGER rule_result_counts_insert AFTER INSERT ON rule_results BEGIN
    ${rowChange('NEW')}
  END;
  CREATE TRIGGER rule_result_counts_update AFTER UPDATE ON rule_results WHEN ${RESULT_CHANGED('IS NOT')} BEGIN
    ${rowChange('OLD')}
    ${rowChange('NEW')}
  END;
  CREATE TRIGGER rule_result_counts_delete AFTER DELETE ON rule_results BEGIN
    ${rowChange('OLD')}
  END;
  CREATE TRIGGER rule_result_counts_agent_insert AFTER INSERT ON agents BEGIN
    ${agentChange('NEW', null, 'NEW')}
  END;
  CREATE TRIGGER rule_result_counts_agent_update AFTER UPDATE OF department, revoked_at ON agents WHEN ${AGENT_CHANGED('IS NOT')} BEGIN
    ${agentChange('NEW', 'OLD', 'NEW')}
  END;
  CREATE TRIGGER rule_result_counts_agent_delete AFTER DELETE ON agents BEGIN
    ${agentChange('OLD', 'OLD', null)}
  END;
`;

export const RULE_RESULT_COUNTS_POSTGRES = `
  ${keptCountTablesSql(RULE_RESULT_COUNTS)}
  ${FILL_SQL}
  CREATE FUNCTION rule_result_counts_row() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    -- OLD is unset in an INSERT trigger and NEW in a DELETE one.
    IF TG_OP <> 'INSERT' THEN
      ${rowChange('OLD')}
    END IF;
    IF TG_OP <> 'DELETE' THEN
      ${rowChange('NEW')}
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER rule_result_counts_insert_delete AFTER INSERT OR DELETE ON rule_results FOR EACH ROW EXECUTE FUNCTION rule_result_counts_row();
  CREATE TRIGGER rule_result_counts_update AFTER UPDATE ON rule_results FOR EACH ROW WHEN (${RESULT_CHANGED('IS DISTINCT FROM')}) EXECUTE FUNCTION rule_result_counts_row();
  CREATE FUNCTION rule_result_counts_agent() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      ${agentChange('NEW', null, 'NEW')}
    ELSIF TG_OP = 'DELETE' THEN
      ${agentChange('OLD', 'OLD', null)}
    ELSE
      ${agentChange('NEW', 'OLD', 'NEW')}
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER rule_result_counts_agent_insert_delete AFTER INSERT OR DELETE ON agents FOR EACH ROW EXECUTE FUNCTION rule_result_counts_agent();
  CREATE TRIGGER rule_result_counts_agent_update AFTER UPDATE OF department, revoked_at ON agents FOR EACH ROW WHEN (${AGENT_CHANGED('IS DISTINCT FROM')}) EXECUTE FUNCTION rule_result_counts_agent();
`;
