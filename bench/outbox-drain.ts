/**
 * Bench 3 — offline buffering of 1,000,000 events in the real agent outbox, then the drain
 * to a collector once it is reachable: nothing lost, each delivered once.
 *
 * Phase 1 (offline): the real Outbox (agent/outbox) appends the events in batches of 100
 * (one write + one fsync per batch), as the agent does while no collector is reachable.
 * Phase 2 (drain): the real collector starts in its own process and the real AgentLink
 * (agent/link) connects from this process with the agent's identity, authenticates and
 * streams the journal (500 events per frame, 8 frames in flight). The figure is the time
 * from link.start() until the outbox holds an acknowledgement for the last event; then the
 * store must hold exactly 1,000,000 rows for the agent with last_seq 1,000,000 (the
 * (agent, seq) primary key makes a duplicate impossible, so count = last seq = N means each
 * event once), and the journal must be empty.
 *
 * Baseline in the same run: better-sqlite3 inserting the same 1,000,000 rows into the store's
 * events table in transactions of 1,000.
 */
import { join } from 'node:path';
import { Outbox } from '../agent/outbox/outbox.js';
import { AgentLink } from '../agent/link/link.js';
import { silentLogger } from '../src/shared/log.js';
import { benchAgentId, benchKey, benchMain, fmt, machine, numArg, waitFor } from './lib/common.js';
import { startCollectorWorker } from './lib/swarm.js';
import { rawSqliteInsert, seedAgents } from './lib/store-setup.js';
import { usbViolation, SUBJECTS_PER_AGENT } from './lib/event-shape.js';

const EVENTS = numArg('events', 1_000_000);
const APPEND_BATCH = numArg('append-batch', 100);
/** Default cap of the outbox (agent/outbox/outbox.ts), to say how much of this backlog it would keep. */
const DEFAULT_CAP = 256 * 1024 * 1024;

await benchMain('outbox-drain', import.meta.url, 12 * 60_000, async (scratch) => {
  const dataDir = join(scratch, 'data');
  await seedAgents(dataDir, 1);
  const agentId = benchAgentId(0);

  const sqlite = rawSqliteInsert(join(scratch, 'raw.db'), EVENTS, 1000, 1);

  // Phase 1: offline, into the journal.
  const outbox = Outbox.open(join(scratch, 'outbox'), { capBytes: 4 * 1024 * 1024 * 1024 });
  const t0 = performance.now();
  const at = new Date().toISOString();
  const batch = Array.from({ length: APPEND_BATCH }, (_, k) => usbViolation(k % SUBJECTS_PER_AGENT, at));
  for (let n = 0; n < EVENTS; n += APPEND_BATCH) outbox.append(batch.slice(0, Math.min(APPEND_BATCH, EVENTS - n)));
  const appendMs = performance.now() - t0;
  const journalBytes = outbox.diskBytes();
  const depthOffline = outbox.depth;

  // Phase 2: the collector becomes reachable.
  const { collector, agentUrl } = await startCollectorWorker(dataDir);
  const closes: string[] = [];
  const link = new AgentLink({
    url: agentUrl,
    // Seeded with its public key (bench/lib/store-setup.ts), as an enrolled agent.
    identity: { agentId, secret: '', privateKey: benchKey(agentId).privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64') },
    outbox,
    os: { platform: 'linux', hostname: 'PC-00000', release: '6.1.0' },
    agentVersion: '0.1.0',
    policyVersion: () => 3,
    log: silentLogger(),
  });
  link.on('closed', (code, reason) => closes.push(`${code} ${reason}`));
  let peakAgentMb = 0;
  let peakCollectorMb = 0;
  const sampler = setInterval(() => {
    peakAgentMb = Math.max(peakAgentMb, process.memoryUsage().rss / 1e6);
    peakCollectorMb = Math.max(peakCollectorMb, collector.rssMb());
  }, 500);
  const d0 = performance.now();
  link.start();
  const drained = await waitFor(() => outbox.acked >= EVENTS, 9 * 60_000, 50);
  const drainMs = performance.now() - d0;
  const closesDuringDrain = [...closes];
  clearInterval(sampler);
  await link.stop();
  outbox.flushAck();
  const leftBytes = outbox.diskBytes();
  outbox.close();
  const counted = await collector.call<{ events: number; sumLastSeq: number }>('count', {}, 120_000);
  await collector.call('close', {}, 60_000);
  await collector.stop();

  const exact = drained && counted.events === EVENTS && counted.sumLastSeq === EVENTS && depthOffline === EVENTS;
  const perEvent = journalBytes / EVENTS;
  return {
    rows: [
      { figure: `events buffered offline in the outbox`, value: `${fmt.int(depthOffline)} in ${fmt.s(appendMs)} (${fmt.int((EVENTS / appendMs) * 1000)} /s, ${fmt.mb(journalBytes / 1e6)} on disk)`, baseline: '—', target: '≥ 1,000,000', met: depthOffline >= 1_000_000 },
      { figure: 'drain to the collector (all acked)', value: `${fmt.s(drainMs)} (${fmt.int((EVENTS / drainMs) * 1000)} events/s)`, baseline: `SQLite insert of the same rows: ${fmt.s(sqlite.ms)} (${fmt.int(sqlite.rowsPerSecond)} rows/s)`, target: '—' },
      { figure: 'stored once, nothing lost', value: `${fmt.int(counted.events)} rows, last_seq ${fmt.int(counted.sumLastSeq)}, journal left ${leftBytes} B`, baseline: '—', target: `${fmt.int(EVENTS)} = ${fmt.int(EVENTS)}`, met: exact && leftBytes === 0 },
      { figure: 'connection closes during the drain', value: closesDuringDrain.length ? `${closesDuringDrain.length}: ${closesDuringDrain.slice(0, 3).join('; ')}` : '0', baseline: '—', target: '0', met: closesDuringDrain.length === 0 },
      { figure: 'peak RSS agent / collector', value: `${fmt.mb(peakAgentMb)} / ${fmt.mb(peakCollectorMb)}`, baseline: '—', target: '—' },
    ],
    details: {
      machine: machine(scratch),
      events: EVENTS,
      appendBatch: APPEND_BATCH,
      appendMs,
      journalBytes,
      bytesPerEvent: perEvent,
      eventsThatFitDefaultCap: Math.floor(DEFAULT_CAP / perEvent),
      drainMs,
      sqlite,
      counted,
      closes: closesDuringDrain,
      peakAgentMb,
      peakCollectorMb,
    },
  };
});
