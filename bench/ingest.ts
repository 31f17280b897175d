/**
 * Bench 2 — durable ingest rate with 10,000 connected agents (target ≥ 40,000 events/s).
 *
 * Every agent keeps a window of unacknowledged `events` frames open (closed loop), so the
 * collector runs at its saturation rate. Each agent reports its 8 subjects in turn: its first 8
 * events open violations (80,000 rows inserted with their indexes, trigram index and kept counts
 * for 10,000 agents), every later one reports an open violation again, as agents do after a
 * reconnect, a restart or a re-check. The two phases are measured apart: the first while the
 * violations are opened (from the start of the load until every agent has stored 8 events), the
 * figure after the warm-up once they are all open. The figure is what the collector's bus published —
 * it fires after the group-commit transaction committed — between the first and the last
 * commit of a measured window after a warm-up (commits can be seconds apart under this load,
 * so a plain window count would be quantised); the agents count acks as a cross-check, and at the end the store must hold
 * exactly the acknowledged events (rows = sum of last_seq = sum of acks).
 *
 * The collector runs as shipped, TLS with its own CA (the clients trust that CA only, as agents
 * pin it); `--plain` runs it without TLS for reference.
 *
 * Baselines in the same run: the same clients and frames against a bare ws server that
 * parses and acks (no auth, no validation, no storage), over TLS with the same certificate and plain, and better-sqlite3 inserting the same
 * rows into the same table (the store's migrations) in transactions of 1,000. From these, the
 * ceiling of this machine: the events/s its cores would carry if every core were busy with
 * nothing but raw wss (server and simulated agents) and the raw SQLite insert of each event.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { benchMain, collectorNodeFlags, flagArg, fmt, machine, numArg, sleep, waitFor } from './lib/common.js';
import { rawSqliteInsert, seedAgents } from './lib/store-setup.js';
import { Swarm, endRawPhase, startCollectorWorker, startRawServer } from './lib/swarm.js';
import { eventJson, violationBodies, SUBJECTS_PER_AGENT } from './lib/event-shape.js';

const AGENTS = numArg('agents', 10_000);
const EVENTS_PER_FRAME = numArg('events-per-frame', 5);
const WINDOW = numArg('window', 1);
const WARMUP_MS = numArg('warmup-ms', 5000);
const MEASURE_MS = numArg('measure-ms', 20_000);
const CLIENT_PROCESSES = numArg('client-processes', 2);
const PLAIN = flagArg('plain');

await benchMain('ingest', import.meta.url, 12 * 60_000, async (scratch) => {
  const dataDir = join(scratch, 'data');
  await seedAgents(dataDir, AGENTS);
  const load = { eventsPerFrame: EVENTS_PER_FRAME, window: WINDOW };
  const eventBytes = Buffer.byteLength(eventJson(1, new Date().toISOString(), violationBodies()[0]!));

  // Baselines: raw ws with the same frames, over TLS with the collector's certificate and plain.
  const rawRateOver = async (tls: boolean): Promise<{ rate: number; generatorUsPerEvent: number; serverUsPerEvent: number; cores: number }> => {
    const { raw, url, ca } = await startRawServer(dataDir, tls);
    const clients = Swarm.start(CLIENT_PROCESSES, 'raw-clients');
    await clients.connect(url, 'raw', AGENTS, 256, 120_000, ca);
    const rawEvents = async () => (await raw.call<{ events: number }>('stats')).events;
    await clients.all('startLoad', load);
    await sleep(WARMUP_MS);
    const r0 = await rawEvents();
    const cpu0 = { clients: clients.cpuSeconds(), server: raw.cpuSeconds() };
    const rt0 = performance.now();
    await sleep(MEASURE_MS);
    const events = (await rawEvents()) - r0;
    const secs = (performance.now() - rt0) / 1000;
    const cpu = { clients: clients.cpuSeconds() - cpu0.clients, server: raw.cpuSeconds() - cpu0.server };
    await clients.all('stopLoad');
    await endRawPhase(clients, raw);
    return { rate: events / secs, generatorUsPerEvent: (cpu.clients * 1e6) / events, serverUsPerEvent: (cpu.server * 1e6) / events, cores: (cpu.clients + cpu.server) / secs };
  };
  const rawTls = await rawRateOver(true);
  const rawPlain = await rawRateOver(false);
  const rawTlsRate = rawTls.rate;
  const rawRate = rawPlain.rate;

  // mamori collector, TLS as shipped (--plain for the reference without TLS).
  const { collector, agentUrl, ca } = await startCollectorWorker(dataDir, 0, { plain: PLAIN });
  const swarm = Swarm.start(CLIENT_PROCESSES, 'agents');
  const open = await swarm.connect(agentUrl, 'mamori', AGENTS, 256, 180_000, ca);
  const openingFrom = Date.now();
  await swarm.all('startLoad', load);
  // Opening phase: until every agent that sends has stored one report of each of its subjects (all its violations open).
  await sleep(WARMUP_MS);
  let stored = { started: 0, short: 0 };
  const allOpen = await waitFor(async () => ((stored = await collector.call('agentsStored', { atLeast: SUBJECTS_PER_AGENT })), stored.short === 0), 5 * 60_000, 500);
  const opening = await collector.call<{ rate: number; commits: number; eventsPerCommit: number; msBetweenCommits: number }>('commitRate', { from: openingFrom, to: Date.now() });
  await sleep(WARMUP_MS);
  const a0 = (await swarm.stats()).ackedEvents;
  const cpu0 = await collector.call<{ cpuMs: number; mainThreadMs: number; storedEvents: number }>('cpu');
  const generator0 = swarm.cpuSeconds();
  const t0 = performance.now();
  const from = Date.now();
  let peakMb = 0;
  const sampler = setInterval(() => (peakMb = Math.max(peakMb, collector.rssMb())), 500);
  await sleep(MEASURE_MS);
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = await collector.call<{ cpuMs: number; mainThreadMs: number; storedEvents: number }>('cpu');
  // CPU time per stored event: robust where wall-clock rates are not on a shared machine. The
  // main thread's share bounds the rate when the other threads (the SQLite writer) have a core.
  const cpuUsPerEvent = ((cpu1.cpuMs - cpu0.cpuMs) * 1000) / (cpu1.storedEvents - cpu0.storedEvents);
  const mainUsPerEvent = ((cpu1.mainThreadMs - cpu0.mainThreadMs) * 1000) / (cpu1.storedEvents - cpu0.storedEvents);
  const cpuCores = (cpu1.cpuMs - cpu0.cpuMs) / 1000 / secs;
  // The simulated agents run on the same machine: what they use is not the collector's to use.
  const generatorCpu = swarm.cpuSeconds() - generator0;
  const generatorUsPerEvent = (generatorCpu * 1e6) / (cpu1.storedEvents - cpu0.storedEvents);
  const generatorCores = generatorCpu / secs;
  const commit = await collector.call<{ rate: number; commits: number; eventsPerCommit: number; msBetweenCommits: number }>('commitRate', { from, to: Date.now() });
  const rate = commit.rate;
  const ackRate = ((await swarm.stats()).ackedEvents - a0) / secs;
  clearInterval(sampler);
  await swarm.all('stopLoad');
  // Frames already sent are stored after the load stops: wait for them at the measured rate (twice
  // the time it needs, at least a minute), so a large backlog (--events-per-frame 500) is counted whole.
  const backlog = (await swarm.stats()).unacked;
  const drained = await waitFor(async () => (await swarm.stats()).unacked === 0, Math.max(60_000, (2 * backlog * 1000) / Math.max(rate, 1)));
  const clients = await swarm.stats();
  const acked = await swarm.ackedSum();
  const counted = await collector.call<{ events: number; sumLastSeq: number }>('count', {}, 120_000);
  await swarm.stop();
  await collector.call('close', {}, 60_000);
  await collector.stop();

  // Baseline: raw SQLite, same rows, same table.
  const sqlite1k = rawSqliteInsert(join(scratch, 'raw-1k.db'), 200_000, 1000, AGENTS);
  // What this machine's cores allow any collector: receiving each event over TLS and answering it
  // (raw wss, the server and the simulated agents, which share these cores) and inserting its row
  // (raw SQLite), with every core busy and nothing else done per event.
  const cores = cpus().length;
  const ceiling = (cores * 1e6) / (rawTls.serverUsPerEvent + rawTls.generatorUsPerEvent + sqlite1k.cpuUsPerRow);

  const exact = drained && counted.events === acked && counted.sumLastSeq === acked;
  return {
    rows: [
      { figure: `durable events/s while the ${fmt.int(AGENTS * SUBJECTS_PER_AGENT)} violations are first opened`, value: allOpen ? `${fmt.int(opening.rate)} /s (${opening.commits} commits of ${fmt.int(opening.eventsPerCommit)} events; ${fmt.int(stored.started)} agents)` : `${fmt.int(stored.short)} of ${fmt.int(stored.started)} agents not all opened in 5 min`, baseline: '—', target: '—' },
      { figure: `durable events/s, open violations reported again (${fmt.int(AGENTS)} agents sending, ${PLAIN ? 'plain ws' : 'TLS'})`, value: `${fmt.int(rate)} /s`, baseline: `raw wss ${fmt.int(rawTlsRate)}, raw ws ${fmt.int(rawRate)} events/s; SQLite same table ${fmt.int(sqlite1k.rowsPerSecond)} rows/s (${sqlite1k.cpuUsPerRow.toFixed(1)} µs CPU per row)`, target: '≥ 40,000 /s', met: rate >= 40_000 },
      { figure: `this machine's ceiling: ${cores} cores / CPU per event of raw wss (server + agents) and raw SQLite`, value: `mamori ${((rate / ceiling) * 100).toFixed(0)} % of it`, baseline: `${fmt.int(ceiling)} /s (${rawTls.serverUsPerEvent.toFixed(1)} + ${rawTls.generatorUsPerEvent.toFixed(1)} + ${sqlite1k.cpuUsPerRow.toFixed(1)} µs)`, target: '—' },
      { figure: 'collector CPU time per stored event: all threads / main thread', value: `${cpuUsPerEvent.toFixed(1)} / ${mainUsPerEvent.toFixed(1)} µs (${cpuCores.toFixed(2)} cores busy)`, baseline: '—', target: '—' },
      { figure: 'the machine: cores busy, collector + simulated agents (load generator)', value: `${cpuCores.toFixed(2)} + ${generatorCores.toFixed(2)} of ${cores}`, baseline: `raw wss: server + clients ${rawTls.cores.toFixed(2)} (${rawTls.serverUsPerEvent.toFixed(1)} + ${rawTls.generatorUsPerEvent.toFixed(1)} µs per event)`, target: '—' },
      { figure: 'load generator CPU time per event', value: `${generatorUsPerEvent.toFixed(1)} µs`, baseline: `raw wss ${rawTls.generatorUsPerEvent.toFixed(1)}, raw ws ${rawPlain.generatorUsPerEvent.toFixed(1)} µs`, target: '—' },
      { figure: 'acked events/s seen by the agents (window count)', value: `${fmt.int(ackRate)} /s`, baseline: '—', target: '—' },
      { figure: 'group commits: events each, ms apart', value: `${fmt.int(commit.eventsPerCommit)} events every ${fmt.ms(commit.msBetweenCommits)} (${commit.commits} commits)`, baseline: '—', target: '—' },
      { figure: 'stored = acknowledged, nothing twice', value: `${fmt.int(counted.events)} rows, Σlast_seq ${fmt.int(counted.sumLastSeq)}, acked ${fmt.int(acked)}`, baseline: '—', target: 'equal', met: exact },
      { figure: 'collector peak RSS under load', value: fmt.mb(peakMb), baseline: '—', target: '—' },
    ],
    details: { machine: machine(scratch), collectorNodeFlags: collectorNodeFlags(), agents: AGENTS, opening, cpuUsPerEvent, mainUsPerEvent, cpuCores, generatorUsPerEvent, generatorCores, rawTls, rawPlain, eventBytes, eventsPerFrame: EVENTS_PER_FRAME, window: WINDOW, measureMs: MEASURE_MS, tls: !PLAIN, open, commit, rate, ackRate, rawRate, rawTlsRate, sqlite1k, ceiling, counted, acked, clients },
  };
});
