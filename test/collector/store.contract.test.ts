/**
 * One contract for both stores: every test below runs against embedded SQLite and against
 * PostgreSQL (a fresh schema per test). The PostgreSQL half is skipped, with the reason
 * printed, when no PostgreSQL is reachable — and fails instead under MAMORI_REQUIRE_PG=1.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CollectorBus } from '../../src/collector/bus.js';
import { closeBehind, openBehind } from '../../src/collector/console/forward-behind.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { toPgPlaceholders } from '../../src/collector/store/postgres/pg-runner.js';
import { SqliteConnectionStore } from '../../src/collector/store/sqlite/connection-store.js';
import { SqliteStore } from '../../src/collector/store/sqlite/sqlite-store.js';
import { SequenceGapError } from '../../src/collector/store/store.js';
import type { PruneKind, Store } from '../../src/collector/store/store.js';
import { Retention, RetentionConfigError, pruneTable } from '../../src/collector/retention.js';
import { silentLogger } from '../../src/shared/log.js';
import { reasonText } from '../../src/shared/i18n/index.js';
import type { AgentEvent, Violation } from '../../src/shared/protocol/messages.js';
import { PG_REQUIRED, PG_URL, createTestDatabase, probePg } from '../cluster/pg-env.js';
import type { TestDatabase } from '../cluster/pg-env.js';

interface Backend {
  name: 'sqlite' | 'postgres';
  /** A new, empty, migrated store; `second` opens another connection (another node) to the same data. */
  open(): Promise<{ store: Store; second: () => Promise<Store> }>;
}

const pgProbe = await probePg('store contract');
let pgDb: TestDatabase | undefined;
const opened: Store[] = [];
const tempDirs: string[] = [];

const sqliteBackend: Backend = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-contract-'));
    tempDirs.push(dir);
    const path = join(dir, 'mamori.db');
    const make = async () => {
      const s = new SqliteStore(path);
      await s.migrate();
      opened.push(s);
      return s;
    };
    return { store: await make(), second: make };
  },
};

/**
 * The store the SQLite writer thread runs, on a connection in this thread: the same SQL as
 * sqliteBackend without the thread (which loads it from dist/), so a change to its source is
 * tested before any build (mutation testing runs these).
 */
const sqliteConnectionBackend: Backend = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-contract-conn-'));
    tempDirs.push(dir);
    const path = join(dir, 'mamori.db');
    const make = async () => {
      const s = new SqliteConnectionStore(path);
      await s.migrate();
      opened.push(s);
      return s;
    };
    return { store: await make(), second: make };
  },
};

const postgresBackend: Backend = {
  name: 'postgres',
  async open() {
    // One database per file, one schema per test: fast and isolated.
    const schema = `s_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgDb!.url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const u = new URL(pgDb!.url);
    u.searchParams.set('options', `-c search_path=${schema}`);
    const make = async () => {
      const s = await openPostgresStore(u.toString(), { maxConnections: 4 });
      opened.push(s);
      return s;
    };
    return { store: await make(), second: make };
  },
};

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});
afterAll(async () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

// ---------------------------------------------------------------- event builders

const AGENT_A = 'ag_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const AGENT_B = 'ag_bbbbbbbbbbbbbbbbbbbbbbbbbb';
const T0 = Date.parse('2026-11-24T09:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function notice(seq: number, i = seq): AgentEvent {
  return { seq, at: at(seq), kind: 'agent.notice', notice: 'test', detail: { i } };
}

function violation(ruleId: string, subject: string, extra: Partial<Violation> = {}): Violation {
  return {
    checkId: 'usb-media',
    ruleId,
    subject,
    result: 'fail',
    severity: 'high',
    title: { ja: '未登録のUSB記憶媒体', en: 'Unregistered USB storage' },
    message: { ja: '媒体管理台帳にない媒体が接続されました', en: 'A medium not in the media ledger is connected' },
    reason: 'not in ledger',
    clauses: [{ source: '003', ref: '第4章4(1)イ' }],
    facts: { serial: subject },
    ...extra,
  };
}

function opened_(seq: number, v: Violation): AgentEvent {
  return { seq, at: at(seq), kind: 'violation.opened', violation: v, policyVersion: 1 };
}

function closed_(seq: number, ruleId: string, subject: string, reason = 'removed'): AgentEvent {
  return { seq, at: at(seq), kind: 'violation.closed', checkId: 'usb-media', ruleId, subject, reason };
}

async function enrolled(store: Store, id: string, hostname = `pc-${id.slice(3, 8)}`): Promise<void> {
  await store.createAgent({ id, secret: 'f'.repeat(64), hostname, os: { platform: 'linux', hostname, release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: at(0), tokenId: 'tok' });
}

const RECEIVED = '2026-11-24T10:00:00.000Z';

// ---------------------------------------------------------------- the contract

function contract(backend: Backend): void {
  let store: Store;
  let second: () => Promise<Store>;
  const fresh = async () => {
    ({ store, second } = await backend.open());
  };

  describe('enrollment tokens', () => {
    const base = { secretHash: 'h1', segment: 'mynumber' as const, usedCount: 0, revokedAt: null, createdAt: at(0), note: null };

    it('redeems a multi-use token until it expires, counting uses', async () => {
      await fresh();
      await store.createToken({ ...base, id: 'multi', expiresAt: at(3600), singleUse: false });
      expect(await store.redeemToken('multi', 'h1', at(10))).toEqual({ ok: true, segment: 'mynumber', tokenId: 'multi' });
      expect(await store.redeemToken('multi', 'h1', at(20))).toEqual({ ok: true, segment: 'mynumber', tokenId: 'multi' });
      expect(await store.redeemToken('multi', 'h1', at(3600))).toEqual({ ok: false, why: 'expired' });
      expect((await store.listTokens()).find((t) => t.id === 'multi')).toMatchObject({ usedCount: 2, singleUse: false, expiresAt: at(3600), revokedAt: null });
    });

    it('refuses a wrong secret, a used single-use token and a revoked one', async () => {
      await fresh();
      await store.createToken({ ...base, id: 'once', expiresAt: at(3600), singleUse: true });
      await store.createToken({ ...base, id: 'rev', expiresAt: at(3600), singleUse: false });
      expect(await store.redeemToken('once', 'wrong', at(1))).toEqual({ ok: false, why: 'unknown' });
      expect(await store.redeemToken('nope', 'h1', at(1))).toEqual({ ok: false, why: 'unknown' });
      expect((await store.redeemToken('once', 'h1', at(1))).ok).toBe(true);
      expect(await store.redeemToken('once', 'h1', at(2))).toEqual({ ok: false, why: 'used' });
      expect(await store.revokeToken('rev', at(5))).toBe(true);
      expect(await store.revokeToken('rev', at(6))).toBe(false);
      expect(await store.redeemToken('rev', 'h1', at(7))).toEqual({ ok: false, why: 'revoked' });
      expect((await store.listTokens()).map((t) => [t.id, t.singleUse, t.revokedAt])).toEqual([
        ['once', true, null],
        ['rev', false, at(5)],
      ]);
    });

    it('lets a single-use token enroll exactly one PC when two nodes redeem it at once', async () => {
      await fresh();
      const other = await second();
      await store.createToken({ ...base, id: 'race', expiresAt: at(3600), singleUse: true });
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).redeemToken('race', 'h1', at(1))));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.why === 'used')).toHaveLength(7);
    });
  });

  describe('agents', () => {
    it('records enrollment, presence per node, heartbeats and revocation', async () => {
      await fresh();
      await enrolled(store, AGENT_A, 'pc-a');
      await enrolled(store, AGENT_B, 'pc-b');
      expect(await store.getAgent('ag_missingmissingmissing00')).toBeUndefined();
      const a = await store.getAgent(AGENT_A);
      expect(a).toMatchObject({ id: AGENT_A, hostname: 'pc-a', online: false, nodeId: null, lastSeq: 0, policyVersion: 0, segment: 'lgwan', revokedAt: null, lastSeenAt: null, tokenId: 'tok' });
      expect(a!.os).toEqual({ platform: 'linux', hostname: 'pc-a', release: '6.1' });

      await store.setPresence([{ agentId: AGENT_A, nodeId: 'node-1', at: at(10), online: true, info: { hostname: 'pc-a2', os: { platform: 'windows', hostname: 'pc-a2', release: '10.0.19045' }, agentVersion: '0.2.0', policyVersion: 3 } }]);
      await store.setPresence([{ agentId: AGENT_B, nodeId: 'node-1', at: at(10), online: true, info: { hostname: 'pc-b', os: { platform: 'linux', hostname: 'pc-b', release: '6.1' }, agentVersion: '0.2.0', policyVersion: 0 } }]);
      expect(await store.getAgent(AGENT_A)).toMatchObject({ online: true, nodeId: 'node-1', hostname: 'pc-a2', agentVersion: '0.2.0', policyVersion: 3, lastSeenAt: at(10) });

      // The agent moved to node-2: node-1 noticing the old connection close must not mark it offline.
      await store.setPresence([{ agentId: AGENT_A, nodeId: 'node-2', at: at(20), online: true, info: { hostname: 'pc-a2', os: { platform: 'windows', hostname: 'pc-a2', release: '10.0.19045' }, agentVersion: '0.2.0', policyVersion: 3 } }]);
      await store.setPresence([{ agentId: AGENT_A, nodeId: 'node-1', at: at(21), online: false }]);
      expect(await store.getAgent(AGENT_A)).toMatchObject({ online: true, nodeId: 'node-2' });

      await store.touchAgents(new Map([[AGENT_A, { at: at(30), policyVersion: 4 }]]));
      expect(await store.getAgent(AGENT_A)).toMatchObject({ lastSeenAt: at(30), policyVersion: 4 });

      await store.markNodeOffline('node-1', at(40));
      expect(await store.getAgent(AGENT_B)).toMatchObject({ online: false, lastSeenAt: at(10) });
      expect(await store.getAgent(AGENT_A)).toMatchObject({ online: true });
      await store.setPresence([{ agentId: AGENT_A, nodeId: 'node-2', at: at(41), online: false }]);
      expect(await store.getAgent(AGENT_A)).toMatchObject({ online: false, lastSeenAt: at(41) });

      expect((await store.listAgents()).map((x) => x.id)).toEqual([AGENT_A, AGENT_B]);
      expect(await store.revokeAgent(AGENT_B, at(50))).toBe(true);
      expect(await store.revokeAgent(AGENT_B, at(51))).toBe(false);
      expect(await store.revokedAgentIds()).toEqual([AGENT_B]);
    });
  });

  describe('ingest exactly once', () => {
    it('stores each (agent, seq) once across resends and duplicate batches in one flush', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      const first = await store.ingest([{ agentId: AGENT_A, events: [1, 2, 3, 4, 5].map((s) => notice(s)) }], RECEIVED);
      expect(first.stored.get(AGENT_A)).toBe(5);
      expect(first.rejected.size).toBe(0);
      // A resend after reconnect overlaps what is stored; the same frame twice in one flush.
      const again = await store.ingest(
        [
          { agentId: AGENT_A, events: [3, 4, 5, 6, 7].map((s) => notice(s)) },
          { agentId: AGENT_A, events: [6, 7, 8].map((s) => notice(s)) },
        ],
        RECEIVED,
      );
      expect(again.stored.get(AGENT_A)).toBe(8);
      expect(await store.countEvents(AGENT_A)).toBe(8);
      expect(await store.countEvents()).toBe(8);
      expect((await store.getAgent(AGENT_A))!.lastSeq).toBe(8);
      const events = await store.listEvents(AGENT_A, 0, 100);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(events[2]).toEqual({ agentId: AGENT_A, seq: 3, kind: 'agent.notice', at: at(3), receivedAt: RECEIVED, event: notice(3) });
      expect((await store.listEvents(AGENT_A, 6, 1)).map((e) => e.seq)).toEqual([7]);
      const nothingNew = await store.ingest([{ agentId: AGENT_A, events: [notice(2)] }], RECEIVED);
      expect(nothingNew.stored.get(AGENT_A)).toBe(8);
    });

    it('refuses a batch with a hole and stores nothing of it, while other agents of the flush are stored', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      await enrolled(store, AGENT_B);
      await store.ingest([{ agentId: AGENT_A, events: [notice(1), notice(2)] }], RECEIVED);
      const out = await store.ingest(
        [
          { agentId: AGENT_A, events: [notice(3), notice(5), notice(6)] },
          { agentId: AGENT_B, events: [notice(1), notice(2)] },
          { agentId: 'ag_unknownunknownunknown00', events: [notice(1)] },
        ],
        RECEIVED,
      );
      const gap = out.rejected.get(AGENT_A);
      expect(gap).toBeInstanceOf(SequenceGapError);
      expect(gap).toMatchObject({ code: 'SEQ_GAP', agentId: AGENT_A, expected: 4, got: 5 });
      expect(out.stored.has(AGENT_A)).toBe(false);
      expect(out.rejected.get('ag_unknownunknownunknown00')).toMatchObject({ expected: 0, got: 1 });
      expect(out.stored.get(AGENT_B)).toBe(2);
      // The hole refused the whole batch (seq 3 too): nothing of it was stored.
      expect((await store.listEvents(AGENT_A, 0, 10)).map((e) => e.seq)).toEqual([1, 2]);
      expect((await store.getAgent(AGENT_A))!.lastSeq).toBe(2);
      expect(await store.countEvents(AGENT_B)).toBe(2);
    });

    it('accepts gap records, also overlapping what is stored, and moves the sequence to their end', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      await store.ingest([{ agentId: AGENT_A, events: [notice(1), notice(2), notice(3)] }], RECEIVED);
      // The agent dropped 2..10 after sending 2 and 3: the gap overlaps, and is renumbered to start after 3.
      const gap: AgentEvent = { seq: 2, at: at(11), kind: 'gap', throughSeq: 10, dropped: 9, reason: 'outbox cap' };
      const out = await store.ingest([{ agentId: AGENT_A, events: [gap, notice(11)] }], RECEIVED);
      expect(out.stored.get(AGENT_A)).toBe(11);
      const events = await store.listEvents(AGENT_A, 0, 100);
      expect(events.map((e) => [e.seq, e.kind])).toEqual([
        [1, 'agent.notice'],
        [2, 'agent.notice'],
        [3, 'agent.notice'],
        [4, 'gap'],
        [11, 'agent.notice'],
      ]);
      expect(events[3]!.event).toMatchObject({ seq: 4, throughSeq: 10, dropped: 9 });
      // A gap wholly inside what is stored is a resend: nothing changes.
      await store.ingest([{ agentId: AGENT_A, events: [{ ...gap, seq: 5, throughSeq: 9 } as AgentEvent] }], RECEIVED);
      expect(await store.countEvents(AGENT_A)).toBe(5);
      expect((await store.getAgent(AGENT_A))!.lastSeq).toBe(11);
    });

    it('stores exactly once when two nodes ingest overlapping batches of the same agents at the same time', async () => {
      await fresh();
      const other = await second();
      await enrolled(store, AGENT_A);
      await enrolled(store, AGENT_B);
      const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => notice(from + k));
      // Each node gets every agent's stream in overlapping chunks, in a different agent order.
      const runs: Promise<unknown>[] = [];
      for (let round = 0; round < 40; round++) {
        const from = 1 + round * 10;
        const [mine, theirs] = round % 2 ? [15, 25] : [25, 15];
        runs.push(store.ingest([{ agentId: AGENT_A, events: seqs(from, from + mine) }, { agentId: AGENT_B, events: seqs(from, from + theirs) }], RECEIVED));
        runs.push(other.ingest([{ agentId: AGENT_B, events: seqs(from, from + mine) }, { agentId: AGENT_A, events: seqs(from, from + theirs) }], RECEIVED));
      }
      await Promise.all(runs);
      // Whatever interleaving happened: the stored events are exactly 1..last_seq (never beyond, never missing one).
      for (const id of [AGENT_A, AGENT_B]) {
        const last = (await other.getAgent(id))!.lastSeq;
        expect((await store.listEvents(id, 0, 1000)).map((e) => e.seq)).toEqual(Array.from({ length: last }, (_, k) => k + 1));
      }
      // Resend everything once the races are over so no chunk is left out by a refused hole.
      await store.ingest([{ agentId: AGENT_A, events: seqs(1, 430) }, { agentId: AGENT_B, events: seqs(1, 430) }], RECEIVED);
      for (const id of [AGENT_A, AGENT_B]) {
        const stored = await store.listEvents(id, 0, 1000);
        expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 430 }, (_, k) => k + 1));
        expect(stored.every((e) => (e.event as unknown as { detail: { i: number } }).detail.i === e.seq)).toBe(true);
        expect((await other.getAgent(id))!.lastSeq).toBe(430);
      }
    });
  });

  describe('projections', () => {
    it('opens, closes and reopens violations, also several times within one flush', async () => {
      await fresh();
      await enrolled(store, AGENT_A, 'pc-a');
      const usb = violation('usb.unregistered', 'usb:1234:abcd:SN1', { user: 'tanaka' });
      await store.ingest([{ agentId: AGENT_A, events: [opened_(1, usb), opened_(2, violation('usb.unregistered', 'usb:1234:abcd:SN2'))] }], RECEIVED);
      let open = await store.listViolations({ state: 'open' });
      expect(open).toHaveLength(2);
      const sn1 = open.find((v) => v.subject === 'usb:1234:abcd:SN1')!;
      expect(sn1).toEqual({
        agentId: AGENT_A,
        hostname: 'pc-a',
        ruleId: 'usb.unregistered',
        subject: 'usb:1234:abcd:SN1',
        checkId: 'usb-media',
        state: 'open',
        result: 'fail',
        severity: 'high',
        title: usb.title,
        message: usb.message,
        reason: 'not in ledger',
        reasonMsg: null,
        clauses: usb.clauses,
        facts: { serial: 'usb:1234:abcd:SN1' },
        user: 'tanaka',
        openedAt: at(1),
        closedAt: null,
        closedReason: null,
        closedReasonMsg: null,
        updatedAt: RECEIVED,
      });
      // Seen again while open: opened_at stays. Then closed and reopened in one flush: reopened at 5.
      const later = '2026-11-24T10:00:05.000Z';
      await store.ingest([{ agentId: AGENT_A, events: [opened_(3, { ...usb, reason: 'still there' })] }], later);
      expect((await store.listViolations({ ruleId: 'usb.unregistered', agentId: AGENT_A })).find((v) => v.subject === 'usb:1234:abcd:SN1')).toMatchObject({ openedAt: at(1), reason: 'still there', updatedAt: later });
      await store.ingest(
        [{ agentId: AGENT_A, events: [closed_(4, 'usb.unregistered', 'usb:1234:abcd:SN1'), opened_(5, usb), closed_(6, 'usb.unregistered', 'usb:1234:abcd:SN2', 'registered in ledger')] }],
        later,
      );
      open = await store.listViolations({ state: 'open' });
      expect(open.map((v) => [v.subject, v.openedAt])).toEqual([['usb:1234:abcd:SN1', at(5)]]);
      const closed = await store.listViolations({ state: 'closed' });
      expect(closed).toHaveLength(1);
      expect(closed[0]).toMatchObject({ subject: 'usb:1234:abcd:SN2', closedAt: at(6), closedReason: 'registered in ledger', openedAt: at(2) });
      // Close then open then close of one violation in one flush ends closed.
      await store.ingest([{ agentId: AGENT_A, events: [closed_(7, 'usb.unregistered', 'usb:1234:abcd:SN1'), opened_(8, usb), closed_(9, 'usb.unregistered', 'usb:1234:abcd:SN1', 'ejected')] }], later);
      expect(await store.listViolations({ state: 'open' })).toEqual([]);
      expect((await store.listViolations({ limit: 1 })).length).toBe(1);
      expect((await store.listViolations({ state: 'closed', agentId: AGENT_A })).find((v) => v.subject === 'usb:1234:abcd:SN1')).toMatchObject({ closedReason: 'ejected', closedAt: at(9) });
      // Reopened, then seen again with another severity and user (columns of the list's index), then with another reason only.
      const sn1Now = async () => (await store.listViolations({ agentId: AGENT_A, state: 'open' })).find((v) => v.subject === 'usb:1234:abcd:SN1');
      await store.ingest([{ agentId: AGENT_A, events: [opened_(10, usb), opened_(11, { ...usb, severity: 'critical', user: 'sato' })] }], later);
      expect(await sn1Now()).toMatchObject({ openedAt: at(10), severity: 'critical', user: 'sato', reason: 'not in ledger' });
      await store.ingest([{ agentId: AGENT_A, events: [opened_(12, { ...usb, severity: 'critical', user: 'sato', reason: 'plugged in again' })] }], RECEIVED);
      expect(await sn1Now()).toMatchObject({ openedAt: at(10), severity: 'critical', user: 'sato', reason: 'plugged in again', updatedAt: RECEIVED });
      await store.ingest([{ agentId: AGENT_A, events: [opened_(13, { ...usb, user: undefined })] }], later);
      expect(await sn1Now()).toMatchObject({ openedAt: at(10), severity: 'high', user: null, updatedAt: later });
    });

    it('leaves a violation as it was when it is reported again with the content it holds: updated_at is when it last changed', async () => {
      await fresh();
      await enrolled(store, AGENT_A, 'pc-a');
      const usb = violation('usb.unregistered', 'usb:1234:abcd:SN1', { user: 'tanaka' });
      const now = async () => (await store.listViolations({ agentId: AGENT_A })).find((v) => v.subject === 'usb:1234:abcd:SN1')!;
      await store.ingest([{ agentId: AGENT_A, events: [opened_(1, usb)] }], RECEIVED);
      const first = await now();
      // After a restart or a reconnect the agent reports what is still open: the event is stored, the violation unchanged.
      const later = '2026-11-24T10:00:05.000Z';
      await store.ingest([{ agentId: AGENT_A, events: [opened_(2, usb)] }], later);
      expect(await now()).toEqual(first);
      expect((await store.listEvents(AGENT_A, 0, 10)).map((e) => [e.seq, e.receivedAt])).toEqual([[1, RECEIVED], [2, later]]);
      // Twice in one flush, then with one column changed: that report is the violation's last change.
      const evenLater = '2026-11-24T10:00:09.000Z';
      await store.ingest([{ agentId: AGENT_A, events: [opened_(3, usb), opened_(4, usb)] }], evenLater);
      expect(await now()).toEqual(first);
      await store.ingest([{ agentId: AGENT_A, events: [opened_(5, { ...usb, facts: { serial: 'usb:1234:abcd:SN1', sizeBytes: 1 } })] }], evenLater);
      expect(await now()).toEqual({ ...first, facts: { serial: 'usb:1234:abcd:SN1', sizeBytes: 1 }, updatedAt: evenLater });
      // Closed, then reported again with the content it had when open: opened again, a change.
      await store.ingest([{ agentId: AGENT_A, events: [closed_(6, 'usb.unregistered', 'usb:1234:abcd:SN1'), opened_(7, usb)] }], later);
      expect(await now()).toMatchObject({ state: 'open', openedAt: at(7), updatedAt: later, facts: usb.facts });
    });

    it('keeps the reason of a violation and of its closing as messages, next to their Japanese text', async () => {
      await fresh();
      await enrolled(store, AGENT_A, 'pc-a');
      const why = { id: 'eval.notInList', params: { fact: { ja: '識別子', en: 'fingerprint' }, actual: { q: '0951:1666:SN1' }, list: { ja: '媒体管理台帳', en: 'the media ledger' } } };
      const gone = { id: 'close.ruleRemoved' };
      await store.ingest([{ agentId: AGENT_A, events: [opened_(1, violation('usb.unregistered', 'usb:SN1', { reasonMsg: why })), opened_(2, violation('usb.unregistered', 'usb:SN2'))] }], RECEIVED);
      await store.ingest([{ agentId: AGENT_A, events: [{ ...closed_(3, 'usb.unregistered', 'usb:SN1', '規則がカタログから外されました'), reasonMsg: gone } as AgentEvent] }], RECEIVED);
      const rows = await store.listViolations({ agentId: AGENT_A });
      const sn1 = rows.find((v) => v.subject === 'usb:SN1')!;
      expect(JSON.parse(sn1.reasonMsg!)).toEqual(why);
      expect(sn1).toMatchObject({ state: 'closed', closedReason: '規則がカタログから外されました' });
      expect(JSON.parse(sn1.closedReasonMsg!)).toEqual(gone);
      // An agent that sends only the text: no message, the text stays.
      expect(rows.find((v) => v.subject === 'usb:SN2')).toMatchObject({ reason: 'not in ledger', reasonMsg: null, closedReasonMsg: null });
      // Reopened: the closing reason and its message are cleared.
      await store.ingest([{ agentId: AGENT_A, events: [opened_(4, violation('usb.unregistered', 'usb:SN1', { reasonMsg: why }))] }], RECEIVED);
      expect((await store.listViolations({ agentId: AGENT_A, state: 'open' })).find((v) => v.subject === 'usb:SN1')).toMatchObject({ closedReason: null, closedReasonMsg: null });
    });

    it('keeps a NUL character from a PC instead of failing the flush', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      const out = await store.ingest([{ agentId: AGENT_A, events: [opened_(1, violation('usb.unregistered', 'usb:1\u0000x', { reason: 'serial with \u0000' }))] }], RECEIVED);
      expect(out.stored.get(AGENT_A)).toBe(1);
      expect((await store.listEvents(AGENT_A, 0, 1))[0]!.event).toMatchObject({ violation: { subject: 'usb:1\u0000x' } });
      expect(await store.listViolations({ state: 'open' })).toHaveLength(1);
    });

    it('keeps NUL characters in the rule, subject and reasons of a close, in rule results and in a scan request id', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      const rule = 'usb.\u0000rule';
      const subject = 'usb:1\u0000x';
      const out = await store.ingest(
        [
          {
            agentId: AGENT_A,
            events: [
              opened_(1, violation(rule, subject)),
              closed_(2, rule, subject, 'removed \u0000'),
              { seq: 3, at: at(3), kind: 'results', checkId: 'usb-media', policyVersion: 1, results: [{ ruleId: 'r\u0000', subject: '', result: 'fail', reason: 'why \u0000' }] },
              { seq: 4, at: at(4), kind: 'scan.result', requestId: 'scan\u0000', checks: [] },
            ],
          },
        ],
        RECEIVED,
      );
      expect(out.stored.get(AGENT_A)).toBe(4);
      expect(await store.listViolations({ agentId: AGENT_A, state: 'open' })).toEqual([]);
      expect(await store.listViolations({ agentId: AGENT_A, state: 'closed' })).toHaveLength(1);
      expect(await store.sql.all('SELECT result FROM rule_results WHERE agent_id = ?', [AGENT_A])).toEqual([{ result: 'fail' }]);
    });

    it('writes every rule result, every check\'s facts and every scan of one flush, and the NUL of a subject as the store keeps it', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      await store.createScanRequest({ id: 'scan_1', agentId: AGENT_A, checks: ['usb-media'], requestedBy: 'helpdesk1', requestedAt: at(0) });
      await store.createScanRequest({ id: 'scan_2', agentId: AGENT_A, checks: ['software'], requestedBy: 'helpdesk1', requestedAt: at(0) });
      const result = (seq: number, ruleId: string): AgentEvent => ({ seq, at: at(seq), kind: 'results', checkId: 'usb-media', policyVersion: 1, results: [{ ruleId, subject: '', result: 'pass', reason: ruleId }] });
      const facts = (seq: number, checkId: 'usb-media' | 'software'): AgentEvent => ({ seq, at: at(seq), kind: 'facts', checkId, status: 'ok', facts: { n: seq } });
      const scan = (seq: number, requestId: string): AgentEvent => ({ seq, at: at(seq), kind: 'scan.result', requestId, checks: [] });
      await store.ingest([{ agentId: AGENT_A, events: [result(1, 'R-1'), result(2, 'R-2'), facts(3, 'usb-media'), facts(4, 'software'), scan(5, 'scan_1'), scan(6, 'scan_2'), opened_(7, violation('USB-001', 'usb:1\u0000x'))] }], RECEIVED);
      expect(await store.sql.all('SELECT rule_id FROM rule_results WHERE agent_id = ? ORDER BY rule_id', [AGENT_A])).toEqual([{ rule_id: 'R-1' }, { rule_id: 'R-2' }]);
      expect((await store.latestFacts(AGENT_A)).map((f) => f.checkId)).toEqual(['software', 'usb-media']);
      expect(await store.pendingScans(AGENT_A)).toEqual([]);
      // PostgreSQL TEXT cannot hold U+0000: it becomes U+FFFD there; SQLite keeps it.
      expect((await store.listViolations({ agentId: AGENT_A }))[0]!.subject).toBe(backend.name === 'postgres' ? 'usb:1\uFFFDx' : 'usb:1\u0000x');
    });

    it('stores nothing of an agent\'s later batches in a flush after one of its batches left a hole', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      await store.ingest([{ agentId: AGENT_A, events: [notice(1)] }], RECEIVED);
      const out = await store.ingest(
        [
          { agentId: AGENT_A, events: [notice(3)] },
          { agentId: AGENT_A, events: [notice(2)] },
        ],
        RECEIVED,
      );
      expect(out.rejected.get(AGENT_A)).toBeInstanceOf(SequenceGapError);
      expect(out.stored.has(AGENT_A)).toBe(false);
      expect((await store.listEvents(AGENT_A, 0, 10)).map((e) => e.seq)).toEqual([1]);
      expect((await store.getAgent(AGENT_A))!.lastSeq).toBe(1);
    });

    it('keeps the latest rule results, facts and policy version', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      const results = (seq: number, result: 'pass' | 'fail'): AgentEvent => ({
        seq,
        at: at(seq),
        kind: 'results',
        checkId: 'screen-lock',
        policyVersion: 1,
        results: [
          { ruleId: 'lock.enabled', subject: '', result, reason: `r${seq}`, ...(seq === 3 ? { reasonMsg: { id: 'eval.eachPass', params: { kind: { ja: 'セッション', en: 'sessions' }, total: 2 } } } : {}) },
          { ruleId: 'lock.user', subject: 'tanaka', result: 'fail', reason: 'per user' },
        ],
      });
      const facts = (seq: number, minutes: number): AgentEvent => ({ seq, at: at(seq), kind: 'facts', checkId: 'screen-lock', status: 'ok', facts: { idleMinutes: minutes } });
      await store.ingest([{ agentId: AGENT_A, events: [results(1, 'fail'), facts(2, 30), results(3, 'pass'), facts(4, 10), { seq: 5, at: at(5), kind: 'policy.applied', version: 7 }] }], RECEIVED);
      expect(await store.latestFacts(AGENT_A)).toEqual([{ checkId: 'screen-lock', status: 'ok', facts: { idleMinutes: 10 }, at: at(4) }]);
      const rows = await store.sql.all<{ rule_id: string; result: string; reason: string }>('SELECT rule_id, result, reason FROM rule_results WHERE agent_id = ? ORDER BY rule_id', [AGENT_A]);
      expect(rows).toEqual([{ rule_id: 'lock.enabled', result: 'pass', reason: 'r3' }]);
      // The reason as a message is kept beside the text, so the console can show it in English.
      const [stored] = await store.sql.all<{ reason_msg: string | null }>('SELECT reason_msg FROM rule_results WHERE agent_id = ?', [AGENT_A]);
      expect(reasonText('r3', stored!.reason_msg)).toEqual({ ja: 'セッション 2 件すべて適合', en: 'all 2 sessions pass' });
      expect(reasonText('r1', null)).toEqual({ ja: 'r1', en: 'r1' });
      expect((await store.getAgent(AGENT_A))!.policyVersion).toBe(7);
    });
  });

  describe('violation pages', () => {
    /** 3 PCs in two 課 and one with none; 250 open and 20 closed violations of mixed severity. */
    async function cityOfViolations(): Promise<void> {
      const pcs = [
        { id: 'ag_p1xxxxxxxxxxxxxxxxxxxxxxxx', host: 'ZEIMU-PC01', dep: '税務課', n: 120 },
        { id: 'ag_p2xxxxxxxxxxxxxxxxxxxxxxxx', host: 'zeimu-pc02', dep: '税務課', n: 5 },
        { id: 'ag_p3xxxxxxxxxxxxxxxxxxxxxxxx', host: 'SHIMIN-PC01', dep: '市民課', n: 100 },
        { id: 'ag_p4xxxxxxxxxxxxxxxxxxxxxxxx', host: 'KOKO-PC01', dep: null, n: 45 },
      ];
      const sev = ['critical', 'high', 'medium', 'low', 'info'] as const;
      for (const pc of pcs) {
        await enrolled(store, pc.id, pc.host);
        const events = Array.from({ length: pc.n }, (_, k) => opened_(k + 1, violation(k % 2 ? 'SW-001' : 'USB-001', `subject_${k}%`, { severity: sev[k % 5], checkId: k % 2 ? 'software' : 'usb-media' })));
        await store.ingest([{ agentId: pc.id, events }], RECEIVED);
        if (pc.dep) expect(await store.setDepartments([pc.id], pc.dep)).toBe(1);
      }
      // The last 20 of KOKO-PC01 close.
      await store.ingest([{ agentId: pcs[3]!.id, events: Array.from({ length: 20 }, (_, k) => closed_(46 + k, (25 + k) % 2 ? 'SW-001' : 'USB-001', `subject_${25 + k}%`)) }], RECEIVED);
    }

    it('counts every match exactly and pages through them without gaps or repeats', async () => {
      await fresh();
      await cityOfViolations();
      const open = await store.queryViolations({ state: 'open', limit: 50 });
      expect(open.total).toBe(250);
      expect(open.rows).toHaveLength(50);
      const seen = new Set<string>();
      for (let offset = 0; offset < 250; offset += 50) {
        const page = await store.queryViolations({ state: 'open', offset, limit: 50 });
        expect(page.total).toBe(250);
        for (const v of page.rows) seen.add(`${v.agentId}|${v.ruleId}|${v.subject}`);
      }
      expect(seen.size).toBe(250);
      expect((await store.queryViolations({ state: 'closed' })).total).toBe(20);
      expect((await store.queryViolations({})).total).toBe(270);
      // Worst severity first, open before closed.
      const firstPage = (await store.queryViolations({ limit: 300 })).rows;
      expect(firstPage[0]!.severity).toBe('critical');
      expect(firstPage.slice(-20).every((v) => v.state === 'closed')).toBe(true);
    });

    it('filters by 課 (and no 課), scope, segment, severity, check and text before paging', async () => {
      await fresh();
      await cityOfViolations();
      expect((await store.queryViolations({ state: 'open', department: '税務課', limit: 10 })).total).toBe(125);
      expect((await store.queryViolations({ state: 'open', department: null })).total).toBe(25);
      expect((await store.queryViolations({ state: 'open', departments: ['市民課'] })).total).toBe(100);
      expect((await store.queryViolations({ state: 'open', departments: [] })).total).toBe(0);
      expect((await store.queryViolations({ state: 'open', segment: 'lgwan' })).total).toBe(250);
      expect((await store.queryViolations({ state: 'open', segment: 'mynumber' })).total).toBe(0);
      expect((await store.queryViolations({ state: 'open', severity: ['critical'] })).total).toBe(24 + 1 + 20 + 5);
      expect((await store.queryViolations({ state: 'open', checkId: 'software', department: '市民課' })).total).toBe(50);
      // Host names match case-insensitively; % in the text is a literal character, not a wildcard.
      const host = await store.queryViolations({ state: 'open', text: 'Zeimu-PC02', limit: 2 });
      expect(host.total).toBe(5);
      expect(host.rows.every((v) => v.hostname === 'zeimu-pc02')).toBe(true);
      expect((await store.queryViolations({ state: 'open', text: 'subject_11%' })).total).toBe(3);
      // subject_1, subject_1x, subject_1xx open: 31 on ZEIMU-PC01, 1 on zeimu-pc02, 11 on SHIMIN-PC01, 11 on KOKO-PC01 (as a wildcard, _ would match subject_21 too).
      expect((await store.queryViolations({ state: 'open', text: '_1' })).total).toBe(31 + 1 + 11 + 11);
    });

    it('gives every page in one order: worst severity, newest, then the key, as sorting all the rows would', async () => {
      await fresh();
      await cityOfViolations();
      const rank = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
      const all = (await store.listViolations({ state: 'open', limit: 1000 })).sort(
        (a, b) => rank[a.severity] - rank[b.severity] || b.openedAt.localeCompare(a.openedAt) || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0) || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0) || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0),
      );
      const paged = [];
      for (let offset = 0; offset < 250; offset += 40) paged.push(...(await store.queryViolations({ state: 'open', offset, limit: 40 })).rows);
      expect(paged.map((v) => `${v.agentId}|${v.ruleId}|${v.subject}`)).toEqual(all.map((v) => `${v.agentId}|${v.ruleId}|${v.subject}`));
      // Filtered by severity (the index's rank) and 課 together, in the same order.
      const high = await store.queryViolations({ state: 'open', severity: ['high', 'low'], department: '税務課', limit: 1000 });
      const sub = all.filter((v) => (v.severity === 'high' || v.severity === 'low') && v.hostname.toLowerCase().startsWith('zeimu'));
      expect(high.total).toBe(sub.length);
      expect(high.rows.map((v) => v.subject + v.agentId)).toEqual(sub.map((v) => v.subject + v.agentId));
    });

    it('counts the violation the collector raises about itself (no PC) under no 課 and finds it by the collector name', async () => {
      await fresh();
      await cityOfViolations();
      expect(await openBehind({ store, bus: new CollectorBus() }, 'fwd_1', { backlog: 3 }, 'behind')).toBe(true);
      expect((await store.queryViolations({ state: 'open', department: null })).total).toBe(25 + 1);
      expect((await store.queryViolations({ state: 'open', department: '税務課' })).total).toBe(125);
      expect((await store.queryViolations({ state: 'open', segment: 'lgwan' })).total).toBe(250);
      expect((await store.queryViolations({ state: 'open', departments: ['税務課', '市民課'] })).total).toBe(225);
      const found = await store.queryViolations({ state: 'open', text: 'Mamori-Coll' });
      expect(found.rows.map((v) => [v.agentId, v.hostname, v.ruleId])).toEqual([['', 'mamori-collector', 'FWD-001']]);
      expect((await store.queryViolations({ state: 'open', text: 'zeimu-pc02' })).total).toBe(5);
      const byHost = await store.queryViolations({ state: 'open', sort: 'hostname', dir: 'desc', limit: 1 });
      expect([byHost.total, byHost.rows[0]!.hostname]).toEqual([251, 'zeimu-pc02']);
    });

    it('sorts by host name and time in both directions', async () => {
      await fresh();
      await cityOfViolations();
      const asc = (await store.queryViolations({ state: 'open', sort: 'hostname', dir: 'asc', limit: 1 })).rows[0]!;
      const desc = (await store.queryViolations({ state: 'open', sort: 'hostname', dir: 'desc', limit: 1 })).rows[0]!;
      expect([asc.hostname, desc.hostname]).toEqual(['KOKO-PC01', 'zeimu-pc02']);
      const newest = (await store.queryViolations({ state: 'open', sort: 'openedAt', limit: 1 })).rows[0]!;
      expect(newest.openedAt).toBe(at(120));
    });
  });

  describe('scan requests', () => {
    it('queues, marks sent and completes a scan from the scan.result event', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      await store.createScanRequest({ id: 'scan_1', agentId: AGENT_A, checks: ['usb-media', 'antivirus'], requestedBy: 'helpdesk1', requestedAt: at(1) });
      await store.createScanRequest({ id: 'scan_2', agentId: AGENT_A, checks: ['software'], requestedBy: 'helpdesk1', requestedAt: at(2) });
      expect((await store.pendingScans(AGENT_A)).map((s) => [s.id, s.state])).toEqual([
        ['scan_1', 'queued'],
        ['scan_2', 'queued'],
      ]);
      await store.markScanSent('scan_1', at(3));
      expect(await store.getScanRequest('scan_1')).toEqual({ id: 'scan_1', agentId: AGENT_A, checks: ['usb-media', 'antivirus'], requestedBy: 'helpdesk1', requestedAt: at(1), state: 'sent', sentAt: at(3), completedAt: null, result: null });
      const checks = [{ checkId: 'usb-media' as const, status: 'ok' as const, failed: 1 }];
      // Another agent cannot complete this agent's scan.
      await enrolled(store, AGENT_B);
      await store.ingest([{ agentId: AGENT_B, events: [{ seq: 1, at: at(4), kind: 'scan.result', requestId: 'scan_1', checks }] }], RECEIVED);
      expect((await store.getScanRequest('scan_1'))!.state).toBe('sent');
      await store.ingest([{ agentId: AGENT_A, events: [{ seq: 1, at: at(5), kind: 'scan.result', requestId: 'scan_1', checks }] }], RECEIVED);
      expect(await store.getScanRequest('scan_1')).toMatchObject({ state: 'done', completedAt: at(5), result: checks });
      expect((await store.pendingScans(AGENT_A)).map((s) => s.id)).toEqual(['scan_2']);
      expect(await store.getScanRequest('scan_missing')).toBeUndefined();
    });
  });

  describe('sql runner', () => {
    it('binds ? parameters, leaves literals alone and returns numbers for counts', async () => {
      await fresh();
      await store.sql.run('CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, n INTEGER NOT NULL)');
      expect(await store.sql.run("INSERT INTO notes (id, body, n) VALUES (?, 'what? -- not a comment', ?)", ['a', 1])).toBe(1);
      await store.sql.run('INSERT INTO notes (id, body, n) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET n = excluded.n', ['a', 'x', 2]);
      expect(await store.sql.get('SELECT body, n FROM notes WHERE id = ?', ['a'])).toEqual({ body: 'what? -- not a comment', n: 2 });
      expect(await store.sql.get<{ c: number }>("SELECT count(*) AS c FROM notes WHERE body <> '?'")).toEqual({ c: 1 });
      expect(await store.sql.get('SELECT * FROM notes WHERE id = ?', ['zz'])).toBeUndefined();
      expect(store.sql.dialect).toBe(backend.name);
    });

    it('commits a transaction, rolls it back on error, and rolls back only the inner savepoint', async () => {
      await fresh();
      await store.sql.run('CREATE TABLE ledger (serial TEXT PRIMARY KEY)');
      await store.sql.transaction(async (tx) => {
        await tx.run('INSERT INTO ledger (serial) VALUES (?)', ['SN1']);
        await tx.run('INSERT INTO ledger (serial) VALUES (?)', ['SN2']);
      });
      await expect(
        store.sql.transaction(async (tx) => {
          await tx.run('INSERT INTO ledger (serial) VALUES (?)', ['SN3']);
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      await store.sql.transaction(async (tx) => {
        await tx.run('INSERT INTO ledger (serial) VALUES (?)', ['SN4']);
        await expect(tx.transaction(async (inner) => inner.run('INSERT INTO ledger (serial) VALUES (?)', ['SN1']))).rejects.toThrow();
        await tx.transaction(async (inner) => inner.run('INSERT INTO ledger (serial) VALUES (?)', ['SN5']));
      });
      expect((await store.sql.all<{ serial: string }>('SELECT serial FROM ledger ORDER BY serial')).map((r) => r.serial)).toEqual(['SN1', 'SN2', 'SN4', 'SN5']);
    });
  });

  describe('forwarding cursors', () => {
    it('hands over each violation event once per forwarder, from its start, with the collector\'s own events merged in', async () => {
      await fresh();
      await enrolled(store, AGENT_A, 'pc-a');
      await enrolled(store, AGENT_B, 'pc-b');
      const before = '2026-11-24T09:59:00.000Z';
      await store.ingest([{ agentId: AGENT_A, events: [opened_(1, violation('r1', 'old'))] }], before);
      await store.ingest([{ agentId: AGENT_A, events: [notice(2), opened_(3, violation('r1', 'x')), closed_(4, 'r1', 'x')] }, { agentId: AGENT_B, events: [opened_(1, violation('r2', 'y'))] }], RECEIVED);
      const own = await store.appendCollectorEvent({ agentId: AGENT_B, hostname: 'pc-b', event: { seq: 0, at: at(9), kind: 'violation.closed', checkId: 'beyond', ruleId: 'AGENT-001', subject: '', reason: 'back' }, receivedAt: '2026-11-24T10:00:01.000Z' });
      expect(own).toMatch(/^c:/);

      expect(await store.forwardClaim('fwd_1', 'node-1', RECEIVED, 30_000)).toBe(true);
      const pending = await store.forwardPending('fwd_1', RECEIVED, 100);
      expect(pending.map((p) => p.eventId)).toEqual([`${AGENT_A}:3`, `${AGENT_A}:4`, `${AGENT_B}:1`, own]);
      expect(pending[0]).toMatchObject({ hostname: 'pc-a', seq: 3, receivedAt: RECEIVED, event: { kind: 'violation.opened', seq: 3, violation: { subject: 'x' } } });
      expect(await store.forwardBacklog('fwd_1', RECEIVED)).toEqual({ pending: 4, oldestReceivedAt: RECEIVED });
      // The whole history when the forwarder starts from "".
      expect((await store.forwardPending('fwd_1', '', 100)).map((p) => p.eventId)[0]).toBe(`${AGENT_A}:1`);

      expect(await store.forwardAdvance('fwd_1', 'node-1', pending.slice(0, 2), { delivered: 2, abandoned: 0, at: RECEIVED })).toBe(true);
      expect((await store.forwardPending('fwd_1', RECEIVED, 100)).map((p) => p.eventId)).toEqual([`${AGENT_B}:1`, own]);
      expect(await store.forwardAdvance('fwd_1', 'node-1', pending.slice(2), { delivered: 1, abandoned: 1, at: RECEIVED })).toBe(true);
      expect(await store.forwardPending('fwd_1', RECEIVED, 100)).toEqual([]);
      expect(await store.forwardBacklog('fwd_1', RECEIVED)).toEqual({ pending: 0, oldestReceivedAt: null });
      // Another forwarder has cursors of its own.
      expect((await store.forwardPending('fwd_2', RECEIVED, 100)).length).toBe(4);

      await store.forwardError('fwd_1', '接続が拒否されました', RECEIVED);
      expect(await store.forwardState('fwd_1')).toMatchObject({ leaseOwner: 'node-1', lastError: '接続が拒否されました', lastErrorAt: RECEIVED, lastDeliveredAt: RECEIVED, delivered: 3, abandoned: 1 });
      await store.forwardForget('fwd_1');
      expect((await store.forwardPending('fwd_1', RECEIVED, 100)).length).toBe(4);
    });

    it('lists a violation the collector raised about itself (no agent row) with the collector as host, opened once', async () => {
      await fresh();
      const bus = new CollectorBus();
      expect(await openBehind({ store, bus }, 'fwd_1', { backlog: 3 }, 'behind')).toBe(true);
      expect(await openBehind({ store, bus }, 'fwd_1', { backlog: 4 }, 'behind')).toBe(false);
      expect(await store.listViolations({ ruleId: 'FWD-001' })).toMatchObject([{ agentId: '', hostname: 'mamori-collector', subject: 'fwd_1', state: 'open', severity: 'high', facts: { backlog: 3 } }]);
      expect((await store.forwardPending('fwd_9', '', 10)).map((p) => p.event.kind)).toEqual(['violation.opened']);
      expect(await closeBehind({ store, bus }, 'fwd_1', 'caught up')).toBe(true);
      expect(await closeBehind({ store, bus }, 'fwd_1', 'caught up')).toBe(false);
      expect(await store.listViolations({ ruleId: 'FWD-001', state: 'closed' })).toHaveLength(1);
    });

    it('lets one node at a time forward, and a node that lost its lease cannot move the cursor', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      await store.ingest([{ agentId: AGENT_A, events: [opened_(1, violation('r1', 'x'))] }], RECEIVED);
      const other = await second();
      const t = (s: number) => new Date(Date.parse(RECEIVED) + s * 1000).toISOString();
      const claims = await Promise.all([store.forwardClaim('fwd_1', 'node-1', t(0), 30_000), other.forwardClaim('fwd_1', 'node-2', t(0), 30_000)]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      const [winner, loser, loserNode] = claims[0] ? [store, other, 'node-2'] : [other, store, 'node-1'];
      const winnerNode = loserNode === 'node-2' ? 'node-1' : 'node-2';
      expect(await loser.forwardClaim('fwd_1', loserNode, t(10), 30_000)).toBe(false);
      const items = await winner.forwardPending('fwd_1', '', 10);
      // The winner stalls past its lease; the other node takes over and the stale node's advance is refused.
      expect(await loser.forwardClaim('fwd_1', loserNode, t(31), 30_000)).toBe(true);
      expect(await winner.forwardAdvance('fwd_1', winnerNode, items, { delivered: 1, abandoned: 0, at: t(31) })).toBe(false);
      expect((await loser.forwardPending('fwd_1', '', 10)).length).toBe(1);
      expect(await loser.forwardAdvance('fwd_1', loserNode, items, { delivered: 1, abandoned: 0, at: t(32) })).toBe(true);
      await loser.forwardRelease('fwd_1', loserNode);
      expect(await winner.forwardClaim('fwd_1', winnerNode, t(33), 30_000)).toBe(true);
      expect(await winner.forwardPending('fwd_1', '', 10)).toEqual([]);
    });
  });

  describe('retention', () => {
    it('prunes old events, facts history and closed violations in bounded batches, never open ones', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      const old = '2026-01-01T00:00:00.000Z';
      const recent = '2026-11-01T00:00:00.000Z';
      const facts = (seq: number): AgentEvent => ({ seq, at: at(seq), kind: 'facts', checkId: 'antivirus', status: 'ok', facts: { seq } });
      await store.ingest([{ agentId: AGENT_A, events: [notice(1), facts(2), facts(3), notice(4), opened_(5, violation('r1', 'a')), opened_(6, violation('r1', 'b')), closed_(7, 'r1', 'a')] }], old);
      await store.ingest([{ agentId: AGENT_A, events: [facts(8), opened_(9, violation('r1', 'c')), closed_(10, 'r1', 'c')] }], recent);
      const cutoff = '2026-06-01T00:00:00.000Z';
      expect(await store.prune('facts', cutoff, 1)).toBe(1);
      expect(await store.prune('facts', cutoff, 10)).toBe(1);
      expect(await store.prune('facts', cutoff, 10)).toBe(0);
      expect((await store.listEvents(AGENT_A, 0, 100)).map((e) => e.seq)).toEqual([1, 4, 5, 6, 7, 8, 9, 10]);
      expect(await store.prune('violations', cutoff, 10)).toBe(1); // 'a': closed long ago; 'b' is open, 'c' closed recently
      expect((await store.listViolations()).map((v) => v.subject).sort()).toEqual(['b', 'c']);
      expect(await store.prune('events', cutoff, 3)).toBe(3);
      expect(await store.prune('events', cutoff, 3)).toBe(2);
      expect((await store.listEvents(AGENT_A, 0, 100)).map((e) => e.seq)).toEqual([8, 9, 10]);
      // The sequence is kept on the agent: a resend of pruned events is not stored again.
      await store.ingest([{ agentId: AGENT_A, events: [notice(1), notice(11)] }], recent);
      expect((await store.listEvents(AGENT_A, 0, 100)).map((e) => e.seq)).toEqual([8, 9, 10, 11]);
    });

    it('runs a background pass by the configured periods, in batches, including the console audit log', async () => {
      await fresh();
      await enrolled(store, AGENT_A);
      const day = (d: number) => new Date(Date.parse('2026-11-24T00:00:00.000Z') - d * 86_400_000).toISOString();
      const facts = (seq: number): AgentEvent => ({ seq, at: at(seq), kind: 'facts', checkId: 'antivirus', status: 'ok', facts: {} });
      // 30 facts events 100 days old, 5 notices 100 days old, 5 notices 2 days old.
      await store.ingest([{ agentId: AGENT_A, events: Array.from({ length: 30 }, (_, k) => facts(k + 1)) }], day(100));
      await store.ingest([{ agentId: AGENT_A, events: [31, 32, 33, 34, 35].map((q) => notice(q)) }], day(100));
      await store.ingest([{ agentId: AGENT_A, events: [36, 37, 38, 39, 40].map((q) => notice(q)) }], day(2));
      await store.sql.run('CREATE TABLE audit_entries (id TEXT PRIMARY KEY, at TEXT NOT NULL, what TEXT NOT NULL)');
      for (let k = 0; k < 7; k++) await store.sql.run('INSERT INTO audit_entries (id, at, what) VALUES (?, ?, ?)', [`a${k}`, day(k < 4 ? 400 : 1), 'login']);
      const calls: number[] = [];
      const counting: Store = Object.create(store, { prune: { value: async (kind: PruneKind, before: string, limit: number) => (calls.push(limit), store.prune(kind, before, limit)) } });
      const retention = new Retention({
        store: counting,
        periods: { facts: 90, events: 365, closedViolations: 365, audit: 365 },
        log: silentLogger(),
        auditLog: { table: 'audit_entries', timeColumn: 'at', keyColumn: 'id' },
        batchSize: 8,
        pauseMs: 1,
        now: () => new Date('2026-11-24T00:00:00.000Z'),
      });
      expect(await retention.runOnce()).toEqual({ facts: 30, events: 0, closedViolations: 0, audit: 4 });
      expect(calls.filter((l) => l === 8).length).toBeGreaterThanOrEqual(4 + 1 + 1); // 30 facts in batches of 8, then the others
      expect((await store.listEvents(AGENT_A, 0, 100)).map((e) => e.seq)).toEqual([31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
      expect((await store.sql.all<{ id: string }>('SELECT id FROM audit_entries ORDER BY id')).map((r) => r.id)).toEqual(['a4', 'a5', 'a6']);
      expect(() => new Retention({ store, periods: { events: 0 }, log: silentLogger() })).toThrow(RetentionConfigError);
      await expect(pruneTable(store.sql, { table: 'audit; DROP TABLE agents', timeColumn: 'at', keyColumn: 'id' }, day(0), 1)).rejects.toThrow(RetentionConfigError);
    });
  });
}

describe('store contract: sqlite', () => contract(sqliteBackend));
describe('store contract: sqlite connection', () => contract(sqliteConnectionBackend));

describe.skipIf(!pgProbe.available)('store contract: postgres', () => {
  beforeAll(async () => {
    pgDb = await createTestDatabase();
  });
  afterAll(async () => {
    await pgDb?.drop();
  });
  contract(postgresBackend);

  it('rewrites ? placeholders outside literals, identifiers and comments', () => {
    expect(toPgPlaceholders(`SELECT '?', "a?", x FROM t WHERE a = ? AND b = 'it''s ?' -- why?\n AND c = ? /* ? */`)).toBe(`SELECT '?', "a?", x FROM t WHERE a = $1 AND b = 'it''s ?' -- why?\n AND c = $2 /* ? */`);
  });
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('store contract: postgres required', () => {
  it('PostgreSQL is reachable (MAMORI_REQUIRE_PG=1)', () => {
    throw new Error(`${pgProbe.reason} — MAMORI_REQUIRE_PG=1 requires PostgreSQL at ${PG_URL}`);
  });
});
