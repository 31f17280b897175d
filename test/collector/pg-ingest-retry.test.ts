/**
 * The PostgreSQL store's retry around an ingest flush: PostgreSQL reports a deadlock (40P01)
 * or a serialization failure (40001), the whole flush is tried again, at most 3 times, and
 * then fails with IngestConflictError; any other error fails the flush at once. The conflicts
 * are real: a second connection holds agents' rows in a real transaction, or a trigger on the
 * events table raises the SQLSTATE inside the flush's own transaction (counting the attempts in
 * a sequence, which a rollback does not undo). Skipped, with the reason printed, without
 * PostgreSQL (MAMORI_REQUIRE_PG=1 fails instead).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { IngestConflictError } from '../../src/collector/store/postgres/postgres-store.js';
import type { PostgresStore } from '../../src/collector/store/postgres/postgres-store.js';
import { LIMITS } from '../../src/shared/protocol/messages.js';
import type { AgentEvent } from '../../src/shared/protocol/messages.js';
import { PG_REQUIRED, PG_URL, createTestDatabase, probePg } from '../cluster/pg-env.js';
import type { TestDatabase } from '../cluster/pg-env.js';

const pgProbe = await probePg('postgres ingest retry');
let db: TestDatabase | undefined;
const toClose: { end(): Promise<void> }[] = [];

const AGENT_A = 'ag_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const AGENT_B = 'ag_bbbbbbbbbbbbbbbbbbbbbbbbbb';
const RECEIVED = '2026-11-24T10:00:00.000Z';
const notice = (seq: number): AgentEvent => ({ seq, at: new Date(Date.parse('2026-11-24T09:00:00.000Z') + seq * 1000).toISOString(), kind: 'agent.notice', notice: 'test', detail: { seq } });

interface Fixture {
  store: PostgresStore;
  /** Another connection to the same schema (another collector node, or an operator's session). */
  other: pg.Client;
  /** How many transactions the store's ingest opened (pool.connect() without a callback; pool.query passes one). */
  attempts: () => number;
}

let schema = '';

/** One more connection to the store's schema. */
async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db!.url });
  await c.connect();
  toClose.push(c);
  await c.query(`SET search_path = ${schema}`);
  return c;
}

/** A migrated store in a schema of its own, with agents A and B enrolled; `options` are extra server settings of its connections. */
async function open(options = ''): Promise<Fixture> {
  schema = `s_${randomBytes(5).toString('hex')}`;
  const other = new pg.Client({ connectionString: db!.url });
  await other.connect();
  toClose.push(other);
  await other.query(`CREATE SCHEMA ${schema}`);
  await other.query(`SET search_path = ${schema}`);
  const u = new URL(db!.url);
  u.searchParams.set('options', `-c search_path=${schema} ${options}`.trim());
  const store = await openPostgresStore(u.toString(), { maxConnections: 4 });
  toClose.push({ end: () => store.close() });
  for (const id of [AGENT_A, AGENT_B]) {
    await store.createAgent({ id, secret: 'f'.repeat(64), hostname: `pc-${id.slice(3, 8)}`, os: { platform: 'linux', hostname: 'pc', release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-11-24T00:00:00.000Z', tokenId: 'tok' });
  }
  const connect = vi.spyOn(store.pool, 'connect');
  return { store, other, attempts: () => connect.mock.calls.filter((args) => (args as unknown[]).length === 0).length };
}

/** The store's next transaction (pool.connect() without a callback) waits until the returned function is called. */
function holdNextTransaction(store: PostgresStore): () => void {
  const connect = Object.getPrototypeOf(store.pool).connect as (...args: unknown[]) => unknown;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  vi.mocked(store.pool.connect).mockImplementation(((...args: unknown[]) => {
    if (args.length > 0 || held) return connect.apply(store.pool, args);
    held = true;
    return released.then(() => connect.call(store.pool));
  }) as typeof store.pool.connect);
  return release;
}

/** Until one backend of this database that matches `where` waits for a lock (`watch` outside a transaction: pg_stat_activity is read once per transaction). */
async function waitingForLock(watch: pg.Client, where: string): Promise<void> {
  await expect
    .poll(async () => {
      const { rows } = await watch.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND ${where}`);
      return Number(rows[0]!.n);
    })
    .toBe(1);
}

/** A trigger that makes the first `fails` flushes reaching the events table fail with SQLSTATE `code`; the sequence counts every flush that reached it. */
async function refuseInserts(other: pg.Client, code: string, fails: number): Promise<() => Promise<number>> {
  await other.query('CREATE SEQUENCE ingest_attempts');
  await other.query(`CREATE FUNCTION refuse_ingest() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('ingest_attempts') <= ${fails} THEN RAISE EXCEPTION 'refused by the test' USING ERRCODE = '${code}'; END IF;
      RETURN NULL;
    END $$`);
  await other.query('CREATE TRIGGER refuse_ingest BEFORE INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION refuse_ingest()');
  return async () => {
    const { rows } = await other.query<{ last_value: string; is_called: boolean }>('SELECT last_value, is_called FROM ingest_attempts');
    return rows[0]!.is_called ? Number(rows[0]!.last_value) : 0;
  };
}

/** The error `p` fails with; a test failure when it succeeds. */
async function failureOf<E>(p: Promise<unknown>): Promise<E> {
  const outcome = await p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected the flush to fail, it gave ${JSON.stringify(outcome.value)}`);
  return outcome.error as E;
}

async function storedSeqs(other: pg.Client, agentId: string): Promise<number[]> {
  return (await other.query<{ seq: string }>('SELECT seq FROM events WHERE agent_id = $1 ORDER BY seq', [agentId])).rows.map((r) => Number(r.seq));
}

async function lastSeq(other: pg.Client, agentId: string): Promise<number> {
  return Number((await other.query<{ last_seq: string }>('SELECT last_seq FROM agents WHERE id = $1', [agentId])).rows[0]!.last_seq);
}

describe.skipIf(!pgProbe.available)('postgres ingest retry', () => {
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const c of toClose.splice(0).reverse()) await c.end();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('a real deadlock with another transaction: the flush is tried again once and stored once', async () => {
    // PostgreSQL aborts the transaction whose wait closes the cycle when its deadlock_timeout
    // passes: the flush's (100 ms), not the other one's (60 s).
    const { store, other, attempts } = await open('-c deadlock_timeout=100ms');
    const third = await client();
    const watch = await client();
    await other.query("SET deadlock_timeout = '60s'");
    // The other transaction holds an unstored event of A (its key, seq 1); a third one holds B's row.
    await other.query('BEGIN');
    await other.query("INSERT INTO events (agent_id, seq, kind, at, received_at, payload) VALUES ($1, 1, 'agent.notice', 'x', 'x', '{}')", [AGENT_A]);
    await third.query('BEGIN');
    await third.query('SELECT id FROM agents WHERE id = $1 FOR UPDATE', [AGENT_B]);
    // The flush locks A's row, then waits for B's.
    const flush = store.ingest(
      [
        { agentId: AGENT_A, events: [notice(1), notice(2)] },
        { agentId: AGENT_B, events: [notice(1)] },
      ],
      RECEIVED,
    );
    await waitingForLock(watch, "query LIKE 'SELECT id, last_seq FROM agents%'");
    // The other transaction now waits for A's row, held by the flush.
    const otherLocksA = other.query('SELECT id FROM agents WHERE id = $1 FOR UPDATE', [AGENT_A]);
    await waitingForLock(watch, `pid = ${(other as unknown as { processID: number }).processID}`);
    // The second attempt opens its transaction only once the other one holds A: were it first to
    // A's row, it would wait for A's seq 1 again while the other waits for A, a second deadlock.
    const retryMayStart = holdNextTransaction(store);
    // B is released: the flush goes on to write A's seq 1, which waits for the other transaction: a cycle.
    await third.query('COMMIT');
    // Granted once the flush's first attempt has rolled back (it held A).
    await otherLocksA;
    retryMayStart();
    await other.query('ROLLBACK');
    const outcome = await flush;
    expect(outcome.rejected.size).toBe(0);
    expect([...outcome.stored]).toEqual([
      [AGENT_A, 2],
      [AGENT_B, 1],
    ]);
    expect(attempts()).toBe(2);
    expect(await storedSeqs(watch, AGENT_A)).toEqual([1, 2]);
    expect(await storedSeqs(watch, AGENT_B)).toEqual([1]);
    expect(await lastSeq(watch, AGENT_A)).toBe(2);
    expect(await lastSeq(watch, AGENT_B)).toBe(1);
    const payload = (await watch.query<{ payload: string }>('SELECT payload FROM events WHERE agent_id = $1 AND seq = 1', [AGENT_A])).rows[0]!.payload;
    expect(JSON.parse(payload)).toEqual(notice(1));
  });

  it('a real serialization failure (SERIALIZABLE, the row updated by a transaction that commits while the flush waits): tried again, stored once', async () => {
    const { store, other, attempts } = await open('-c default_transaction_isolation=serializable');
    const watch = await client();
    await other.query('BEGIN');
    await other.query("UPDATE agents SET hostname = 'renamed' WHERE id = $1", [AGENT_A]);
    const flush = store.ingest([{ agentId: AGENT_A, events: [notice(1), notice(2), notice(3)] }], RECEIVED);
    await waitingForLock(watch, "query LIKE 'SELECT id, last_seq FROM agents%'");
    await other.query('COMMIT');
    const outcome = await flush;
    expect(outcome.stored.get(AGENT_A)).toBe(3);
    expect(attempts()).toBe(2);
    expect(await storedSeqs(other, AGENT_A)).toEqual([1, 2, 3]);
    expect(await lastSeq(other, AGENT_A)).toBe(3);
    expect((await other.query('SELECT hostname FROM agents WHERE id = $1', [AGENT_A])).rows[0]!.hostname).toBe('renamed');
  });

  it('two deadlocks in a row: the third and last attempt stores the flush, once', async () => {
    const { store, other, attempts } = await open();
    const reached = await refuseInserts(other, '40P01', 2);
    const outcome = await store.ingest([{ agentId: AGENT_A, events: [notice(1), notice(2)] }], RECEIVED);
    expect(outcome.stored.get(AGENT_A)).toBe(2);
    expect(await reached()).toBe(3);
    expect(attempts()).toBe(3);
    expect(await storedSeqs(other, AGENT_A)).toEqual([1, 2]);
    expect(await lastSeq(other, AGENT_A)).toBe(2);
  });

  it('serialization failures at every attempt: gives up after 3 with IngestConflictError, nothing stored', async () => {
    const { store, other, attempts } = await open();
    const reached = await refuseInserts(other, '40001', 1000);
    const err = await failureOf<IngestConflictError>(store.ingest([{ agentId: AGENT_A, events: [notice(1)] }], RECEIVED));
    expect(err).toBeInstanceOf(IngestConflictError);
    expect(err.code).toBe('INGEST_CONFLICT');
    expect(err.attempts).toBe(3);
    expect((err.cause as { code?: string }).code).toBe('40001');
    expect(err.message).toContain('40001');
    expect(await reached()).toBe(3);
    expect(attempts()).toBe(3);
    expect(await storedSeqs(other, AGENT_A)).toEqual([]);
    expect(await lastSeq(other, AGENT_A)).toBe(0);
    // The store is usable afterwards: its connections were given back.
    await other.query('DROP TRIGGER refuse_ingest ON events');
    expect((await store.ingest([{ agentId: AGENT_A, events: [notice(1)] }], RECEIVED)).stored.get(AGENT_A)).toBe(1);
  });

  it('deadlocks at every attempt: IngestConflictError after 3, with the deadlock as its cause', async () => {
    const { store, other } = await open();
    const reached = await refuseInserts(other, '40P01', 1000);
    const err = await failureOf<IngestConflictError>(store.ingest([{ agentId: AGENT_A, events: [notice(1)] }], RECEIVED));
    expect(err).toBeInstanceOf(IngestConflictError);
    expect(err.attempts).toBe(3);
    expect((err.cause as { code?: string }).code).toBe('40P01');
    expect(await reached()).toBe(3);
  });

  it('any other error fails the flush at once, as PostgreSQL reported it, without a second attempt', async () => {
    const { store, other, attempts } = await open();
    const reached = await refuseInserts(other, '23514', 1);
    const err = await failureOf<Error & { code?: string }>(store.ingest([{ agentId: AGENT_A, events: [notice(1)] }], RECEIVED));
    expect(err).not.toBeInstanceOf(IngestConflictError);
    expect(err.code).toBe('23514');
    expect(err.message).toBe('refused by the test');
    expect(await reached()).toBe(1);
    expect(attempts()).toBe(1);
    expect(await storedSeqs(other, AGENT_A)).toEqual([]);
    // The next flush (the agent's resend) is stored.
    expect((await store.ingest([{ agentId: AGENT_A, events: [notice(1)] }], RECEIVED)).stored.get(AGENT_A)).toBe(1);
    expect(await reached()).toBe(2);
  });

  it("the largest policy version a frame may carry fits agents.policy_version; one past it would fail every agent's batch of the flush", async () => {
    const { store, other } = await open();
    const applied = (version: number): AgentEvent => ({ seq: 1, at: notice(1).at, kind: 'policy.applied', version });
    // Why the protocol refuses a larger version (messages.ts LIMITS.maxPolicyVersion): B's events go down with A's number.
    const err = await failureOf<Error & { code?: string }>(store.ingest([{ agentId: AGENT_A, events: [applied(LIMITS.maxPolicyVersion + 1)] }, { agentId: AGENT_B, events: [notice(1)] }], RECEIVED));
    expect(err.code).toBe('22003');
    expect(await storedSeqs(other, AGENT_B)).toEqual([]);
    await store.ingest([{ agentId: AGENT_A, events: [applied(LIMITS.maxPolicyVersion)] }, { agentId: AGENT_B, events: [notice(1)] }], RECEIVED);
    expect(Number((await other.query<{ policy_version: string }>('SELECT policy_version FROM agents WHERE id = $1', [AGENT_A])).rows[0]!.policy_version)).toBe(LIMITS.maxPolicyVersion);
    expect(await storedSeqs(other, AGENT_B)).toEqual([1]);
  });

  it("stores the agent's own text of each event when the gateway kept it, and serialises the events it has no text for", async () => {
    const { store, other } = await open();
    // The agent's text, with its own key order and spacing: stored as it came, not serialised again.
    const own = (seq: number) => `{"kind": "agent.notice", "seq": ${seq}, "at": "${notice(seq).at}", "notice": "test", "detail": {"seq": ${seq}}}`;
    await store.ingest([{ agentId: AGENT_A, events: [notice(1), notice(2)], texts: [own(1), own(2)] }, { agentId: AGENT_B, events: [notice(1)] }], RECEIVED);
    const payloads = async (agentId: string) => (await other.query<{ payload: string }>('SELECT payload FROM events WHERE agent_id = $1 ORDER BY seq', [agentId])).rows.map((r) => r.payload);
    expect(await payloads(AGENT_A)).toEqual([own(1), own(2)]);
    expect(await payloads(AGENT_B)).toEqual([JSON.stringify(notice(1))]);
    // A resend of 2–3 with texts: 2 is stored already and stays as it was; 3 is stored with its text.
    await store.ingest([{ agentId: AGENT_A, events: [notice(2), notice(3)], texts: [own(2).replace('test', 'changed'), own(3)] }], RECEIVED);
    expect(await payloads(AGENT_A)).toEqual([own(1), own(2), own(3)]);
  });

  it('an agent id with quotes, backslashes or commas is locked and stored as its own text (the ids go to PostgreSQL as one array parameter)', async () => {
    const { store, other } = await open();
    // No enrolled agent has such an id (the protocol allows ag_ and [0-9a-z]); the store must not depend on it.
    const odd = ["ag_o'brien", 'ag_"quoted"', 'ag_back\\slash', 'ag_a,b}{'];
    for (const id of odd) await store.createAgent({ id, secret: 'f'.repeat(64), hostname: 'pc', os: { platform: 'linux', hostname: 'pc', release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-11-24T00:00:00.000Z', tokenId: 'tok' });
    const outcome = await store.ingest([...odd.map((agentId) => ({ agentId, events: [notice(1), notice(2)] })), { agentId: AGENT_A, events: [notice(1)] }], RECEIVED);
    expect(outcome.rejected.size).toBe(0);
    expect(Object.fromEntries(outcome.stored)).toEqual({ ...Object.fromEntries(odd.map((id) => [id, 2])), [AGENT_A]: 1 });
    for (const id of odd) {
      expect(await storedSeqs(other, id)).toEqual([1, 2]);
      expect(await lastSeq(other, id)).toBe(2);
    }
    // An id that only looks like one of them is a different agent, unknown here.
    expect((await store.ingest([{ agentId: 'ag_o', events: [notice(1)] }], RECEIVED)).rejected.has('ag_o')).toBe(true);
  });
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('postgres ingest retry: postgres required', () => {
  it('PostgreSQL is reachable (MAMORI_REQUIRE_PG=1)', () => {
    throw new Error(`${pgProbe.reason} — MAMORI_REQUIRE_PG=1 requires PostgreSQL at ${PG_URL}`);
  });
});
