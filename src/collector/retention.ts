/**
 * Retention (保存期間): stored events, the facts history, closed violations and the console's
 * audit log are kept for configurable periods and pruned in the background, in small batches
 * with a pause between them, so ingest never waits behind a long delete.
 *
 * No seed standard gives a number of days: they say 「一定期間」 and, for access logs,
 * 「長期間保存し、保存期間は公表しない」 (003 第8章3(2)エ; seed-requirements.md §3.2). The
 * periods below are product defaults that the 情報管理責任者 sets for the site; the audit log
 * is never pruned unless a period is set for it.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../shared/log.js';
import type { CollectorPlugin } from './plugins.js';
import type { SqlRunner } from './store/sql.js';
import type { PruneKind, Store } from './store/store.js';

/** Days to keep each kind of record; a kind left out (or null) is kept for ever. */
export interface RetentionPeriods {
  /** Every stored event (the raw history behind violations and scans). */
  events?: number | null;
  /** facts and results events: the bulky history of observations. */
  facts?: number | null;
  /** Violations closed longer ago than this (open ones are never pruned). */
  closedViolations?: number | null;
  /** The console's audit log (only when the console registered it, see `auditLog`). */
  audit?: number | null;
}

/** Product defaults, not values from a standard (see the module comment). */
export const DEFAULT_RETENTION: Readonly<RetentionPeriods> = { events: 1825, facts: 90, closedViolations: 1825, audit: null };

/** A table of another feature that retention prunes by a time column (ISO 8601 text) through the portable SQL runner. */
export interface PrunableTable {
  table: string;
  /** Column holding the ISO 8601 time a row is aged by. */
  timeColumn: string;
  /** A unique column, to delete a bounded batch portably (no DELETE … LIMIT in PostgreSQL). */
  keyColumn: string;
}

export interface RetentionOptions {
  store: Store;
  periods: RetentionPeriods;
  log: Logger;
  /** Where the console keeps its audit log. */
  auditLog?: PrunableTable;
  /** Rows per delete (default 500). */
  batchSize?: number;
  /** Pause between two deletes, giving ingest the database (default 50 ms). */
  pauseMs?: number;
  /** Time between two passes (default one hour). */
  intervalMs?: number;
  now?: () => Date;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export class RetentionConfigError extends Error {
  readonly code = 'RETENTION_CONFIG';
}

/** Delete at most `limit` rows of a table older than `before`, with SQL both stores run. */
export async function pruneTable(sql: SqlRunner, t: PrunableTable, before: string, limit: number): Promise<number> {
  for (const name of [t.table, t.timeColumn, t.keyColumn]) if (!IDENTIFIER.test(name)) throw new RetentionConfigError(`not a plain SQL identifier: ${name}`);
  return sql.run(`DELETE FROM ${t.table} WHERE ${t.keyColumn} IN (SELECT ${t.keyColumn} FROM ${t.table} WHERE ${t.timeColumn} < ? ORDER BY ${t.timeColumn} LIMIT ?)`, [before, limit]);
}

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly opts: RetentionOptions) {
    for (const [kind, days] of Object.entries(opts.periods)) {
      if (days !== null && days !== undefined && (!Number.isFinite(days) || days <= 0)) throw new RetentionConfigError(`retention of ${kind}: ${days} is not a positive number of days`);
    }
  }

  /** One pass over every kind with a period; returns the rows deleted per kind. */
  async runOnce(): Promise<Record<string, number>> {
    const now = (this.opts.now ?? (() => new Date()))().getTime();
    const before = (days: number) => new Date(now - days * 86_400_000).toISOString();
    const p = this.opts.periods;
    const jobs: [string, number | null | undefined, (cutoff: string, limit: number) => Promise<number>][] = [
      ['facts', p.facts, (c, l) => this.opts.store.prune('facts' satisfies PruneKind, c, l)],
      ['events', p.events, (c, l) => this.opts.store.prune('events', c, l)],
      ['closedViolations', p.closedViolations, (c, l) => this.opts.store.prune('violations', c, l)],
    ];
    const audit = this.opts.auditLog;
    if (audit) jobs.push(['audit', p.audit, (c, l) => pruneTable(this.opts.store.sql, audit, c, l)]);
    const deleted: Record<string, number> = {};
    const limit = this.opts.batchSize ?? 500;
    for (const [kind, days, prune] of jobs) {
      if (days === null || days === undefined) continue;
      const cutoff = before(days);
      let total = 0;
      for (;;) {
        if (this.stopped) break;
        const n = await prune(cutoff, limit);
        total += n;
        if (n < limit) break;
        await new Promise((r) => setTimeout(r, this.opts.pauseMs ?? 50));
      }
      deleted[kind] = total;
    }
    const sum = Object.values(deleted).reduce((a, b) => a + b, 0);
    if (sum > 0) this.opts.log.info('retention: pruned old records', { deleted });
    return deleted;
  }

  /** Run a pass now and then every interval, in the background. */
  start(): void {
    this.stopped = false;
    const pass = () => {
      if (this.running) return;
      this.running = this.runOnce()
        .catch((err: Error) => this.opts.log.warn('retention pass failed; retrying at the next interval', { error: err.message }))
        .finally(() => (this.running = undefined));
    };
    pass();
    this.timer = setInterval(pass, this.opts.intervalMs ?? 3_600_000);
    this.timer.unref();
  }

  /** Stop after the current delete. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}

/** Retention as a collector plugin: starts with the collector's server and stops when it closes. */
export function retentionPlugin(periods: RetentionPeriods = DEFAULT_RETENTION, extra: Pick<RetentionOptions, 'auditLog' | 'batchSize' | 'pauseMs' | 'intervalMs'> = {}): CollectorPlugin {
  return async (app: FastifyInstance, ctx) => {
    const retention = new Retention({ store: ctx.store, periods, log: ctx.log, ...extra });
    app.addHook('onReady', async () => retention.start());
    app.addHook('onClose', async () => retention.stop());
  };
}
