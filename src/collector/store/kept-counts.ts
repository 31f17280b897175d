/**
 * Counts kept by triggers, the way violation-days.ts keeps the daily counts: a trigger only
 * appends a change (+n/−n) to a changes table in the transaction of the row it counts, never
 * updates a shared counter row, so ingest transactions of several PostgreSQL nodes never wait
 * on one another's counts. `foldKeptCounts` moves the changes into the counts table from time
 * to time; `readKeptCounts` sums both in one statement, so a reader always sees exactly the
 * counts of the rows of its snapshot.
 */
import type { SqlRunner, SqlValue } from './sql.js';

export interface KeptCounts<K extends string = string> {
  /** The counts: the key columns (its primary key) and the integer column `n`. */
  table: string;
  /** The appended changes: the same columns, no key. */
  changes: string;
  keys: readonly K[];
  /** Lock key of the fold on PostgreSQL (pg_advisory_xact_lock): two nodes never fold at once. */
  foldLock: number;
}

/** The DDL of both tables (TEXT keys, INTEGER count: the same text on both stores). */
export function keptCountTablesSql(k: KeptCounts): string {
  const cols = k.keys.map((c) => `${c} TEXT NOT NULL`).join(', ');
  return `
  CREATE TABLE ${k.table} (${cols}, n INTEGER NOT NULL, PRIMARY KEY (${k.keys.join(', ')}));
  CREATE TABLE ${k.changes} (${cols}, n INTEGER NOT NULL);
`;
}

/** Move the appended changes into the counts (one transaction; the sums stay what they were). */
export async function foldKeptCounts(sql: SqlRunner, k: KeptCounts): Promise<void> {
  const keys = k.keys.join(', ');
  await sql.transaction(async (tx) => {
    if (tx.dialect === 'postgres') {
      await tx.run('SELECT pg_advisory_xact_lock(?)', [k.foldLock]);
      // Only the rows this statement deleted are added: changes committed meanwhile stay for the next fold.
      await tx.run(`WITH moved AS (DELETE FROM ${k.changes} RETURNING *)
        INSERT INTO ${k.table} (${keys}, n) SELECT ${keys}, SUM(n) FROM moved GROUP BY ${keys} ORDER BY ${keys}
        ON CONFLICT (${keys}) DO UPDATE SET n = ${k.table}.n + excluded.n`);
    } else {
      // WHERE true: SQLite's upsert after INSERT … SELECT needs a WHERE to parse.
      await tx.run(`INSERT INTO ${k.table} (${keys}, n) SELECT ${keys}, SUM(n) FROM ${k.changes} WHERE true GROUP BY ${keys}
        ON CONFLICT (${keys}) DO UPDATE SET n = ${k.table}.n + excluded.n`);
      await tx.run(`DELETE FROM ${k.changes}`);
    }
    await tx.run(`DELETE FROM ${k.table} WHERE n = 0`);
  });
}

/** The counts (keys → n, zero counts left out), limited by a condition on the key columns. */
export async function readKeptCounts<K extends string>(sql: SqlRunner, k: KeptCounts<K>, where = '1 = 1', args: readonly SqlValue[] = []): Promise<(Record<K, string> & { n: number })[]> {
  const keys = k.keys.join(', ');
  const rows = await sql.all<Record<string, string | number>>(
    `SELECT ${keys}, SUM(n) AS n FROM (
       SELECT ${keys}, n FROM ${k.table} WHERE ${where}
       UNION ALL SELECT ${keys}, n FROM ${k.changes} WHERE ${where}
     ) c GROUP BY ${keys} HAVING SUM(n) <> 0`,
    [...args, ...args],
  );
  return rows.map((r) => ({ ...(Object.fromEntries(k.keys.map((c) => [c, String(r[c])])) as Record<K, string>), n: Number(r.n) }));
}
