/**
 * An open violation reported again on SQLite (src/collector/store/sqlite/violation-batch.ts):
 * a report that carries the content the row holds changes nothing (updated_at included), found
 * by the digest of the report's text; any other report is written in full. Every check runs the same commits
 * on two stores: one as shipped, and one whose digests are cleared before each commit, so that
 * every report there takes the full write the writer made before the digest existed. Every
 * column of every violation (but the digest), the kept counts, the trend counts and the text
 * search's trigram index must then be the same in both. The shipped store also gets each
 * opening's head (writer-protocol.ts), as the collector sends it: it parses an opening only when
 * it writes it in full; the other parses every event.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteConnectionStore } from '../../src/collector/store/sqlite/connection-store.js';
import { reportDigest } from '../../src/collector/store/sqlite/violation-batch.js';
import { openingHead } from '../../src/collector/store/sqlite/writer-protocol.js';
import type { AgentEvent, Violation } from '../../src/shared/protocol/messages.js';

const PC = 'ag_rereport_a';
const OTHER_PC = 'ag_rereport_b';

/** A usb-media violation in the shape the agent sends (bench/lib/event-shape.ts). */
function usb(serial: string): Violation {
  return {
    checkId: 'usb-media',
    ruleId: 'USB-001',
    subject: `usb:0781:5581:${serial}`,
    result: 'fail',
    severity: 'high',
    title: { ja: '媒体管理台帳に登録されていないUSB記憶媒体が接続されています', en: 'A USB storage medium not registered in the media ledger is connected' },
    message: { ja: `SanDisk Ultra (シリアル ${serial}) は媒体管理台帳に登録されていません。`, en: `SanDisk Ultra (serial ${serial}) is not registered in the media ledger.` },
    reason: 'fingerprint not in registeredMedia',
    reasonMsg: { id: 'usb.unregistered', params: { serial } },
    clauses: [{ source: 'S1', ref: '第3章3(2)' }],
    facts: { vendorId: '0781', productId: '5581', serial, sizeBytes: 61_530_439_680, removable: true },
    user: 'tanaka.hanako',
  } as Violation;
}

type Change = { open: Violation } | { close: Violation };

/** Everything a reader sees of the violations, as rows of text. */
const READS = {
  violations: 'SELECT agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name, opened_at, closed_at, closed_reason, closed_reason_msg, updated_at, rowid FROM violations ORDER BY agent_id, rule_id, subject',
  openCounts: `SELECT department, check_id, severity, SUM(n) AS n FROM (SELECT department, check_id, severity, n FROM open_violation_counts UNION ALL SELECT department, check_id, severity, n FROM open_violation_count_changes)
    GROUP BY department, check_id, severity HAVING SUM(n) <> 0 ORDER BY 1, 2, 3`,
  days: `SELECT day, check_id, department, SUM(opened) AS opened, SUM(closed) AS closed FROM (SELECT * FROM violation_days UNION ALL SELECT * FROM violation_day_changes)
    GROUP BY day, check_id, department HAVING SUM(opened) <> 0 OR SUM(closed) <> 0 ORDER BY 1, 2, 3`,
  trigrams: 'SELECT rowid, subject, user_name, rule_id FROM violations_text ORDER BY rowid',
} as const;

describe('a violation reported again on SQLite', () => {
  let dir: string;
  /** As shipped, and with every digest cleared before each commit (the full write every time). */
  let shipped: SqliteConnectionStore;
  let full: SqliteConnectionStore;
  const seqs = new Map<string, number>();
  let clock = Date.parse('2026-12-07T01:00:00.000Z');

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mamori-re-report-'));
    shipped = new SqliteConnectionStore(join(dir, 'shipped.db'));
    full = new SqliteConnectionStore(join(dir, 'full.db'));
    seqs.clear();
    for (const store of [shipped, full]) {
      await store.migrate();
      for (const [id, department] of [[PC, '税務課'], [OTHER_PC, null]] as const) {
        await store.createAgent({ id, secret: '', hostname: id, os: { platform: 'windows', hostname: id, release: '10' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-12-01T00:00:00.000Z', tokenId: 't', ...(department ? { department } : {}) });
      }
    }
  });
  afterEach(async () => {
    await shipped.close();
    await full.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One commit of `changes` by `agentId` in both stores, as the writer thread gets it (each event as its JSON text). */
  const commit = async (changes: Change[], agentId = PC): Promise<void> => {
    const receivedAt = new Date((clock += 60_000)).toISOString();
    const events = changes.map((c, i): AgentEvent => {
      const seq = (seqs.get(agentId) ?? 0) + 1;
      seqs.set(agentId, seq);
      const at = new Date(clock - 30_000 + i).toISOString();
      return 'open' in c
        ? { seq, at, kind: 'violation.opened', violation: c.open, policyVersion: 1 }
        : { seq, at, kind: 'violation.closed', checkId: c.close.checkId, ruleId: c.close.ruleId, subject: c.close.subject, reason: 'removed' };
    });
    await full.sql.run('UPDATE violations SET content_digest = NULL');
    // The shipped store gets the openings' heads, as the collector sends them with the agent's own
    // texts (the writer then parses an opening only to write it in full); the other parses every event.
    const texts = events.map((e) => JSON.stringify(e));
    for (const [store, batch] of [[shipped, { agentId, events: texts, heads: events.map((e, i) => openingHead(e, texts[i]!)) }], [full, { agentId, events: texts }]] as const) {
      const reply = await store.ingestTexts([batch], receivedAt);
      expect(reply.rejected).toEqual([]);
    }
  };

  const read = async (store: SqliteConnectionStore): Promise<Record<keyof typeof READS, unknown[]>> =>
    Object.fromEntries(await Promise.all(Object.entries(READS).map(async ([name, sql]) => [name, await store.sql.all(sql)] as const))) as Record<keyof typeof READS, unknown[]>;
  const sameAsFullWrite = async (): Promise<Record<keyof typeof READS, unknown[]>> => {
    const seen = await read(shipped);
    expect(seen).toEqual(await read(full));
    return seen;
  };
  const row = async (v: Violation): Promise<Record<string, unknown>> =>
    (await shipped.sql.get<Record<string, unknown>>('SELECT * FROM violations WHERE agent_id = ? AND rule_id = ? AND subject = ?', [PC, v.ruleId, v.subject]))!;

  it('with the same content changes nothing, as the full write leaves the row', async () => {
    const a = usb('AA01');
    const b = usb('AA02');
    await commit([{ open: a }, { open: b }]);
    const before = await row(a);
    expect(before.content_digest).toEqual(expect.any(String));
    await commit([{ open: a }, { open: b }]);
    expect(await row(a)).toEqual(before);
    // The full write (digest cleared) leaves updated_at too, and writes the digest again.
    expect((await full.sql.get<{ updated_at: string; content_digest: string }>('SELECT updated_at, content_digest FROM violations WHERE subject = ?', [a.subject]))).toEqual({ updated_at: before.updated_at, content_digest: before.content_digest });
    await sameAsFullWrite();
    // Reported again in the same commit, then again in the next: still one row, opened at the first report.
    await commit([{ open: a }, { open: a }]);
    await commit([{ open: a }]);
    const seen = await sameAsFullWrite();
    expect(seen.violations).toHaveLength(2);
    expect((await row(a)).opened_at).toBe(before.opened_at);
  });

  it('with any content changed is written in full', async () => {
    const base = usb('AB01');
    const variants: [string, Violation][] = [
      ['severity', { ...base, severity: 'critical' }],
      ['message', { ...base, message: { ja: '別の文', en: 'another text' } }],
      ['facts', { ...base, facts: { ...base.facts, sizeBytes: 1 } }],
      ['clauses', { ...base, clauses: [{ source: 'S3', ref: '2.4.1' }] }],
      ['title', { ...base, title: { ja: '別の題', en: 'another title' } }],
      ['result', { ...base, result: 'unknown' }],
      ['reason', { ...base, reason: 'another reason' }],
      ['reason message', { ...base, reasonMsg: { id: 'usb.other', params: {} } }],
      ['no reason message', { ...base, reasonMsg: undefined }],
      ['user', { ...base, user: 'yamada.taro' }],
      ['no user', { ...base, user: undefined }],
      ['check', { ...base, checkId: 'software' }],
    ];
    await commit([{ open: base }]);
    for (const [what, changed] of variants) {
      await commit([{ open: changed }]);
      const seen = await sameAsFullWrite();
      expect({ what, row: seen.violations[0] }).toMatchObject({
        what,
        row: { severity: changed.severity, message_json: JSON.stringify(changed.message), facts_json: JSON.stringify(changed.facts), clauses_json: JSON.stringify(changed.clauses), user_name: changed.user ?? null, reason: changed.reason },
      });
      // And back: a report of the earlier content is a change again.
      await commit([{ open: base }]);
      expect((await sameAsFullWrite()).violations[0]).toMatchObject({ severity: base.severity, message_json: JSON.stringify(base.message), facts_json: JSON.stringify(base.facts), user_name: base.user });
    }
  });

  it('after closings and reopenings, also within one commit, keeps the changes in order', async () => {
    const a = usb('AC01');
    const changed = { ...a, severity: 'low' as const, facts: { serial: 'AC01' } };
    await commit([{ open: a }]);
    await commit([{ open: a }, { close: a }, { open: a }]);
    // Closed and opened again within the commit: open, since the last of its events (at = the commit's time − 30 s + 2 ms).
    expect(await row(a)).toMatchObject({ state: 'open', closed_at: null, opened_at: new Date(clock - 30_000 + 2).toISOString(), updated_at: new Date(clock).toISOString() });
    await sameAsFullWrite();
    await commit([{ open: a }]);
    await commit([{ close: a }]);
    expect(await row(a)).toMatchObject({ state: 'closed', closed_reason: 'removed' });
    // Opened again with the content it was closed with: a reopening, not a refresh of its time.
    await commit([{ open: a }]);
    const reopened = await row(a);
    expect(reopened).toMatchObject({ state: 'open', closed_at: null, closed_reason: null, updated_at: new Date(clock).toISOString(), opened_at: new Date(clock - 30_000).toISOString() });
    await sameAsFullWrite();
    await commit([{ open: a }, { close: a }, { open: changed }, { open: changed }]);
    await commit([{ open: changed }]);
    await commit([{ open: a }, { close: a }]);
    const seen = await sameAsFullWrite();
    expect(seen.violations[0]).toMatchObject({ state: 'closed', severity: 'high', facts_json: JSON.stringify(a.facts) });
    // Another PC's violation of the same subject is another row.
    await commit([{ open: a }], OTHER_PC);
    await commit([{ open: a }], OTHER_PC);
    expect((await sameAsFullWrite()).violations).toHaveLength(2);
  });

  it('after another writer changed the row, is written in full (the digest no longer vouches for it)', async () => {
    const a = usb('AD01');
    await commit([{ open: a }]);
    // The tamper monitor's and the forwarders' own statements, or an administrator's SQL, write content without a digest.
    for (const [column, value] of [['facts_json', '{"edited":true}'], ['severity', 'low'], ['user_name', null], ['message_json', '{"ja":"x","en":"x"}']] as const) {
      for (const store of [shipped, full]) await store.sql.run(`UPDATE violations SET ${column} = ? WHERE agent_id = ?`, [value, PC]);
      expect((await row(a)).content_digest).toBeNull();
      await commit([{ open: a }]);
      expect(await row(a)).toMatchObject({ facts_json: JSON.stringify(a.facts), severity: 'high', user_name: a.user, message_json: JSON.stringify(a.message) });
      await sameAsFullWrite();
    }
  });
});

describe('the digest of a report', () => {
  const text = (e: object): string => JSON.stringify(e);
  const v = usb('AE01');

  it('is the same for the same violation whatever the seq and time, and differs for any other violation', () => {
    const d = reportDigest(text({ seq: 1, at: '2026-12-07T01:00:00.000Z', kind: 'violation.opened', violation: v, policyVersion: 1 }));
    expect(d).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(reportDigest(text({ seq: 99, at: '2026-12-08T01:00:00.000Z', kind: 'violation.opened', violation: v, policyVersion: 1 }))).toBe(d);
    expect(reportDigest(text({ seq: 1, at: '2026-12-07T01:00:00.000Z', kind: 'violation.opened', violation: { ...v, facts: { ...v.facts, removable: false } }, policyVersion: 1 }))).not.toBe(d);
  });

  it('covers the whole violation when its facts hold a key named violation', () => {
    const nested = { ...v, facts: { violation: { a: 1 } } };
    const d = reportDigest(text({ seq: 1, at: 't', kind: 'violation.opened', violation: nested, policyVersion: 1 }));
    expect(reportDigest(text({ seq: 1, at: 't', kind: 'violation.opened', violation: { ...nested, user: 'other' }, policyVersion: 1 }))).not.toBe(d);
    expect(reportDigest(text({ seq: 1, at: 't', kind: 'violation.opened', violation: { ...nested, facts: { violation: { a: 2 } } }, policyVersion: 1 }))).not.toBe(d);
  });

  it('includes what follows the violation in the text (a report written another way is a change, never a match)', () => {
    const d = reportDigest(text({ kind: 'violation.opened', violation: v, seq: 1, at: 'a' }));
    expect(reportDigest(text({ kind: 'violation.opened', violation: v, seq: 2, at: 'a' }))).not.toBe(d);
    expect(reportDigest(text({ seq: 1, kind: 'violation.opened' }))).toBeNull();
  });
});
