/**
 * The portable SqlRunner (see ../sql.ts) on node-postgres: `?` placeholders become $1, $2 …
 * (outside string literals, quoted identifiers and comments), nested transactions become
 * savepoints on the one client that holds the outer transaction.
 */
import type pg from 'pg';
import type { SqlRunner, SqlValue } from '../sql.js';

/** Rewrite `?` placeholders to PostgreSQL's numbered $n, leaving literals and comments alone. */
export function toPgPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'" || c === '"') {
      // A quote inside is doubled ('' or ""), which this loop reads as two adjacent literals.
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      out += `$${++n}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Something that runs one query: the pool (autocommit) or the client of a transaction. */
type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

function runnerOn(target: Queryable, openTransaction: <T>(fn: (tx: SqlRunner) => Promise<T>) => Promise<T>): SqlRunner {
  const query = (sql: string, params: readonly SqlValue[]) => target.query(toPgPlaceholders(sql), params as SqlValue[]);
  return {
    dialect: 'postgres',
    async all<T>(sql: string, params: readonly SqlValue[] = []) {
      return (await query(sql, params)).rows as T[];
    },
    async get<T>(sql: string, params: readonly SqlValue[] = []) {
      return (await query(sql, params)).rows[0] as T | undefined;
    },
    async run(sql: string, params: readonly SqlValue[] = []) {
      return (await query(sql, params)).rowCount ?? 0;
    },
    transaction: openTransaction,
  };
}

/** Runner on one client inside BEGIN … COMMIT: its transactions are savepoints. */
function transactionRunner(client: pg.PoolClient): SqlRunner {
  let depth = 0;
  const runner: SqlRunner = runnerOn(client, async (fn) => {
    const name = `mamori_sp${++depth}`;
    await client.query(`SAVEPOINT ${name}`);
    try {
      const result = await fn(runner);
      await client.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      await client.query(`RELEASE SAVEPOINT ${name}`);
      throw err;
    } finally {
      depth--;
    }
  });
  return runner;
}

/** Run fn on one pooled client inside a transaction; rolled back when fn throws. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      // The connection itself failed: do not give it back to the pool.
      broken = true;
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

/** The pool-level runner: each call autocommits; transaction() takes one client for its duration. */
export function pgRunner(pool: pg.Pool): SqlRunner {
  return runnerOn(pool, (fn) => withTransaction(pool, (client) => fn(transactionRunner(client))));
}
