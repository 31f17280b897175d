/**
 * A test agent process that produces a known stream of events through the REAL agent
 * outbox and link (no checks): event i carries detail {i}, so a test can prove that every
 * event arrived exactly once and in order, across kill -9 of either side.
 *
 *   node dist/test/event-agent.mjs --collector URL --state DIR [--enroll TOKEN] [--count N]
 *        [--chunk 500] [--backoff-ms 200] [--exit-when-drained] [--ca-pin SHA256 | --insecure-plain]
 *
 * Prints JSON lines: {"enrolled":id} {"appended":n} {"drained":seq} {"closed":code}.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { collectorTrust, forgetSecret, loadIdentity, saveIdentity, withAgentKey } from '../../../agent/identity.js';
import { Backoff } from '../../../agent/link/backoff.js';
import { enroll } from '../../../agent/link/enroll.js';
import { AgentLink } from '../../../agent/link/link.js';
import { Outbox } from '../../../agent/outbox/outbox.js';
import { silentLogger } from '../../../src/shared/log.js';
import type { NewAgentEvent } from '../../../src/shared/protocol/messages.js';

const { values } = parseArgs({
  options: {
    collector: { type: 'string' },
    state: { type: 'string' },
    enroll: { type: 'string' },
    count: { type: 'string', default: '0' },
    chunk: { type: 'string', default: '500' },
    'backoff-ms': { type: 'string', default: '200' },
    'cap-bytes': { type: 'string' },
    'exit-when-drained': { type: 'boolean', default: false },
    'ca-pin': { type: 'string' },
    'insecure-plain': { type: 'boolean', default: false },
  },
});
const say = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const os = { platform: 'linux' as const, hostname: `test-${hostname()}`, release: 'test' };

const stateDir = values.state!;
// The same trust path as the agent: pin at first contact, the stored CA afterwards.
const wsOptions = await collectorTrust({ url: values.collector!, stateDir, pin: values['ca-pin'], allowPlain: values['insecure-plain'] });
let identity = loadIdentity(stateDir);
if (!identity) {
  const e = await enroll(values.collector!, values.enroll!, os, 'test', wsOptions);
  identity = { ...e, collectorUrl: values.collector!, enrolledAt: new Date().toISOString() };
  saveIdentity(stateDir, identity);
}
say({ enrolled: identity.agentId });

const outbox = Outbox.open(`${stateDir}/outbox`, values['cap-bytes'] ? { capBytes: Number(values['cap-bytes']) } : {});
const link = new AgentLink({
  url: values.collector!,
  identity: withAgentKey(stateDir, identity),
  onKeyRegistered: () => forgetSecret(stateDir),
  outbox,
  os,
  agentVersion: 'test',
  policyVersion: () => 0,
  log: silentLogger(),
  wsOptions,
  backoff: new Backoff(Number(values['backoff-ms']), 2000),
});
link.on('closed', (code) => say({ closed: code }));

const count = Number(values.count);
const chunk = Number(values.chunk);
// Continue where a killed run stopped: event i has seq i + 1.
let next = outbox.lastSeq;
while (next < count) {
  const n = Math.min(chunk, count - next);
  const events: NewAgentEvent[] = [];
  for (let k = 0; k < n; k++) events.push({ at: new Date().toISOString(), kind: 'agent.notice', notice: 'test', detail: { i: next + k } });
  outbox.append(events);
  next += n;
}
say({ appended: outbox.lastSeq });

link.start();
let reported = 0;
const timer = setInterval(() => {
  if (outbox.acked >= outbox.lastSeq && outbox.lastSeq >= count && reported !== outbox.acked) {
    reported = outbox.acked;
    say({ drained: outbox.acked });
    if (values['exit-when-drained']) {
      clearInterval(timer);
      outbox.flushAck();
      void link.stop().then(() => process.exit(0));
    }
  }
}, 50);
process.on('SIGTERM', () => {
  outbox.flushAck();
  process.exit(0);
});
