/**
 * Stopping the agent is reported even when it cannot say so itself: after kill -9 the next
 * start reports how long the agent was down and the collector opens AGENT-002 (subject
 * "unclean"). Editing a rule catalogue on the PC (config/rules/*.yml) is AGENT-004 (subject
 * "catalogue") at the next start, naming the file. Real collector and agent processes; the
 * agent's catalogue is a copy (MAMORI_CONFIG_DIR) so the test can edit it.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/db.js';
import { ROOT, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';
import { collectorAndAgent, openViolation } from './helpers-procs.js';
import type { RealAgent } from './helpers-procs.js';

let collector: CollectorProc;
let agent: RealAgent;
const catalogue = join(tempDir('catalogue'), 'config');

beforeAll(async () => {
  cpSync(join(ROOT, 'config'), catalogue, { recursive: true });
  ({ collector, agent } = await collectorAndAgent('unclean', { MAMORI_CONFIG_DIR: catalogue }));
}, 240_000);
afterAll(async () => {
  await agent?.stop();
  await collector?.stop();
});

describe('stops and changes the agent cannot announce', () => {
  it('kill -9 and a restart: AGENT-002 "unclean" with how long the agent was down', async () => {
    expect(openViolation(collector, agent.agentId, 'AGENT-002', 'unclean')).toBeUndefined();
    await agent.proc!.kill9();
    const killedAt = Date.now();
    await agent.start();
    await waitUntil(() => openViolation(collector, agent.agentId, 'AGENT-002', 'unclean')?.state === 'open', 90_000, 'AGENT-002 unclean');
    const v = openViolation(collector, agent.agentId, 'AGENT-002', 'unclean')!;
    expect(v.title.ja).toBe('エージェントが停止された');
    const down = v.facts.downSeconds as number;
    // At least the time from the kill to the new process (the marker was refreshed before the kill).
    expect(down).toBeGreaterThanOrEqual(Math.floor((agent.spawnedAt - killedAt) / 1000));
    expect(Date.parse(v.facts.lastAliveAt as string)).toBeLessThanOrEqual(killedAt);
    expect(v.reason).toMatch(/終了処理をせずに停止し、\d+ 秒間動いていませんでした/);
    // A clean stop and start reports nothing new of the kind.
    await agent.stop();
    await agent.start();
    expect(agent.countNotices('stopped.unclean')).toBe(1);
  }, 240_000);

  it('an edited rule catalogue on the PC raises AGENT-004 "catalogue" at the next start', async () => {
    expect(openViolation(collector, agent.agentId, 'AGENT-004', 'catalogue')).toBeUndefined();
    await agent.stop();
    const rules = join(catalogue, 'rules', 'usb-media.yml');
    writeFileSync(rules, readFileSync(rules, 'utf8').replace(/severity: critical/, 'severity: low'));
    await agent.start();
    await waitUntil(() => openViolation(collector, agent.agentId, 'AGENT-004', 'catalogue')?.state === 'open', 90_000, 'AGENT-004 catalogue');
    const v = openViolation(collector, agent.agentId, 'AGENT-004', 'catalogue')!;
    expect(v.facts.changedFiles).toBe(1);
    expect((v.facts.files as { path: string }[])[0]!.path).toBe(rules);
  }, 240_000);
});
