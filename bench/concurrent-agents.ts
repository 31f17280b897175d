/**
 * Bench 1 — concurrent agents held by one collector process (target ≥ 15,000).
 *
 * Baseline: a bare ws server holding the same number of connections from the same client
 * processes, with the same 256 handshakes in flight. For mamori every connection completes the
 * real handshake: challenge → hello with HMAC proof → welcome (which reads and updates the
 * agent's row in the store). RSS is read from /proc after the connections were held 3 s; the
 * collector is then watched for 10 s more to show it keeps every connection.
 */
import { join } from 'node:path';
import { Worker, benchMain, fmt, machine, numArg, sleep } from './lib/common.js';
import { seedAgents } from './lib/store-setup.js';
import { Swarm, endRawPhase, startCollectorWorker } from './lib/swarm.js';

const AGENTS = numArg('agents', 15_000);
const CLIENT_PROCESSES = numArg('client-processes', 3);
const INFLIGHT = 256;

await benchMain('concurrent-agents', import.meta.url, 6 * 60_000, async (scratch) => {
  const dataDir = join(scratch, 'data');
  await seedAgents(dataDir, AGENTS);

  // Baseline: raw ws.
  const raw = Worker.start('raw-ws', 'raw-server-worker.mjs');
  const { port: rawPort } = await raw.call<{ port: number }>('listen', { port: 0 });
  await sleep(500);
  const rawIdleMb = raw.rssMb();
  let swarm = Swarm.start(CLIENT_PROCESSES, 'raw-clients');
  const rawOpen = await swarm.connect(`ws://127.0.0.1:${rawPort}/`, 'raw', AGENTS, INFLIGHT, 120_000);
  await sleep(3000);
  const rawHeldMb = raw.rssMb();
  const rawHeld = (await raw.call<{ connections: number }>('stats')).connections;
  await endRawPhase(swarm, raw);

  // mamori collector.
  const { collector, agentUrl } = await startCollectorWorker(dataDir);
  await sleep(500);
  const idleMb = collector.rssMb();
  swarm = Swarm.start(CLIENT_PROCESSES, 'agents');
  const open = await swarm.connect(agentUrl, 'mamori', AGENTS, INFLIGHT, 180_000);
  await sleep(3000);
  const heldMb = collector.rssMb();
  const held = (await collector.call<{ connected: number }>('stats')).connected;
  await sleep(10_000);
  const after = (await collector.call<{ connected: number }>('stats')).connected;
  const clientStats = await swarm.stats();
  const clientMb = swarm.rssMb();
  await swarm.stop();
  await collector.call('close', {}, 60_000);
  collector.kill();

  const perConn = (mb: number, idle: number, n: number) => `${(((mb - idle) * 1e3) / Math.max(1, n)).toFixed(1)} KB/conn`;
  return {
    rows: [
      { figure: 'agents held (authenticated)', value: `${fmt.int(held)} of ${fmt.int(AGENTS)} (${fmt.int(after)} after 10 s more)`, baseline: `raw ws: ${fmt.int(rawHeld)}`, target: '≥ 15,000', met: held >= 15_000 && after >= 15_000 },
      { figure: 'time to connect all (256 in flight)', value: fmt.ms(open.ms), baseline: `raw ws: ${fmt.ms(rawOpen.ms)}`, target: '—' },
      { figure: 'server RSS holding them', value: `${fmt.mb(heldMb)} (idle ${fmt.mb(idleMb)}; ${perConn(heldMb, idleMb, held)})`, baseline: `raw ws: ${fmt.mb(rawHeldMb)} (idle ${fmt.mb(rawIdleMb)}; ${perConn(rawHeldMb, rawIdleMb, rawHeld)})`, target: '—' },
      { figure: 'failed handshakes', value: fmt.int(open.failed), baseline: `raw ws: ${fmt.int(rawOpen.failed)}`, target: '0', met: open.failed === 0 },
    ],
    details: { machine: machine(scratch), agents: AGENTS, clientProcesses: CLIENT_PROCESSES, inflight: INFLIGHT, open, rawOpen, held, after, idleMb, heldMb, rawIdleMb, rawHeldMb, clientMb, clientStats },
  };
});
