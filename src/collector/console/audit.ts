/**
 * The console's audit log (C-LOG, C-SOD: an operation history the second person and the
 * auditors can see). Append-only: there is no route or method that updates or deletes a row.
 * Each row is chained to the previous one, hash = sha256(prev_hash + canonical row), so any
 * edit or removal made directly in the database shows up in verify().
 *
 * The chain alone does not stop someone with write access to the database: they can edit a
 * row and recompute every hash after it, or delete the last rows. So the chain is anchored
 * outside the database (AuditAnchor): each row carries mac = HMAC-SHA256(key, hash) with a key
 * kept in DATA/tls/audit-mac.key (0600, beside the CA keys, never in the database), and
 * checkpoints (head seq, head hash, row count, MAC) are appended to DATA/audit-checkpoints.jsonl
 * and written to the collector log periodically and at shutdown. verify() checks rows, MACs
 * and checkpoints: a rewritten row fails its MAC, removed last rows fall short of a checkpoint.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { ensureAuditMacKey } from '../../shared/tls/material.js';
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
export const entryOf = (r: Row): AuditEntry => ({
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

export type VerifyResult = { ok: true; rows: number; lastHash: string; checkpoints: number } | { ok: false; rows: number; brokenAt: number; why: string };

/** A point of the chain recorded outside the database. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  /** Rows in the log at that point (= seq: seq starts at 1 and has no gaps). */
  count: number;
  at: string;
  mac: string;
}

export const AUDIT_CHECKPOINT_FILE = 'audit-checkpoints.jsonl';

const hmac = (key: Buffer, text: string): string => createHmac('sha256', key).update(text).digest('hex');
const sameHex = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const checkpointText = (c: Omit<AuditCheckpoint, 'mac'>): string => JSON.stringify(['mamori-audit-checkpoint', c.seq, c.hash, c.count, c.at]);

/** The audit log's key and checkpoint file of a collector data directory (the key is made on first use). */
export class AuditAnchor {
  constructor(
    readonly key: Buffer,
    readonly checkpointFile: string,
  ) {}

  static of(dataDir: string): AuditAnchor {
    return new AuditAnchor(ensureAuditMacKey(dataDir), join(dataDir, AUDIT_CHECKPOINT_FILE));
  }

  rowMac(hash: string): string {
    return hmac(this.key, hash);
  }

  sign(c: Omit<AuditCheckpoint, 'mac'>): AuditCheckpoint {
    return { ...c, mac: hmac(this.key, checkpointText(c)) };
  }

  genuine(c: AuditCheckpoint): boolean {
    return typeof c.mac === 'string' && sameHex(c.mac, hmac(this.key, checkpointText(c)));
  }

  append(c: AuditCheckpoint): void {
    appendFileSync(this.checkpointFile, `${JSON.stringify(c)}\n`, { mode: 0o600 });
  }

  /** Checkpoints in the file, oldest first; a line that is not one is kept as a forgery to report. */
  read(): (AuditCheckpoint | { unreadable: string })[] {
    if (!existsSync(this.checkpointFile)) return [];
    return readFileSync(this.checkpointFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        try {
          return JSON.parse(l) as AuditCheckpoint;
        } catch {
          return { unreadable: l.slice(0, 80) };
        }
      });
  }
}

export class AuditLog {
  /** Appends on one node are serialised; other nodes are kept apart by the seq primary key (retry on conflict). */
  private tail: Promise<unknown> = Promise.resolve();

  private lastCheckpointSeq = 0;

  constructor(
    private readonly sql: SqlRunner,
    private readonly clock: Clock = systemClock,
    /** Key and checkpoint file outside the database; without it (tests of other parts) rows carry no MAC. */
    readonly anchor?: AuditAnchor,
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
          await tx.run('INSERT INTO console_audit (seq, at, actor, role, action, target, detail_json, ip, prev_hash, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
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
            this.anchor ? this.anchor.rowMac(hash) : null,
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

  /**
   * Record the head of the chain outside the database (checkpoint file and the collector log)
   * when it moved since the last checkpoint of this process. Returns the checkpoint written.
   */
  async checkpoint(): Promise<AuditCheckpoint | undefined> {
    if (!this.anchor) return undefined;
    await this.tail;
    const head = await this.sql.get<Row>('SELECT seq, hash FROM console_audit ORDER BY seq DESC LIMIT 1');
    if (!head || Number(head.seq) === this.lastCheckpointSeq) return undefined;
    const c = this.anchor.sign({ seq: Number(head.seq), hash: String(head.hash), count: Number(head.seq), at: this.clock.now().toISOString() });
    this.anchor.append(c);
    this.lastCheckpointSeq = c.seq;
    return c;
  }

  /**
   * Walk the whole chain: every row must follow its predecessor and hash to its stored hash;
   * with the anchor, every row from the first one with a MAC on (rows written before MACs
   * existed have none) must carry a valid MAC, and every checkpoint must be genuine and match
   * the row it names.
   */
  async verify(): Promise<VerifyResult> {
    let prev = GENESIS_HASH;
    let expectedSeq = 1;
    let rows = 0;
    let macsBegun = false;
    const hashes = new Map<number, string>();
    const checkpoints = this.anchor?.read() ?? [];
    const wanted = new Set(checkpoints.map((c) => ('seq' in c ? c.seq : -1)));
    const page = 2000;
    for (;;) {
      const batch = await this.sql.all<Row>('SELECT * FROM console_audit WHERE seq >= ? ORDER BY seq LIMIT ?', [expectedSeq, page]);
      for (const r of batch) {
        const e = entryOf(r);
        if (e.seq !== expectedSeq) return { ok: false, rows, brokenAt: expectedSeq, why: `row ${expectedSeq} is missing` };
        if (e.prevHash !== prev) return { ok: false, rows, brokenAt: e.seq, why: `row ${e.seq} does not follow row ${e.seq - 1}` };
        const { hash, prevHash: _p, ...body } = e;
        if (chainHash(prev, body) !== hash) return { ok: false, rows, brokenAt: e.seq, why: `row ${e.seq} was changed after it was written` };
        if (this.anchor) {
          const mac = (r.mac as string | null) ?? null;
          if (mac !== null) macsBegun = true;
          if (macsBegun && (mac === null || !sameHex(mac, this.anchor.rowMac(hash)))) return { ok: false, rows, brokenAt: e.seq, why: `row ${e.seq} has no valid MAC: it was written or rewritten without the audit key` };
          if (wanted.has(e.seq)) hashes.set(e.seq, hash);
        }
        prev = hash;
        expectedSeq++;
        rows++;
      }
      if (batch.length < page) break;
    }
    for (const c of checkpoints) {
      if (!('seq' in c) || !this.anchor!.genuine(c)) return { ok: false, rows, brokenAt: 'seq' in c ? c.seq : 0, why: `checkpoint file ${this.anchor!.checkpointFile} holds a line that is not a genuine checkpoint` };
      if (c.seq > rows) return { ok: false, rows, brokenAt: rows + 1, why: `rows ${rows + 1}–${c.seq} are missing: the checkpoint of ${c.at} recorded ${c.count} rows` };
      if (hashes.get(c.seq) !== c.hash) return { ok: false, rows, brokenAt: c.seq, why: `row ${c.seq} differs from the checkpoint of ${c.at}: the log was rewritten` };
    }
    return { ok: true, rows, lastHash: prev, checkpoints: checkpoints.length };
  }
}
