/**
 * The counts the store keeps by triggers (open violations per 課 × kind × severity for 概要,
 * latest rule results per 課 × rule × result for 自己点検) against the same count made
 * directly from the rows, after each kind of change: openings, closings, reopenings, a
 * severity refreshed while open, several changes of one violation in one flush, the
 * collector's own violations, results changing, PCs moved to another 課, a PC revoked,
 * retention deleting closed rows, and the migration filling the counts from rows already
 * stored. Each
 * trigger is also dropped in turn to see that the comparison notices what it keeps. On SQLite
 * and PostgreSQL (skipped with the reason printed when PostgreSQL is absent;
 * MAMORI_REQUIRE_PG=1 fails instead).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeptCounts } from '../../src/collector/store/kept-counts.js';
import { foldKeptCounts, readKeptCounts } from '../../src/collector/store/kept-counts.js';
import { MIGRATIONS } from '../../src/collector/store/migrations.js';
import { OPEN_VIOLATION_COUNTS } from '../../src/collector/store/open-violation-counts.js';
import { RULE_RESULT_COUNTS } from '../../src/collector/store/rule-result-counts.js';
import type { Store } from '../../src/collector/store/store.js';
import type { AgentEvent, Severity, Violation } from '../../src/shared/protocol/messages.js';
import { PG_REQUIRED, probePg } from '../cluster/pg-env.js';
import { postgresTestStore, sqliteTestStore } from '../helpers/test-stores.js';
import type { TestStore } from '../helpers/test-stores.js';

const pgProbe = await probePg('kept counts');

type Unsequenced = AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, 'seq'> : never) : never;

const PCS = ['ag_kept_a', 'ag_kept_b', 'ag_kept_c', 'ag_kept_d'];

function violation(checkId: 'usb-media' | 'software' | 'antivirus', subject: string, severity: Severity = 'high'): Violation {
  const ruleId = { 'usb-media': 'USB-001', software: 'SW-001', antivirus: 'AV-002' }[checkId];
  return { checkId, ruleId, subject, result: 'fail', severity, title: { ja: 't', en: 't' }, message: { ja: 'm', en: 'm' }, reason: 'r', clauses: [], facts: {} };
}

/** A kept count, its direct count from the rows, and how to take its schema step back. */
interface Kept {
  name: string;
  counts: KeptCounts;
  direct: string;
  migration: string;
  triggers: { sqlite: string[]; postgres: string[]; functions: string[] };
}

const OPEN: Kept = {
  name: 'open violations per 課 × kind × severity',
  counts: OPEN_VIOLATION_COUNTS,
  direct: `SELECT COALESCE(a.department, '') AS department, v.check_id, v.severity, COUNT(*) AS n FROM violations v LEFT JOIN agents a ON a.id = v.agent_id
           WHERE v.state = 'open' GROUP BY COALESCE(a.department, ''), v.check_id, v.severity`,
  migration: 'open violations per 課, kind and severity',
  triggers: {
    sqlite: ['open_violation_counts_insert ON violations', 'open_violation_counts_update ON violations', 'open_violation_counts_delete ON violations', 'open_violation_counts_department ON agents', 'open_violation_counts_agent_insert ON agents', 'open_violation_counts_agent_delete ON agents'],
    postgres: ['open_violation_counts_insert_delete ON violations', 'open_violation_counts_update ON violations', 'open_violation_counts_department ON agents', 'open_violation_counts_agent_insert_delete ON agents'],
    functions: ['open_violation_counts_row()', 'open_violation_counts_department()'],
  },
};

const RESULTS: Kept = {
  name: 'latest rule results per 課 × rule × result of the PCs not revoked',
  counts: RULE_RESULT_COUNTS,
  direct: `SELECT COALESCE(a.department, '') AS department, r.rule_id, r.result, COUNT(*) AS n FROM rule_results r JOIN agents a ON a.id = r.agent_id
           WHERE a.revoked_at IS NULL GROUP BY COALESCE(a.department, ''), r.rule_id, r.result`,
  migration: 'latest rule results per 課, rule and result',
  triggers: {
    sqlite: ['rule_result_counts_insert ON rule_results', 'rule_result_counts_update ON rule_results', 'rule_result_counts_delete ON rule_results', 'rule_result_counts_agent_insert ON agents', 'rule_result_counts_agent_update ON agents', 'rule_result_counts_agent_delete ON agents'],
    postgres: ['rule_result_counts_insert_delete ON rule_results', 'rule_result_counts_update ON rule_results', 'rule_result_counts_agent_insert_delete ON agents', 'rule_result_counts_agent_update ON agents'],
    functions: ['rule_result_counts_row()', 'rule_result_counts_agent()'],
  },
};

const KEPT: Kept[] = [OPEN, RESULTS];

const line = (k: KeptCounts, r: Record<string, unknown>): string => `${k.keys.map((c) => String(r[c])).join(' ')} ${Number(r.n)}`;

async function direct(store: Store, k: Kept): Promise<string[]> {
  return (await store.sql.all<Record<string, unknown>>(k.direct)).map((r) => line(k.counts, r)).sort();
}

async function kept(store: Store, k: Kept): Promise<string[]> {
  return (await readKeptCounts(store.sql, k.counts)).map((r) => line(k.counts, r)).sort();
}

/** Back to the schema before the kept count's step (the rows kept), then migrate: the step fills the counts from the rows. */
async function remigrate(store: Store, k: Kept): Promise<void> {
  const pg = store.dialect === 'postgres';
  const undo = pg
    ? [...k.triggers.postgres.map((t) => `DROP TRIGGER IF EXISTS ${t}`), ...k.triggers.functions.map((f) => `DROP FUNCTION ${f}`)]
    : k.triggers.sqlite.map((t) => `DROP TRIGGER IF EXISTS ${t.split(' ')[0]}`);
  for (const s of [...undo, `DROP TABLE ${k.counts.table}`, `DROP TABLE ${k.counts.changes}`]) await store.sql.run(s);
  await store.sql.run('DELETE FROM schema_migrations WHERE version = ?', [MIGRATIONS.find((m) => m.name.startsWith(k.migration))!.version]);
  await store.migrate();
}

function suite(name: string, open: () => Promise<TestStore>): void {
  describe(`kept counts on ${name}`, () => {
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
    const results = (at: string, checkId: 'usb-media' | 'software', rs: Record<string, 'pass' | 'fail' | 'unknown' | 'excepted' | 'not_applicable'>): Unsequenced => ({
      kind: 'results',
      at,
      checkId,
      policyVersion: 1,
      results: Object.entries(rs).map(([ruleId, result]) => ({ ruleId, subject: '', result, reason: '' })),
    });
    /** Every kept count equals its direct count, before and after folding; returns them. */
    const agree = async (): Promise<Map<string, string[]>> => {
      const out = new Map<string, string[]>();
      for (const k of KEPT) {
        const want = await direct(store, k);
        expect(await kept(store, k), k.name).toEqual(want);
        await foldKeptCounts(store.sql, k.counts);
        expect(await kept(store, k), k.name).toEqual(want);
        expect(Number((await store.sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${k.counts.changes}`))?.n)).toBe(0);
        out.set(k.name, want);
      }
      return out;
    };

    beforeAll(async () => {
      t = await open();
      store = t.store;
      for (const id of PCS) {
        await store.createAgent({ id, secret: '', hostname: id.toUpperCase(), os: { platform: 'linux', hostname: id, release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-12-01T00:00:00.000Z', tokenId: 'tok' });
      }
      await store.setDepartments([PCS[0]!, PCS[3]!], '税務課');
      await store.setDepartments([PCS[1]!], '市民課');
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    });

    it('counts openings, closings, reopenings and severity changes', async () => {
      const usb = violation('usb-media', 'stick-1');
      await send(PCS[0]!, opened('2026-12-01T01:00:00.000Z', usb), opened('2026-12-01T02:00:00.000Z', violation('software', 'tool', 'critical')));
      await send(PCS[1]!, opened('2026-12-01T03:00:00.000Z', violation('antivirus', 'pattern', 'medium')), opened('2026-12-01T04:00:00.000Z', violation('usb-media', 'stick-2')));
      await send(PCS[2]!, opened('2026-12-01T05:00:00.000Z', violation('software', 'tool', 'low')));
      await send(PCS[3]!, opened('2026-12-01T05:00:00.000Z', violation('software', 'tool', 'low')));
      let counts = (await agree()).get(OPEN.name)!;
      expect(counts).toContain('税務課 usb-media high 1');
      expect(counts).toContain('税務課 software low 1');
      expect(counts).toContain(' software low 1');
      await send(PCS[0]!, closed('2026-12-02T01:00:00.000Z', usb));
      // Reopened, closed and reopened in one flush; a severity refreshed on an open violation.
      const flap = violation('usb-media', 'stick-flap');
      await send(PCS[1]!, opened('2026-12-02T02:00:00.000Z', flap), closed('2026-12-02T02:01:00.000Z', flap), opened('2026-12-02T02:02:00.000Z', flap));
      await send(PCS[2]!, opened('2026-12-02T03:00:00.000Z', violation('software', 'tool', 'critical')));
      counts = (await agree()).get(OPEN.name)!;
      expect(counts.some((c) => c.startsWith('税務課 usb-media'))).toBe(false);
      expect(counts).toContain('市民課 usb-media high 2');
      expect(counts).toContain(' software critical 1');
      await send(PCS[0]!, opened('2026-12-03T01:00:00.000Z', usb));
      expect((await agree()).get(OPEN.name)).toContain('税務課 usb-media high 1');
    });

    it('counts the latest result of each PC and rule', async () => {
      await send(PCS[0]!, results('2026-12-01T06:00:00.000Z', 'usb-media', { 'USB-001': 'fail', 'USB-002': 'pass' }));
      await send(PCS[1]!, results('2026-12-01T06:00:00.000Z', 'usb-media', { 'USB-001': 'pass', 'USB-002': 'pass' }), results('2026-12-01T06:00:00.000Z', 'software', { 'SW-001': 'unknown' }));
      await send(PCS[2]!, results('2026-12-01T06:00:00.000Z', 'software', { 'SW-001': 'not_applicable' }));
      await send(PCS[3]!, results('2026-12-01T06:00:00.000Z', 'software', { 'SW-001': 'fail' }));
      let counts = (await agree()).get(RESULTS.name)!;
      expect(counts).toContain('税務課 USB-001 fail 1');
      expect(counts).toContain('税務課 SW-001 fail 1');
      expect(counts).toContain(' SW-001 not_applicable 1');
      // Changed results, one changed back within the same flush, one sent again unchanged.
      await send(PCS[0]!, results('2026-12-02T06:00:00.000Z', 'usb-media', { 'USB-001': 'pass', 'USB-002': 'fail' }));
      await send(PCS[1]!, results('2026-12-02T06:00:00.000Z', 'software', { 'SW-001': 'fail' }), results('2026-12-02T06:01:00.000Z', 'software', { 'SW-001': 'pass' }));
      await send(PCS[2]!, results('2026-12-02T06:00:00.000Z', 'software', { 'SW-001': 'not_applicable' }));
      counts = (await agree()).get(RESULTS.name)!;
      expect(counts).toContain('税務課 USB-001 pass 1');
      expect(counts).toContain('市民課 SW-001 pass 1');
      expect(counts.some((c) => c.startsWith('市民課 SW-001 unknown'))).toBe(false);
    });

    it("counts the collector's own violations under no 課", async () => {
      await store.sql.run(
        `INSERT INTO violations (agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, clauses_json, facts_json, opened_at, updated_at)
         VALUES ('', 'FWD-001', 'fwd', 'beyond', 'open', 'fail', 'high', '{}', '{}', 'r', '[]', '{}', '2026-12-06T05:00:00.000Z', '2026-12-06T05:00:00.000Z')`,
      );
      expect((await agree()).get(OPEN.name)).toContain(' beyond high 1');
    });

    it('moves the counts of PCs moved to another 課; a revoked PC keeps its open violations and loses its results', async () => {
      await store.setDepartments([PCS[0]!], '市民課');
      await store.setDepartments([PCS[2]!], '税務課');
      await store.setDepartments([PCS[1]!], null);
      let all = await agree();
      expect(all.get(OPEN.name)).toContain('市民課 usb-media high 1');
      expect(all.get(OPEN.name)).toContain(' usb-media high 2');
      expect(all.get(RESULTS.name)).toContain('市民課 USB-002 fail 1');
      expect(all.get(RESULTS.name)).toContain('税務課 SW-001 not_applicable 1');
      expect(await store.revokeAgent(PCS[3]!, '2026-12-04T00:00:00.000Z')).toBe(true);
      all = await agree();
      expect(all.get(OPEN.name)).toContain('税務課 software low 1');
      expect(all.get(RESULTS.name)!.some((c) => c.startsWith('税務課 SW-001 fail'))).toBe(false);
      // Moved while revoked, then taken back: counted again under its 課 of now.
      await store.setDepartments([PCS[3]!], '福祉課');
      await store.sql.run('UPDATE agents SET revoked_at = NULL WHERE id = ?', [PCS[3]!]);
      expect((await agree()).get(RESULTS.name)).toContain('福祉課 SW-001 fail 1');
    });

    it('counts rows of a PC whose agents row comes after them under its 課, and under none once that row is deleted', async () => {
      // No code path does either today (rows are written by the ingest of an enrolled PC, agents rows are never deleted).
      await store.sql.run("INSERT INTO rule_results (agent_id, rule_id, check_id, result, reason, at) VALUES ('ag_kept_late', 'USB-001', 'usb-media', 'fail', '', '2026-12-04T00:00:00.000Z')");
      await store.sql.run(
        `INSERT INTO violations (agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, clauses_json, facts_json, opened_at, updated_at)
         VALUES ('ag_kept_late', 'SW-001', 'late', 'software', 'open', 'fail', 'info', '{}', '{}', 'r', '[]', '{}', '2026-12-04T00:00:00.000Z', '2026-12-04T00:00:00.000Z')`,
      );
      let all = await agree();
      expect(all.get(OPEN.name)).toContain(' software info 1');
      await store.createAgent({ id: 'ag_kept_late', secret: '', hostname: 'LATE', os: { platform: 'linux', hostname: 'late', release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-12-04T00:00:00.000Z', tokenId: 'tok', department: '環境課' });
      all = await agree();
      expect(all.get(RESULTS.name)).toContain('環境課 USB-001 fail 1');
      expect(all.get(OPEN.name)).toContain('環境課 software info 1');
      await store.sql.run("DELETE FROM agents WHERE id = 'ag_kept_late'");
      all = await agree();
      expect(all.get(RESULTS.name)!.some((c) => c.startsWith('環境課'))).toBe(false);
      expect(all.get(OPEN.name)).toContain(' software info 1');
      await store.sql.run("DELETE FROM rule_results WHERE agent_id = 'ag_kept_late'");
      await store.sql.run("DELETE FROM violations WHERE agent_id = 'ag_kept_late'");
    });

    it('drops the counts of rows retention deletes', async () => {
      const v = violation('antivirus', 'to-prune');
      await send(PCS[2]!, opened('2026-12-04T01:00:00.000Z', v), closed('2026-12-04T02:00:00.000Z', v));
      expect(await store.prune('violations', '2099-01-01T00:00:00.000Z', 1000)).toBeGreaterThan(0);
      await agree();
      // An open row deleted (no code path does it today; the trigger counts it all the same).
      await store.sql.run("DELETE FROM violations WHERE agent_id = '' AND rule_id = 'FWD-001'");
      expect((await agree()).get(OPEN.name)!.some((c) => c.includes('beyond'))).toBe(false);
    });

    it('is filled from the rows already stored when the store is migrated', async () => {
      for (const k of KEPT) {
        const want = await direct(store, k);
        expect(want.length).toBeGreaterThan(2);
        await remigrate(store, k);
        expect(await kept(store, k), k.name).toEqual(want);
      }
      await send(PCS[2]!, opened('2026-12-07T01:00:00.000Z', violation('antivirus', 'pattern-2')));
      await agree();
    });

    it('differs from the direct count when a trigger is missing (each trigger keeps what it is named for)', async () => {
      const pg = store.dialect === 'postgres';
      // One change per trigger, each of which that trigger alone counts.
      let n = 0;
      /** A PC row, in a 課, inserted after an open violation and a result of its id. */
      const late = async (): Promise<string> => {
        const id = `ag_kept_late${++n}`;
        await store.sql.run("INSERT INTO rule_results (agent_id, rule_id, check_id, result, reason, at) VALUES (?, 'USB-001', 'usb-media', 'fail', '', '2026-12-08T00:00:00.000Z')", [id]);
        await store.sql.run(
          `INSERT INTO violations (agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, clauses_json, facts_json, opened_at, updated_at)
           VALUES (?, 'SW-001', 'late', 'software', 'open', 'fail', 'info', '{}', '{}', 'r', '[]', '{}', '2026-12-08T00:00:00.000Z', '2026-12-08T00:00:00.000Z')`,
          [id],
        );
        await store.createAgent({ id, secret: '', hostname: 'LATE', os: { platform: 'linux', hostname: 'late', release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-12-08T00:00:00.000Z', tokenId: 'tok', department: '環境課' });
        return id;
      };
      const lateThenDeleted = async (): Promise<number> => store.sql.run('DELETE FROM agents WHERE id = ?', [await late()]);
      const changes: Record<string, Record<string, () => Promise<unknown>>> = {
        [OPEN.name]: {
          insert: () => send(PCS[2]!, opened('2026-12-08T01:00:00.000Z', violation('software', `new-${++n}`))),
          insert_delete: () => send(PCS[2]!, opened('2026-12-08T01:00:00.000Z', violation('software', `new-${++n}`))),
          update: () => send(PCS[2]!, closed('2026-12-08T02:00:00.000Z', violation('antivirus', 'pattern-2'))),
          delete: () => store.sql.run("DELETE FROM violations WHERE state = 'open' AND agent_id = ?", [PCS[1]!]),
          department: () => store.setDepartments([PCS[0]!], `課${++n}`),
          agent_insert: late,
          agent_insert_delete: late,
          agent_delete: lateThenDeleted,
        },
        [RESULTS.name]: {
          insert: () => send(PCS[2]!, results('2026-12-08T01:00:00.000Z', 'usb-media', { [`USB-${++n}`]: 'fail' })),
          insert_delete: () => send(PCS[2]!, results('2026-12-08T01:00:00.000Z', 'usb-media', { [`USB-${++n}`]: 'fail' })),
          update: () => send(PCS[0]!, results('2026-12-08T01:00:00.000Z', 'usb-media', { 'USB-001': 'fail' })),
          delete: () => store.sql.run('DELETE FROM rule_results WHERE agent_id = ?', [PCS[0]!]),
          agent_insert: late,
          agent_insert_delete: late,
          agent_update: () => store.setDepartments([PCS[2]!], `課${++n}`),
          agent_delete: lateThenDeleted,
        },
      };
      for (const k of KEPT) {
        for (const trigger of pg ? k.triggers.postgres : k.triggers.sqlite) {
          const [triggerName, , table] = trigger.split(' ') as [string, string, string];
          const own = changes[k.name]!;
          // The longest name that ends the trigger's: agent_insert_delete before insert_delete before delete.
          const change = own[Object.keys(own).sort((a, b) => b.length - a.length).find((c) => triggerName.endsWith(`_counts_${c}`))!]!;
          if (pg) await store.sql.run(`ALTER TABLE ${table} DISABLE TRIGGER ${triggerName}`);
          else await store.sql.run(`DROP TRIGGER ${triggerName}`);
          await change();
          expect(await kept(store, k), `${k.name} without ${triggerName}`).not.toEqual(await direct(store, k));
          if (pg) await store.sql.run(`ALTER TABLE ${table} ENABLE TRIGGER ${triggerName}`);
          await remigrate(store, k);
          await agree();
        }
      }
    });
  });
}

suite('SQLite', () => sqliteTestStore('mamori-kept-counts-'));

describe.skipIf(!pgProbe.available)('PostgreSQL', () => {
  suite('PostgreSQL', postgresTestStore);
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('kept counts: postgres required', () => {
  it('has PostgreSQL', () => {
    throw new Error(pgProbe.reason);
  });
});
