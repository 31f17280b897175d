/**
 * The audit log against someone with write access to the collector's database but not to
 * DATA/tls: they rewrite a row and recompute every hash after it, strip the MACs too, or delete
 * the last rows. A real `mamori collector` writes the log; `mamori audit verify` and the
 * console's /api/v1/audit/verify must both see each change.
 */
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash, GENESIS_HASH } from '../../src/collector/console/audit.js';
import type { CollectorProc } from '../helpers/processes.js';
import { CLI, startCollectorProc, startProc, tempDir } from '../helpers/processes.js';
import { ADMIN_PASSWORD, accountOf, adminOf, ConsoleClient } from './console-client.js';
import { mode } from './helpers.js';

let original: string;
const running: CollectorProc[] = [];

beforeAll(async () => {
  original = tempDir('sec-console-audit');
  const c = await startCollectorProc(original);
  running.push(c);
  const admin = await adminOf(c);
  for (const name of ['sato', 'suzuki', 'takahashi']) await accountOf(c, admin, name, 'auditor');
  await admin.request('POST', '/api/v1/media', { stickerNo: 'AUD-1', fingerprint: '0781:5567:AUDIT1', owner: '総務課長', department: '総務課' });
  // A clean stop writes a checkpoint of the head.
  await c.stop();
}, 120_000);

afterAll(async () => {
  for (const c of running) await c.stop();
});

function copyOf(label: string): string {
  const dir = tempDir(`sec-console-audit-${label}`);
  cpSync(original, dir, { recursive: true });
  return dir;
}

async function verifyCli(dataDir: string): Promise<{ code: number | null; out: string }> {
  const p = startProc('audit-verify', [CLI, 'audit', 'verify', '--data', dataDir]);
  const { code } = await p.exited;
  return { code, out: p.lines.join('\n') };
}

type AuditRow = { seq: number; at: string; actor: string; role: string; action: string; target: string; detail_json: string; ip: string; prev_hash: string; hash: string };

/** What an attacker with the database does after editing: recompute the chain from `fromSeq` on (optionally clearing MACs, which they cannot compute). */
function recomputeChain(db: Database.Database, fromSeq: number, clearMacs: boolean): void {
  const rows = db.prepare('SELECT * FROM console_audit ORDER BY seq').all() as AuditRow[];
  let prev = GENESIS_HASH;
  for (const r of rows) {
    if (r.seq >= fromSeq) {
      const hash = chainHash(prev, { seq: r.seq, at: r.at, actor: r.actor, role: r.role, action: r.action, target: r.target, detail: JSON.parse(r.detail_json), ip: r.ip });
      db.prepare(`UPDATE console_audit SET prev_hash = ?, hash = ?${clearMacs ? ', mac = NULL' : ''} WHERE seq = ?`).run(prev, hash, r.seq);
      prev = hash;
    } else prev = r.hash;
  }
}

async function apiVerify(dataDir: string): Promise<{ ok: boolean; why?: string }> {
  const c = await startCollectorProc(dataDir);
  running.push(c);
  const admin = ConsoleClient.of(c);
  expect((await admin.login('admin', ADMIN_PASSWORD)).status).toBe(200);
  const r = await admin.request('GET', '/api/v1/audit/verify');
  await c.stop();
  return r.json;
}

describe('audit log anchored outside the database', () => {
  it('keeps the key beside the CA keys (0600) and the checkpoints in a file, and an untouched log verifies', async () => {
    expect(mode(join(original, 'tls', 'audit-mac.key'))).toBe(0o600);
    expect(existsSync(join(original, 'audit-checkpoints.jsonl'))).toBe(true);
    const last = JSON.parse(readFileSync(join(original, 'audit-checkpoints.jsonl'), 'utf8').trim().split('\n').pop()!) as { seq: number };
    expect(last.seq).toBeGreaterThan(5);
    const db = new Database(join(original, 'mamori.db'), { readonly: true });
    const keyHex = readFileSync(join(original, 'tls', 'audit-mac.key'), 'utf8').trim();
    expect(JSON.stringify(db.prepare('SELECT * FROM console_audit').all())).not.toContain(keyHex);
    db.close();
    const r = await verifyCli(copyOf('clean'));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('監査ログは正常です');
  });

  it('detects a row edited with every later hash recomputed', async () => {
    const dir = copyOf('rewrite');
    const db = new Database(join(dir, 'mamori.db'));
    db.prepare("UPDATE console_audit SET actor = 'someone-else' WHERE seq = 3").run();
    recomputeChain(db, 3, false);
    db.close();
    const r = await verifyCli(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/行 3/);
    expect((await apiVerify(dir)).ok).toBe(false);
  }, 60_000);

  it('detects a rewrite whose MACs were stripped (the checkpoint no longer matches)', async () => {
    const dir = copyOf('strip');
    const db = new Database(join(dir, 'mamori.db'));
    db.prepare("UPDATE console_audit SET target = 'nothing happened' WHERE seq = 4").run();
    recomputeChain(db, 1, true);
    db.close();
    const r = await verifyCli(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/checkpoint|rewritten/);
  });

  it('detects the last rows deleted', async () => {
    const dir = copyOf('truncate');
    const db = new Database(join(dir, 'mamori.db'));
    const head = (db.prepare('SELECT max(seq) AS n FROM console_audit').get() as { n: number }).n;
    db.prepare('DELETE FROM console_audit WHERE seq > ?').run(head - 3);
    db.close();
    const r = await verifyCli(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/missing/);
    // New rows written over the gap (the login of the check below) do not hide it either.
    expect((await apiVerify(dir)).ok).toBe(false);
  }, 60_000);
});
