/**
 * Trigram indexes for the violation list's text search on PostgreSQL (pg_trgm): a `LIKE
 * '%…%'` on the host name, subject, user or rule id becomes a lookup in GIN indexes instead of
 * a scan of every open violation. Made at every start (IF NOT EXISTS), not as a numbered
 * migration: where the database refuses the extension (a role that neither owns the database
 * nor may create in it), the collector starts all the same, the search scans as before, and
 * the indexes are made at the first start after the database's owner has run
 * `CREATE EXTENSION pg_trgm`.
 */
import type pg from 'pg';

/** One GIN index holds the three violation columns the search matches (each condition of the OR reads it). */
const INDEXES = [
  "CREATE INDEX IF NOT EXISTS violations_text_trgm ON violations USING gin (LOWER(subject) gin_trgm_ops, LOWER(COALESCE(user_name, '')) gin_trgm_ops, LOWER(rule_id) gin_trgm_ops)",
  'CREATE INDEX IF NOT EXISTS agents_hostname_trgm ON agents USING gin (LOWER(hostname) gin_trgm_ops)',
];

/** The note for the collector's log when the indexes cannot be made (Japanese, then English). */
export function trigramUnavailableNote(reason: string): string {
  return (
    `PostgreSQL の拡張 pg_trgm を使えないため、違反一覧の文字検索は索引なしで全件を調べます (端末が多いと遅くなります)。` +
    `データベースの所有者が「CREATE EXTENSION pg_trgm;」を実行すると、次に収集サーバーを起動したときに索引が作られます (理由: ${reason}) / ` +
    `pg_trgm is not available: the violation text search scans without an index; once the database owner runs CREATE EXTENSION pg_trgm, the next start builds the indexes (${reason})`
  );
}

/**
 * Inside the migration's transaction: install pg_trgm when it is missing and make the
 * indexes; a refusal is rolled back to a savepoint and returned as a note, never thrown.
 */
export async function ensureTrigramIndexes(client: pg.PoolClient): Promise<string[]> {
  const step = async (sql: string): Promise<string | undefined> => {
    await client.query('SAVEPOINT mamori_trgm');
    try {
      await client.query(sql);
      await client.query('RELEASE SAVEPOINT mamori_trgm');
      return undefined;
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT mamori_trgm');
      await client.query('RELEASE SAVEPOINT mamori_trgm');
      return (err as Error).message;
    }
  };
  const installed = (await client.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).rowCount;
  if (!installed) {
    const refused = await step('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    if (refused) return [trigramUnavailableNote(refused)];
  }
  for (const sql of INDEXES) {
    const refused = await step(sql);
    if (refused) return [trigramUnavailableNote(refused)];
  }
  return [];
}
