/**
 * Presence and last-seen times on PostgreSQL without row-lock waits. A batch of online/offline
 * changes is written as what it leaves in each agent's row (two statements, no transaction held
 * across round trips), with the same result as applying the changes one by one. A node's heartbeat batch
 * (`touchAgents`) skips the agent rows an ingest transaction holds instead of waiting for them,
 * and the ingest that holds them records those agents as seen (when their time is more than a
 * minute old), so an agent that sends all the time never looks silent. The ingest in progress is
 * a real transaction of a second connection holding the row, as another node's flush does.
 * Skipped, with the reason printed, without PostgreSQL (MAMORI_REQUIRE_PG=1 fails instead).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import type { PostgresStore } from '../../src/collector/store/postgres/postgres-store.js';
import type { AgentEvent } from '../../src/shared/protocol/messages.js';
import { createTestDatabase, probePg } from '../cluster/pg-env.js';
import type { TestDatabase } from '../cluster/pg-env.js';

const pgProbe = await probePg('postgres presence');
let db: TestDatabase | undefined;
const toClose: { end(): Promise<void> }[] = [];

const AGENT_A = 'ag_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const AGENT_B = 'ag_bbbbbbbbbbbbbbbbbbbbbbbbbb';
const notice = (seq: number): AgentEvent => ({ seq, at: '2026-12-07T09:00:00.000Z', kind: 'agent.notice', notice: 'test', detail: { seq } });

async function open(): Promise<{ store: PostgresStore; other: pg.Client; watch: pg.Client }> {
  const schema = `s_${randomBytes(5).toString('hex')}`;
  const connect = async () => {
    const c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    toClose.push(c);
    return c;
  };
  const other = await connect();
  const watch = await connect();
  await other.query(`CREATE SCHEMA ${schema}`);
  await other.query(`SET search_path = ${schema}`);
  const u = new URL(db!.url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const store = await openPostgresStore(u.toString(), { maxConnections: 4 });
  toClose.push({ end: () => store.close() });
  for (const id of [AGENT_A, AGENT_B]) {
    await store.createAgent({ id, secret: 'f'.repeat(64), hostname: `pc-${id.slice(3, 8)}`, os: { platform: 'linux', hostname: 'pc', release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-12-07T00:00:00.000Z', tokenId: 'tok' });
  }
  return { store, other, watch };
}

async function presenceOf(other: pg.Client, agentId: string): Promise<{ online: number; node_id: string | null; last_seen_at: string | null; hostname: string }> {
  return (await other.query('SELECT online, node_id, last_seen_at, hostname FROM agents WHERE id = $1', [agentId])).rows[0];
}

async function lastSeen(other: pg.Client, agentId: string): Promise<string | null> {
  return (await other.query<{ last_seen_at: string | null }>('SELECT last_seen_at FROM agents WHERE id = $1', [agentId])).rows[0]!.last_seen_at;
}

/** Resolves when a backend of this database waits for a lock (pg_stat_activity, polled until `until` settles). */
async function someoneWaitsForALock(watch: pg.Client, until: Promise<unknown>): Promise<'waited' | 'stopped'> {
  let settled = false;
  void until.finally(() => (settled = true)).catch(() => {});
  while (!settled) {
    const { rows } = await watch.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (Number(rows[0]!.n) > 0) return 'waited';
    await new Promise((r) => setTimeout(r, 20));
  }
  return 'stopped';
}

describe.skipIf(!pgProbe.available)('postgres presence', () => {
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const c of toClose.splice(0).reverse()) await c.end();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("a host name or agent version with a NUL (a hostile PC's hello) is kept with U+FFFD, and the other agents of the batch are recorded online", async () => {
    const { store, other } = await open();
    const at = '2026-12-07T09:00:00.000Z';
    const info = (hostname: string, agentVersion: string) => ({ hostname, os: { platform: 'windows' as const, hostname, release: '10' }, agentVersion, policyVersion: 1 });
    // PostgreSQL's text cannot hold a NUL: one such value failed the whole batch, every agent in it left as it was.
    await store.setPresence([
      { agentId: AGENT_A, nodeId: 'N0', at, online: true, info: info('pc\u0000-a', '1.0\u0000') },
      { agentId: AGENT_B, nodeId: 'N0', at, online: true, info: info('pc-b', '1.0') },
    ]);
    expect(await presenceOf(other, AGENT_B)).toMatchObject({ online: 1, node_id: 'N0', hostname: 'pc-b' });
    expect(await presenceOf(other, AGENT_A)).toMatchObject({ online: 1, node_id: 'N0', hostname: 'pc\uFFFD-a' });
    expect((await other.query<{ agent_version: string }>('SELECT agent_version FROM agents WHERE id = $1', [AGENT_A])).rows[0]!.agent_version).toBe('1.0\uFFFD');
  });

  it('a heartbeat batch skips the agent row an ingest holds instead of waiting; that ingest records the agent as seen', async () => {
    const { store, other, watch } = await open();
    await other.query('BEGIN');
    await other.query('SELECT id FROM agents WHERE id = $1 FOR UPDATE', [AGENT_A]);

    const heartbeat = '2026-12-07T09:00:05.000Z';
    const touched = store.touchAgents(
      new Map([
        [AGENT_A, { at: heartbeat, policyVersion: 3 }],
        [AGENT_B, { at: heartbeat, policyVersion: 3 }],
      ]),
    );
    const first = await Promise.race([touched.then(() => 'done' as const), someoneWaitsForALock(watch, touched)]);
    expect(first).toBe('done');
    await touched;
    expect(await lastSeen(other, AGENT_B)).toBe(heartbeat);
    expect(await lastSeen(other, AGENT_A)).toBeNull();
    await other.query('COMMIT');

    // The ingest (the row's holder in a real flush) writes A's last-seen time with its events.
    const received = '2026-12-07T09:00:06.000Z';
    const outcome = await store.ingest([{ agentId: AGENT_A, events: [notice(1), notice(2)] }], received);
    expect(outcome.stored.get(AGENT_A)).toBe(2);
    expect(await lastSeen(other, AGENT_A)).toBe(received);
  });

  it('an ingest refreshes a last-seen time only once it is more than a minute old, also for a flush of resent events only', async () => {
    const { store, other } = await open();
    const heartbeat = '2026-12-07T09:00:00.000Z';
    await store.touchAgents(new Map([[AGENT_A, { at: heartbeat, policyVersion: 1 }]]));

    await store.ingest([{ agentId: AGENT_A, events: [notice(1)] }], '2026-12-07T09:00:30.000Z');
    expect(await lastSeen(other, AGENT_A)).toBe(heartbeat);

    // Only events already stored: nothing new, but the agent was heard from.
    const later = '2026-12-07T09:01:30.000Z';
    const outcome = await store.ingest([{ agentId: AGENT_A, events: [notice(1)] }], later);
    expect(outcome.stored.get(AGENT_A)).toBe(1);
    expect(await lastSeen(other, AGENT_A)).toBe(later);
    expect(Number((await other.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE agent_id = $1', [AGENT_A])).rows[0]!.n)).toBe(1);
  });

  it('a batch of presence changes leaves each row as the changes applied one by one would', async () => {
    const { store, other } = await open();
    const os = { platform: 'linux' as const, hostname: 'pc', release: '6.1' };
    const info = (hostname: string) => ({ hostname, os, agentVersion: '0.2.0', policyVersion: 2 });
    // B is online on node N2 (another node).
    await store.setPresence([{ agentId: AGENT_B, nodeId: 'N2', at: '2026-12-07T09:00:00.000Z', online: true, info: info('pc-b') }]);
    await store.setPresence([
      // A connects, drops, and reconnects to this node within one batch: online at the end.
      { agentId: AGENT_A, nodeId: 'N1', at: '2026-12-07T09:00:01.000Z', online: true, info: info('pc-a-old') },
      { agentId: AGENT_A, nodeId: 'N1', at: '2026-12-07T09:00:02.000Z', online: false },
      { agentId: AGENT_A, nodeId: 'N1', at: '2026-12-07T09:00:03.000Z', online: true, info: info('pc-a') },
      // B's old connection on this node ends: B stays online on N2.
      { agentId: AGENT_B, nodeId: 'N1', at: '2026-12-07T09:00:04.000Z', online: false },
    ]);
    expect(await presenceOf(other, AGENT_A)).toEqual({ online: 1, node_id: 'N1', last_seen_at: '2026-12-07T09:00:03.000Z', hostname: 'pc-a' });
    expect(await presenceOf(other, AGENT_B)).toEqual({ online: 1, node_id: 'N2', last_seen_at: '2026-12-07T09:00:00.000Z', hostname: 'pc-b' });

    await store.setPresence([
      // B moves to this node and leaves it again: offline, last seen here.
      { agentId: AGENT_B, nodeId: 'N1', at: '2026-12-07T09:00:05.000Z', online: true, info: info('pc-b2') },
      { agentId: AGENT_B, nodeId: 'N1', at: '2026-12-07T09:00:06.000Z', online: false },
      // A goes offline on N1.
      { agentId: AGENT_A, nodeId: 'N1', at: '2026-12-07T09:00:07.000Z', online: false },
    ]);
    expect(await presenceOf(other, AGENT_A)).toEqual({ online: 0, node_id: 'N1', last_seen_at: '2026-12-07T09:00:07.000Z', hostname: 'pc-a' });
    expect(await presenceOf(other, AGENT_B)).toEqual({ online: 0, node_id: 'N1', last_seen_at: '2026-12-07T09:00:06.000Z', hostname: 'pc-b2' });
  });
});
