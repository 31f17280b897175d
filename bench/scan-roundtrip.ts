/**
 * Bench 5 — helpdesk scan round trip with 10,000 agents connected (target p99 ≤ 2 s).
 *
 * Time from the collector's requestScan() (stores the request, sends scan.request to the
 * agent) until the agent's scan.result event is stored (the bus fires after the ingest
 * commit, when the scan request is marked done). The simulated agents answer at once, so
 * this is the collector's share of the round trip; a real agent adds its own check time.
 *
 * Three loads: one scan at a time (a helpdesk operator), a group of 1,000 PCs at once
 * (`mamori scan --group`), and one scan at a time while every agent also sends one event
 * every 5 s (2,000 events/s of background ingest, one event per frame).
 * Baseline in the same run: the same agents on a bare ws server that sends the request and
 * times the answer (no storage).
 */
import { join } from 'node:path';
import { benchAgentId, benchMain, flagArg, fmt, machine, numArg, sleep, summarise } from './lib/common.js';
import { seedAgents } from './lib/store-setup.js';
import { Swarm, endRawPhase, startCollectorWorker, startRawServer } from './lib/swarm.js';

const PLAIN = flagArg('plain');
const AGENTS = numArg('agents', 10_000);
const SINGLE = numArg('single', 300);
const GROUP = numArg('group', 1000);
const CLIENT_PROCESSES = numArg('client-processes', 2);
const LOADED = numArg('loaded', 100);
/** Every agent sends one event every 5 s: 2,000 events/s from 10,000 agents. */
const BACKGROUND = { eventsPerFrame: 1, window: 4, intervalMs: numArg('background-interval-ms', 5000) };

/** `n` distinct random agent ids. */
function pick(n: number): string[] {
  const chosen = new Set<number>();
  while (chosen.size < Math.min(n, AGENTS)) chosen.add(Math.floor(Math.random() * AGENTS));
  return [...chosen].map(benchAgentId);
}

const show = (s: ReturnType<typeof summarise>) => `p50 ${fmt.ms(s.p50)}, p99 ${fmt.ms(s.p99)} (n ${s.n})`;

await benchMain('scan-roundtrip', import.meta.url, 10 * 60_000, async (scratch) => {
  const dataDir = join(scratch, 'data');
  await seedAgents(dataDir, AGENTS);

  // Baselines: raw ws over TLS with the collector's certificate, and plain.
  const rawOver = async (tls: boolean) => {
    const { raw, url, ca } = await startRawServer(dataDir, tls);
    const clients = Swarm.start(CLIENT_PROCESSES, 'raw-clients');
    await clients.connect(url, 'raw', AGENTS, 256, 120_000, ca);
    await sleep(1000);
    const single = summarise(await raw.call<number[]>('scan', { count: SINGLE, concurrency: 1 }));
    const group = summarise(await raw.call<number[]>('scan', { count: GROUP, concurrency: GROUP }));
    await clients.all('startLoad', BACKGROUND);
    await sleep(3000);
    const loaded = summarise(await raw.call<number[]>('scan', { count: LOADED, concurrency: 1 }));
    await clients.all('stopLoad');
    await endRawPhase(clients, raw);
    return { single, group, loaded };
  };
  const rawTls = await rawOver(true);
  const rawPlain = await rawOver(false);

  // mamori collector, TLS as shipped (--plain for the reference without TLS).
  const { collector, agentUrl, ca } = await startCollectorWorker(dataDir, 0, { plain: PLAIN });
  const swarm = Swarm.start(CLIENT_PROCESSES, 'agents');
  const open = await swarm.connect(agentUrl, 'mamori', AGENTS, 256, 180_000, ca);
  await sleep(1000);
  type ScanOut = { latencies: number[]; timedOut: number };
  const scan = (ids: string[], concurrency: number) => collector.call<ScanOut>('scan', { agentIds: ids, concurrency, timeoutMs: 30_000 }, 300_000);
  const single = await scan(pick(SINGLE), 1);
  console.error(`scan-roundtrip: single done, p99 ${summarise(single.latencies).p99.toFixed(0)} ms`);
  const group = await scan(pick(GROUP), GROUP);
  console.error(`scan-roundtrip: group done, p99 ${summarise(group.latencies).p99.toFixed(0)} ms`);
  await swarm.all('startLoad', BACKGROUND);
  await sleep(3000);
  const s0 = (await collector.call<{ storedEvents: number }>('stats')).storedEvents;
  const l0 = performance.now();
  const loaded = await scan(pick(LOADED), 1);
  const backgroundRate = ((await collector.call<{ storedEvents: number }>('stats')).storedEvents - s0 - LOADED) / ((performance.now() - l0) / 1000);
  await swarm.all('stopLoad');
  const counted = await collector.call<{ scansDone: number }>('count', {}, 120_000);
  await swarm.stop();
  await collector.call('close', {}, 60_000);
  await collector.stop();

  const [a, b, c] = [summarise(single.latencies), summarise(group.latencies), summarise(loaded.latencies)];
  const lost = single.timedOut + group.timedOut + loaded.timedOut;
  return {
    rows: [
      { figure: `one scan at a time (${PLAIN ? 'plain ws' : 'TLS'})`, value: show(a), baseline: `raw wss: ${show(rawTls.single)}; raw ws: ${show(rawPlain.single)}`, target: 'p99 ≤ 2,000 ms', met: a.p99 <= 2000 && single.timedOut === 0 },
      { figure: `group of ${fmt.int(GROUP)} at once`, value: show(b), baseline: `raw wss: ${show(rawTls.group)}; raw ws: ${show(rawPlain.group)}`, target: 'p99 ≤ 2,000 ms', met: b.p99 <= 2000 && group.timedOut === 0 },
      { figure: `one at a time, background ${fmt.int(backgroundRate)} events/s`, value: show(c), baseline: `raw wss: ${show(rawTls.loaded)}; raw ws: ${show(rawPlain.loaded)}`, target: 'p99 ≤ 2,000 ms', met: c.p99 <= 2000 && loaded.timedOut === 0 },
      { figure: 'scan requests done in the store / unanswered', value: `${fmt.int(counted.scansDone)} / ${lost}`, baseline: '—', target: `${fmt.int(SINGLE + GROUP + LOADED)} / 0`, met: counted.scansDone === SINGLE + GROUP + LOADED && lost === 0 },
    ],
    details: { machine: machine(scratch), agents: AGENTS, open, single: a, group: b, loaded: c, backgroundRate, tls: !PLAIN, rawTls, rawPlain, timedOut: lost },
  };
});
