/**
 * A 確認 or comment made in the console of one collector node reaches a console watching on
 * another node of the same PostgreSQL database (the nodes tell each other through
 * LISTEN/NOTIFY, as they do for events), once on each node. Two real `mamori collector --db`
 * processes with TLS on as shipped; the watcher is a WebSocket client of node B's live stream,
 * logged in as a console user; the note is posted through node A's API.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCity } from '../../bench/lib/city.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { PG_REQUIRED, PG_URL, createTestDatabase, probePg } from './pg-env.js';
import type { TestDatabase } from './pg-env.js';
import { ConsoleSession, buildPrograms, freePort, makeClusterTls, spawnCliNode, untilListening } from './harness.js';
import type { Child, ClusterTls, NodeChild } from './harness.js';

const pgProbe = await probePg('notes across collector nodes');


/** The live stream of one node as a console tab sees it: every message, and a way to wait for one. */
class Watcher {
  readonly messages: Record<string, unknown>[] = [];
  private waiters: { test: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  readonly ws: WebSocket;
  readonly ready: Promise<void>;

  constructor(port: number, session: ConsoleSession, ca: string) {
    this.ws = new WebSocket(`wss://127.0.0.1:${port}/api/v1/stream`, { ca, headers: { cookie: session.cookie } });
    this.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Record<string, unknown>;
      this.messages.push(m);
      for (const w of [...this.waiters]) if (w.test(m)) ((this.waiters = this.waiters.filter((x) => x !== w)), w.resolve(m));
    });
    this.ready = this.next((m) => m.type === 'hello', 'hello').then(() => undefined);
  }

  next(test: (m: Record<string, unknown>) => boolean, what: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const seen = this.messages.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`)), timeoutMs);
      this.waiters.push({ test, resolve: (m) => (clearTimeout(timer), res(m)) });
    });
  }
}

describe.skipIf(!pgProbe.available)('notes on violations across collector nodes', { timeout: 240_000 }, () => {
  let programs: Awaited<ReturnType<typeof buildPrograms>>;
  let tls: ClusterTls;
  let database: TestDatabase;
  const nodes: (NodeChild & { data: string })[] = [];
  const watchers: Watcher[] = [];

  beforeAll(async () => {
    programs = await buildPrograms();
    const cli = await programs.buildCli();
    tls = await makeClusterTls();
    database = await createTestDatabase();
    for (const name of ['A', 'B']) {
      const node = spawnCliNode(cli, database.url, name, await freePort(), tls);
      nodes.push(node);
      await untilListening(node);
    }
  });
  afterAll(async () => {
    for (const w of watchers) w.ws.close();
    await Promise.all(nodes.map((n: Child) => n.stop()));
    await database?.drop();
    programs?.remove();
    for (const d of [tls?.dir, ...nodes.map((n) => n.data)]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('a comment and a 確認 made on node A appear in the live stream of node B, and once on A', async () => {
    const [a, b] = nodes as [NodeChild & { data: string }, NodeChild & { data: string }];
    // One PC with an open violation, stored in the shared database.
    const store = await openPostgresStore(database.url, { maxConnections: 2 });
    const city = await seedCity(store, { pcs: 1, perPc: 1 });
    const v = (await store.listViolations({ agentId: city.pcs[0]!.id }))[0]!;
    await store.close();
    const key = { agentId: v.agentId, ruleId: v.ruleId, subject: v.subject };

    const holder = [a, b].find((n) => existsSync(join(n.data, 'console-initial-admin.txt')))!;
    const initial = /password: (\S+)/.exec(readFileSync(join(holder.data, 'console-initial-admin.txt'), 'utf8'))![1]!;
    const onA = new ConsoleSession(`https://127.0.0.1:${a.port}`, tls.caPem);
    await onA.login('admin', initial);
    expect((await onA.call('POST', '/api/v1/session/password', { current: initial, next: 'Kushiro-Nodes-2026!' })).status).toBe(200);
    await onA.login('admin', 'Kushiro-Nodes-2026!');
    const onB = new ConsoleSession(`https://127.0.0.1:${b.port}`, tls.caPem);
    await onB.login('admin', 'Kushiro-Nodes-2026!');

    const watchB = new Watcher(b.port, onB, tls.caPem);
    const watchA = new Watcher(a.port, onA, tls.caPem);
    watchers.push(watchA, watchB);
    await Promise.all([watchA.ready, watchB.ready]);

    const comment = '税務課に確認済み。来週交換予定です';
    expect((await onA.call('POST', '/api/v1/violations/comment', { ...key, comment })).status).toBe(200);
    const seen = await watchB.next((m) => m.type === 'violation.noted' && m.kind === 'comment', 'the comment on node B');
    expect(seen).toMatchObject({ type: 'violation.noted', kind: 'comment', author: 'admin', text: comment });
    expect(String(seen.key)).toContain(v.ruleId);

    expect((await onA.call('POST', '/api/v1/violations/ack', key)).status).toBe(200);
    expect(await watchB.next((m) => m.type === 'violation.noted' && m.kind === 'ack', 'the 確認 on node B')).toMatchObject({ kind: 'ack', author: 'admin' });
    await watchA.next((m) => m.type === 'violation.noted' && m.kind === 'ack', 'the 確認 on node A');

    // Each node's consoles got each note once: node A did not take back its own notice.
    const notes = (w: Watcher) => w.messages.filter((m) => m.type === 'violation.noted').map((m) => m.kind);
    expect(notes(watchB)).toEqual(['comment', 'ack']);
    expect(notes(watchA)).toEqual(['comment', 'ack']);
    // And node B's list shows the note too (it is in the shared database).
    const listed = await onB.call('GET', `/api/v1/violations/notes?agentId=${encodeURIComponent(key.agentId)}&ruleId=${encodeURIComponent(key.ruleId)}&subject=${encodeURIComponent(key.subject)}`);
    expect(listed.json.notes.map((n: { kind: string }) => n.kind)).toEqual(['comment', 'ack']);
  });
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('notes across collector nodes: PostgreSQL required', () => {
  it('PostgreSQL is reachable (MAMORI_REQUIRE_PG=1)', () => {
    throw new Error(`${pgProbe.reason} — MAMORI_REQUIRE_PG=1 requires PostgreSQL at ${PG_URL}`);
  });
});
