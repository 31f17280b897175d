/**
 * The violations projection of one group commit on SQLite.
 *
 * New violations (and closed ones opened again) are written by one INSERT for the commit, not
 * one per violation: the triggers on violations write to an FTS5 table (the text search's
 * trigram index), and SQLite opens a statement savepoint for every statement that does, at
 * which FTS5 writes out its pending index data. One INSERT per violation therefore made one
 * small index segment per row, merged again and again (~107 µs of ~185 µs per first report in
 * bench/sqlite-ingest-writer.ts); one INSERT per commit writes the index out once. The rows to
 * insert are staged in a temporary table of this connection (no index, no trigger).
 *
 * Reports of violations already open stay one UPDATE each: they fire no trigger, and an
 * UPDATE … FROM a batch of changes costs more than the single-row updates (SQLite materialises
 * the join, and JSON read back by json_each is slower than binding the values).
 */
import type Database from 'better-sqlite3';

/** One violation change with its columns as bound (JSON columns as text). */
export interface ViolationRow {
  agentId: string;
  ruleId: string;
  subject: string;
  checkId: string;
  result: string;
  severity: string;
  title: string;
  message: string;
  reason: string;
  reasonMsg: string | null;
  clauses: string;
  facts: string;
  user: string | null;
  at: string;
  receivedAt: string;
}

export interface ViolationCloseRow {
  agentId: string;
  ruleId: string;
  subject: string;
  at: string;
  reason: string;
  reasonMsg: string | null;
  receivedAt: string;
}

const COLUMNS = 'agent_id, rule_id, subject, check_id, result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name, opened_at, updated_at';

export interface ViolationStatements {
  /**
   * An open violation reported again, severity and user unchanged. SQLite rewrites an index
   * entry whenever its column is in the SET list, changed or not: the usual re-report keeps
   * severity and user (columns of the list's page index), so it is written without them.
   */
  refreshSameKeys: Database.Statement;
  /** An open violation reported again with another severity or user. */
  refreshOpen: Database.Statement;
  close: Database.Statement;
  /** A violation not open now, kept for the commit's one INSERT. */
  stageOpening: Database.Statement;
  /** The staged violations inserted, or opened again where closed; then the stage emptied. */
  openStaged: Database.Statement;
  clearStaged: Database.Statement;
}

/** Prepared on first use: reason_msg and closed_reason_msg come from migrations later than the store's opening. */
export function violationStatements(db: Database.Database): () => ViolationStatements {
  let stmts: ViolationStatements | undefined;
  return () => {
    if (stmts) return stmts;
    db.exec(`CREATE TEMP TABLE IF NOT EXISTS violation_openings (${COLUMNS})`);
    stmts = {
      refreshSameKeys: db.prepare(`UPDATE violations SET result = @result, title_json = @title, message_json = @message,
          reason = @reason, reason_msg = @reasonMsg, clauses_json = @clauses, facts_json = @facts, updated_at = @receivedAt
        WHERE agent_id = @agentId AND rule_id = @ruleId AND subject = @subject AND state = 'open' AND severity = @severity AND user_name IS @user`),
      refreshOpen: db.prepare(`UPDATE violations SET result = @result, severity = @severity, title_json = @title, message_json = @message,
          reason = @reason, reason_msg = @reasonMsg, clauses_json = @clauses, facts_json = @facts, user_name = @user, updated_at = @receivedAt
        WHERE agent_id = @agentId AND rule_id = @ruleId AND subject = @subject AND state = 'open'`),
      close: db.prepare(`UPDATE violations SET state = 'closed', closed_at = @at, closed_reason = @reason, closed_reason_msg = @reasonMsg, updated_at = @receivedAt
        WHERE agent_id = @agentId AND rule_id = @ruleId AND subject = @subject AND state = 'open'`),
      stageOpening: db.prepare(`INSERT INTO temp.violation_openings (${COLUMNS})
        VALUES (@agentId, @ruleId, @subject, @checkId, @result, @severity, @title, @message, @reason, @reasonMsg, @clauses, @facts, @user, @at, @receivedAt)`),
      // WHERE true: SQLite's upsert after INSERT … SELECT needs a WHERE to parse.
      openStaged: db.prepare(`INSERT INTO violations (agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name, opened_at, closed_at, closed_reason, closed_reason_msg, updated_at)
        SELECT agent_id, rule_id, subject, check_id, 'open', result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name, opened_at, NULL, NULL, NULL, updated_at
        FROM temp.violation_openings WHERE true
        ON CONFLICT (agent_id, rule_id, subject) DO UPDATE SET
          state = 'open', result = excluded.result, severity = excluded.severity, title_json = excluded.title_json,
          message_json = excluded.message_json, reason = excluded.reason, reason_msg = excluded.reason_msg, clauses_json = excluded.clauses_json,
          facts_json = excluded.facts_json, user_name = excluded.user_name,
          opened_at = CASE WHEN violations.state = 'open' THEN violations.opened_at ELSE excluded.opened_at END,
          closed_at = NULL, closed_reason = NULL, closed_reason_msg = NULL, updated_at = excluded.updated_at`),
      clearStaged: db.prepare('DELETE FROM temp.violation_openings'),
    };
    return stmts;
  };
}
