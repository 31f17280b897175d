/**
 * The violation list's text search on SQLite through the FTS5 trigram index
 * (src/collector/store/sqlite/text-search.ts): the same rows as the scan it replaces (host
 * name, subject, user or rule id contain the text, LIKE with LOWER as before), for searches
 * of 3 characters or more (the index) and shorter ones (the scan), with LIKE's own characters,
 * quotes, full-width and accented letters and Japanese; after reopenings with another user,
 * retention deletes and on rows stored before the index existed. Each trigger of the index is
 * dropped in turn to see that a search then misses what it keeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCity } from '../../bench/lib/city.js';
import { MIGRATIONS } from '../../src/collector/store/migrations.js';
import { SqliteStore } from '../../src/collector/store/sqlite/sqlite-store.js';
import { likePattern } from '../../src/collector/store/violation-query.js';
import type { AgentEvent, Violation } from '../../src/shared/protocol/messages.js';

const TEXTS = ['zeimu-pc00010', 'PC0001', 'unapproved-tool-1', 'user3', 'av-002', 'no such thing', 'av', '1', 'US', '_1', 'l_1', '100%', 'a"b', 'ＵＳＢ', 'ｕｓｂ', 'äpfel', 'Äpfel', '山田', '山田太郎', 'メモリ', 'mamori-coll'];
const key = (v: { agentId: string; ruleId: string; subject: string }): string => `${v.agentId}|${v.ruleId}|${v.subject}`;

describe('violation text search on SQLite', () => {
  let dir: string;
  let store: SqliteStore;
  let seq: number | undefined;
  const pc = `ag_city000003${'x'.repeat(14)}`;
  type Unsequenced = AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, 'seq'> : never) : never;
  const send = async (...events: Unsequenced[]): Promise<void> => {
    seq ??= Number((await store.sql.get<{ n: number }>('SELECT last_seq AS n FROM agents WHERE id = ?', [pc]))!.n);
    const out = await store.ingest([{ agentId: pc, events: events.map((e) => ({ ...e, seq: (seq = seq! + 1) }) as AgentEvent) }], new Date().toISOString());
    expect(out.rejected.size).toBe(0);
  };
  const odd = (subject: string, user: string | undefined): Violation => ({ checkId: 'usb-media', ruleId: 'USB-001', subject, result: 'fail', severity: 'high', title: { ja: 't', en: 't' }, message: { ja: 'm', en: 'm' }, reason: 'r', clauses: [], facts: {}, ...(user ? { user } : {}) });

  /** The rows of the scan the index replaces: the condition as it was, on every violation. */
  const scanned = async (text: string): Promise<string[]> => {
    const p = likePattern(text);
    const collector = 'mamori-collector'.includes(text.toLowerCase()) ? ' OR v.agent_id NOT IN (SELECT id FROM agents)' : '';
    const rows = await store.sql.all<{ agent_id: string; rule_id: string; subject: string }>(
      `SELECT agent_id, rule_id, subject FROM violations v WHERE v.state = 'open' AND (v.agent_id IN (SELECT id FROM agents WHERE LOWER(hostname) LIKE ? ESCAPE '\\')${collector}
         OR LOWER(v.subject) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(v.user_name, '')) LIKE ? ESCAPE '\\' OR LOWER(v.rule_id) LIKE ? ESCAPE '\\')`,
      [p, p, p, p],
    );
    return rows.map((r) => key({ agentId: r.agent_id, ruleId: r.rule_id, subject: r.subject })).sort();
  };
  const found = async (text: string): Promise<string[]> => {
    const page = await store.queryViolations({ state: 'open', text, limit: 5000 });
    expect(page.total).toBe(page.rows.length);
    return page.rows.map(key).sort();
  };
  const sameAsScan = async (): Promise<void> => {
    for (const text of TEXTS) expect({ text, rows: await found(text) }).toEqual({ text, rows: await scanned(text) });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mamori-sqlite-text-'));
    store = new SqliteStore(join(dir, 'mamori.db'));
    // Rows stored before the index exists: the migration step fills it from them.
    const step = MIGRATIONS.findIndex((m) => m.name.startsWith('trigram index of the violation text search'));
    expect(step).toBeGreaterThan(0);
    await store.migrate();
    for (const s of ['violations_text_insert', 'violations_text_update', 'violations_text_delete']) await store.sql.run(`DROP TRIGGER ${s}`);
    await store.sql.run('DROP TABLE violations_text');
    await store.sql.run('DELETE FROM schema_migrations WHERE version = ?', [MIGRATIONS[step]!.version]);
    await seedCity(store, { pcs: 40, perPc: 8, closeEvery: 4 });
    await send(
      { kind: 'violation.opened', at: new Date().toISOString(), violation: odd('ＵＳＢメモリ 100%', '山田太郎'), policyVersion: 1 },
      { kind: 'violation.opened', at: new Date().toISOString(), violation: odd('Äpfel a"b', 'user3'), policyVersion: 1 },
    );
    await store.sql.run(
      `INSERT INTO violations (agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, clauses_json, facts_json, opened_at, updated_at)
       VALUES ('', 'FWD-001', 'fwd', 'beyond', 'open', 'fail', 'high', '{}', '{}', 'r', '[]', '{}', '2026-12-06T05:00:00.000Z', '2026-12-06T05:00:00.000Z')`,
    );
    await store.migrate();
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the trigram index for 3 characters or more, and finds what the scan finds', async () => {
    const plan = async (text: string): Promise<string> =>
      (await store.sql.all<{ detail: string }>(`EXPLAIN QUERY PLAN SELECT COUNT(*) FROM violations v WHERE v.rowid IN (SELECT rowid FROM violations_text WHERE violations_text MATCH ?)`, [`"${text}"`])).map((r) => r.detail).join('\n');
    expect(await plan('zeimu')).toMatch(/VIRTUAL TABLE INDEX/);
    await sameAsScan();
    expect((await found('zeimu-pc00010')).length).toBeGreaterThan(0);
    expect(await found('山田太郎')).toHaveLength(1);
    // Folded by the index, not by LOWER(): found by the index, dropped by the LIKE, as the scan.
    expect(await found('ｕｓｂ')).toEqual([]);
  });

  it('follows reopenings with another user and retention deletes', async () => {
    const v = odd('stick-moved', 'sato');
    await send({ kind: 'violation.opened', at: new Date().toISOString(), violation: v, policyVersion: 1 });
    await send({ kind: 'violation.closed', at: new Date().toISOString(), checkId: v.checkId, ruleId: v.ruleId, subject: v.subject, reason: 'resolved' });
    await send({ kind: 'violation.opened', at: new Date().toISOString(), violation: { ...v, user: 'kobayashi' }, policyVersion: 1 });
    expect(await found('kobayashi')).toHaveLength(1);
    expect(await found('sato')).toEqual([]);
    expect(await store.prune('violations', '2099-01-01T00:00:00.000Z', 10_000)).toBeGreaterThan(0);
    await sameAsScan();
    const indexed = Number((await store.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM violations_text'))!.n);
    expect(indexed).toBe(Number((await store.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM violations'))!.n));
  });

  it('misses what a trigger keeps when that trigger is dropped', async () => {
    const v = odd('stick-unindexed', 'watanabe');
    await store.sql.run('DROP TRIGGER violations_text_insert');
    await send({ kind: 'violation.opened', at: new Date().toISOString(), violation: v, policyVersion: 1 });
    expect(await found('unindexed')).not.toEqual(await scanned('unindexed'));
    await store.sql.run('DROP TRIGGER violations_text_update');
    await send({ kind: 'violation.closed', at: new Date().toISOString(), checkId: v.checkId, ruleId: 'USB-001', subject: 'stick-moved', reason: 'resolved' });
    await send({ kind: 'violation.opened', at: new Date().toISOString(), violation: { ...odd('stick-moved', 'sato') }, policyVersion: 1 });
    expect(await found('sato')).not.toEqual(await scanned('sato'));
    await store.sql.run('DROP TRIGGER violations_text_delete');
    const before = Number((await store.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM violations_text'))!.n);
    await store.sql.run("DELETE FROM violations WHERE subject = 'stick-moved'");
    expect(Number((await store.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM violations_text'))!.n)).toBe(before);
  });
});
