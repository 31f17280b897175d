/**
 * Bench — admin stream fan-out to 100 watchers (target p99 ≤ 100 ms).
 *
 * A collector with the console (embedded SQLite) and 100 console watchers on /api/v1/stream,
 * authenticated with an API token. Violations are stored through the store's ingest and
 * published on the bus, as the gateway does; the figure is the time from the publication to
 * the message arriving at each watcher (render with clause titles and exceptions, department
 * scoping, one serialisation, 100 sends). Baseline in the same run: a bare ws server
 * broadcasting a message of the same size to 100 clients. Watchers run in this process, so
 * server and clients share the event loop in both cases.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { startCollector } from '../src/collector/collector.js';
import { consoleOf, consolePlugin } from '../src/collector/console/plugin.js';
import { createLogger } from '../src/shared/log.js';
import type { AgentEvent } from '../src/shared/protocol/messages.js';
import { benchMain, fmt, machine, numArg, sleep, summarise } from './lib/common.js';

const WATCHERS = numArg('watchers', 100);
const EVENTS = numArg('events', 500);
const INTERVAL_MS = numArg('interval-ms', 10);

function violation(i: number, seq: number): AgentEvent {
  return {
    kind: 'violation.opened',
    seq,
    at: new Date().toISOString(),
    policyVersion: 0,
    violation: {
      checkId: 'usb-media',
      ruleId: 'USB-001',
      subject: `0781:5567:BENCH${i}`,
      result: 'fail',
      severity: 'high',
      title: { ja: '媒体管理台帳に登録された媒体だけが接続されていること', en: 'Only media registered in the media ledger are attached' },
      message: { ja: `媒体管理台帳に登録されていないUSB記憶媒体 0781:5567:BENCH${i} が接続されています。`, en: 'USB storage device is not registered in the media ledger.' },
      reason: 'fingerprint is not in registeredMedia',
      clauses: [
        { source: '003', ref: '第4章4(1)ア' },
        { source: '004', ref: '§8.4(2)エ' },
      ],
      facts: { fingerprint: `0781:5567:BENCH${i}`, vendorId: '0781', productId: '5567', serial: `BENCH${i}` },
      user: 'tanaka',
    },
  };
}

async function connectAll(url: string, headers: Record<string, string>, onMessage: (data: string) => void): Promise<WebSocket[]> {
  return Promise.all(
    Array.from({ length: WATCHERS }, () => new Promise<WebSocket>((res, rej) => {
      const ws = new WebSocket(url, { headers });
      ws.on('message', (d) => onMessage(d.toString()));
      ws.once('open', () => res(ws));
      ws.once('error', rej);
    })),
  );
}

async function mamoriRun(scratch: string): Promise<{ latencies: number[]; bytes: number }> {
  const collector = await startCollector({ dataDir: mkdtempSync(join(scratch, 'c-')), log: createLogger({ component: 'bench', console: false }), plugins: [consolePlugin()] });
  const services = consoleOf(collector.app);
  const user = await services.accounts.create({ username: 'bench', role: 'auditor', password: 'Watcher-Fanout-Password-1', temporary: false, createdBy: 'bench' });
  const { token } = await services.accounts.createApiToken(user.id, 'bench', 3_600_000);
  const agentId = 'ag_bench0000000000000000000';
  await collector.store.createAgent({ id: agentId, secret: 'f'.repeat(64), hostname: 'bench-pc', os: { platform: 'linux', hostname: 'bench-pc', release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: new Date().toISOString(), tokenId: 't' });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let bytes = 0;
  const sockets = await connectAll(`${collector.consoleUrl.replace('http', 'ws')}api/v1/stream`, { authorization: `Bearer ${token}` }, (data) => {
    const now = performance.now();
    const m = JSON.parse(data) as { type: string; violation?: { subject: string } };
    if (m.type !== 'violation') return;
    bytes = data.length;
    latencies.push(now - sentAt.get(m.violation!.subject)!);
  });
  for (let i = 0; i < EVENTS; i++) {
    const event = violation(i, i + 1);
    const receivedAt = new Date().toISOString();
    await collector.store.ingest([{ agentId, events: [event] }], receivedAt);
    sentAt.set((event as Extract<AgentEvent, { kind: 'violation.opened' }>).violation.subject, performance.now());
    collector.bus.emit('event', { agentId, hostname: 'bench-pc', event, receivedAt });
    await sleep(INTERVAL_MS);
  }
  const end = Date.now() + 10_000;
  while (latencies.length < EVENTS * WATCHERS && Date.now() < end) await sleep(20);
  for (const s of sockets) s.close();
  await collector.close();
  return { latencies, bytes };
}

async function baselineRun(size: number): Promise<number[]> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as AddressInfo).port;
  const latencies: number[] = [];
  const sentAt = new Map<number, number>();
  const sockets = await connectAll(`ws://127.0.0.1:${port}/`, {}, (data) => {
    const now = performance.now();
    const m = JSON.parse(data) as { i: number };
    latencies.push(now - sentAt.get(m.i)!);
  });
  const pad = 'x'.repeat(Math.max(0, size - 40));
  for (let i = 0; i < EVENTS; i++) {
    sentAt.set(i, performance.now());
    const text = JSON.stringify({ i, pad });
    for (const c of wss.clients) c.send(text);
    await sleep(INTERVAL_MS);
  }
  const end = Date.now() + 10_000;
  while (latencies.length < EVENTS * WATCHERS && Date.now() < end) await sleep(20);
  for (const s of sockets) s.close();
  wss.close();
  return latencies;
}

await benchMain('stream-fanout', import.meta.url, 5 * 60_000, async (scratch) => {
  const base = await baselineRun(1500);
  const m = await mamoriRun(scratch);
  const ms = summarise(m.latencies);
  const bs = summarise(base);
  const delivered = `${fmt.int(m.latencies.length)} of ${fmt.int(EVENTS * WATCHERS)}`;
  console.log(`mamori: ${EVENTS} violations × ${WATCHERS} watchers, message ${m.bytes} bytes, delivered ${delivered}`);
  return {
    rows: [
      { figure: `stream fan-out p50 (${WATCHERS} watchers)`, value: `${ms.p50.toFixed(1)} ms`, baseline: `${bs.p50.toFixed(1)} ms (raw ws broadcast)`, target: '—' },
      { figure: `stream fan-out p99 (${WATCHERS} watchers)`, value: `${ms.p99.toFixed(1)} ms`, baseline: `${bs.p99.toFixed(1)} ms (raw ws broadcast)`, target: '≤ 100 ms', met: ms.p99 <= 100 && m.latencies.length === EVENTS * WATCHERS },
      { figure: 'stream fan-out max', value: `${ms.max.toFixed(1)} ms`, baseline: `${bs.max.toFixed(1)} ms`, target: '—' },
      { figure: 'messages delivered', value: delivered, baseline: `${fmt.int(base.length)} of ${fmt.int(EVENTS * WATCHERS)}`, target: 'all' },
    ],
    details: { machine: machine(scratch), watchers: WATCHERS, events: EVENTS, intervalMs: INTERVAL_MS, mamori: ms, baseline: bs, messageBytes: m.bytes },
  };
});
