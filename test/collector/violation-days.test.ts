/**
 * The daily counts the 概要 trends read (violation_days, kept by triggers) against a count made
 * here from the violation rows themselves, after each kind of change: openings, closings, a
 * reopening, several changes of one violation in one flush, the collector's own violations,
 * a PC moved to another 課 (its past counts move with it), retention deleting closed rows; and
 * the migration filling the table from violations already stored. On SQLite and PostgreSQL
 * (skipped with the reason printed when PostgreSQL is absent; MAMORI_REQUIRE_PG=1 fails instead).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jstDay } from '../../src/collector/console/overview.js';
import { MIGRATIONS } from '../../src/collector/store/migrations.js';
import type { AgentEvent, Violation } from '../../src/shared/protocol/messages.js';
import type { Store } from '../../src/collector/store/store.js';
import { foldViolationDays, violationDayCounts } from '../../src/collector/store/violation-days.js';
import { PG_REQUIRED, probePg } from '../cluster/pg-env.js';
import { postgresTestStore, sqliteTestStore } from '../helpers/test-stores.js';
import type { TestStore } from '../helpers/test-stores.js';

const pgProbe = await probePg('violation day counts');

/** An event before the store's sequence number is given to it. */
type Unsequenced = AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, 'seq'> : never) : never;

const PCS = ['ag_days_a', 'ag_days_b', 'ag_days_c'];

function violation(checkId: 'usb-media' | 'software' | 'antivirus', subject: string): Violation {
  const ruleId = { 'usb-media': 'USB-001', software: 'SW-001', antivirus: 'AV-002' }[checkId];
  return { checkId, ruleId, subject, result: 'fail', severity: 'high', title: { ja: 't', en: 't' }, message: { ja: 'm', en: 'm' }, reason: 'r', clauses: [], facts: {} };
}

/** What the trends must show, counted here from the rows: opened per JST day of opened_at, closed per day of closed_at, under the PC's 課 now. */
async function countedFromRows(store: Store): Promise<string[]> {
  const departmentOf = new Map((await store.listAgents()).map((a) => [a.id, a.department ?? '']));
  const bag = new Map<string, { opened: number; closed: number }>();
  const add = (at: string, checkId: string, agentId: string, which: 'opened' | 'closed'): void => {
    const key = `${jstDay(new Date(at))} ${checkId} ${departmentOf.get(agentId) ?? ''}`;
    const c = bag.get(key) ?? { opened: 0, closed: 0 };
    c[which]++;
    bag.set(key, c);
  };
  for (const v of await store.listViolations({ limit: 100_000 })) {
    add(v.openedAt, v.checkId, v.agentId, 'opened');
    if (v.closedAt) add(v.closedAt, v.checkId, v.agentId, 'closed');
  }
  return [...bag].map(([k, c]) => `${k} ${c.opened}/${c.closed}`).sort();
}

async function kept(store: Store): Promise<string[]> {
  return (await violationDayCounts(store.sql, '0000-00-00'))
    .filter((c) => c.opened !== 0 || c.closed !== 0)
    .map((c) => `${c.day} ${c.checkId} ${c.department} ${c.opened}/${c.closed}`)
    .sort();
}

function suite(name: string, open: () => Promise<TestStore>): void {
  describe(`violation day counts on ${name}`, () => {
    let t: TestStore;
    let store: Store;
    const seq = new Map<string, number>();
    const send = async (agentId: string, ...events: Unsequenced[]): Promise<void> => {
      const batch = events.map((e) => {
        seq.set(agentId, (seq.get(agentId) ?? 0) + 1);
        return { ...e, seq: seq.get(agentId)! } as AgentEvent;
      });
      const out = await store.ingest([{ agentId, events: batch }], new Date().toISOString());
      expect(out.rejected.size).toBe(0);
    };
    const opened = (at: string, v: Violation): Unsequenced => ({ kind: 'violation.opened', at, violation: v, policyVersion: 1 });
    const closed = (at: string, v: Violation): Unsequenced => ({ kind: 'violation.closed', at, checkId: v.checkId, ruleId: v.ruleId, subject: v.subject, reason: 'resolved' });
    const agree = async (): Promise<string[]> => {
      const want = await countedFromRows(store);
      expect(await kept(store)).toEqual(want);
      // Folding moves the appended changes into the day table without changing a sum.
      await foldViolationDays(store.sql);
      expect(await kept(store)).toEqual(want);
      expect(Number((await store.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM violation_day_changes'))?.n)).toBe(0);
      return want;
    };

    beforeAll(async () => {
      t = await open();
      store = t.store;
      for (const id of PCS) {
        await store.createAgent({ id, secret: '', hostname: id.toUpperCase(), os: { platform: 'linux', hostname: id, release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-12-01T00:00:00.000Z', tokenId: 'tok' });
      }
      await store.setDepartments([PCS[0]!], '税務課');
      await store.setDepartments([PCS[1]!], '市民課');
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    });

    it('counts openings and closings on their JST day, per kind and 課', async () => {
      const usb = violation('usb-media', 'stick-1');
      // 15:30 UTC is 00:30 JST of the next day.
      await send(PCS[0]!, opened('2026-12-01T15:30:00.000Z', usb), opened('2026-12-02T01:00:00.000Z', violation('software', 'tool')));
      await send(PCS[1]!, opened('2026-12-02T03:00:00.000Z', violation('antivirus', 'pattern')), opened('2026-12-02T04:00:00+09:00', violation('usb-media', 'stick-2')));
      await send(PCS[2]!, opened('2026-12-03T03:00:00.000Z', violation('software', 'tool')));
      await send(PCS[0]!, closed('2026-12-03T16:00:00.000Z', usb));
      const counts = await agree();
      expect(counts).toContain('2026-12-02 usb-media 税務課 1/0');
      expect(counts).toContain('2026-12-04 usb-media 税務課 0/1');
      expect(counts).toContain('2026-12-02 usb-media 市民課 1/0');
      expect(counts).toContain('2026-12-03 software  1/0');
    });

    it('moves a reopened violation to its new opening day; several changes in one flush count once', async () => {
      const usb = violation('usb-media', 'stick-1');
      await send(PCS[0]!, opened('2026-12-05T02:00:00.000Z', usb));
      const flap = violation('usb-media', 'stick-flap');
      await send(PCS[1]!, opened('2026-12-05T02:00:00.000Z', flap), closed('2026-12-05T02:01:00.000Z', flap), opened('2026-12-05T02:02:00.000Z', flap), closed('2026-12-06T02:03:00.000Z', flap));
      const counts = await agree();
      expect(counts).toContain('2026-12-05 usb-media 税務課 1/0');
      expect(counts.some((c) => c.startsWith('2026-12-04 usb-media 税務課'))).toBe(false);
      expect(counts).toContain('2026-12-06 usb-media 市民課 0/1');
    });

    it("counts the collector's own violations under no 課", async () => {
      await store.sql.run(
        `INSERT INTO violations (agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, clauses_json, facts_json, opened_at, updated_at)
         VALUES ('', 'FWD-001', 'fwd', 'beyond', 'open', 'fail', 'high', '{}', '{}', 'r', '[]', '{}', '2026-12-06T05:00:00.000Z', '2026-12-06T05:00:00.000Z')`,
      );
      expect(await agree()).toContain('2026-12-06 beyond  1/0');
    });

    it('moves the past counts of a PC with it to its new 課, and clears them from the old one', async () => {
      await store.setDepartments([PCS[0]!], '市民課');
      await store.setDepartments([PCS[2]!], '税務課');
      await store.setDepartments([PCS[1]!], null);
      const counts = await agree();
      expect(counts).toContain('2026-12-05 usb-media 市民課 1/0');
      expect(counts).toContain('2026-12-03 software 税務課 1/0');
      expect(counts).toContain('2026-12-06 usb-media  0/1');
      expect(counts.some((c) => c.includes(' 税務課 ') && c.includes('usb-media'))).toBe(false);
    });

    it('drops the counts of closed violations retention deletes', async () => {
      const before = (await countedFromRows(store)).length;
      expect(await store.prune('violations', '2099-01-01T00:00:00.000Z', 1000)).toBeGreaterThan(0);
      expect((await agree()).length).toBeLessThan(before);
    });

    it('is filled from the violations already stored when the store is migrated', async () => {
      const want = await countedFromRows(store);
      const last = MIGRATIONS.find((m) => m.name.startsWith('violations opened and closed per JST day'))!;
      // Back to the schema before that step, the violations kept: migrating again must rebuild the counts from them.
      const undo =
        store.dialect === 'postgres'
          ? ['DROP TRIGGER violation_days_insert_delete ON violations', 'DROP TRIGGER violation_days_update ON violations', 'DROP TRIGGER violation_days_department ON agents', 'DROP FUNCTION violation_days_row()', 'DROP FUNCTION violation_days_department()', 'DROP FUNCTION mamori_jst_day(TEXT)']
          : ['DROP TRIGGER violation_days_insert', 'DROP TRIGGER violation_days_update', 'DROP TRIGGER violation_days_delete', 'DROP TRIGGER violation_days_department'];
      for (const s of [...undo, 'DROP TABLE violation_days', 'DROP TABLE violation_day_changes']) await store.sql.run(s);
      await store.sql.run('DELETE FROM schema_migrations WHERE version = ?', [last.version]);
      await store.migrate();
      expect(await kept(store)).toEqual(want);
      await send(PCS[2]!, opened('2026-12-07T01:00:00.000Z', violation('antivirus', 'pattern-2')));
      await agree();
    });
  });
}

suite('SQLite', () => sqliteTestStore('mamori-violation-days-'));

describe.skipIf(!pgProbe.available)('PostgreSQL', () => {
  suite('PostgreSQL', postgresTestStore);
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('violation day counts: postgres required', () => {
  it('has PostgreSQL', () => {
    throw new Error(pgProbe.reason);
  });
});
