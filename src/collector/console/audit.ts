/**
 * The console's audit log (C-LOG, C-SOD: an operation history the second person and the
 * auditors can see). Append-only: there is no route or method that updates or deletes a row.
 * Each row is chained to the previous one, hash = sha256(prev_hash + canonical row), so any
 * edit or removal made directly in the database shows up in verify().
 */
import { createHash } from 'node:crypto';
import type { SqlRunner } from '../store/sql.js';
import type { Principal } from './authz.js';
import type { Clock } from './util.js';
import { parseJson, systemClock } from './util.js';

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
  ip: string;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The text that is hashed for a row: fixed field order, JSON-escaped. */
export function canonicalRow(e: Omit<AuditEntry, 'hash' | 'prevHash'>): string {
  return JSON.stringify([e.seq, e.at, e.actor, e.role, e.action, e.target, e.detail, e.ip]);
}

export function chainHash(prevHash: string, e: Omit<AuditEntry, 'hash' | 'prevHash'>): string {
  return createHash('sha256').update(prevHash + canonicalRow(e)).digest('hex');
}

type Row = Record<string, unknown>;
const entryOf = (r: Row): AuditEntry => ({
  seq: Number(r.seq),
  at: String(r.at),
  actor: String(r.actor),
  role: String(r.role),
  action: String(r.action),
  target: String(r.target),
  detail: parseJson<Record<string, unknown>>(r.detail_json, {}),
  ip: String(r.ip),
  prevHash: String(r.prev_hash),
  hash: String(r.hash),
});

export interface AuditActor {
  actor: string;
  role: string;
  ip: string;
}

export const systemActor: AuditActor = { actor: 'system', role: 'system', ip: '-' };

export function actorOf(p: Principal, ip: string): AuditActor {
  return { actor: p.username, role: p.role, ip };
}

export type VerifyResult = { ok: true; rows: number; lastHash: string } | { ok: false; rows: number; brokenAt: number; why: string };

export class AuditLog {
  /** Appends on one node are serialised; other nodes are kept apart by the seq primary key (retry on conflict). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sql: SqlRunner,
    private readonly clock: Clock = systemClock,
  ) {}

  append(who: AuditActor, action: string, target: string, detail: Record<string, unknown> = {}): Promise<AuditEntry> {
    const next = this.tail.then(() => this.appendNow(who, action, target, detail));
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async appendNow(who: AuditActor, action: string, target: string, detail: Record<string, unknown>): Promise<AuditEntry> {
    for (let attempt = 0; ; attempt++) {
      try {
        // No transaction: the SQLite runner's transactions are savepoints that stay open across
        // awaits and could enclose the gateway's ingest; the seq primary key keeps the chain single.
        const tx = this.sql;
        {
          const last = await tx.get<Row>('SELECT seq, hash FROM console_audit ORDER BY seq DESC LIMIT 1');
          const base = { seq: last ? Number(last.seq) + 1 : 1, at: this.clock.now().toISOString(), actor: who.actor, role: who.role, action, target, detail, ip: who.ip };
          const prevHash = last ? String(last.hash) : GENESIS_HASH;
          const hash = chainHash(prevHash, base);
          await tx.run('INSERT INTO console_audit (seq, at, actor, role, action, target, detail_json, ip, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
            base.seq,
            base.at,
            base.actor,
            base.role,
            base.action,
            base.target,
            JSON.stringify(base.detail),
            base.ip,
            prevHash,
            hash,
          ]);
          return { ...base, prevHash, hash };
        }
      } catch (err) {
        // Another collector node took the same seq: read the new tail and try again.
        if (attempt < 5 && /unique|primary key|duplicate/i.test((err as Error).message)) continue;
        throw err;
      }
    }
  }

  async list(opts: { limit?: number; beforeSeq?: number; action?: string; actor?: string } = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (opts.beforeSeq) (where.push('seq < ?'), args.push(opts.beforeSeq));
    if (opts.action) (where.push('action LIKE ?'), args.push(`${opts.action}%`));
    if (opts.actor) (where.push('actor = ?'), args.push(opts.actor));
    const rows = await this.sql.all<Row>(`SELECT * FROM console_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`, [...args, Math.max(1, Math.min(Math.trunc(opts.limit ?? 200), 5000))]);
    return rows.map(entryOf);
  }

  /** Walk the whole chain: every row must follow its predecessor and hash to its stored hash. */
  async verify(): Promise<VerifyResult> {
    let prev = GENESIS_HASH;
    let expectedSeq = 1;
    let rows = 0;
    const page = 2000;
    for (;;) {
      const batch = (await this.sql.all<Row>('SELECT * FROM console_audit WHERE seq >= ? ORDER BY seq LIMIT ?', [expectedSeq, page])).map(entryOf);
      for (const e of batch) {
        if (e.seq !== expectedSeq) return { ok: false, rows, brokenAt: expectedSeq, why: `row ${expectedSeq} is missing` };
        if (e.prevHash !== prev) return { ok: false, rows, brokenAt: e.seq, why: `row ${e.seq} does not follow row ${e.seq - 1}` };
        const { hash, prevHash: _p, ...body } = e;
        if (chainHash(prev, body) !== hash) return { ok: false, rows, brokenAt: e.seq, why: `row ${e.seq} was changed after it was written` };
        prev = hash;
        expectedSeq++;
        rows++;
      }
      if (batch.length < page) break;
    }
    return { ok: true, rows, lastHash: prev };
  }
}
