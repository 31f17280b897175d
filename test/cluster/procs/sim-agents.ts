/**
 * Light simulated agents for the multi-node tests: N agents in one process, each with the
 * REAL agent outbox (on disk) and link (WebSocket, HMAC hello, resend from the collector's
 * lastSeq, reconnect with backoff). The i-th test notice of an agent carries detail {i}, so a
 * test can prove every event was stored exactly once and in order.
 *
 *   node sim-agents.mjs --collector wss://… --ca-pin SHA256 --state DIR --token TOKEN --agents N
 *
 * The CA is fetched once and checked against the pin, as the real agent does at first contact.
 *
 * stdin, one JSON command a line:
 *   {"cmd":"append","agent":0|"all","count":n}      n test notices
 *   {"cmd":"violation","agent":0,"subject":"usb:…"}  one violation.opened
 *   {"cmd":"load","perTick":k,"ms":t[,"spread":true]} / {"cmd":"stopLoad"}   k notices per agent every t ms
 *                                                    (all at once, or spread: each agent on its own clock, evenly offset)
 *   {"cmd":"status"}
 *   {"cmd":"latency"}   ack latency of the batches acknowledged since the last such command
 * stdout, JSON lines: {"ready":[ids]} {"scan":requestId,"agentId":…} {"status":[{agentId,lastSeq,acked,connected}]}
 *   {"latency":{"batches":n,"p50":ms,"p99":ms,"max":ms}}
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Backoff } from '../../../agent/link/backoff.js';
import { enroll } from '../../../agent/link/enroll.js';
import { AgentLink } from '../../../agent/link/link.js';
import { Outbox } from '../../../agent/outbox/outbox.js';
import { silentLogger } from '../../../src/shared/log.js';
import { fetchPinnedCa } from '../../../src/shared/tls/pin.js';
import type { NewAgentEvent, OsInfo } from '../../../src/shared/protocol/messages.js';

const { values } = parseArgs({
  options: { collector: { type: 'string' }, 'ca-pin': { type: 'string' }, state: { type: 'string' }, token: { type: 'string' }, agents: { type: 'string', default: '1' }, batch: { type: 'string', default: '200' } },
});
const say = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);

interface Sim {
  agentId: string;
  outbox: Outbox;
  link: AgentLink;
  next: number;
}

const sims: Sim[] = [];
/** Ack latency of each batch: from the link reading it out of the outbox to send (it goes out at once) to the ack covering it, ms. */
let ackLatencies: number[] = [];

/** Record when each batch the link sends leaves and when an ack covers it; the outbox and link stay the real ones. */
function timeAcks(outbox: Outbox, link: AgentLink): void {
  const sent: { through: number; at: number }[] = [];
  const readAfter = outbox.readAfter.bind(outbox);
  const ack = outbox.ack.bind(outbox);
  outbox.readAfter = (afterSeq, maxEvents, maxBytes) => {
    const records = readAfter(afterSeq, maxEvents, maxBytes);
    // The link reads to send only while connected; after a close it reads what was in flight to set a refused event aside.
    if (records.length > 0 && link.connected) sent.push({ through: records[records.length - 1]!.throughSeq, at: performance.now() });
    return records;
  };
  outbox.ack = (upTo) => {
    ack(upTo);
    const now = performance.now();
    while (sent.length > 0 && sent[0]!.through <= upTo) ackLatencies.push(now - sent.shift()!.at);
  };
}
const wsOptions = { ca: await fetchPinnedCa(values.collector!, values['ca-pin']!) };
for (let k = 0; k < Number(values.agents); k++) {
  const hostname = `sim-pc-${String(k).padStart(3, '0')}`;
  const os: OsInfo = { platform: 'linux', hostname, release: 'sim' };
  const identity = await enroll(values.collector!, values.token!, os, 'sim', wsOptions);
  const dir = join(values.state!, hostname);
  mkdirSync(dir, { recursive: true });
  const outbox = Outbox.open(join(dir, 'outbox'), { ackFlushMs: 20 });
  const link = new AgentLink({
    url: values.collector!,
    identity,
    outbox,
    os,
    agentVersion: 'sim',
    policyVersion: () => 0,
    log: silentLogger(),
    batchEvents: Number(values.batch),
    wsOptions,
    backoff: new Backoff(100, 1000),
  });
  timeAcks(outbox, link);
  const sim: Sim = { agentId: identity.agentId, outbox, link, next: 0 };
  link.on('scan', (frame) => {
    say({ scan: frame.requestId, agentId: sim.agentId });
    outbox.append([{ at: new Date().toISOString(), kind: 'scan.result', requestId: frame.requestId, checks: frame.checks.map((checkId) => ({ checkId, status: 'ok' as const, failed: 0 })) }]);
    link.notify();
  });
  sims.push(sim);
}

function appendNotices(sim: Sim, count: number): void {
  const events: NewAgentEvent[] = [];
  for (let k = 0; k < count; k++) events.push({ at: new Date().toISOString(), kind: 'agent.notice', notice: 'test', detail: { i: sim.next++ } });
  sim.outbox.append(events);
  sim.link.notify();
}

for (const s of sims) s.link.start();
say({ ready: sims.map((s) => s.agentId) });

let load: NodeJS.Timeout | undefined;
let spread: NodeJS.Timeout[] = [];
function stopLoad(): void {
  clearInterval(load);
  for (const t of spread) clearTimeout(t);
  spread = [];
}
const pick = (agent: number | 'all') => (agent === 'all' ? sims : [sims[agent]!]);
createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { cmd: string; agent?: number | 'all'; count?: number; subject?: string; perTick?: number; ms?: number; spread?: boolean };
  switch (cmd.cmd) {
    case 'append':
      for (const s of pick(cmd.agent ?? 'all')) appendNotices(s, cmd.count ?? 1);
      break;
    case 'violation':
      for (const s of pick(cmd.agent ?? 0)) {
        s.outbox.append([
          {
            at: new Date().toISOString(),
            kind: 'violation.opened',
            policyVersion: 0,
            violation: {
              checkId: 'usb-media',
              ruleId: 'usb.unregistered',
              subject: cmd.subject ?? 'usb:0000:0000:SN',
              result: 'fail',
              severity: 'high',
              title: { ja: '未登録のUSB記憶媒体', en: 'Unregistered USB storage' },
              message: { ja: '媒体管理台帳にない媒体', en: 'Not in the media ledger' },
              reason: 'not in ledger',
              clauses: [],
              facts: {},
            },
          },
        ]);
        s.link.notify();
      }
      break;
    case 'load':
      stopLoad();
      if (cmd.spread) {
        // Each agent on its own clock, started at an even offset within the tick, as PCs send independently.
        const ms = cmd.ms ?? 100;
        sims.forEach((s, k) => {
          const start = setTimeout(() => spread.push(setInterval(() => appendNotices(s, cmd.perTick ?? 10), ms)), (k * ms) / sims.length);
          spread.push(start);
        });
      } else load = setInterval(() => sims.forEach((s) => appendNotices(s, cmd.perTick ?? 10)), cmd.ms ?? 100);
      break;
    case 'stopLoad':
      stopLoad();
      say({ loadStopped: sims.map((s) => ({ agentId: s.agentId, lastSeq: s.outbox.lastSeq })) });
      break;
    case 'latency': {
      const sorted = ackLatencies.sort((a, b) => a - b);
      const at = (p: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN) * 10) / 10;
      say({ latency: { batches: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) } });
      ackLatencies = [];
      break;
    }
    case 'status':
      say({ status: sims.map((s) => ({ agentId: s.agentId, lastSeq: s.outbox.lastSeq, acked: s.outbox.acked, connected: s.link.connected, appended: s.next })) });
      break;
  }
});
process.on('SIGTERM', () => process.exit(0));
