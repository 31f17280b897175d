/**
 * (Not named sqlite-writer: the store's writer thread is dist/sqlite-writer.mjs, looked for beside
 * the running script first.)
 *
 * The SQLite writer's side of durable ingest, alone: what the collector's writer thread does
 * with each group commit (SqliteConnectionStore.ingestTexts: the events as JSON text, parsed,
 * stored, projected into the violations table, committed with fsync), without sockets.
 *
 * Agents send the ingest bench's frames (5 `violation.opened` events each, over 8 subjects per
 * agent, so most violations are re-opened); a group commit takes frames of consecutive agents
 * until it holds `--flush` events, as the gateway's IngestQueue does. Several group-commit
 * sizes run one after another on fresh databases, so the size can be chosen by measurement.
 *
 * Figures: events/s of the writer alone and CPU time per event of this (the writer's) thread
 * and the checkpointer's (process CPU), for the events that insert each violation (every subject's first report) and for those that
 * refresh an open one (the rest: the steady state of the ingest bench).
 * `--no-heads` sends the texts alone, as before the collector sent each opening's head (the
 * writer then parses every event).
 * `--drop-triggers=open_violation_counts,violation_days,…` drops the triggers whose names start
 * with one of these before the run, to measure what the console's kept counts cost the writer.
 * Baseline in the same run: better-sqlite3 inserting the same rows into the same events table
 * in transactions of the same size (no parsing, no projection, no sequence bookkeeping).
 */
import { join } from 'node:path';
import { startCheckpointer } from '../src/collector/store/sqlite/checkpointer.js';
import { SqliteConnectionStore } from '../src/collector/store/sqlite/connection-store.js';
import { writerThreadFile } from '../src/collector/store/sqlite/sqlite-store.js';
import { openingHead } from '../src/collector/store/sqlite/writer-protocol.js';
import type { IngestTextBatch, OpeningHead } from '../src/collector/store/sqlite/writer-protocol.js';
import type { AgentEvent } from '../src/shared/protocol/messages.js';
import { benchAgentId, benchMain, flagArg, fmt, machine, numArg, textArg } from './lib/common.js';
import { eventJson, violationBodies, SUBJECTS_PER_AGENT } from './lib/event-shape.js';
import { rawSqliteInsert } from './lib/store-setup.js';

const AGENTS = numArg('agents', 10_000);
const EVENTS = numArg('events', 200_000);
const EVENTS_PER_FRAME = numArg('events-per-frame', 5);
/** Prefixes of trigger names dropped after the migrations (measuring their share; never in the product). */
const DROPPED_TRIGGERS = (textArg('drop-triggers') ?? '').split(',').filter(Boolean);
/**
 * Given: no checkpointer thread, the writer's connection checkpoints every so many WAL pages
 * (1000: SQLite's default, as before the checkpointer). Not given: as shipped, the checkpointer
 * thread beside the writer (checkpointer.ts).
 */
const WAL_AUTOCHECKPOINT = textArg('wal-autocheckpoint');
const FLUSHES = (textArg('flush') ?? '1000,5000,20000').split(',').map(Number);
/** The texts alone, without the openings' heads: every event parsed by the writer, as before the heads. */
const NO_HEADS = flagArg('no-heads');

/** One phase of a run: events, wall ms and CPU ms of this thread. */
interface Phase {
  events: number;
  wallMs: number;
  cpuMs: number;
}

interface Run {
  flush: number;
  /** Until every subject of every agent was reported once (violations inserted), then the rest (open violations reported again). */
  first: Phase;
  again: Phase;
}

const perSecond = (p: Phase) => (p.events / p.wallMs) * 1000;
const cpuUs = (p: Phase) => (p.cpuMs * 1000) / p.events;

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function writerRun(file: string, flush: number): Promise<Run> {
  const store = new SqliteConnectionStore(file);
  await store.migrate();
  if (WAL_AUTOCHECKPOINT) store.exec(`PRAGMA wal_autocheckpoint = ${Number(WAL_AUTOCHECKPOINT)}`);
  else store.useCheckpoints(startCheckpointer(file, writerThreadFile()));
  const triggers = await store.sql.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'trigger'");
  for (const { name } of triggers) if (DROPPED_TRIGGERS.some((p) => name.startsWith(p))) store.exec(`DROP TRIGGER ${name}`);
  const now = new Date().toISOString();
  const ids = Array.from({ length: AGENTS }, (_, i) => benchAgentId(i));
  await store.sql.transaction(async () => {
    for (const id of ids) await store.createAgent({ id, secret: '', hostname: id, os: { platform: 'windows', hostname: id, release: '10' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: now, tokenId: 'bench' });
  });
  const bodies = violationBodies();
  const sent = new Array<number>(AGENTS).fill(0);
  let agent = 0;
  const first: Phase = { events: 0, wallMs: 0, cpuMs: 0 };
  const again: Phase = { events: 0, wallMs: 0, cpuMs: 0 };
  const firstEvents = AGENTS * SUBJECTS_PER_AGENT;
  for (let done = 0; done < EVENTS; ) {
    // A commit does not straddle the two phases.
    const phase = done < firstEvents ? first : again;
    const end = Math.min(EVENTS, done < firstEvents ? firstEvents : EVENTS, done + flush);
    // The frames of one group commit (made before the clock starts: the sockets' thread makes
    // them, with each opening's head, writer-protocol.ts, unless --no-heads).
    const batches: IngestTextBatch[] = [];
    const at = new Date().toISOString();
    for (; done < end; done += EVENTS_PER_FRAME) {
      const events: string[] = [];
      const heads: OpeningHead[] = [];
      for (let k = 0; k < EVENTS_PER_FRAME; k++) {
        const seq = ++sent[agent]!;
        const text = eventJson(seq, at, bodies[seq % SUBJECTS_PER_AGENT]!);
        events.push(text);
        heads.push(openingHead(JSON.parse(text) as AgentEvent, text)!);
      }
      batches.push({ agentId: ids[agent]!, events, ...(NO_HEADS ? {} : { heads }) });
      agent = (agent + 1) % AGENTS;
    }
    const c0 = cpuMs();
    const t0 = performance.now();
    const reply = await store.ingestTexts(batches, at);
    phase.wallMs += performance.now() - t0;
    phase.cpuMs += cpuMs() - c0;
    if (reply.rejected.length) throw new Error(`refused: ${JSON.stringify(reply.rejected[0])}`);
    phase.events += batches.reduce((s, b) => s + b.events.length, 0);
  }
  const stored = first.events + again.events;
  const rows = await store.countEvents();
  await store.close();
  if (rows !== stored) throw new Error(`stored ${rows} rows for ${stored} events`);
  return { flush, first, again };
}

await benchMain('sqlite-ingest-writer', import.meta.url, 10 * 60_000, async (scratch) => {
  const runs: Run[] = [];
  const raw: { flush: number; rowsPerSecond: number; cpuUsPerRow: number }[] = [];
  for (const flush of FLUSHES) {
    runs.push(await writerRun(join(scratch, `writer-${flush}.db`), flush));
    const { rowsPerSecond, cpuUsPerRow } = rawSqliteInsert(join(scratch, `raw-${flush}.db`), EVENTS, flush, AGENTS);
    raw.push({ flush, rowsPerSecond, cpuUsPerRow });
  }
  return {
    rows: runs.flatMap((r, i) =>
      ([['first report of each violation', r.first], ['open violations reported again', r.again]] as const)
        .filter(([, p]) => p.events > 0)
        .map(([what, p]) => ({
          figure: `writer${NO_HEADS ? ' (no heads: every event parsed)' : ''}${WAL_AUTOCHECKPOINT ? ` (wal_autocheckpoint ${WAL_AUTOCHECKPOINT})` : ''}${DROPPED_TRIGGERS.length ? ` without triggers ${DROPPED_TRIGGERS.join('/')}*` : ''}, ${fmt.int(r.flush)} events per commit: ${what} (${fmt.int(p.events)} events)`,
          value: `${fmt.int(perSecond(p))} /s, ${cpuUs(p).toFixed(1)} µs CPU per event`,
          baseline: `raw SQLite same rows ${fmt.int(raw[i]!.rowsPerSecond)} rows/s, ${raw[i]!.cpuUsPerRow.toFixed(1)} µs CPU per row`,
          target: '≥ 40,000 /s',
          met: perSecond(p) >= 40_000,
        })),
    ),
    details: { machine: machine(scratch), heads: !NO_HEADS, droppedTriggers: DROPPED_TRIGGERS, walAutocheckpoint: WAL_AUTOCHECKPOINT ?? null, agents: AGENTS, events: EVENTS, eventsPerFrame: EVENTS_PER_FRAME, runs, raw },
  };
});
