/**
 * `mamori watch --json --severity critical` (the real CLI process, as `… | jq` runs it) prints
 * only critical violations and their closes; an unknown severity is a usage error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleOf } from '../../src/collector/console/plugin.js';
import { CLI, startProc } from '../helpers/processes.js';
import type { Proc } from '../helpers/processes.js';
import { adminClient, seedAgent, seedEvents, startTestCollector, usbViolation, waitUntil } from './helpers.js';
import type { TestCollector } from './helpers.js';

let t: TestCollector;
let token: string;
let watch: Proc | undefined;

beforeAll(async () => {
  t = await startTestCollector();
  const admin = await adminClient(t);
  token = (await admin.request('POST', '/api/v1/tokens', { name: 'watch' })).json.token;
});
afterAll(async () => {
  await watch?.stop();
  await t?.close();
});

const violation = (serial: string, severity: string) => {
  const e = usbViolation(`0781:5567:${serial}`) as any;
  e.violation.severity = severity;
  return e;
};
const close = (serial: string) => ({ kind: 'violation.closed', at: new Date().toISOString(), checkId: 'usb-media', ruleId: 'USB-001', subject: `0781:5567:${serial}`, reason: '取り外し' }) as never;

describe('mamori watch --severity', () => {
  it('prints only the chosen severity, opens and closes, in JSON', async () => {
    watch = startProc('watch', [CLI, 'watch', '--json', '--severity', 'critical', '--collector', t.base, '--token', token]);
    await waitUntil(async () => (consoleOf(t.collector.app).stream?.size ?? 0) > 0, 20_000, 'the watcher');
    const pc = await seedAgent(t, 'pc-watch');
    await seedEvents(t, pc, 'pc-watch', [violation('HIGH1', 'high'), violation('CRIT1', 'critical')]);
    await seedEvents(t, pc, 'pc-watch', [close('HIGH1'), close('CRIT1')]);
    await watch.waitFor(/"type":"violation.closed".*CRIT1/);
    const lines = watch.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(lines.map((m) => [m.type, m.violation?.subject ?? m.subject, m.violation?.severity ?? m.severity])).toEqual([
      ['violation', '0781:5567:CRIT1', 'critical'],
      ['violation.closed', '0781:5567:CRIT1', 'critical'],
    ]);
  });

  it('refuses a severity that does not exist', async () => {
    const bad = startProc('watch-bad', [CLI, 'watch', '--json', '--severity', 'urgent', '--collector', t.base, '--token', token]);
    await bad.waitFor(/--severity urgent/);
    expect((await bad.exited).code).not.toBe(0);
  });
});
