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
 *   {"cmd":"load","perTick":k,"ms":t} / {"cmd":"stopLoad"}   k notices per agent every t ms
 *   {"cmd":"status"}
 * stdout, JSON lines: {"ready":[ids]} {"scan":requestId,"agentId":…} {"status":[{agentId,lastSeq,acked,connected}]}
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
const pick = (agent: number | 'all') => (agent === 'all' ? sims : [sims[agent]!]);
createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { cmd: string; agent?: number | 'all'; count?: number; subject?: string; perTick?: number; ms?: number };
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
      clearInterval(load);
      load = setInterval(() => sims.forEach((s) => appendNotices(s, cmd.perTick ?? 10)), cmd.ms ?? 100);
      break;
    case 'stopLoad':
      clearInterval(load);
      say({ loadStopped: sims.map((s) => ({ agentId: s.agentId, lastSeq: s.outbox.lastSeq })) });
      break;
    case 'status':
      say({ status: sims.map((s) => ({ agentId: s.agentId, lastSeq: s.outbox.lastSeq, acked: s.outbox.acked, connected: s.link.connected, appended: s.next })) });
      break;
  }
});
process.on('SIGTERM', () => process.exit(0));
