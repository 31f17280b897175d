/**
 * Enrollment attempts the collector refused (wrong, expired, used or revoked token), with the
 * PC's name and address, so the console can list the PCs that tried to join and could not.
 * One row per (address, hostname, reason), counted, so a PC retrying for days stays one row;
 * at most MAX_ROWS rows are kept (the oldest go), so a flood of bogus attempts cannot fill the
 * database. A PC that later enrolls from the same address under the same name leaves the list.
 * A wrong CA pin is never seen here: the agent refuses the collector before it sends anything.
 */
import { REFUSAL_TEXT } from '../../shared/protocol/enrollment-refusal.js';
import type { RefusalReason } from '../../shared/protocol/enrollment-refusal.js';
import type { SqlRunner } from '../store/sql.js';

/** Where the refusal happened: the installer's check before it installs, or the agent's enrollment itself. */
export type RefusalStage = 'install-check' | 'enroll';

export interface RefusedEnrollment {
  address: string;
  hostname: string;
  reason: RefusalReason;
  /** REFUSAL_TEXT of the reason. */
  reasonText: string;
  stage: RefusalStage;
  /** Id part of the token (never its secret); null when the token was malformed. */
  tokenId: string | null;
  attempts: number;
  firstAt: string;
  lastAt: string;
}

const MAX_ROWS = 1000;

interface Row {
  address: string;
  hostname: string;
  reason: RefusalReason;
  stage: RefusalStage;
  token_id: string | null;
  attempts: number | string;
  first_at: string;
  last_at: string;
}

/** A host name as the PC sent it, cut to what a host name can be and without control characters. */
function cleanHostname(name: string): string {
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 253);
  return clean || '(名前なし)';
}

/** "::ffff:10.0.0.5" → "10.0.0.5" (an IPv4 client of a dual-stack listener). */
export function clientAddress(remote: string | undefined): string {
  return (remote ?? '?').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

export class EnrollmentRefusals {
  constructor(private readonly sql: SqlRunner) {}

  async record(r: { address: string; hostname: string; reason: RefusalReason; stage: RefusalStage; tokenId: string | null; at: string }): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO enrollment_refusals (address, hostname, reason, stage, token_id, attempts, first_at, last_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)
         ON CONFLICT (address, hostname, reason) DO UPDATE SET attempts = enrollment_refusals.attempts + 1, stage = excluded.stage, token_id = excluded.token_id, last_at = excluded.last_at`,
        [clientAddress(r.address), cleanHostname(r.hostname), r.reason, r.stage, r.tokenId, r.at, r.at],
      );
      await tx.run(`DELETE FROM enrollment_refusals WHERE last_at < (SELECT last_at FROM enrollment_refusals ORDER BY last_at DESC LIMIT 1 OFFSET ${MAX_ROWS - 1})`);
    });
  }

  /** The PC enrolled: its earlier refusals (same address and name) are settled. */
  async settled(address: string, hostname: string): Promise<void> {
    await this.sql.run('DELETE FROM enrollment_refusals WHERE address = ? AND hostname = ?', [clientAddress(address), cleanHostname(hostname)]);
  }

  /** Newest first. */
  async list(limit = 200): Promise<RefusedEnrollment[]> {
    const rows = await this.sql.all<Row>(`SELECT * FROM enrollment_refusals ORDER BY last_at DESC, address, hostname LIMIT ${Math.max(1, Math.min(MAX_ROWS, Math.floor(limit)))}`);
    return rows.map((r) => ({
      address: r.address,
      hostname: r.hostname,
      reason: r.reason,
      reasonText: REFUSAL_TEXT[r.reason] ?? r.reason,
      stage: r.stage,
      tokenId: r.token_id,
      attempts: Number(r.attempts),
      firstAt: r.first_at,
      lastAt: r.last_at,
    }));
  }
}
