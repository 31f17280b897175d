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
import { benchMain, flagArg, fmt, machine, numArg, sleep } from './lib/common.js';
import { seedAgents } from './lib/store-setup.js';
import { Swarm, endRawPhase, startCollectorWorker, startRawServer } from './lib/swarm.js';

const AGENTS = numArg('agents', 15_000);
const CLIENT_PROCESSES = numArg('client-processes', 3);
const INFLIGHT = 256;
const PLAIN = flagArg('plain');

await benchMain('concurrent-agents', import.meta.url, 6 * 60_000, async (scratch) => {
  const dataDir = join(scratch, 'data');
  await seedAgents(dataDir, AGENTS);

  // Baselines: raw ws over TLS with the collector's certificate, and plain.
  const rawOver = async (tls: boolean) => {
    const { raw, url, ca } = await startRawServer(dataDir, tls);
    await sleep(500);
    const idleMb = raw.rssMb();
    const clients = Swarm.start(CLIENT_PROCESSES, 'raw-clients');
    const open = await clients.connect(url, 'raw', AGENTS, INFLIGHT, 120_000, ca);
    await sleep(3000);
    const heldMb = raw.rssMb();
    const held = (await raw.call<{ connections: number }>('stats')).connections;
    await endRawPhase(clients, raw);
    return { idleMb, open, heldMb, held };
  };
  const rawTls = await rawOver(true);
  const rawPlain = await rawOver(false);

  // mamori collector, TLS as shipped (--plain for the reference without TLS).
  const { collector, agentUrl, ca } = await startCollectorWorker(dataDir, 0, { plain: PLAIN });
  await sleep(500);
  const idleMb = collector.rssMb();
  const swarm = Swarm.start(CLIENT_PROCESSES, 'agents');
  const open = await swarm.connect(agentUrl, 'mamori', AGENTS, INFLIGHT, 180_000, ca);
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
  const raws = (f: (r: typeof rawTls) => string) => `raw wss: ${f(rawTls)}; raw ws: ${f(rawPlain)}`;
  return {
    rows: [
      { figure: `agents held (authenticated, ${PLAIN ? 'plain ws' : 'TLS'})`, value: `${fmt.int(held)} of ${fmt.int(AGENTS)} (${fmt.int(after)} after 10 s more)`, baseline: raws((r) => fmt.int(r.held)), target: '≥ 15,000', met: held >= 15_000 && after >= 15_000 },
      { figure: `time to connect all (${INFLIGHT} in flight)`, value: fmt.ms(open.ms), baseline: raws((r) => fmt.ms(r.open.ms)), target: '—' },
      { figure: 'server RSS holding them', value: `${fmt.mb(heldMb)} (idle ${fmt.mb(idleMb)}; ${perConn(heldMb, idleMb, held)})`, baseline: raws((r) => `${fmt.mb(r.heldMb)} (${perConn(r.heldMb, r.idleMb, r.held)})`), target: '—' },
      { figure: 'failed handshakes', value: fmt.int(open.failed), baseline: raws((r) => fmt.int(r.open.failed)), target: '0', met: open.failed === 0 },
    ],
    details: { machine: machine(scratch), agents: AGENTS, tls: !PLAIN, clientProcesses: CLIENT_PROCESSES, inflight: INFLIGHT, open, held, after, idleMb, heldMb, rawTls, rawPlain, clientMb, clientStats },
  };
});
