/**
 * An agent that its own watchdog stops (here: a memory limit of 32 MB, below what Node needs)
 * is started again by its service manager — for `mamori up` the AgentSupervisor, as systemd's
 * Restart=always and the Windows service's failure actions do for an installed agent — and the
 * collector shows the stop as AGENT-008 with the figure: medium and closed by the restart for
 * one stop, high and kept open when the stops repeat. Real collector and agent processes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentSupervisor } from '../../src/cli/agent-supervisor.js';
import { render } from '../../src/shared/i18n/index.js';
import { createLogger } from '../../src/shared/log.js';
import { waitUntil, withDb } from '../helpers/db.js';
import { startProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';
import { collectorAndAgent } from './helpers-procs.js';
import type { RealAgent } from './helpers-procs.js';

let collector: CollectorProc;
let agent: RealAgent;
let supervisor: AgentSupervisor | undefined;
const config = join(tempDir('watchdog-config'), 'agent.yml');

interface Row {
  state: string;
  severity: string;
  reason: string;
  reason_msg: string | null;
  closed_reason: string | null;
  facts_json: string;
}
const agent008 = (): Row | undefined =>
  withDb(collector.dataDir, (db) => db.prepare("SELECT state, severity, reason, reason_msg, closed_reason, facts_json FROM violations WHERE agent_id = ? AND rule_id = 'AGENT-008' AND subject = ''").get(agent.agentId)) as Row | undefined;
/** The collector's own violation events of AGENT-008 (opened and closed), oldest first. */
const agent008Events = (): { kind: string; severity?: string; reason: string }[] =>
  withDb(collector.dataDir, (db) => db.prepare('SELECT payload FROM forward_collector_events WHERE agent_id = ? ORDER BY rowid').all(agent.agentId) as { payload: string }[])
    .map((r) => JSON.parse(r.payload) as { kind: string; ruleId?: string; violation?: { ruleId: string; severity: string; reason: string }; reason?: string })
    .filter((e) => (e.violation?.ruleId ?? e.ruleId) === 'AGENT-008')
    .map((e) => ({ kind: e.kind, severity: e.violation?.severity, reason: e.violation?.reason ?? e.reason ?? '' }));

beforeAll(async () => {
  ({ collector, agent } = await collectorAndAgent('watchdog'));
  await agent.stop();
  // Over the limit at the first sample, 5 s after start: time enough, on a loaded machine, for
  // each run to connect and deliver its notices ('started', the previous stop) before it stops.
  writeFileSync(config, 'watchdog:\n  memoryLimitMB: 32\n  intervalSeconds: 5\n');
}, 240_000);
afterAll(async () => {
  await supervisor?.stop();
  await agent?.stop();
  await collector?.stop();
});

describe('the agent stopped by its own watchdog', () => {
  it('exits with code 70, reports the stop with the figure, and one stop is over once it runs again', async () => {
    const proc = startProc('agent', [...agent.args(), '--config', config]);
    expect(await proc.exited).toEqual({ code: 70, signal: null });
    // Started again (here without the low limit): the notice is delivered at the latest now, then 'started' closes the violation.
    await agent.start();
    // The closed row and the collector's own event of its closing (stored in one transaction).
    await waitUntil(() => agent008()?.state === 'closed' && agent008Events().some((e) => e.kind === 'violation.closed'), 90_000, 'AGENT-008 closed by the restart');
    const events = agent008Events();
    expect(events.map((e) => e.kind)).toEqual(['violation.opened', 'violation.closed']);
    expect(events[0]!.severity).toBe('medium');
    expect(events[0]!.reason).toMatch(/^メモリ使用量 \d+ MB が上限 32 MB を超えたため、エージェントが自ら停止しました \(24 時間で 1 回目\)$/);
    const row = agent008()!;
    expect(row.closed_reason).toBe('エージェントが再び起動しました');
    expect(render(JSON.parse(row.reason_msg!), 'en')).toMatch(/^the agent stopped itself: memory \d+ MB over its limit of 32 MB \(stop 1 within 24 h\)$/);
    const facts = JSON.parse(row.facts_json) as { limit: string; rssBytes: number };
    expect(facts.limit).toBe('memory');
    expect(facts.rssBytes).toBeGreaterThan(32 * 1024 * 1024);
    await agent.stop();
  }, 240_000);

  it('is started again by the supervisor each time, and repeated stops make AGENT-008 high and keep it open', async () => {
    const exits: { code: number | null; signal: NodeJS.Signals | null }[] = [];
    supervisor = new AgentSupervisor({
      command: process.execPath,
      args: [...agent.args(), '--config', config],
      restartDelayMs: 500,
      stdio: ['ignore', 'ignore', 'ignore'],
      log: createLogger({ component: 'test', console: false }),
      onExit: (e) => exits.push({ code: e.code, signal: e.signal }),
    });
    const stopsBefore = agent.countNotices('watchdog.limit');
    const startsBefore = agent.countNotices('started');
    supervisor.start();
    // Three stops in the window (one from the test above): high, and restarts no longer close it.
    await waitUntil(() => agent008()?.severity === 'high' && agent.countNotices('started') > startsBefore + 2, 180_000, 'AGENT-008 high after repeated stops');
    await supervisor.stop();
    expect(supervisor.restarts).toBeGreaterThanOrEqual(2);
    expect(exits.length).toBeGreaterThanOrEqual(2);
    expect(exits.every((e) => e.code === 70)).toBe(true);
    expect(agent.countNotices('watchdog.limit')).toBeGreaterThanOrEqual(stopsBefore + 2);
    const row = agent008()!;
    expect(row.state).toBe('open');
    const facts = JSON.parse(row.facts_json) as { stopsInWindow: number; repeatAt: number };
    expect(facts.stopsInWindow).toBeGreaterThanOrEqual(3);
    expect(row.reason).toMatch(/エージェントが自ら停止しました \(24 時間で \d+ 回目\)$/);
    // Opened medium for the first stops, high from the third on.
    const opened = agent008Events().filter((e) => e.kind === 'violation.opened');
    expect(opened[0]!.severity).toBe('medium');
    expect(opened.at(-1)!.severity).toBe('high');
  }, 300_000);
});
