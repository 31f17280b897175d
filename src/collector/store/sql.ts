/**
 * A small SQL runner both stores expose, so features outside the agent path (the console's
 * accounts, 媒体管理台帳, 例外措置, audit log, policies) write their SQL once: portable SQL
 * with `?` placeholders (PostgreSQL's runner rewrites them to $1, $2 …), ON CONFLICT upserts,
 * TEXT for times (ISO 8601) and JSON, INTEGER for booleans.
 */
export type SqlValue = string | number | null;

export interface SqlRunner {
  readonly dialect: 'sqlite' | 'postgres';
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Run fn in one transaction; the runner given to fn belongs to that transaction. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
}
