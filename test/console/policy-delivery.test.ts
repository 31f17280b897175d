/**
 * A policy change reaches only the PCs whose own policy changed: each PC's document version
 * moves only with its content. Three connected PCs on a real collector; the pushes are counted
 * where the collector sends them (its pushPolicy), the versions read through the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleOf } from '../../src/collector/console/plugin.js';
import type { ConsoleServices } from '../../src/collector/console/services.js';
import { adminClient, seedAgent, startTestCollector, userClient } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

let t: TestCollector;
let admin: Client;
let services: ConsoleServices;
const pushed: string[] = [];
const ids: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };

beforeAll(async () => {
  t = await startTestCollector();
  admin = await adminClient(t);
  services = consoleOf(t.collector.app);
  for (const k of ['a', 'b', 'c'] as const) ids[k] = await seedAgent(t, `PC-${k.toUpperCase()}`);
  const at = new Date().toISOString();
  await t.collector.store.setPresence((['a', 'b', 'c'] as const).map((k) => ({ agentId: ids[k], nodeId: t.collector.nodeId, at, online: true as const, info: { hostname: `PC-${k.toUpperCase()}`, os: { platform: 'linux', hostname: `PC-${k.toUpperCase()}`, release: '6.1' }, agentVersion: '0.1.0', policyVersion: 0 } })));
  const send = services.ctx.pushPolicy;
  services.ctx.pushPolicy = async (agentId: string) => {
    pushed.push(agentId);
    await send(agentId);
  };
});
afterAll(async () => {
  await t?.close();
});

const take = () => pushed.splice(0).sort();
const versions = async () => Object.fromEntries(((await admin.request('GET', '/api/v1/policy/status')).json.pcs as { id: string; expectedVersion: number }[]).map((p) => [p.id, p.expectedVersion]));

describe('policy delivery', () => {
  it('sends each PC its first policy once, then nothing while it is unchanged', async () => {
    expect(await services.pushChanged()).toBe(3);
    expect(take()).toEqual(Object.values(ids).sort());
    expect(await services.pushChanged()).toBe(0);
  });

  it('sends nothing for a new 課, and only to the PCs put in a group that has its own settings', async () => {
    const before = await versions();
    expect((await admin.request('POST', '/api/v1/pcs/assignment', { agentIds: Object.values(ids), department: '税務課' })).status).toBe(200);
    expect(take()).toEqual([]);
    // A group layer: no PC is in the group yet, so no PC's policy changes.
    const rule = services.catalogue.rules.find((r) => Object.values(r.params).some((p) => p.type === 'integer'))!;
    const param = Object.entries(rule.params).find(([, p]) => p.type === 'integer')![0];
    const cur = (await admin.request('GET', '/api/v1/policy')).json.revision;
    const saved = await admin.request('PUT', '/api/v1/policy', { settings: { ...cur.settings, groups: { 窓口: { disabledRules: [], enabledRules: [], params: { [rule.id]: { [param]: 3 } } } } }, basedOn: cur.version, comment: '窓口端末は短く' });
    expect(saved.status).toBe(200);
    expect(take()).toEqual([]);
    expect(await versions()).toEqual(before);
    // A and B join the group: their policy changed, C's did not.
    expect((await admin.request('POST', '/api/v1/pcs/assignment', { agentIds: [ids.a, ids.b], group: '窓口' })).json).toEqual({ assigned: 2, changed: 2 });
    expect(take()).toEqual([ids.a, ids.b].sort());
    const after = await versions();
    expect(after[ids.c]).toBe(before[ids.c]);
    expect(after[ids.a]).toBeGreaterThan(before[ids.a]!);
  });

  it('sends a 例外措置 for one PC to that PC only', async () => {
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const req = await admin.request('POST', '/api/v1/exceptions', { ruleId: 'USB-001', subject: '*', agentId: ids.c, reason: '議会中継用の貸出機材', until });
    const second = await userClient(t, admin, 'approver-delivery', 'admin');
    expect((await second.request('POST', `/api/v1/exceptions/${req.json.exception.id}/approve`, { comment: '確認済' })).status).toBe(200);
    expect(take()).toEqual([ids.c]);
    // 例外措置 names the PC by its name, not by its agent id.
    const listed = (await admin.request('GET', '/api/v1/exceptions')).json.exceptions.find((e: { id: string }) => e.id === req.json.exception.id);
    expect(listed).toMatchObject({ agentId: ids.c, hostname: 'PC-C' });
  });
});
