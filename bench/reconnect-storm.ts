/**
 * Bench 4 — reconnect storm: 10,000 agents connected, the collector killed (SIGKILL) and
 * started again on the same port and the same database; every agent must be back
 * (re-authenticated: challenge → hello → welcome) within 60 s, none giving up.
 *
 * Each simulated agent reconnects with the agent's own Backoff (agent/link/backoff.ts: full
 * jitter, base 1 s, cap 60 s), exactly as AgentLink does after a close; the agents do not
 * coordinate and nothing limits how many handshakes are in flight. Attempts that hit the
 * port while no collector listens are refused and back off further.
 *
 * Over TLS (as shipped) every agent keeps its TLS session in memory and resumes it at the
 * restarted collector, whose ticket keys come from DATA/tls (src/shared/tls/session-tickets.ts);
 * `--no-resume` makes every reconnect a full handshake, for comparison.
 *
 * Baselines in the same run: the same agents against a bare ws server killed and restarted
 * the same way (back = socket open), over TLS with the same certificate, ticket keys and
 * session resumption, and plain.
 */
import { join } from 'node:path';
import { Worker, benchMain, flagArg, fmt, machine, numArg, sleep, waitFor } from './lib/common.js';
import { seedAgents } from './lib/store-setup.js';
import { Swarm, endRawPhase, startCollectorWorker, startRawServer } from './lib/swarm.js';
import type { SwarmStats } from './lib/swarm.js';

const AGENTS = numArg('agents', 10_000);
const CLIENT_PROCESSES = numArg('client-processes', 2);
const LIMIT_MS = 90_000;
const PLAIN = flagArg('plain');
const RESUME = !flagArg('no-resume');

interface Storm {
  backMs: number;
  /** From the kill until the new server listened. */
  restartMs: number;
  allBack: boolean;
  notBack: number;
  attempts: number;
  maxAttempts: number;
  serverCount: number;
  /** TLS handshakes during the storm: resumed sessions / full handshakes. */
  resumed: number;
  full: number;
  /** Connections closed during the storm, by close code. */
  closeCodes: Record<string, number>;
}

/** Kill the server, start it again with `restart`, and wait until every agent is back. */
async function storm(swarm: Swarm, kill: () => void, restart: () => Promise<Worker>, serverCount: (w: Worker) => Promise<number>): Promise<Storm> {
  const before: SwarmStats = await swarm.stats();
  const tKill = Date.now();
  kill();
  const server = await restart();
  const restartMs = Date.now() - tKill;
  const allBack = await waitFor(async () => {
    const s = await swarm.stats();
    return s.ready === AGENTS && s.welcomes - before.welcomes >= AGENTS;
  }, LIMIT_MS, 250);
  const after = await swarm.stats();
  return {
    backMs: allBack ? after.lastWelcomeAt - tKill : NaN,
    restartMs,
    allBack,
    notBack: after.notReady,
    attempts: after.attempts - before.attempts,
    maxAttempts: after.maxAttempts - 1,
    serverCount: await serverCount(server),
    resumed: after.resumedHandshakes - before.resumedHandshakes,
    full: after.fullHandshakes - before.fullHandshakes,
    closeCodes: Object.fromEntries(Object.entries(after.closeCodes).map(([code, n]) => [code, n - (before.closeCodes[code] ?? 0)])),
  };
}

/** "1006×2,000 4401×12": how connections ended. */
function codes(byCode: Record<string, number>): string {
  return Object.entries(byCode).filter(([, n]) => n > 0).map(([code, n]) => `${code}×${fmt.int(n)}`).join(' ') || 'none';
}

await benchMain('reconnect-storm', import.meta.url, 8 * 60_000, async (scratch) => {
  const dataDir = join(scratch, 'data');
  await seedAgents(dataDir, AGENTS);

  // Baselines: raw ws killed and restarted, over TLS with the collector's certificate and plain.
  const rawStormOver = async (tls: boolean): Promise<Storm> => {
    const started = await startRawServer(dataDir, tls);
    let raw = started.raw;
    const clients = Swarm.start(CLIENT_PROCESSES, 'raw-clients');
    await clients.connect(started.url, 'raw', AGENTS, 256, 120_000, started.ca, RESUME);
    await clients.all('reconnect', { on: true });
    await sleep(2000);
    const result = await storm(
      clients,
      () => raw.kill('SIGKILL'),
      async () => {
        await raw.exited;
        ({ raw } = await startRawServer(dataDir, tls, started.port));
        return raw;
      },
      async (w) => (await w.call<{ connections: number }>('stats')).connections,
    );
    await endRawPhase(clients, raw);
    return result;
  };
  const rawTlsStorm = await rawStormOver(true);
  const rawStorm = await rawStormOver(false);

  // mamori collector killed and restarted on the same port and database, TLS as shipped.
  const first = await startCollectorWorker(dataDir, 0, { plain: PLAIN });
  let collector = first.collector;
  const { port, agentUrl, ca } = first;
  const swarm = Swarm.start(CLIENT_PROCESSES, 'agents');
  const open = await swarm.connect(agentUrl, 'mamori', AGENTS, 256, 180_000, ca, RESUME);
  await swarm.all('reconnect', { on: true });
  await sleep(2000);
  const connectedBefore = (await collector.call<{ connected: number }>('stats')).connected;
  let droppedByCollector: Record<string, number> = {};
  const result = await storm(
    swarm,
    () => collector.kill('SIGKILL'),
    async () => {
      await collector.exited;
      collector = (await startCollectorWorker(dataDir, port, { plain: PLAIN })).collector;
      return collector;
    },
    async (w) => {
      const s = await w.call<{ connected: number; dropped: Record<string, number> }>('stats');
      droppedByCollector = s.dropped;
      return s.connected;
    },
  );
  await swarm.stop();
  await collector.call('close', {}, 60_000);
  await collector.stop();

  return {
    rows: [
      { figure: `all ${fmt.int(AGENTS)} re-authenticated after kill + restart (${PLAIN ? 'plain ws' : RESUME ? 'TLS, sessions resumed' : 'TLS, full handshakes'})`, value: result.allBack ? fmt.s(result.backMs) : `NOT all back in ${LIMIT_MS / 1000} s (${fmt.int(result.notBack)} missing)`, baseline: `raw wss: ${rawTlsStorm.allBack ? fmt.s(rawTlsStorm.backMs) : 'not all back'}; raw ws: ${rawStorm.allBack ? fmt.s(rawStorm.backMs) : 'not all back'}`, target: '≤ 60 s', met: result.allBack && result.backMs <= 60_000 },
      { figure: 'agents that gave up / not back', value: fmt.int(result.notBack), baseline: `raw wss: ${fmt.int(rawTlsStorm.notBack)}; raw ws: ${fmt.int(rawStorm.notBack)}`, target: '0', met: result.notBack === 0 },
      { figure: 'collector restart (kill → listening)', value: fmt.ms(result.restartMs), baseline: `raw wss: ${fmt.ms(rawTlsStorm.restartMs)}; raw ws: ${fmt.ms(rawStorm.restartMs)}`, target: '—' },
      { figure: 'connection attempts (most by one agent)', value: `${fmt.int(result.attempts)} (${result.maxAttempts})`, baseline: `raw wss: ${fmt.int(rawTlsStorm.attempts)} (${rawTlsStorm.maxAttempts}); raw ws: ${fmt.int(rawStorm.attempts)} (${rawStorm.maxAttempts})`, target: '—' },
      { figure: 'TLS handshakes in the storm: resumed / full', value: `${fmt.int(result.resumed)} / ${fmt.int(result.full)}`, baseline: `raw wss: ${fmt.int(rawTlsStorm.resumed)} / ${fmt.int(rawTlsStorm.full)}`, target: RESUME ? 'resumed' : 'full (--no-resume)' },
      { figure: 'connections closed in the storm, by code', value: codes(result.closeCodes), baseline: `raw wss: ${codes(rawTlsStorm.closeCodes)}`, target: '—' },
      { figure: 'connections the restarted collector dropped before the upgrade', value: codes(droppedByCollector), baseline: '—', target: '—' },
      { figure: 'connected per the collector after', value: `${fmt.int(result.serverCount)} (before: ${fmt.int(connectedBefore)})`, baseline: `raw wss: ${fmt.int(rawTlsStorm.serverCount)}; raw ws: ${fmt.int(rawStorm.serverCount)}`, target: fmt.int(AGENTS), met: result.serverCount === AGENTS },
    ],
    details: { machine: machine(scratch), agents: AGENTS, initialConnect: open, tls: !PLAIN, resume: RESUME, result, rawStorm, rawTlsStorm },
  };
});
