/**
 * A violation the collector raises itself (here AGENT-008, the watchdog) and its event for the
 * forwarders are stored in one transaction: when the event cannot be stored, the violation row
 * is not changed either (not opened, not closed), and the next try stores both. On SQLite and on
 * PostgreSQL (skipped with the reason printed when PostgreSQL is absent). The failure is made by
 * the database itself: a trigger refuses the forwarders' event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCity } from '../../bench/lib/city.js';
import { CollectorBus } from '../../src/collector/bus.js';
import type { Store } from '../../src/collector/store/store.js';
import { TamperMonitor } from '../../src/collector/tamper/monitor.js';
import type { AgentEvent } from '../../src/shared/protocol/messages.js';
import { silentLogger } from '../../src/shared/log.js';
import { PG_REQUIRED, PG_URL, probePg } from '../cluster/pg-env.js';
import { postgresTestStore, sqliteTestStore } from '../helpers/test-stores.js';

const pgProbe = await probePg('collector violation and its event in one transaction');

async function refuseCollectorEvents(store: Store, refuse: boolean): Promise<void> {
  if (store.sql.dialect === 'sqlite') {
    await store.sql.run(refuse ? "CREATE TRIGGER refuse_collector_events BEFORE INSERT ON forward_collector_events BEGIN SELECT RAISE(ABORT, 'refused'); END" : 'DROP TRIGGER refuse_collector_events');
    return;
  }
  if (refuse) {
    await store.sql.run("CREATE OR REPLACE FUNCTION refuse_collector_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$");
    await store.sql.run('CREATE TRIGGER refuse_collector_events BEFORE INSERT ON forward_collector_events FOR EACH ROW EXECUTE FUNCTION refuse_collector_event()');
  } else await store.sql.run('DROP TRIGGER refuse_collector_events ON forward_collector_events');
}

function suite(name: string, open: () => Promise<{ store: Store; close(): Promise<void> }>): void {
  describe(`collector-raised violations on ${name}`, () => {
    let store: Store;
    let close: () => Promise<void>;
    let bus: CollectorBus;
    let monitor: TamperMonitor;
    let agentId: string;
    let hostname: string;

    beforeAll(async () => {
      ({ store, close } = await open());
      const city = await seedCity(store, { pcs: 1, perPc: 0 });
      ({ id: agentId, hostname } = city.pcs[0]!);
      bus = new CollectorBus();
      monitor = new TamperMonitor({ store, bus, log: silentLogger(), isConnected: () => true }, { sweepIntervalMs: 3_600_000 });
      await monitor.start();
    }, 60_000);
    afterAll(async () => {
      await monitor?.stop();
      await close?.();
    });

    const notice = async (n: 'watchdog.limit' | 'started', at: string): Promise<void> => {
      const event: AgentEvent = { seq: 1, at, kind: 'agent.notice', notice: n, detail: n === 'watchdog.limit' ? { limit: 'memory', rssBytes: 300 * 1024 * 1024, limitValue: 200 * 1024 * 1024 } : {} };
      bus.emit('event', { agentId, hostname, event, receivedAt: at });
      await monitor.idle();
    };
    const row = () => store.sql.get<{ state: string }>("SELECT state FROM violations WHERE agent_id = ? AND rule_id = 'AGENT-008'", [agentId]);
    const events = async () =>
      (await store.sql.all<{ payload: string }>('SELECT payload FROM forward_collector_events WHERE agent_id = ? ORDER BY received_at, id', [agentId])).map((r) => JSON.parse(r.payload) as { kind: string; ruleId?: string; violation?: { ruleId: string } });

    it('an AGENT-008 whose event cannot be stored is not opened; the next stop opens it with its event', async () => {
      await refuseCollectorEvents(store, true);
      await notice('watchdog.limit', '2026-12-07T01:00:00.000Z');
      expect(await row()).toBeUndefined();
      expect(await events()).toEqual([]);
      await refuseCollectorEvents(store, false);
      await notice('watchdog.limit', '2026-12-07T01:05:00.000Z');
      expect((await row())?.state).toBe('open');
      expect((await events()).map((e) => [e.kind, e.violation?.ruleId])).toEqual([['violation.opened', 'AGENT-008']]);
    });

    it('a close whose event cannot be stored leaves AGENT-008 open; the next start closes it with its event', async () => {
      await refuseCollectorEvents(store, true);
      await notice('started', '2026-12-07T01:06:00.000Z');
      expect((await row())?.state).toBe('open');
      expect(await events()).toHaveLength(1);
      await refuseCollectorEvents(store, false);
      await notice('started', '2026-12-07T01:07:00.000Z');
      expect((await row())?.state).toBe('closed');
      expect((await events()).map((e) => [e.kind, e.ruleId ?? e.violation?.ruleId])).toEqual([
        ['violation.opened', 'AGENT-008'],
        ['violation.closed', 'AGENT-008'],
      ]);
    });
  });
}

suite('SQLite', () => sqliteTestStore('mamori-tamper-tx-'));
describe.skipIf(!pgProbe.available)('PostgreSQL', () => {
  suite('PostgreSQL', postgresTestStore);
});
describe.runIf(!pgProbe.available && PG_REQUIRED)('PostgreSQL required', () => {
  it('is available', () => {
    throw new Error(`${pgProbe.reason} — MAMORI_REQUIRE_PG=1 requires PostgreSQL at ${PG_URL}`);
  });
});
