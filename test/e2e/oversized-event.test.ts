/**
 * No event can wedge an agent (real collector and agent processes):
 *
 *  - A replayed Linux PC whose USB stick reports a 9,020-character serial: the agent cuts the
 *    violation's subject to the protocol limit with a marker before it enters the outbox, so
 *    USB-001 arrives and everything else from that PC keeps arriving.
 *  - An outbox that already holds an event the collector refuses (written by an agent without
 *    that check, e.g. before an upgrade): the agent isolates it, sets it aside in
 *    deadletter.jsonl with the collector's reason, covers its seq with a gap record, reports
 *    AGENT-007, and the events after it arrive.
 *
 * The recording is ubuntu2404-gnome-clamav (hand-written in the shape of Ubuntu 24.04 sysfs,
 * see its meta.json) with usb.3-2.serial.out replaced by 9,020 characters: the USB descriptor
 * string a device reports is what the kernel shows in sysfs `serial`, and a device under a
 * local user's control can report any string.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../agent/outbox/outbox.js';
import { CLI, ROOT, createToken, startCollectorProc, startProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc, Proc } from '../helpers/processes.js';

const SOURCE = join(ROOT, 'test/fixtures/replay/linux/ubuntu2404-gnome-clamav');
const SERIAL = 'A'.repeat(20) + 'シリアル'.repeat(2) + 'Z'.repeat(9020 - 28);

let collector: CollectorProc;
let agent: Proc | undefined;
let db: Database.Database;
let stateDir: string;
let recording: string;
let agentId: string;

async function waitUntil<T>(fn: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const startAgent = (extra: string[] = []) => startProc('agent', [CLI, 'agent', 'run', '--collector', collector.agentUrl, '--state', stateDir, '--replay', recording, '--ca-pin', collector.caPin!, ...extra]);

interface EventRow {
  seq: number;
  kind: string;
  payload: string;
}
const events = (): EventRow[] => db.prepare('SELECT seq, kind, payload FROM events WHERE agent_id = ? ORDER BY seq').all(agentId) as EventRow[];
const violations = (ruleId: string) => db.prepare('SELECT subject, state, facts_json, reason FROM violations WHERE agent_id = ? AND rule_id = ?').all(agentId, ruleId) as { subject: string; state: string; facts_json: string; reason: string }[];

beforeAll(async () => {
  recording = join(tempDir('oversized-pc'), 'pc');
  cpSync(SOURCE, recording, { recursive: true });
  expect(SERIAL.length).toBe(9020);
  writeFileSync(join(recording, 'usb.3-2.serial.out'), `${SERIAL}\n`);
  collector = await startCollectorProc(tempDir('oversized-collector'));
  db = new Database(join(collector.dataDir, 'mamori.db'), { readonly: true, fileMustExist: true });
  stateDir = join(tempDir('oversized-agent'), 'state');
  agent = startAgent(['--enroll', await createToken(collector.dataDir, ['--segment', 'lgwan'])]);
  agentId = await waitUntil(() => (db.prepare('SELECT id FROM agents').get() as { id: string } | undefined)?.id, 30_000, 'the agent to enroll');
});

afterAll(async () => {
  await agent?.stop();
  db?.close();
  await collector?.stop();
});

describe('an event from a PC can never wedge its agent', () => {
  it('cuts a 9,020-character USB serial to the limit with a marker; the violation and every other check arrive', async () => {
    const usb = await waitUntil(() => violations('USB-001')[0], 60_000, 'USB-001 from the PC with the long serial');
    const fingerprint = `0951:1666:${SERIAL}`;
    expect(usb.subject.length).toBe(256);
    expect(usb.subject.startsWith('0951:1666:AAAAAAAAAAAAAAAAAAAAシリアルシリアル')).toBe(true);
    expect(usb.subject.endsWith(`…(切り詰め: ${fingerprint.length}文字)`)).toBe(true);
    // The other checks of the same evaluation are stored too: nothing is held back.
    await waitUntil(() => new Set(events().filter((e) => e.kind === 'facts').map((e) => JSON.parse(e.payload).checkId)).size >= 5, 60_000, 'facts of every check');
    // Cut before the outbox, so nothing had to be set aside.
    expect(events().some((e) => e.kind === 'gap')).toBe(false);
    expect(violations('AGENT-007')).toEqual([]);
  });

  it('sets aside an event the collector refuses, reports AGENT-007, and delivers what comes after it', async () => {
    await agent!.stop();
    agent = undefined;
    // What an agent without the pre-outbox check wrote: a violation whose subject is over the limit, then an ordinary notice.
    const outbox = Outbox.open(join(stateDir, 'outbox'));
    const [bad, after] = outbox.append([
      { at: new Date().toISOString(), kind: 'violation.opened', policyVersion: 0, violation: { checkId: 'usb-media', ruleId: 'USB-001', subject: `0951:1666:${SERIAL}`, result: 'fail', severity: 'high', title: { ja: '未登録媒体', en: 'Unregistered medium' }, message: { ja: '未登録媒体', en: 'Unregistered medium' }, reason: 'not in ledger', clauses: [], facts: {} } },
      { at: new Date().toISOString(), kind: 'agent.notice', notice: 'after-refused', detail: {} },
    ]);
    outbox.close();
    agent = startAgent();

    await waitUntil(() => events().some((e) => e.seq === after!.seq), 90_000, 'the event after the refused one');
    const gap = events().find((e) => e.seq === bad!.seq)!;
    expect(gap.kind).toBe('gap');
    expect(JSON.parse(gap.payload).reason).toContain('収集サーバーが受け付けないイベント (violation.opened) を隔離しました');

    const file = join(stateDir, 'deadletter.jsonl');
    expect(existsSync(file)).toBe(true);
    const letters = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ seq: bad!.seq, kind: 'violation.opened', closeCode: 4422 });
    expect(letters[0].reason).toContain('subject');
    expect(JSON.parse(letters[0].event).violation.subject.length).toBe(9030);

    const reported = await waitUntil(() => violations('AGENT-007')[0], 30_000, 'AGENT-007');
    expect(reported).toMatchObject({ subject: `deadletter:${bad!.seq}`, state: 'open' });
    expect(JSON.parse(reported.facts_json)).toMatchObject({ seq: bad!.seq, kind: 'violation.opened', closeCode: 4422 });
  });
});
