/**
 * A trigram index for the violation list's text search on SQLite (FTS5 with the trigram
 * tokenizer, in the SQLite that better-sqlite3 bundles): a search of 3 characters or more
 * finds the violations whose subject, user or rule id may hold it in the index instead of
 * matching `LIKE '%…%'` on every violation. The index only narrows: each row it gives is
 * matched again with the same LIKE as before, so the answer is exactly the one of the scan
 * (the tokenizer folds case over more of Unicode than LOWER() does: it finds a superset).
 * Shorter searches scan as before (a trigram index cannot hold them).
 *
 * violations_text holds a copy of the three columns under the violation's rowid, kept by
 * triggers in the transaction of each change. (A table whose key is not an INTEGER PRIMARY
 * KEY may have its rowids renumbered by VACUUM where SQLite cannot copy the table as it is;
 * the collector never runs VACUUM.)
 */

export const VIOLATIONS_TEXT_SQLITE = `
  CREATE VIRTUAL TABLE violations_text USING fts5(subject, user_name, rule_id, tokenize = 'trigram');
  INSERT INTO violations_text (rowid, subject, user_name, rule_id) SELECT rowid, subject, COALESCE(user_name, ''), rule_id FROM violations;
  CREATE TRIGGER violations_text_insert AFTER INSERT ON violations BEGIN
    INSERT INTO violations_text (rowid, subject, user_name, rule_id) VALUES (NEW.rowid, NEW.subject, COALESCE(NEW.user_name, ''), NEW.rule_id);
  END;
  CREATE TRIGGER violations_text_update AFTER UPDATE OF subject, user_name, rule_id ON violations
    WHEN OLD.subject IS NOT NEW.subject OR OLD.user_name IS NOT NEW.user_name OR OLD.rule_id IS NOT NEW.rule_id BEGIN
    UPDATE violations_text SET subject = NEW.subject, user_name = COALESCE(NEW.user_name, ''), rule_id = NEW.rule_id WHERE rowid = NEW.rowid;
  END;
  CREATE TRIGGER violations_text_delete AFTER DELETE ON violations BEGIN
    DELETE FROM violations_text WHERE rowid = OLD.rowid;
  END;
`;

/** The index holds a search of at least this many characters (code points). */
export const TRIGRAM_MIN_CHARS = 3;

/** The FTS5 query for a text as one phrase: every character literal, `"` doubled. */
export const trigramPhrase = (text: string): string => `"${text.replace(/"/g, '""')}"`;
