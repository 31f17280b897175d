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
 * the join, and JSON read back by json_each is slower than binding the values). Most of them
 * (an agent reporting again after a restart, a reconnect or a re-check) carry the content the
 * row holds: those write nothing (`current` finds the row's digest equal to the report's). The
 * event row records that report; the violation's updated_at is when the violation last changed
 * (opened, its content changed, closed), so a report that changes nothing leaves it as it is.
 * Rewriting a row of ~1.5 KB and its (state, updated_at) index entry for the time alone cost
 * the writer more than storing the event itself (bench/sqlite-ingest-writer.ts).
 */
import { hash } from 'node:crypto';
import type Database from 'better-sqlite3';

/**
 * The digest of what a `violation.opened` event reports, from the event's JSON text as stored:
 * SHA-256 of the text from its first `"violation":` to its end. A `"` inside a JSON string is
 * escaped, so that part starts at a key named violation: the event's own, or one nested in an
 * object before it. Two texts with the same part hold the same violation object: were the part
 * to start nested in one of them, it would close one object more there than that text opens,
 * which a text JSON.parse accepted cannot do. So two reports with the same digest carry the same
 * violation whatever their seq and time; a text that puts other keys after the violation only
 * makes reports differ more often, never less. Hashing costs about what serialising the four
 * JSON columns costs (~1.5 µs), but a report that matches binds 44 characters, not ~1 KB.
 */
export function reportDigest(eventText: string): string | null {
  const start = eventText.indexOf('"violation":');
  return start < 0 ? null : hash('sha256', eventText.slice(start), 'base64');
}

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
  /** reportDigest of the event's text (null: none, so a later report is written in full). */
  digest: string | null;
  /** The open violation a refresh writes (absent for an opening). */
  rowid?: number | bigint;
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

/**
 * Migration 202612072901: the digest column, and a trigger that clears it whenever a statement
 * writes the content columns without writing a new digest (the tamper monitor's and the
 * forwarders' own violations, an administrator's SQL), so a digest never vouches for content
 * it was not computed from.
 */
export const VIOLATION_DIGEST_SQLITE = `
  ALTER TABLE violations ADD COLUMN content_digest TEXT;
  CREATE TRIGGER violations_content_digest_stale
    AFTER UPDATE OF check_id, result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name ON violations
    WHEN NEW.content_digest IS NOT NULL AND NEW.content_digest IS OLD.content_digest BEGIN
    UPDATE violations SET content_digest = NULL WHERE rowid = NEW.rowid;
  END;
`;

/** The content columns refreshSameKeys writes, each as the row holds it now. */
const SAME_CONTENT = 'result IS @result AND title_json IS @title AND message_json IS @message AND reason IS @reason AND reason_msg IS @reasonMsg AND clauses_json IS @clauses AND facts_json IS @facts';

const COLUMNS = 'agent_id, rule_id, subject, check_id, result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name, opened_at, updated_at, content_digest';

export interface ViolationStatements {
  /**
   * The violation a report is for, as [rowid, open (1/0), severity, user_name, content_digest]
   * (raw): an open row whose digest equals the report's holds its content already (nothing to
   * write); otherwise which statement below writes it is decided from it, with one lookup
   * instead of one failed UPDATE per statement tried. A row written by another writer has its
   * digest cleared (the trigger of migration 202612072901) and is written in full.
   */
  current: Database.Statement;
  /**
   * An open violation reported again, severity and user unchanged. SQLite rewrites an index
   * entry whenever its column is in the SET list, changed or not: the usual re-report keeps
   * severity and user (columns of the list's page index), so it is written without them.
   * updated_at moves only if a column changes (SAME_CONTENT): a row whose digest was cleared
   * and is reported with the content it holds is left as it was, as the digest path leaves it.
   */
  refreshSameKeys: Database.Statement;
  /** An open violation reported again with another severity or user. Both refreshes by rowid (ViolationRow.rowid). */
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
      current: db.prepare("SELECT rowid, state = 'open', severity, user_name, content_digest FROM violations WHERE agent_id = ? AND rule_id = ? AND subject = ?").raw(),
      // The right-hand sides read the row as it was: SAME_CONTENT compares the old columns with the report.
      refreshSameKeys: db.prepare(`UPDATE violations SET result = @result, title_json = @title, message_json = @message,
          reason = @reason, reason_msg = @reasonMsg, clauses_json = @clauses, facts_json = @facts,
          updated_at = CASE WHEN ${SAME_CONTENT} THEN updated_at ELSE @receivedAt END, content_digest = @digest
        WHERE rowid = @rowid`),
      refreshOpen: db.prepare(`UPDATE violations SET result = @result, severity = @severity, title_json = @title, message_json = @message,
          reason = @reason, reason_msg = @reasonMsg, clauses_json = @clauses, facts_json = @facts, user_name = @user, updated_at = @receivedAt, content_digest = @digest
        WHERE rowid = @rowid`),
      close: db.prepare(`UPDATE violations SET state = 'closed', closed_at = @at, closed_reason = @reason, closed_reason_msg = @reasonMsg, updated_at = @receivedAt
        WHERE agent_id = @agentId AND rule_id = @ruleId AND subject = @subject AND state = 'open'`),
      stageOpening: db.prepare(`INSERT INTO temp.violation_openings (${COLUMNS})
        VALUES (@agentId, @ruleId, @subject, @checkId, @result, @severity, @title, @message, @reason, @reasonMsg, @clauses, @facts, @user, @at, @receivedAt, @digest)`),
      // WHERE true: SQLite's upsert after INSERT … SELECT needs a WHERE to parse.
      openStaged: db.prepare(`INSERT INTO violations (agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name, opened_at, closed_at, closed_reason, closed_reason_msg, updated_at, content_digest)
        SELECT agent_id, rule_id, subject, check_id, 'open', result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name, opened_at, NULL, NULL, NULL, updated_at, content_digest
        FROM temp.violation_openings WHERE true
        ON CONFLICT (agent_id, rule_id, subject) DO UPDATE SET
          state = 'open', result = excluded.result, severity = excluded.severity, title_json = excluded.title_json,
          message_json = excluded.message_json, reason = excluded.reason, reason_msg = excluded.reason_msg, clauses_json = excluded.clauses_json,
          facts_json = excluded.facts_json, user_name = excluded.user_name,
          opened_at = CASE WHEN violations.state = 'open' THEN violations.opened_at ELSE excluded.opened_at END,
          closed_at = NULL, closed_reason = NULL, closed_reason_msg = NULL, updated_at = excluded.updated_at, content_digest = excluded.content_digest`),
      clearStaged: db.prepare('DELETE FROM temp.violation_openings'),
    };
    return stmts;
  };
}
